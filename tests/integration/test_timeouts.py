"""pysmb's meaning of ``timeout`` (issue 9.1): the longest wait for each response, not a limit
on the whole operation.

A proxy slows the link down: every READ (or WRITE) answer is held back DELAY seconds after
the previous one, so that a transfer of eight answers takes several times ``timeout`` while
each answer comes well within it. The transfer succeeds, with the right bytes on both sides.
A server that stops answering still raises SMBTimeout after about ``timeout``.
"""

import io
import os
import time

import pytest

from smb import smb_structs
from smb.errors import SMBTimeout
from smb.SMBConnection import SMBConnection
from tests.hostile import MitmProxy

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
DELAY = 0.45  # between two answers: well within TIMEOUT
ANSWERS = 8   # 8 x 0.45 s = 3.6 s: several times TIMEOUT
SMB2_READ, SMB2_WRITE = 8, 9
SMB1_READ_ANDX, SMB1_WRITE_ANDX = 0x2E, 0x2F


def _is(p, smb2_command, smb1_command):
    """Whether the frame answers that command (in any message of an SMB2 compound)."""
    if p[:4] == b"\xfeSMB":
        pos = 0
        while p[pos:pos + 4] == b"\xfeSMB":
            if p[pos + 12] == smb2_command:
                return True
            nxt = int.from_bytes(p[pos + 20:pos + 24], "little")
            if not nxt:
                return False
            pos += nxt
        return False
    return p[:4] == b"\xffSMB" and p[4] == smb1_command


def _connect(samba, port, smb1):
    smb_structs.SUPPORT_SMB2 = not smb1  # restored after the test (tests/conftest.py)
    conn = SMBConnection(samba.user, samba.password, "TIMEOUTS", samba.server_name, is_direct_tcp=True)
    assert conn.connect(samba.host, port, timeout=10)
    return conn


@pytest.mark.parametrize("direction", ["retrieveFile", "storeFile"])
@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_a_transfer_longer_than_timeout_succeeds(samba, smb1, direction):
    answer = (SMB2_READ, SMB1_READ_ANDX) if direction == "retrieveFile" else (SMB2_WRITE, SMB1_WRITE_ANDX)

    def on_response(proxy, p):
        if proxy.state.get("slow") and _is(p, *answer):
            proxy.state["held"] = proxy.state.get("held", 0) + 1
            time.sleep(DELAY)  # the relay is sequential: answers arrive DELAY apart
        return p

    with MitmProxy((samba.host, samba.port), on_response=on_response) as proxy:
        conn = _connect(samba, proxy.port, smb1)
        engine = conn._engine
        chunk = engine.read_chunk if direction == "retrieveFile" else engine.write_chunk
        data = os.urandom(ANSWERS * chunk)
        path = os.path.join(samba.share_path, "slow-link-%d.bin" % smb1)
        if direction == "retrieveFile":
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o666)
        proxy.state["slow"] = True
        t0 = time.monotonic()
        if direction == "retrieveFile":
            out = io.BytesIO()
            assert conn.retrieveFile(samba.share, os.path.basename(path), out, timeout=TIMEOUT)[1] == len(data)
            assert out.getvalue() == data
        else:
            assert conn.storeFile(samba.share, os.path.basename(path), io.BytesIO(data), timeout=TIMEOUT) == len(data)
        elapsed = time.monotonic() - t0
        proxy.state["slow"] = False
        conn.close()
    with open(path, "rb") as f:
        assert f.read() == data
    assert proxy.state["held"] >= ANSWERS
    assert elapsed >= 3 * TIMEOUT  # the check was not shortened: it outlasted timeout several times


@pytest.mark.parametrize("smb1", [False, True], ids=["smb2", "smb1"])
def test_a_silent_server_still_times_out(samba, smb1):
    def on_response(proxy, p):
        return None if proxy.state.get("mute") else p

    with MitmProxy((samba.host, samba.port), on_response=on_response) as proxy:
        conn = _connect(samba, proxy.port, smb1)
        proxy.state["mute"] = True
        t0 = time.monotonic()
        with pytest.raises(SMBTimeout):
            conn.echo(b"anyone?", timeout=TIMEOUT)
        assert TIMEOUT <= time.monotonic() - t0 < TIMEOUT + 2
        conn.close()
