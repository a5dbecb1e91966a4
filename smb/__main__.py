"""``python -m smb``: the command line (see :mod:`smb.cli`)."""

import sys

from smb.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m smb"))
