"""Name service tests: packet codec (RFC 1002 4.2) and NetBIOS against a UDP responder thread."""

import socket
import struct
import threading
import time

import pytest

from smb.errors import NotConnectedError, ProtocolError
from nmb import nmb_structs as ns
from nmb.NetBIOS import NetBIOS
from nmb.utils import split_name


# --- codec ---------------------------------------------------------------------------------------
def test_name_query_request_layout():
    pkt = ns.build_name_query(0x1234, "fileSrv", broadcast=True)
    trn, flags, qd, an, nscount, ar = struct.unpack(">6H", pkt[:12])
    assert (trn, qd, an, nscount, ar) == (0x1234, 1, 0, 0, 0)
    assert flags == 0x0110  # opcode 0, RD, B
    assert pkt[12] == 0x20 and pkt[45] == 0 and pkt[46:] == b"\x00\x20\x00\x01"
    parsed = ns.parse_packet(pkt)
    q = parsed.questions[0]
    assert split_name(q.name) == ("FILESRV", 0x20) and (q.qtype, q.qclass) == (ns.TYPE_NB, ns.CLASS_IN)
    assert not parsed.is_response
    assert struct.unpack(">H", ns.build_name_query(1, "X", broadcast=False)[2:4])[0] == 0x0100


def test_node_status_request_layout():
    pkt = ns.build_node_status_request(7)
    assert struct.unpack(">6H", pkt[:12]) == (7, 0, 1, 0, 0, 0)
    assert pkt[13:15] == b"CK" and pkt[15:45] == b"A" * 30  # '*' then 15 NULs (type 0x00)
    assert pkt[46:] == b"\x00\x21\x00\x01"


def test_positive_response_roundtrip():
    pkt = ns.parse_packet(ns.build_name_query_response(9, "SRV", 0x20, ["10.0.0.1", "192.168.7.8"],
                                                       nb_flags=0x6000))
    assert pkt.is_response and pkt.rcode == 0 and pkt.opcode == 0 and pkt.trn_id == 9
    rr = pkt.answers[0]
    assert rr.rr_type == ns.TYPE_NB and rr.ttl == 300000
    assert ns.name_query_addresses(rr.rdata) == [(0x6000, "10.0.0.1"), (0x6000, "192.168.7.8")]


def test_negative_response_roundtrip():
    pkt = ns.parse_packet(ns.build_name_query_response(9, "SRV", 0x20, [], rcode=3))
    assert pkt.rcode == 3 and pkt.answers == []


def test_node_status_response_roundtrip():
    data = ns.build_node_status_response(5, [("SRV", 0x20, 0x0400), ("WORKGROUP", 0x00, 0x8400)],
                                         unit_id=b"\x01\x02\x03\x04\x05\x06")
    rr = ns.parse_packet(data).answers[0]
    names = ns.node_status_names(rr.rdata)
    assert [(n.name, n.name_type, n.flags, n.is_group) for n in names] == [
        ("SRV", 0x20, 0x0400, False), ("WORKGROUP", 0x00, 0x8400, True)]
    assert rr.rdata[-46:-40] == b"\x01\x02\x03\x04\x05\x06"


def test_label_pointer_in_answer_is_followed():
    query = ns.build_name_query(3, "PTR")
    answer = struct.pack(">H", 0xC000 | 12) + struct.pack(">HHIH", ns.TYPE_NB, ns.CLASS_IN, 60, 6) + \
        b"\x00\x00\x7f\x00\x00\x01"
    data = bytearray(query)
    data[2:4] = struct.pack(">H", 0x8500)
    data[6:8] = struct.pack(">H", 1)
    pkt = ns.parse_packet(bytes(data) + answer)
    assert split_name(pkt.answers[0].name) == ("PTR", 0x20)
    assert ns.name_query_addresses(pkt.answers[0].rdata) == [(0, "127.0.0.1")]


@pytest.mark.parametrize("data,match", [
    (b"\x00\x01\x85", "too short"),
    (struct.pack(">6H", 1, 0x8500, 0, 1, 0, 0), "truncated before a name"),
    (struct.pack(">6H", 1, 0x8500, 0, 1, 0, 0) + b"\xc0\x0c", "does not point backwards"),
    (struct.pack(">6H", 1, 0x8500, 0, 1, 0, 0) + b"\xc0", "label pointer"),
    (struct.pack(">6H", 1, 0x8500, 0, 1, 0, 0) + ns.encode_nb_name("A", 0x20) + b"\x00\x20", "record truncated"),
    (struct.pack(">6H", 1, 0x8500, 0, 1, 0, 0) + ns.encode_nb_name("A", 0x20)
     + struct.pack(">HHIH", 0x20, 1, 0, 50) + b"\0" * 6, "RDATA truncated"),
    (struct.pack(">6H", 1, 0x8500, 0xFFFF, 0, 0, 0) + ns.encode_nb_name("A", 0x20) + b"\0\x20\0\x01",
     "truncated before a name"),
    (struct.pack(">6H", 1, 0x8500, 1, 0, 0, 0) + b"\x20" + b"Q" * 32 + b"\0\0\x20\0\x01", "invalid character"),
])
def test_parse_malformed(data, match):
    with pytest.raises(ProtocolError, match=match):
        ns.parse_packet(data)


def test_rdata_malformed():
    with pytest.raises(ProtocolError, match="multiple of 6"):
        ns.name_query_addresses(b"\0" * 7)
    with pytest.raises(ProtocolError, match="announces 3 names"):
        ns.node_status_names(b"\x03" + b"\0" * 40)
    with pytest.raises(ProtocolError, match="empty"):
        ns.node_status_names(b"")


# --- NetBIOS against a responder ---------------------------------------------------------------
class Responder:
    """UDP name server on 127.0.0.1; ``reply(request_bytes, parsed) -> list of datagrams``."""

    def __init__(self, reply, reply_from=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.out = self.sock
        if reply_from:
            self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.out.bind((reply_from, 0))
        self.requests = []
        self.errors = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                pkt = ns.parse_packet(data)
                self.requests.append(pkt)
                for dgram in self.reply(data, pkt):
                    self.out.sendto(dgram, addr)
                    time.sleep(0.01)
            except Exception as e:
                self.errors.append(e)

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()
        if self.out is not self.sock:
            self.out.close()
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def responder():
    started = []

    def start(reply, **kw):
        r = Responder(reply, **kw)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def nb():
    n = NetBIOS(broadcast=False)
    yield n
    n.close()


def test_query_name_unicast(responder, nb):
    def reply(data, pkt):
        q = pkt.questions[0]
        assert split_name(q.name) == ("FILESRV", 0x20) and q.qtype == ns.TYPE_NB
        assert pkt.flags & ns.NM_RD and not pkt.flags & ns.NM_B
        return [ns.build_name_query_response(pkt.trn_id, "FILESRV", 0x20, ["192.168.1.5", "10.0.0.7"])]

    r = responder(reply)
    assert nb.queryName("filesrv", "127.0.0.1", r.port, timeout=5) == ["192.168.1.5", "10.0.0.7"]


def test_query_name_ignores_other_transactions_and_requests(responder, nb):
    def reply(data, pkt):
        tid = pkt.trn_id
        return [
            ns.build_name_query_response(tid ^ 0x5555, "SRV", 0x20, ["1.1.1.1"]),  # other id
            ns.build_name_query(tid, "SRV"),  # a request, not a response
            b"\x00",  # too short to carry an id
            struct.pack(">HH", tid, 0x8000 | 7 << 11) + b"\0" * 8,  # WACK: keep waiting
            ns.build_name_query_response(tid, "SRV", 0x20, ["2.2.2.2"]),
        ]

    r = responder(reply)
    assert nb.queryName("SRV", "127.0.0.1", r.port, timeout=5) == ["2.2.2.2"]


def test_transaction_ids_vary(responder, nb):
    r = responder(lambda data, pkt: [ns.build_name_query_response(pkt.trn_id, "S", 0x20, ["3.3.3.3"])])
    for _ in range(5):
        assert nb.queryName("S", "127.0.0.1", r.port, timeout=5) == ["3.3.3.3"]
    ids = {p.trn_id for p in r.requests}
    assert len(ids) > 1 and 0 not in ids


def test_query_name_negative_answer_returns_none_quickly(responder, nb):
    r = responder(lambda data, pkt: [ns.build_name_query_response(pkt.trn_id, "NOPE", 0x20, [], rcode=3)])
    t0 = time.monotonic()
    assert nb.queryName("NOPE", "127.0.0.1", r.port, timeout=5) is None
    assert time.monotonic() - t0 < 2


def test_query_name_timeout(responder, nb):
    r = responder(lambda data, pkt: [])
    t0 = time.monotonic()
    assert nb.queryName("SILENT", "127.0.0.1", r.port, timeout=0.3) is None
    assert 0.25 <= time.monotonic() - t0 < 2


def test_malformed_answer_from_target_raises(responder, nb):
    def reply(data, pkt):
        return [struct.pack(">6H", pkt.trn_id, 0x8500, 0, 1, 0, 0) + b"\x20garbage"]

    r = responder(reply)
    with pytest.raises(ProtocolError, match="malformed NetBIOS name service response from 127.0.0.1"):
        nb.queryName("SRV", "127.0.0.1", r.port, timeout=5)


def test_malformed_rdata_from_target_raises(responder, nb):
    def reply(data, pkt):
        good = ns.build_name_query_response(pkt.trn_id, "SRV", 0x20, ["1.2.3.4"])
        return [good[:-8] + struct.pack(">H", 5) + good[-6:-1]]  # RDLENGTH 5: not a multiple of 6

    r = responder(reply)
    with pytest.raises(ProtocolError, match="multiple of 6"):
        nb.queryName("SRV", "127.0.0.1", r.port, timeout=5)


def test_malformed_with_wrong_id_is_ignored(responder, nb):
    r = responder(lambda data, pkt: [struct.pack(">H", pkt.trn_id ^ 1) + b"\xff" * 5])
    assert nb.queryName("SRV", "127.0.0.1", r.port, timeout=0.3) is None


def test_answer_from_other_address_is_ignored(responder, nb):
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 not usable here")
    r = responder(lambda data, pkt: [ns.build_name_query_response(pkt.trn_id, "S", 0x20, ["6.6.6.6"])],
                  reply_from="127.0.0.2")
    assert nb.queryName("S", "127.0.0.1", r.port, timeout=0.4) is None
    assert len(r.requests) == 1


def test_query_ip_for_name(responder, nb):
    def reply(data, pkt):
        q = pkt.questions[0]
        assert q.qtype == ns.TYPE_NBSTAT and q.name == b"*" + b"\0" * 15
        return [ns.build_node_status_response(pkt.trn_id, [
            ("FILESRV", 0x00, 0x0400), ("FILESRV", 0x20, 0x0400), ("WORKGROUP", 0x00, 0x8400),
            ("WORKGROUP", 0x1E, 0x8400), ("OTHERNAME", 0x20, 0x0400), ("FILESRV", 0x20, 0x0400)])]

    r = responder(reply)
    assert nb.queryIPForName("127.0.0.1", r.port, timeout=5) == ["FILESRV", "OTHERNAME"]


def test_query_ip_for_name_truncated_node_names(responder, nb):
    def reply(data, pkt):
        good = ns.build_node_status_response(pkt.trn_id, [("A", 0x20, 0)])
        rdata_off = len(good) - (1 + 18 + 46)
        bad = bytearray(good)
        bad[rdata_off] = 9  # announces 9 names, carries 1
        return [bytes(bad)]

    r = responder(reply)
    with pytest.raises(ProtocolError, match="announces 9 names"):
        nb.queryIPForName("127.0.0.1", r.port, timeout=5)


def test_query_ip_for_name_timeout(responder, nb):
    r = responder(lambda data, pkt: [])
    assert nb.queryIPForName("127.0.0.1", r.port, timeout=0.2) is None


def test_broadcast_query_goes_to_broadcast_address(monkeypatch):
    n = NetBIOS(broadcast=True)
    try:
        assert n.sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
        sent = []
        monkeypatch.setattr(n, "write", lambda data, ip, port: sent.append((data, ip, port)))
        assert n.queryName("WHO", timeout=0.1) is None
        data, ip, port = sent[0]
        assert (ip, port) == ("<broadcast>", 137)
        pkt = ns.parse_packet(data)
        assert pkt.flags & ns.NM_B and split_name(pkt.questions[0].name) == ("WHO", 0x20)
    finally:
        n.close()


def test_listen_port_and_close():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("", 0))
    port = probe.getsockname()[1]
    probe.close()
    n = NetBIOS(broadcast=False, listen_port=port)
    assert n.sock.getsockname()[1] == port
    n.close()
    n.close()
    with pytest.raises(NotConnectedError):
        n.queryName("X", "127.0.0.1", 137, timeout=0.1)
    with pytest.raises(NotConnectedError):
        n.queryIPForName("127.0.0.1", 137, timeout=0.1)
