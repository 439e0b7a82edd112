"""Allow ``python -m carta_trio``."""

from carta_trio.cli import main

raise SystemExit(main())
