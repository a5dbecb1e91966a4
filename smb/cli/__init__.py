"""The command line: ``smbpy`` (console script) and ``python -m smb``.

Modules: :mod:`smb.cli.program` (argument parsing, error reporting), :mod:`smb.cli.commands`
(one function per command), :mod:`smb.cli.url` (``smb://`` URLs), :mod:`smb.cli.session`
(passwords, connections), :mod:`smb.cli.transfer` (ranged transfers, progress bars),
:mod:`smb.cli.listing` (output formats) and :mod:`smb.cli.exitcodes`. See docs/cli.rst.
"""

from smb.cli.program import main

__all__ = ["main"]
