"""``python -m dfwatch.fixtureweb``: serve the fixture sites until Ctrl-C."""

from .server import main

if __name__ == "__main__":
    main()
