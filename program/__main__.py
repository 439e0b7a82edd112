"""Allow ``python -m carta_trio``."""

try:
    from carta_trio.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C outside the server's own handling: nothing left to clean up
    code = 0
raise SystemExit(code)
