"""pysmb names and shapes that need no server: constants, message records, NetBIOS helpers,
SMBHandler's redaction, exception types (issue "pysmb drop-in fidelity")."""

import socket
import struct
import threading
import urllib.error

import pytest

from nmb import nmb_structs as ns
from nmb.base import NBNS, NMBError
from nmb.NetBIOS import NetBIOS
from smb import errors, records
from smb.engine import ClientConfig
from smb.smb2 import constants as C
from smb.smb2.header import request_header
from smb.SMBHandler import parse_smb_url, redact_url


def test_star_import_of_smbconnection_brings_the_constants():
    namespace = {}
    exec("from smb.SMBConnection import *", namespace)
    for name, value in (("FILE_READ_DATA", 0x1), ("GENERIC_READ", 0x80000000), ("SYNCHRONIZE", 0x100000),
                        ("WRITE_DAC", 0x40000), ("FILE_SHARE_NONE", 0), ("FILE_OPEN_IF", 3),
                        ("CAP_EXTENDED_SECURITY", 0x80000000), ("SMB_FLAGS2_UNICODE", 0x8000),
                        ("DACL_SECURITY_INFORMATION", 4), ("SMB_FILE_ATTRIBUTE_INCL_NORMAL", 0x10000)):
        assert namespace[name] == value, name
    assert namespace["SMBConnection"].__name__ == "SMBConnection"
    assert "OperationFailure" in namespace and "SUPPORT_SMB2" in namespace


def test_pysmb_import_paths():
    from smb.base import SMB, SharedFile  # noqa: F401
    from smb.smb2_constants import SMB2_COM_CREATE, SMB2_DIALECT_21
    from smb.smb2_structs import SMB2Message  # noqa: F401
    from smb.smb_structs import OperationFailure, ProtocolError, SMBMessage  # noqa: F401
    from smb.SMBConnection import SMBConnection
    from smb.utils import convertEpochToFILETIME, convertFILETIMEtoEpoch
    from smb.utils.md4 import MD4
    from nmb.nmb_constants import TYPE_NAMES, TYPE_SERVER, NODE_B  # noqa: F401
    assert SMB is SMBConnection and (SMB2_COM_CREATE, SMB2_DIALECT_21) == (5, 0x210)
    assert convertFILETIMEtoEpoch(convertEpochToFILETIME(12.5)) == 12.5
    assert MD4(b"").make_copy().hexdigest() == "31d6cfe0d16ae931b73c59d7e0c089c0"
    assert TYPE_NAMES[TYPE_SERVER] == "Server"


# --- message records ----------------------------------------------------------------------

def _smb2_error(status, command=C.CREATE, mid=7, tid=3, session=0x1122):
    head = bytearray(request_header(command, message_id=mid, tree_id=tid, session_id=session))
    struct.pack_into("<I", head, 8, status)
    struct.pack_into("<I", head, 16, C.FLAGS_SERVER_TO_REDIR)
    return bytes(head) + struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"


def test_smb2_records_decode_and_encode():
    raw = _smb2_error(0xC0000034)
    m = records.SMB2Message()
    assert m.decode(raw) == len(raw)
    assert (m.command, m.status, m.mid, m.tid, m.session_id) == (C.CREATE, 0xC0000034, 7, 3, 0x1122)
    assert m.isReply and not m.isAsync and m.raw_data == raw and m.payload.error_data == b""
    assert m.encode() == raw
    assert "CREATE" in str(m) and "0xC0000034" in str(m)
    failure = records.smb2_failure_from_bytes("NEGOTIATE failed", raw)
    request, response = failure.smb_messages
    assert failure.status == 0xC0000034 and not request.isReply and request.mid == response.mid


def test_raw_data_is_capped():
    raw = _smb2_error(0xC0000001) + b"x" * (records.RAW_DATA_LIMIT + 100)
    m = records.SMB2Message()
    m.decode(raw)
    assert len(m.raw_data) == records.RAW_DATA_LIMIT


def test_smb1_records_and_status_object():
    from smb.smb1.header import message
    raw = bytearray(message(0xA2, b"", b"", mid=9, tid=4, uid=5, flags2=0xC843))
    struct.pack_into("<I", raw, 5, 0xC0000034)
    raw[9] |= 0x80  # a reply
    failure = records.smb1_failure("open failed", bytes(raw), 0xC0000034)
    request, response = failure.smb_messages
    assert isinstance(response.status, records.SMBError) and response.status.is_ntstatus
    assert response.status == 0xC0000034 and int(response.status) == 0xC0000034
    assert str(response.status) == "NTSTATUS=0xC0000034"
    assert (response.mid, response.tid, response.uid, response.command) == (9, 4, 5, 0xA2)
    assert response.isReply and not request.isReply and request.status.internal_value == 0
    assert response.encode() == bytes(raw)
    dos = records.SMBError(0x00020001, is_ntstatus=False)  # ERRDOS class 1, code 2
    assert str(dos) == "ErrorClass=0x01 ErrorCode=0x0002" and dos.hasError


# --- NetBIOS --------------------------------------------------------------------------------

def test_nbns_packets():
    nbns = NBNS()
    query = nbns.prepareNameQuery(0x1234, "FILESRV")
    pkt = ns.parse_packet(query)
    assert pkt.trn_id == 0x1234 and pkt.flags & ns.NM_B
    answer = ns.build_name_query_response(0x1234, "FILESRV", 0x20, ["10.1.2.3"])
    assert nbns.decodePacket(answer) == (0x1234, ["10.1.2.3"])
    status = ns.build_node_status_response(5, [("SRV", 0x20, 0), ("WG", 0x00, 0x8000)])
    assert nbns.decodeIPQueryPacket(status) == (5, [("SRV", 0x20), ("WG", 0x00)])
    assert not ns.parse_packet(nbns.prepareNetNameQuery(5, False)).flags & ns.NM_B
    with pytest.raises(NotImplementedError):
        nbns.write(b"", "127.0.0.1", 137)
    assert issubclass(errors.NotConnectedError, NMBError)


def _answer_from(address, name):
    """A name server on 127.0.0.1 that answers from ``address`` (as a host answering a
    subnet broadcast does: the query went to another address)."""
    inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    inbox.bind(("127.0.0.1", 0))
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind((address, 0))

    def serve():
        data, peer = inbox.recvfrom(2048)
        pkt = ns.parse_packet(data)
        out.sendto(ns.build_name_query_response(pkt.trn_id, "OTHER", 0x20, ["10.9.9.9"]), peer)
        out.sendto(ns.build_name_query_response(pkt.trn_id, name, 0x20, ["10.0.0.7"]), peer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return inbox, out, t


def test_query_name_accepts_answers_from_any_address_when_broadcasting():
    try:
        inbox, out, t = _answer_from("127.0.0.2", "FILESRV")
    except OSError:
        pytest.skip("127.0.0.2 not usable here")
    try:
        with NetBIOS() as nb:  # broadcast=True, pysmb's default
            # the answer about another name is ignored, the one about FILESRV is taken
            assert nb.queryName("FILESRV", "127.0.0.1", inbox.getsockname()[1], timeout=5) == ["10.0.0.7"]
    finally:
        t.join(5)
        inbox.close()
        out.close()


def test_handler_name_query_gives_up_at_once_without_a_name_service(monkeypatch):
    import time

    from smb import SMBHandler as h
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(h, "NETBIOS_PORT", port)
    start = time.monotonic()
    assert h.SMBHandler._server_name("127.0.0.1", False) == "*SMBSERVER"
    assert time.monotonic() - start < 2  # ICMP port unreachable ends the wait
    assert h.SMBHandler._server_name("127.0.0.1", True) == "*SMBSERVER"  # direct TCP: not asked


# --- errors, redaction ----------------------------------------------------------------------

def test_connect_error_types():
    e = errors.connect_error("could not connect", ConnectionRefusedError(111, "refused"))
    assert isinstance(e, ConnectionRefusedError) and isinstance(e, errors.NotConnectedError)
    assert e.errno == 111 and "could not connect" in str(e)
    g = errors.connect_error("cannot resolve", socket.gaierror(socket.EAI_NONAME, "unknown"))
    assert isinstance(g, socket.gaierror) and isinstance(g, errors.NotConnectedError)
    t = errors.connect_timeout("timed out")
    assert isinstance(t, socket.timeout) and isinstance(t, errors.SMBTimeout)
    assert type(errors.connect_error("x", ConnectionRefusedError(1, "y"))) is type(e)  # one class


def test_no_password_in_reprs_and_url_errors():
    cfg = ClientConfig(username="bob", password="hunter2-secret")
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg)
    from smb.SMBConnection import SMBConnection
    assert "hunter2" not in repr(SMBConnection("bob", "hunter2-secret", "me", "srv"))
    url = "smb://DOM;bob:hunter2-secret@SRV,10.0.0.1:139/share/f.txt"
    assert redact_url(url) == "smb://DOM;bob:***@SRV,10.0.0.1:139/share/f.txt"
    assert redact_url("smb://host/share/f") == "smb://host/share/f"
    with pytest.raises(urllib.error.URLError) as e:
        parse_smb_url("smb://bob:hunter2-secret@host:notaport/share/f")
    assert "hunter2" not in str(e.value)
    with pytest.raises(urllib.error.URLError) as e:
        parse_smb_url("smb://bob:hunter2-secret@host:139/")
    assert "hunter2" not in str(e.value)
