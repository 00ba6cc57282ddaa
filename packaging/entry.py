"""The frozen bundle's entry point: the same as the `seedbed` console script.

PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle's own libraries (and keeps
the user's in LD_LIBRARY_PATH_ORIG). Seedbed itself is loaded by then; the programs it
starts (git, agents, checks, the user's editor) must get the system's libraries, so the
user's value is put back before anything runs."""

import os

if "LD_LIBRARY_PATH_ORIG" in os.environ:
    os.environ["LD_LIBRARY_PATH"] = os.environ.pop("LD_LIBRARY_PATH_ORIG")
else:
    os.environ.pop("LD_LIBRARY_PATH", None)

from seedbed.__main__ import main

if __name__ == "__main__":
    main()
