"""The ``smbpy`` command (also ``python -m smb``): argument parsing and error reporting.

Every command takes ``smb://[domain;]user@host[:port]/share/path`` URLs (:mod:`smb.cli.url`);
failures end with the exit codes of :mod:`smb.cli.exitcodes`.
"""

from __future__ import annotations

import argparse
import sys
import traceback

import smb
from smb.cli import commands
from smb.cli.exitcodes import MEANING, ExitCode, exit_code_for
from smb.cli.session import PASSWORD_ENV
from smb.cli.url import URLError

PROG = "smbpy"

_URL_HELP = "smb://[domain;]user@host[:port]/share/path"
_EPILOG = """\
URLs: %s (no user: an anonymous session). Percent-escape
special characters in names (%%25 for %%). Passwords come from --password-file, the %s
environment variable or a prompt on a terminal, never from the command line.

exit codes:
%s""" % (_URL_HELP, PASSWORD_ENV,
         "\n".join("  %3d  %s" % (code, MEANING[code]) for code in ExitCode))

# (name, function, one-line help, arguments); each argument is (flags, keywords)
_URL = (("url",), {"metavar": "URL", "help": _URL_HELP})
_URLS = (("urls",), {"metavar": "URL", "nargs": "+", "help": _URL_HELP})
_JSON = (("--json",), {"action": "store_true", "help": "print JSON (stable keys, see docs)"})
_RECURSIVE = (("-r", "--recursive"), {"action": "store_true", "help": "whole folder trees"})
_CONTINUE = (("-c", "--continue"), {"dest": "resume", "action": "store_true",
                                    "help": "resume partial files from where they end "
                                            "(ranged transfers); complete files are skipped"})
COMMANDS: list[tuple[str, object, str, list]] = [
    ("shares", commands.cmd_shares, "list the server's shares",
     [(("url",), {"metavar": "URL", "help": "smb://[domain;]user@host[:port]"}), _JSON]),
    ("ls", commands.cmd_ls, "list a folder (long format), a file, or names matching * and ?",
     [_URL, _JSON,
      (("-1",), {"dest": "one", "action": "store_true", "help": "names only, one per line"}),
      (("-d", "--directory"), {"action": "store_true",
                               "help": "show a folder itself, not its contents"})]),
    ("stat", commands.cmd_stat, "show a file's or folder's size, attributes and times",
     [_URL, _JSON]),
    ("cat", commands.cmd_cat, "write files to standard output", [_URLS]),
    ("get", commands.cmd_get, "download files (and with -r folders)",
     [(("paths",), {"metavar": "PATH", "nargs": "+",
                    "help": "remote sources, then a local file or folder (default: the "
                            "current folder; '-' is standard output)"}),
      _RECURSIVE, _CONTINUE]),
    ("put", commands.cmd_put, "upload files (and with -r folders)",
     [(("paths",), {"metavar": "PATH", "nargs": "+",
                    "help": "local sources ('-' is standard input), then the remote target "
                            "(a file, or an existing folder to put them in)"}),
      _RECURSIVE, _CONTINUE]),
    ("rm", commands.cmd_rm, "delete files (* and ? allowed in the last name)",
     [_URLS, (("-r", "--recursive"), {"action": "store_true",
                                      "help": "delete folders with everything in them"}),
      (("-f", "--force"), {"action": "store_true", "help": "ignore missing files"})]),
    ("mkdir", commands.cmd_mkdir, "create folders",
     [_URLS, (("-p", "--parents"), {"action": "store_true",
                                    "help": "create missing parents; no error if it exists"})]),
    ("rmdir", commands.cmd_rmdir, "delete empty folders", [_URLS]),
    ("mv", commands.cmd_mv, "rename or move within one share (never overwrites)",
     [(("source",), {"metavar": "SOURCE", "help": _URL_HELP}),
      (("target",), {"metavar": "TARGET", "help": "new name, or an existing folder to move into"})]),
    ("watch", commands.cmd_watch, "print changes under a folder as they happen (until Ctrl-C)",
     [_URL, _JSON,
      (("-r", "--recursive"), {"action": "store_true", "help": "changes in sub-folders too"}),
      (("-n", "--count"), {"type": int, "metavar": "N", "help": "stop after N changes"}),
      (("--for",), {"dest": "duration", "type": float, "metavar": "SECONDS",
                    "help": "stop after SECONDS without a change (default: wait for ever)"})]),
    ("cp", commands.cmd_cp, "copy files on or between servers (server-side when the library can)",
     [(("urls",), {"metavar": "URL", "nargs": "+",
                   "help": "sources, then the target (a file, or an existing folder)"}),
      _RECURSIVE]),
]
# where the positional arguments' roles depend on their place
_USAGE = {"get": "%s %s [options] URL... [LOCAL]", "put": "%s %s [options] LOCAL... URL",
          "cp": "%s %s [options] SOURCE... TARGET"}


def _common_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection options")
    g.add_argument("--password-file", metavar="FILE",
                   help="read the password from the first line of FILE ('-': standard input)")
    g.add_argument("-k", "--kerberos", action="store_true",
                   help="authenticate with Kerberos (a ticket from the ccache, a keytab or the password)")
    g.add_argument("--realm", metavar="REALM", help="Kerberos realm (default: the user's domain or krb5.conf)")
    g.add_argument("--kdc", metavar="HOST[:PORT]", help="Kerberos KDC (default: krb5.conf, then DNS)")
    g.add_argument("--ccache", metavar="FILE", help="Kerberos credential cache (default: KRB5CCNAME)")
    g.add_argument("--keytab", metavar="FILE", help="Kerberos keytab holding the user's keys")
    g.add_argument("--spn", metavar="PRINCIPAL", help="the server's service principal (default: cifs/HOST)")
    g.add_argument("--ntlm-fallback", action="store_true",
                   help="with -k: use NTLM when no Kerberos ticket can be had")
    g.add_argument("--smb1", action="store_true", help="speak SMB1 only (for old servers)")
    g.add_argument("--netbios", action="store_true",
                   help="NetBIOS session service (port 139 by default) instead of direct TCP")
    g.add_argument("--server-name", metavar="NAME", help="the server's NetBIOS name")
    g.add_argument("--encrypt", action="store_true", help="insist on SMB3 encryption")
    g.add_argument("--timeout", metavar="SECONDS", type=_positive, default=60.0,
                   help="for connecting and for each request or 16 MiB piece (default 60)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    g.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return p


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Work with files on SMB servers (SMB1, SMB2, SMB3).",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="%(prog)s " + smb.__version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options()
    for name, func, summary, arguments in COMMANDS:
        usage = _USAGE.get(name)
        p = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                           parents=[common], epilog=_EPILOG, usage=usage and usage % (prog, name),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        for flags, kwargs in arguments:
            p.add_argument(*flags, **kwargs)
        p.set_defaults(run=func)
    return parser


def main(argv=None, prog: str = PROG) -> int:
    args = build_parser(prog).parse_args(argv)
    ctx = commands.Context(args)
    try:
        args.run(ctx)
        return int(ExitCode.OK)
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitCode.BROKEN_PIPE)
    except (Exception, KeyboardInterrupt) as e:
        code = ExitCode.USAGE if isinstance(e, URLError) else exit_code_for(e)
        if args.debug:
            traceback.print_exc()
        print("%s %s: %s" % (prog, args.command, _describe(e)), file=sys.stderr)
        return int(code)
    finally:
        _close_quietly(ctx)


def _describe(e: BaseException) -> str:
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    if isinstance(e, OSError) and e.filename is not None:
        return "%s: %s" % (e.strerror or e, e.filename)
    if type(e).__module__.split(".")[0] == "smb":
        return str(e)  # this package's exceptions (smb.errors, CLIError, URLError) say it all
    return "%s: %s" % (type(e).__name__, e)  # unexpected: name it


def _close_quietly(ctx) -> None:
    try:
        ctx.close()
    except Exception:
        pass  # logging off is best effort: the command's outcome is already decided


def _silence_stdout() -> None:
    """After the reader of standard output went away, keep Python's exit flush quiet."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
