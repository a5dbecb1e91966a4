"""The transport against the private Samba smbd: NetBIOS session setup and framed SMB2 traffic."""

import socket
import struct
import time

import pytest

from smb.errors import NotConnectedError, SMBTimeout
from nmb import framing
from nmb.transport import Transport, session_request

pytestmark = pytest.mark.integration

# [MS-SMB2] 2.2.1.2 SMB2 sync header, 2.2.3 NEGOTIATE request
_SMB2_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")
_NEGOTIATE = struct.Struct("<HHHHI16sQ")


def smb2_negotiate_request(dialect=0x0202, message_id=0):
    header = _SMB2_HEADER.pack(b"\xfeSMB", 64, 0, 0, 0x0000, 1, 0, 0, message_id, 0, 0, 0, b"\0" * 16)
    body = _NEGOTIATE.pack(36, 1, 0x0001, 0, 0, b"smbpy-transport!", 0) + struct.pack("<H", dialect)
    assert len(header) == 64
    return header, body


def check_negotiate_response(msg):
    assert bytes(msg[:4]) == b"\xfeSMB"
    (magic, size, _charge, status, command, _credits, flags, _next, mid, _r, _tid, _sid,
     _sig) = _SMB2_HEADER.unpack_from(msg, 0)
    assert size == 64
    assert command == 0x0000, "not a NEGOTIATE response"
    assert status == 0, "NEGOTIATE failed with NTSTATUS 0x%08X" % status
    assert flags & 0x1, "SMB2_FLAGS_SERVER_TO_REDIR not set"
    structure_size, _security_mode, dialect = struct.unpack_from("<HHH", msg, 64)
    assert structure_size == 65
    assert dialect == 0x0202


def test_positive_session_response_from_smbd(samba):
    if samba.netbios_port is None:
        pytest.skip("server has no NetBIOS session port")
    with socket.create_connection((samba.host, samba.netbios_port), timeout=10) as s:
        assert session_request(s, samba.server_name, "PYTESTCLIENT") == (framing.POSITIVE_SESSION_RESPONSE, b"")
    t = Transport.connect(samba.host, samba.netbios_port, direct_tcp=False, remote_name=samba.server_name,
                          my_name="PYTESTCLIENT", timeout=10)
    assert not t.closed
    t.close()


def test_negative_session_response_from_smbd(samba):
    # Samba 4.17 accepts any CALLED name (so a wrong remote_name cannot provoke a refusal; that case
    # is covered against a fake server in tests/unit/test_transport.py). It does refuse a CALLING
    # name of type 0x52 with NEGATIVE SESSION RESPONSE 0x82, which exercises the negative path live.
    if samba.netbios_port is None:
        pytest.skip("server has no NetBIOS session port")
    with socket.create_connection((samba.host, samba.netbios_port), timeout=10) as s:
        assert session_request(s, samba.server_name, "PYTESTCLIENT", calling_type=0x52) == (
            framing.NEGATIVE_SESSION_RESPONSE, b"\x82")
    with pytest.raises(NotConnectedError, match=r"called name not present \(0x82\)"):
        Transport.connect(samba.host, samba.netbios_port, direct_tcp=False, remote_name=samba.server_name,
                          my_name="PYTESTCLIENT", calling_name_type=0x52, timeout=10)


@pytest.mark.parametrize("direct_tcp", [True, False], ids=["direct-tcp", "netbios"])
def test_smb2_negotiate_roundtrip(samba, direct_tcp):
    port = samba.port if direct_tcp else samba.netbios_port
    if port is None:
        pytest.skip("server has no NetBIOS session port")
    with Transport.connect(samba.host, port, direct_tcp=direct_tcp, remote_name=samba.server_name,
                           timeout=10) as t:
        header, body = smb2_negotiate_request()
        t.send(header, body, deadline=time.monotonic() + 10)
        check_negotiate_response(t.recv(deadline=time.monotonic() + 10))


def test_smbd_accepts_24_bit_lengths_on_netbios_port(samba):
    # a NEGOTIATE padded past the 17-bit limit: smbd reads the 24-bit length form on port 139
    if samba.netbios_port is None:
        pytest.skip("server has no NetBIOS session port")
    with Transport.connect(samba.host, samba.netbios_port, direct_tcp=False, remote_name=samba.server_name,
                           timeout=10) as t:
        header, body = smb2_negotiate_request()
        t.send(header, body, bytes(0x30000), deadline=time.monotonic() + 10)
        check_negotiate_response(t.recv(deadline=time.monotonic() + 10))


def test_recv_timeout_then_exchange_on_live_connection(samba):
    with Transport.connect(samba.host, samba.port, direct_tcp=True, timeout=10) as t:
        with pytest.raises(SMBTimeout):
            t.recv(deadline=time.monotonic() + 0.3)  # nothing was asked yet
        assert not t.closed
        t.send(*smb2_negotiate_request(), deadline=time.monotonic() + 10)
        check_negotiate_response(t.recv(deadline=time.monotonic() + 10))


def test_server_closing_is_not_connected(samba):
    # garbage instead of an SMB message: smbd drops the connection
    with Transport.connect(samba.host, samba.port, direct_tcp=True, timeout=10) as t:
        t.send(b"\x00" * 8, deadline=time.monotonic() + 10)
        with pytest.raises(NotConnectedError):
            t.recv(deadline=time.monotonic() + 10)
        assert t.closed
