"""The frozen bundle's entry point: the same as the `seedbed` console script."""

from seedbed.__main__ import main

if __name__ == "__main__":
    main()
