"""smb.dcerpc: connection-oriented PDUs (C706 12.6, [MS-RPCE] 2.2.2) and NetrShareEnum
NDR ([MS-SRVS] 3.1.4.8). Expected bytes are laid out by hand from the specs."""

import struct

import pytest

from smb.dcerpc import rpce, srvsvc
from smb.errors import OperationFailure, ProtocolError

SRVSVC_UUID_LE = bytes.fromhex("c84f324b7016d30112785a47bf6ee188")  # 4b324fc8-1670-01d3-1278-5a47bf6ee188
NDR_UUID_LE = bytes.fromhex("045d888aeb1cc9119fe808002b104860")  # 8a885d04-1ceb-11c9-9fe8-08002b104860


def hdr(ptype, flags, frag_len, call_id, auth_len=0):
    return (bytes([5, 0, ptype, flags])       # rpc_vers, rpc_vers_minor, PTYPE, pfc_flags
            + b"\x10\x00\x00\x00"             # packed_drep: little-endian, ASCII, IEEE
            + struct.pack("<HHI", frag_len, auth_len, call_id))


def response(call_id, stub, flags=3, alloc_hint=None):
    return (hdr(2, flags, 24 + len(stub), call_id)
            + struct.pack("<IHBx", len(stub) if alloc_hint is None else alloc_hint, 0, 0)  # alloc_hint, p_cont_id, cancel_count, reserved
            + stub)


def bind_ack(call_id, result=0, reason=0, xmit=4280, recv=4280, sec_addr=b"\\PIPE\\srvsvc\x00"):
    body = struct.pack("<HHI", xmit, recv, 0x53F0)   # max_xmit_frag, max_recv_frag, assoc_group_id
    body += struct.pack("<H", len(sec_addr)) + sec_addr  # sec_addr (port_any_t)
    body += b"\x00" * (-(16 + len(body)) % 4)         # align to 4
    body += struct.pack("<B3x", 1)                     # n_results, reserved, reserved2
    body += struct.pack("<HH", result, reason) + NDR_UUID_LE + struct.pack("<I", 2)
    return hdr(12, 3, 16 + len(body), call_id) + body


# ----------------------------------------------------------------------------------- rpce
def test_uuid_encoding():
    assert rpce.uuid_to_bytes(srvsvc.SRVSVC_UUID) == SRVSVC_UUID_LE
    assert rpce.uuid_to_bytes(rpce.NDR_SYNTAX_UUID) == NDR_UUID_LE
    assert str(rpce.uuid_from_bytes(NDR_UUID_LE)) == rpce.NDR_SYNTAX_UUID


def test_bind_pdu_exact():
    pdu = rpce.bind(1, srvsvc.SRVSVC_UUID, (3, 0))
    expected = (hdr(11, 0x03, 72, 1)
                + struct.pack("<HHI", 4280, 4280, 0)    # max_xmit_frag, max_recv_frag, assoc_group_id
                + struct.pack("<B3x", 1)                # n_context_elem, reserved, reserved2
                + struct.pack("<HBx", 0, 1)             # p_cont_id, n_transfer_syn, reserved
                + SRVSVC_UUID_LE + struct.pack("<HH", 3, 0)  # abstract syntax: uuid, major, minor
                + NDR_UUID_LE + struct.pack("<I", 2))   # transfer syntax NDR v2
    assert pdu == expected


def test_parse_bind_ack():
    ack = rpce.parse_bind_ack(bind_ack(1, xmit=2048, recv=1024), call_id=1)
    assert (ack.max_xmit_frag, ack.max_recv_frag, ack.assoc_group_id) == (2048, 1024, 0x53F0)
    assert ack.secondary_address == "\\PIPE\\srvsvc"
    assert ack.results == [(0, 0, rpce.uuid_from_bytes(NDR_UUID_LE), 2)]
    with pytest.raises(ProtocolError):
        rpce.parse_bind_ack(bind_ack(1), call_id=2)


def test_bind_nak_and_rejection():
    nak = hdr(13, 3, 18, 1) + struct.pack("<H", 4)
    with pytest.raises(rpce.RPCBindError) as ei:
        rpce.parse_bind_ack(nak)
    assert ei.value.reason == 4
    client = rpce.RPCClient(lambda data: bind_ack(1, result=2, reason=1))
    with pytest.raises(rpce.RPCBindError):
        client.bind(srvsvc.SRVSVC_UUID, (3, 0))
    assert isinstance(ei.value, OperationFailure)


def test_bind_ack_malformed():
    good = bind_ack(1)
    for bad in (good[:20], good[:-4], hdr(12, 3, 100, 1) + good[16:]):
        with pytest.raises(ProtocolError):
            rpce.parse_bind_ack(bad)
    wrong_version = b"\x04" + good[1:]
    with pytest.raises(ProtocolError):
        rpce.parse_bind_ack(wrong_version)
    big_endian = good[:4] + b"\x00\x00\x00\x00" + good[8:]
    with pytest.raises(ProtocolError):
        rpce.parse_bind_ack(big_endian)
    many_results = bytearray(good)
    many_results[40] = 9  # n_results (after 16 + 8 + 2 + 13 bytes, aligned to 4) beyond the PDU
    with pytest.raises(ProtocolError):
        rpce.parse_bind_ack(bytes(many_results))


def test_request_single_fragment_exact():
    (pdu,) = rpce.request(7, 15, b"\xAA" * 10)
    assert pdu == (hdr(0, 0x03, 34, 7)
                   + struct.pack("<IHH", 10, 0, 15)   # alloc_hint, p_cont_id, opnum
                   + b"\xAA" * 10)


def test_request_fragmentation():
    stub = bytes(range(256)) * 2  # 512 bytes
    frags = rpce.request(3, 15, stub, max_xmit_frag=24 + 200)
    # 200 bytes per fragment (a multiple of 8): 200 + 200 + 112
    assert [len(f) for f in frags] == [224, 224, 136]
    assert [f[3] for f in frags] == [0x01, 0x00, 0x02]
    assert [struct.unpack_from("<I", f, 16)[0] for f in frags] == [512, 312, 112]  # alloc_hint
    assert all(struct.unpack_from("<H", f, 8)[0] == len(f) for f in frags)
    assert b"".join(f[24:] for f in frags) == stub
    (empty,) = rpce.request(1, 0, b"")
    assert empty[3] == 0x03 and len(empty) == 24


def test_fault():
    fault = hdr(3, 3, 32, 5) + struct.pack("<IHBxI4x", 0, 0, 0, rpce.NCA_S_OP_RNG_ERROR)
    asm = rpce.ResponseAssembler(5)
    with pytest.raises(rpce.RPCFault) as ei:
        asm.feed(fault)
    assert ei.value.status == 0x1C010002
    assert "nca_s_op_rng_error" in str(ei.value)
    assert isinstance(ei.value, OperationFailure)


def test_response_reassembly_from_pieces():
    stub = bytes(range(100))
    data = response(9, stub[:40], flags=1) + response(9, stub[40:80], flags=0) + response(9, stub[80:], flags=2)
    asm = rpce.ResponseAssembler(9)
    done = False
    for i in range(0, len(data), 7):  # byte stream arriving in odd pieces
        assert not done
        done = asm.feed(data[i:i + 7])
    assert done and asm.stub == stub


def test_response_malformed():
    stub = b"x" * 8
    cases = [
        response(9, stub, flags=2),                          # no FIRST_FRAG
        response(8, stub),                                   # wrong call id
        response(9, stub, flags=1) + response(9, stub, flags=3),  # FIRST_FRAG twice
        response(9, stub) + b"junk",                         # trailing data
        hdr(2, 3, 10, 9),                                    # frag_length < header
        hdr(0, 3, 24, 9) + b"\x00" * 8,                      # a REQUEST, not a RESPONSE
        hdr(2, 3, 40, 9, auth_len=200) + b"\x00" * 24,       # auth_length overruns
    ]
    for data in cases:
        with pytest.raises(ProtocolError):
            asm = rpce.ResponseAssembler(9)
            asm.feed(data)
    small = rpce.ResponseAssembler(9, max_size=100)
    with pytest.raises(ProtocolError):
        small.feed(response(9, b"x" * 64, flags=1) + response(9, b"x" * 64, flags=2))


def test_response_with_auth_trailer_is_stripped():
    stub = b"S" * 12
    pad = b"\x00" * 4
    trailer = struct.pack("<BBBBI", 10, 2, len(pad), 0, 0) + b"V" * 16
    body = struct.pack("<IHBx", 12, 0, 0) + stub + pad + trailer
    pdu = hdr(2, 3, 16 + len(body), 4, auth_len=16) + body
    asm = rpce.ResponseAssembler(4)
    assert asm.feed(pdu) and asm.stub == stub


class FakePipe:
    """Plays a server: answers the bind, then returns a canned response in pieces."""

    def __init__(self, reply_chunks, ack=None):
        self.ack = ack
        self.reply_chunks = list(reply_chunks)
        self.sent = []
        self.written = []

    def transact(self, data):
        self.sent.append(data)
        if data[2] == 11:
            return self.ack or bind_ack(struct.unpack_from("<I", data, 12)[0])
        return self.reply_chunks.pop(0)

    def read_more(self):
        return self.reply_chunks.pop(0) if self.reply_chunks else b""

    def write(self, data):
        self.written.append(data)


def test_rpc_client_bind_and_fragmented_call():
    stub = b"R" * 50
    reply = response(2, stub[:30], flags=1) + response(2, stub[30:], flags=2)
    pipe = FakePipe([reply[:20], reply[20:70], reply[70:]], ack=bind_ack(1, xmit=1024, recv=64))
    client = rpce.RPCClient(pipe.transact, pipe.read_more, write=pipe.write)
    client.bind(srvsvc.SRVSVC_UUID, (3, 0))
    assert client.max_xmit_frag == 64 and client.max_recv_frag == 1024
    assert client.call(15, b"Q" * 100) == stub
    # 100 stub bytes over 64-byte fragments: 40 + 40 + 20; last one goes through transact
    assert [len(w) for w in pipe.written] == [64, 64]
    assert len(pipe.sent[-1]) == 44 and pipe.sent[-1][3] == 0x02


def test_rpc_client_incomplete_reply_without_read_more():
    pipe = FakePipe([response(2, b"x" * 8)[:20]])
    client = rpce.RPCClient(pipe.transact)
    client.bind(srvsvc.SRVSVC_UUID, 3)
    with pytest.raises(ProtocolError):
        client.call(15, b"")
    pipe = FakePipe([response(2, b"x" * 8, flags=1)])
    client = rpce.RPCClient(pipe.transact, pipe.read_more)
    client.bind(srvsvc.SRVSVC_UUID, 3)
    with pytest.raises(ProtocolError):  # pipe runs dry before LAST_FRAG
        client.call(15, b"")


def test_call_before_bind():
    with pytest.raises(ProtocolError):
        rpce.RPCClient(lambda d: b"").call(0, b"")


# --------------------------------------------------------------------------------- srvsvc
def u32(v):
    return struct.pack("<I", v)


def ndr_wstr(s):
    """Conformant varying string: max count, offset, actual count, UTF-16LE with NUL, padded to 4."""
    data = (s + "\x00").encode("utf-16-le")
    n = len(data) // 2
    out = u32(n) + u32(0) + u32(n) + data
    return out + b"\x00" * (-len(out) % 4)


def test_encode_netr_share_enum_request_exact():
    stub = srvsvc.encode_netr_share_enum_request("FILESRV")
    expected = (
        u32(0x00020000)                                  # ServerName: unique pointer referent id
        + u32(10) + u32(0) + u32(10)                     # max count, offset, actual count ("\\\\FILESRV" + NUL)
        + "\\\\FILESRV\x00".encode("utf-16-le")          # 20 bytes: already 4-aligned
        + u32(1)                                         # InfoStruct.Level
        + u32(1)                                         # ShareInfo union switch (level 1)
        + u32(0x00020004)                                # Level1: pointer to SHARE_INFO_1_CONTAINER
        + u32(0)                                         #   EntriesRead
        + u32(0)                                         #   Buffer: NULL
        + u32(0xFFFFFFFF)                                # PreferedMaximumLength
        + u32(0x00020008)                                # ResumeHandle: unique pointer referent id
        + u32(0)                                         #   *ResumeHandle
    )
    assert stub == expected


def test_encode_request_pads_odd_string_and_accepts_prefixed_name():
    stub = srvsvc.encode_netr_share_enum_request("\\\\AB")  # 4 chars + NUL = 10 bytes -> 2 bytes padding
    assert stub[4:16] == u32(5) + u32(0) + u32(5)
    assert stub[16:26] == "\\\\AB\x00".encode("utf-16-le")
    assert stub[26:28] == b"\x00\x00"
    assert stub[28:32] == u32(1)
    assert len(stub) == 28 + 8 * 4  # Level, switch, pointer, EntriesRead, Buffer, PrefMax, resume ptr+value


SHARES = [("public", 0x00000000, "Public files"), ("empty", 0x00000000, ""), ("IPC$", 0x80000003, "IPC Service (Samba)")]


def share_enum_response(shares=SHARES, werror=0, total=None, null_remark_index=None):
    n = len(shares)
    out = u32(1) + u32(1)                 # Level, union switch
    out += u32(0x00020000)                # pointer to SHARE_INFO_1_CONTAINER
    out += u32(n)                         # EntriesRead
    out += u32(0x00020004)                # Buffer pointer
    out += u32(n)                         # conformant array max count
    ref = 0x00020008
    for i, (_, stype, _) in enumerate(shares):
        out += u32(ref) + u32(stype)      # shi1_netname pointer, shi1_type
        out += u32(0 if i == null_remark_index else ref + 4)  # shi1_remark pointer
        ref += 8
    for i, (name, _, remark) in enumerate(shares):
        out += ndr_wstr(name)
        if i != null_remark_index:
            out += ndr_wstr(remark)
    out += u32(n if total is None else total)  # TotalEntries
    out += u32(0x00020100) + u32(0)       # ResumeHandle pointer, value
    out += u32(werror)                    # WERROR
    return out


def test_decode_share_enum_response():
    shares, total, resume = srvsvc.decode_netr_share_enum_response(share_enum_response())
    assert shares == SHARES
    assert total == 3 and resume == 0
    assert srvsvc.parse_share_enum_response(share_enum_response(null_remark_index=1)) == SHARES


def test_decode_share_enum_empty_and_werror():
    empty = u32(1) + u32(1) + u32(0x20000) + u32(0) + u32(0) + u32(0) + u32(0) + u32(0)
    assert srvsvc.decode_netr_share_enum_response(empty) == ([], 0, None, )
    with pytest.raises(srvsvc.SRVSVCError) as ei:
        srvsvc.decode_netr_share_enum_response(share_enum_response(werror=5))
    assert ei.value.status == 5
    assert isinstance(ei.value, OperationFailure)


def test_decode_share_enum_malformed():
    good = share_enum_response()
    for cut in (3, 10, 30, 60, len(good) - 1):
        with pytest.raises(ProtocolError):
            srvsvc.decode_netr_share_enum_response(good[:cut])
    huge_count = bytearray(good)
    huge_count[12:16] = u32(0x10000000)  # EntriesRead
    huge_count[20:24] = u32(0x10000000)  # array max count
    with pytest.raises(ProtocolError):
        srvsvc.decode_netr_share_enum_response(bytes(huge_count))
    mismatch = bytearray(good)
    mismatch[20:24] = u32(2)
    with pytest.raises(ProtocolError):
        srvsvc.decode_netr_share_enum_response(bytes(mismatch))
    bad_string = bytearray(good)
    first_string = 24 + 3 * 12
    bad_string[first_string + 8:first_string + 12] = u32(0x7FFFFFFF)  # actual count > max count
    with pytest.raises(ProtocolError):
        srvsvc.decode_netr_share_enum_response(bytes(bad_string))
    bad_string[first_string:first_string + 4] = u32(0xFFFFFFFF)  # max count huge, actual overruns data
    with pytest.raises(ProtocolError):
        srvsvc.decode_netr_share_enum_response(bytes(bad_string))
    bad_switch = bytearray(good)
    bad_switch[4:8] = u32(2)
    with pytest.raises(ProtocolError):
        srvsvc.decode_netr_share_enum_response(bytes(bad_switch))


def test_net_share_enum_over_multi_fragment_response():
    stub = share_enum_response()
    cut1, cut2 = 40, 100
    reply = (response(2, stub[:cut1], flags=1, alloc_hint=len(stub))
             + response(2, stub[cut1:cut2], flags=0)
             + response(2, stub[cut2:], flags=2))
    pipe = FakePipe([reply[:90], reply[90:]])
    client = rpce.RPCClient(pipe.transact, pipe.read_more)
    assert srvsvc.net_share_enum(client, "SRV") == SHARES
    bind_pdu, req = pipe.sent
    assert bind_pdu[2] == 11 and bind_pdu[32:48] == SRVSVC_UUID_LE
    assert req[2] == 0 and struct.unpack_from("<H", req, 22)[0] == 15  # opnum
    assert req[24:] == srvsvc.encode_netr_share_enum_request("SRV")


def test_net_share_enum_with_a_plain_transact_callable():
    pipe = FakePipe([response(2, share_enum_response())])
    assert srvsvc.net_share_enum(pipe.transact, "SRV") == SHARES
    assert pipe.sent[1][24:28] == u32(0x00020000)


def test_net_share_enum_follows_more_data():
    first = share_enum_response(SHARES[:2], werror=srvsvc.ERROR_MORE_DATA, total=3)
    first = first[:-12] + u32(0x00020100) + u32(2) + u32(srvsvc.ERROR_MORE_DATA)  # resume handle 2
    pipe = FakePipe([response(2, first), response(3, share_enum_response(SHARES[2:]))])
    assert srvsvc.net_share_enum(pipe.transact, "SRV") == SHARES
    assert pipe.sent[2][-4:] == u32(2)  # second request resumes at handle 2
