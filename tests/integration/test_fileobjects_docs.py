"""The examples of docs/fileobjects.rst run, in order and unchanged, against the private
Samba, and leave on the server's disk what they say."""

import os
import re

import pytest

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _blocks():
    text = open(os.path.join(ROOT, "docs", "fileobjects.rst"), encoding="utf-8").read()
    return [re.sub(r"^    ", "", b, flags=re.M)
            for b in re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)]


def test_fileobjects_page_examples_run(samba, capsys):
    blocks = _blocks()
    assert len(blocks) == 5
    env = {"HOST": samba.host, "PORT": samba.port, "USER": samba.user, "PASSWORD": samba.password,
           "SERVER_NAME": samba.server_name, "SHARE": samba.share}
    for i, code in enumerate(blocks):
        exec(compile(code, "docs/fileobjects.rst (example %d)" % (i + 1), "exec"), env)
    assert capsys.readouterr().out == "True\nlocked by the other open\n"
    root = samba.share_path
    with open(os.path.join(root, "counter.txt"), "rb") as f:
        assert f.read() == b"0001"
    with open(os.path.join(root, "list.txt"), encoding="utf-8") as f:
        assert f.read() == "alpha\nbeta\ngamma\n"
    assert os.path.getsize(os.path.join(root, "copy.bin")) == 256 * 40000
    assert env["conn"].sock is None  # the last example closed the connection
