"""The examples of docs/advanced.rst run, unchanged and in order, against the private Samba."""

import os
import re
import shutil

import pytest

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _blocks():
    text = open(os.path.join(ROOT, "docs", "advanced.rst"), encoding="utf-8").read()
    out = []
    for block in re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text):
        out.append("\n".join(line[4:] for line in block.splitlines()))
    return out


def test_advanced_examples_run(samba, capsys):
    blocks = _blocks()
    assert len(blocks) == 4
    env = {"HOST": samba.host, "PORT": samba.port, "USER": samba.user,
           "PASSWORD": samba.password, "SERVER_NAME": samba.server_name, "SHARE": samba.share,
           "ACL_SHARE": samba.extra["acl_share"]}
    try:
        for i, code in enumerate(blocks):
            exec(compile(code, "docs/advanced.rst block %d" % i, "exec"), env)
        # Samba's notifyd may register the watch after the server answered it, and then
        # miss the file's creation under load: the write is reported instead
        seen = capsys.readouterr().out.splitlines()
        assert "added order.csv" in seen or "modified order.csv" in seen, seen
        with open(os.path.join(samba.share_path, "report-copy.pdf"), "rb") as f:
            assert f.read() == b"%PDF-1.7 ..." * 100000
    finally:  # the share's root is shared with other tests (the README's lists it)
        shutil.rmtree(os.path.join(samba.share_path, "inbox"), ignore_errors=True)
        for path in (os.path.join(samba.share_path, "report.pdf"),
                     os.path.join(samba.share_path, "report-copy.pdf"),
                     os.path.join(samba.extra["acl_path"], "report.pdf")):
            if os.path.exists(path):
                os.remove(path)
