"""The command line's parts that need no server: help, exit codes, passwords, output formats."""

import argparse
import io
import json
import os
import re

import pytest

from smb import ntstatus as nt
from smb.base import NotConnectedError, NotReadyError, OperationFailure, SharedDevice, SharedFile
from smb.cli import listing, session
from smb.cli import program as cli_main
from smb.cli.exitcodes import MEANING, CLIError, ExitCode, exit_code_for
from smb.cli.session import PASSWORD_ENV, read_password
from smb.cli.url import parse_url
from smb.errors import ProtocolError, SMBTimeout

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMAND_NAMES = [c[0] for c in cli_main.COMMANDS]


def test_command_set():
    assert COMMAND_NAMES == ["shares", "ls", "stat", "cat", "get", "put", "rm", "mkdir", "rmdir",
                             "mv", "watch", "cp"]


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: smbpy %s" % name)
    for option in ("--password-file", "--kerberos", "--smb1", "--timeout", "exit codes:"):
        assert option in out
    assert "--password " not in out  # no way to put a password on the command line


def test_top_level_help_lists_commands_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in COMMAND_NAMES:
        assert re.search(r"^    %s\s" % name, out, re.M), name
    for code, meaning in MEANING.items():
        assert "%3d  %s" % (code, meaning) in out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["frobnicate"], ["ls"], ["ls", "--timeout", "0", "smb://h/s"]):
        with pytest.raises(SystemExit) as e:
            cli_main.main(argv)
        assert e.value.code == ExitCode.USAGE
    capsys.readouterr()


def test_bad_urls_exit_2_before_connecting(capsys):
    assert cli_main.main(["ls", "smb://alice:Hunter2@127.0.0.1:1/s"]) == ExitCode.USAGE
    assert cli_main.main(["ls", "smb://127.0.0.1:1"]) == ExitCode.USAGE  # no share
    assert cli_main.main(["put", "smb://h/s/a", "smb://h/s/b"]) == ExitCode.USAGE
    assert cli_main.main(["get", "local", "other"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "Hunter2" not in err and "smbpy ls: a password in the URL is not accepted" in err


def test_docs_exit_code_table_matches_the_code():
    text = open(os.path.join(ROOT, "docs", "cli.rst"), encoding="utf-8").read()
    table = text.split(".. exit-codes-start")[1].split(".. exit-codes-end")[0]
    rows = re.findall(r"^(\d+)\s+(.+?)\s*$", table, re.M)
    assert [(int(c), m) for c, m in rows] == [(int(c), m) for c, m in MEANING.items()]
    assert list(MEANING) == list(ExitCode)


@pytest.mark.parametrize("status, code", [
    (nt.STATUS_LOGON_FAILURE, ExitCode.AUTH),
    (nt.STATUS_ACCOUNT_LOCKED_OUT, ExitCode.AUTH),
    (nt.STATUS_OBJECT_NAME_NOT_FOUND, ExitCode.NOT_FOUND),
    (nt.STATUS_OBJECT_PATH_NOT_FOUND, ExitCode.NOT_FOUND),
    (nt.STATUS_NO_SUCH_FILE, ExitCode.NOT_FOUND),
    (nt.STATUS_BAD_NETWORK_NAME, ExitCode.NOT_FOUND),
    (nt.STATUS_ACCESS_DENIED, ExitCode.ACCESS_DENIED),
    (nt.STATUS_NETWORK_ACCESS_DENIED, ExitCode.ACCESS_DENIED),
    (nt.STATUS_OBJECT_NAME_COLLISION, ExitCode.EXISTS),
    (nt.STATUS_IO_TIMEOUT, ExitCode.TIMEOUT),
    (nt.STATUS_CONNECTION_RESET, ExitCode.CONNECTION),
    (nt.STATUS_DIRECTORY_NOT_EMPTY, ExitCode.ERROR),
    (nt.STATUS_SHARING_VIOLATION, ExitCode.ERROR),
    (None, ExitCode.ERROR),
])
def test_exit_code_from_ntstatus(status, code):
    assert exit_code_for(OperationFailure("Failed", [], status=status)) is code


@pytest.mark.parametrize("exc, code", [
    (CLIError("x", ExitCode.EXISTS), ExitCode.EXISTS),
    (NotReadyError("x"), ExitCode.AUTH),
    (SMBTimeout("x"), ExitCode.TIMEOUT),
    (TimeoutError("x"), ExitCode.TIMEOUT),
    (NotConnectedError("x"), ExitCode.CONNECTION),
    (ConnectionResetError("x"), ExitCode.CONNECTION),
    (ProtocolError("bad signature"), ExitCode.PROTOCOL),
    (FileNotFoundError(2, "No such file", "x"), ExitCode.NOT_FOUND),
    (PermissionError(13, "Permission denied", "x"), ExitCode.ACCESS_DENIED),
    (FileExistsError(17, "File exists", "x"), ExitCode.EXISTS),
    (KeyboardInterrupt(), ExitCode.INTERRUPTED),
    (ValueError("x"), ExitCode.ERROR),
])
def test_exit_code_from_exception(exc, code):
    assert exit_code_for(exc) is code


# ---------------------------------------------------------------------------- passwords
def _options(**kw):
    return argparse.Namespace(**{"password_file": None, "kerberos": False, **kw})


class _Stdin(io.StringIO):
    def __init__(self, text="", tty=False):
        super().__init__(text)
        self.tty = tty

    def isatty(self):
        return self.tty


URL = parse_url("smb://CORP;alice@server/share")


def test_password_file_first_line_wins(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    f = tmp_path / "pw"
    f.write_text("s3cret  \nsecond line\n")
    f.chmod(0o600)
    assert read_password(_options(password_file=str(f)), URL, _Stdin()) == "s3cret  "
    assert capsys.readouterr().err == ""
    f.chmod(0o644)
    read_password(_options(password_file=str(f)), URL, _Stdin())
    assert "readable by other users" in capsys.readouterr().err
    assert read_password(_options(password_file="-"), URL, _Stdin("piped\r\nx")) == "piped"


def test_password_from_environment_even_empty(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert read_password(_options(), URL, _Stdin(tty=True)) == "from-env"
    monkeypatch.setenv(PASSWORD_ENV, "")
    assert read_password(_options(), URL, _Stdin(tty=True)) == ""


def test_password_prompt_only_on_a_terminal(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    prompts = []

    def prompt(text):
        prompts.append(text)
        return "typed"
    assert read_password(_options(), URL, _Stdin(tty=True), prompt=prompt) == "typed"
    assert prompts == ["Password for CORP\\alice@server: "]
    with monkeypatch.context() as m, pytest.raises(CLIError) as e:
        m.setattr(session.os, "open", _no_terminal)  # no controlling terminal either
        read_password(_options(), URL, _Stdin(tty=False), prompt=prompt)
    assert e.value.code is ExitCode.USAGE and PASSWORD_ENV in str(e.value)


def test_no_password_for_anonymous_or_kerberos(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert read_password(_options(), parse_url("smb://server/share"), _Stdin()) == ""
    monkeypatch.delenv(PASSWORD_ENV)
    assert read_password(_options(kerberos=True), URL, _Stdin()) == ""


def _no_terminal(path, flags):
    raise OSError(6, "No such device or address", path)


# ---------------------------------------------------------------------------- output
def _file(name, attrs, size=0, mtime=1714558953.5):
    return SharedFile(1700000000.0, 1700000001.0, mtime, 1700000002.0, size, 4096, attrs, "", name)


def test_json_record_keys_are_stable():
    rec = listing.file_record(_file("a.txt", 0x21, 12), "dir/a.txt")
    assert rec == {
        "name": "a.txt", "path": "/dir/a.txt", "type": "file", "size": 12,
        "allocation_size": 4096, "attributes": 0x21, "attribute_names": ["READONLY", "ARCHIVE"],
        "created": "2023-11-14T22:13:20.000000Z", "modified": "2024-05-01T10:22:33.500000Z",
        "accessed": "2023-11-14T22:13:21.000000Z", "changed": "2023-11-14T22:13:22.000000Z"}
    assert json.loads(listing.dumps([rec])) == [rec]
    share = listing.share_record(SharedDevice(0x80000003, "IPC$", "IPC"))
    assert share == {"name": "IPC$", "type": "ipc", "special": True, "temporary": False,
                     "comment": "IPC"}


def test_long_format():
    lines = listing.long_lines([_file("sub", 0x10), _file("big.bin", 0x26, 123456789)])
    assert lines[0].startswith("d---- ") and lines[0].endswith(" sub")
    assert lines[1].startswith("--hsa 123456789 ") and lines[1].endswith(" big.bin")
    assert re.match(r"^d----         0 \d{4}-\d\d-\d\d \d\d:\d\d sub$", lines[0])
    assert listing.mode_string(0x01) == "-r---"
    assert listing.attribute_names(0) == []


def test_stat_lines():
    text = "\n".join(listing.stat_lines(_file("f", 0x20, 5), "d/f"))
    assert "path:        /d/f" in text and "size:        5" in text
    assert "attributes:  0x00000020 ARCHIVE" in text and "type:        file" in text

