"""Allow ``python -m carta_trio``."""

try:
    from carta_trio.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C while still importing: nothing to clean up
    code = 0
raise SystemExit(code)
