"""The README's examples run, unchanged, against the private Samba: the Python one in this
process, the shell one (the command line) with bash."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _blocks(language):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    return re.findall(r"```%s\n(.*?)```" % language, text, re.S)


def _env(samba):
    return {"HOST": samba.host, "PORT": samba.port, "USER": samba.user,
            "PASSWORD": samba.password, "SERVER_NAME": samba.server_name, "SHARE": samba.share}


def test_readme_example_runs(samba, capsys):
    code, _fsspec = _blocks("python")
    env = {"HOST": samba.host, "PORT": samba.port, "USER": samba.user,
           "PASSWORD": samba.password, "SERVER_NAME": samba.server_name, "SHARE": samba.share}
    exec(compile(code, "README.md", "exec"), env)
    out = capsys.readouterr().out
    assert "public" in out and "IPC$" in out
    assert re.search(r"^hello\.txt 12 False$", out, re.M)


def test_readme_fsspec_example_runs(samba, capsys):
    _smbconnection, code = _blocks("python")
    assert "fsspec" in code
    exec(compile(code, "README.md", "exec"), _env(samba))
    assert capsys.readouterr().out == "['%s/fsspec-demo/hello.txt']\n" % samba.share
    assert not os.path.exists(os.path.join(samba.share_path, "fsspec-demo"))


def test_readme_shell_example_runs(samba, tmp_path):
    (script,) = _blocks("sh")
    env = dict(os.environ, HOST=samba.host, PORT=str(samba.port), USER=samba.user,
               SHARE=samba.share, SMB_PASSWORD=samba.password,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    r = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    assert re.search(r"^%s\s+disk\s" % samba.share, r.stdout, re.M)
    assert re.search(r"^----a +21 \S+ \S+ hello\.txt$", r.stdout, re.M)  # sizes are right-aligned
    assert r.stdout.endswith("Hello from the shell\n")
