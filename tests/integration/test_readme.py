"""The README's example runs, unchanged, against the private Samba."""

import os
import re

import pytest

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_readme_example_runs(samba, capsys):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    env = {"HOST": samba.host, "PORT": samba.port, "USER": samba.user,
           "PASSWORD": samba.password, "SERVER_NAME": samba.server_name, "SHARE": samba.share}
    exec(compile(code, "README.md", "exec"), env)
    out = capsys.readouterr().out
    assert "public" in out and "IPC$" in out
    assert re.search(r"^hello\.txt 12 False$", out, re.M)
