"""SMB1 codec: every request laid out field by field as CIFS section 4 gives it, canned
responses decoded, malformed responses rejected with ProtocolError."""

import struct

import pytest

from smb.errors import ProtocolError
from smb.smb1 import header as H
from smb.smb1 import messages as M
from smb.smb1 import trans as T


def build(req, **hdr):
    return b"".join(bytes(b) for b in M.assemble(req, **hdr))


def split(msg):
    """(header tuple, words bytes, data bytes) of a single-command message."""
    hdr = struct.unpack_from("<4sBIBHH8sHHHHH", msg, 0)
    wc = msg[32]
    words = msg[33:33 + 2 * wc]
    bc = struct.unpack_from("<H", msg, 33 + 2 * wc)[0]
    data = msg[35 + 2 * wc:]
    return hdr, words, data, bc


def response(command, words=b"", data=b"", *, status=0, flags2=H.DEFAULT_FLAGS2, mid=7, uid=100,
             tid=5, bytecount=None):
    hdr = struct.pack("<4sBIBHH8sHHHHH", b"\xffSMB", command, status, 0x98, flags2, 0, bytes(8),
                      0, tid, 1234, uid, mid)
    bc = len(data) if bytecount is None else bytecount
    return hdr + bytes([len(words) // 2]) + words + struct.pack("<H", bc) + data


# --- header -----------------------------------------------------------------------------------

def test_header_fields():
    msg = build(M.echo(b"x"), tid=0x1122, uid=0x3344, mid=0x5566, pid=0x778899, flags2=0xC843)
    (proto, cmd, status, flags, flags2, pid_high, sig, _res, tid, pid_low, uid,
     mid), words, data, bc = split(msg)
    assert proto == b"\xffSMB" and cmd == 0x2B and status == 0
    assert flags == 0x18 and flags2 == 0xC843
    assert pid_high == 0x77 and pid_low == 0x8899
    assert sig == bytes(8) and tid == 0x1122 and uid == 0x3344 and mid == 0x5566
    assert len(msg) == 32 + 1 + 2 + 2 + 1


def test_parse_response_nt_status_and_dos_error():
    r = H.parse_response(response(0x2B, b"\x01\x00", b"abc", status=0xC0000034))
    assert r.status == 0xC0000034 and r.mid == 7 and r.uid == 100 and r.tid == 5
    assert bytes(r.words) == b"\x01\x00" and bytes(r.data) == b"abc"
    # DOS error class ERRDOS (1), code ERRbadfile (2) without FLAGS2_NT_STATUS
    dos = struct.pack("<BBH", 1, 0, 2)
    raw = bytearray(response(0x2B, b"\x01\x00", b"", flags2=H.DEFAULT_FLAGS2 & ~H.SMB_FLAGS2_NT_STATUS))
    raw[5:9] = dos
    r = H.parse_response(bytes(raw))
    assert r.dos_error == (1, 2)
    from smb.ntstatus import dos_error_to_ntstatus

    assert r.status == dos_error_to_ntstatus(1, 2) and r.status & 0xC0000000 == 0xC0000000


@pytest.mark.parametrize("raw", [
    b"",
    b"\xffSMB" + bytes(20),
    b"\xfeSMB" + bytes(40),
    response(0x2B, b"\x01\x00", b"abc")[:-2],                    # data truncated
    response(0x2B, b"\x01\x00", b"abc")[:34],                    # words truncated
    response(0x2B, b"\x01\x00", b"abc", bytecount=100),          # ByteCount too big
])
def test_parse_response_malformed(raw):
    with pytest.raises(ProtocolError):
        H.parse_response(raw)


def test_andx_chain_followed():
    # SESSION_SETUP_ANDX response chained to a TREE_CONNECT_ANDX response
    first_words_len = 6
    second_off = 32 + 1 + first_words_len + 2 + 0
    ss_words = struct.pack("<BBHH", 0x75, 0, second_off, 0)
    tc_words = struct.pack("<BBHH", 0xFF, 0, 0, 1)
    tc_data = b"A:\0" + "NTFS".encode("utf-16-le") + b"\0\0"
    raw = response(0x73, ss_words, b"") + bytes([3]) + tc_words + struct.pack("<H", len(tc_data)) + tc_data
    r = H.parse_response(raw)
    assert [b[0] for b in r.blocks] == [0x73, 0x75]
    opt, service, fs = M.parse_tree_connect(r, 1)
    assert (opt, service) == (1, "A:")


@pytest.mark.parametrize("andx_off", [0, 10, 5000])
def test_andx_bad_offset(andx_off):
    words = struct.pack("<BBHH", 0x75, 0, andx_off, 0)
    with pytest.raises(ProtocolError):
        H.parse_response(response(0x73, words, b""))


def test_strings_alignment():
    assert H.encode_string("ab", True, 10) == b"a\0b\0\0\0"
    assert H.encode_string("ab", True, 11) == b"\0a\0b\0\0\0"
    assert H.encode_string("ab", False, 11) == b"ab\0"
    assert H.decode_string(b"\0a\0b\0\0\0x", 0, True, align_base=1) == ("ab", 7)
    assert H.decode_string(b"ab\0c", 0, False) == ("ab", 3)


# --- NEGOTIATE --------------------------------------------------------------------------------

def test_negotiate_request():
    msg = M.negotiate_request(["NT LM 0.12", "SMB 2.002"], 0xC853)
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0x72 and hdr[4] == 0xC853 and hdr[11] == 0
    assert words == b"" and bc == len(data)
    assert data == b"\x02NT LM 0.12\0\x02SMB 2.002\0"


def _neg_words(caps, keylen=0, mode=0x0F):
    return struct.pack("<HBHHIIIIQhB", 0, mode, 50, 1, 16644, 65536, 0x1234, caps,
                       0x01D9000000000000, 0, keylen)


def test_parse_negotiate_extended():
    caps = H.CAP_EXTENDED_SECURITY | H.CAP_UNICODE | H.CAP_LARGE_READX | H.CAP_NT_SMBS
    guid = bytes(range(16))
    r = H.parse_response(response(0x72, _neg_words(caps), guid + b"\x60\x03abc"))
    n = M.parse_negotiate(r)
    assert n.dialect_index == 0 and n.max_mpx_count == 50 and n.max_buffer_size == 16644
    assert n.max_raw_size == 65536 and n.session_key == 0x1234 and n.capabilities == caps
    assert n.extended_security and n.signing_enabled and n.signing_required
    assert n.server_guid == guid and n.security_blob == b"\x60\x03abc"


def test_parse_negotiate_challenge():
    caps = H.CAP_UNICODE | H.CAP_NT_SMBS
    data = b"CHALLNGE" + "WORKGROUP".encode("utf-16-le") + b"\0\0" + "SRV".encode("utf-16-le") + b"\0\0"
    n = M.parse_negotiate(H.parse_response(response(0x72, _neg_words(caps, 8, 3), data)))
    assert not n.extended_security and not n.signing_enabled
    assert n.challenge == b"CHALLNGE" and n.domain_name == "WORKGROUP" and n.server_name == "SRV"


@pytest.mark.parametrize("words,data", [
    (b"\xff\xff", b""),                                            # no dialect accepted
    (_neg_words(H.CAP_EXTENDED_SECURITY)[:20], b""),               # too few words
    (_neg_words(H.CAP_EXTENDED_SECURITY), b"short"),               # no GUID
    (_neg_words(0, 8), b"abc"),                                    # challenge past the data
])
def test_parse_negotiate_malformed(words, data):
    with pytest.raises(ProtocolError):
        M.parse_negotiate(H.parse_response(response(0x72, words, data)))


# --- SESSION_SETUP_ANDX / LOGOFF -----------------------------------------------------------------

def test_session_setup_extended_request():
    blob = b"\x60\x10" + bytes(16)
    msg = build(M.session_setup_extended(blob, max_buffer_size=0xFFFF, max_mpx_count=50,
                                         capabilities=0x8000C0DC))
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0x73 and len(words) == 24
    (andx, res, andx_off, maxbuf, mpx, vc, skey, bloblen, reserved,
     caps) = struct.unpack("<BBHHHHIHII", words)
    assert (andx, res, andx_off) == (0xFF, 0, 0)
    assert (maxbuf, mpx, vc, skey, bloblen, reserved, caps) == (0xFFFF, 50, 0, 0, 18, 0, 0x8000C0DC)
    assert data[:18] == blob and bc == len(data)
    # NativeOS starts at 32+1+24+2+18 = 77 (odd): one pad byte, then UTF-16
    assert data[18:19] == b"\0"
    assert data[19:].split(b"\0\0\0")[0] + b"\0" == M.NATIVE_OS.encode("utf-16-le")


def test_session_setup_ntlm_request():
    lm, nt = b"L" * 24, b"N" * 24
    msg = build(M.session_setup_ntlm(lm, nt, "user", "DOM", max_mpx_count=10, capabilities=0xD4))
    hdr, words, data, bc = split(msg)
    assert len(words) == 26
    (andx, _r, _o, maxbuf, mpx, vc, skey, lmlen, ntlen, reserved,
     caps) = struct.unpack("<BBHHHHIHHII", words)
    assert (andx, maxbuf, mpx, vc, skey, lmlen, ntlen, reserved, caps) == (
        0xFF, 0xFFFF, 10, 0, 0, 24, 24, 0, 0xD4)
    assert data[:24] == lm and data[24:48] == nt
    # account name at offset 32+1+26+2+48 = 109 (odd): pad byte
    assert data[48] == 0
    assert data[49:59] == "user".encode("utf-16-le") + b"\0\0"
    assert data[59:67] == "DOM".encode("utf-16-le") + b"\0\0"


def test_parse_session_setup():
    words = struct.pack("<BBHHH", 0xFF, 0, 0, 1, 5)
    action, blob = M.parse_session_setup(H.parse_response(response(0x73, words, b"BLOB!rest")))
    assert action == 1 and blob == b"BLOB!"
    with pytest.raises(ProtocolError):
        M.parse_session_setup(H.parse_response(response(0x73, struct.pack("<BBHHH", 0xFF, 0, 0, 0, 50), b"x")))
    with pytest.raises(ProtocolError):
        M.parse_session_setup(H.parse_response(response(0x73, b"\xff\x00", b"")))


def test_logoff_request():
    hdr, words, data, bc = split(build(M.logoff(), uid=9))
    assert hdr[1] == 0x74 and hdr[10] == 9
    assert words == b"\xff\x00\x00\x00" and data == b"" and bc == 0


# --- trees ---------------------------------------------------------------------------------------

def test_tree_connect_request():
    hdr, words, data, bc = split(build(M.tree_connect("\\\\SRV\\public")))
    assert hdr[1] == 0x75
    andx, _r, _o, flags, pwlen = struct.unpack("<BBHHH", words)
    assert (andx, flags, pwlen) == (0xFF, 0, 1)
    assert data[0:1] == b"\0"  # password: a single NUL
    # path at 32+1+8+2+1 = 44, even: no pad
    path = "\\\\SRV\\public".encode("utf-16-le") + b"\0\0"
    assert data[1:1 + len(path)] == path
    assert data[1 + len(path):] == b"?????\0"


def test_parse_tree_connect_and_share_types():
    words = struct.pack("<BBHH", 0xFF, 0, 0, 1)
    data = b"IPC\0" + "".encode("utf-16-le")
    opt, service, fs = M.parse_tree_connect(H.parse_response(response(0x75, words, data)))
    assert (opt, service, fs) == (1, "IPC", "")
    assert M.share_type("A:") == 1 and M.share_type("IPC") == 2 and M.share_type("LPT1:") == 3
    with pytest.raises(ProtocolError):
        M.parse_tree_connect(H.parse_response(response(0x75, words, b"A:")))


def test_tree_disconnect_echo_cancel_requests():
    hdr, words, data, bc = split(build(M.tree_disconnect(), tid=3))
    assert hdr[1] == 0x71 and hdr[8] == 3 and words == b"" and data == b""
    hdr, words, data, bc = split(build(M.echo(b"hello", 2)))
    assert hdr[1] == 0x2B and words == b"\x02\x00" and data == b"hello" and bc == 5
    hdr, words, data, bc = split(build(M.nt_cancel(), mid=77))
    assert hdr[1] == 0xA4 and hdr[11] == 77 and words == b"" and bc == 0
    seq, echoed = M.parse_echo(H.parse_response(response(0x2B, b"\x01\x00", b"hello")))
    assert seq == 1 and echoed == b"hello"


# --- files ---------------------------------------------------------------------------------------

def test_nt_create_request():
    msg = build(M.nt_create("\\dir\\f.txt", desired_access=0x12019F, file_attributes=0x80,
                            share_access=7, create_disposition=5, create_options=0x40))
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0xA2 and len(words) == 48
    (andx, _r, _o, reserved, namelen, flags, root, access, alloc, attrs, share, disp, opts, imp,
     secflags) = struct.unpack("<BBHBHIIIQIIIIIB", words)
    assert (andx, reserved, flags, root, access, alloc) == (0xFF, 0, 0, 0, 0x12019F, 0)
    assert (attrs, share, disp, opts, imp, secflags) == (0x80, 7, 5, 0x40, 2, 0)
    name = "\\dir\\f.txt".encode("utf-16-le")
    assert namelen == len(name)
    # name at 32+1+48+2 = 83 (odd): one pad byte
    assert data == b"\0" + name + b"\0\0"


def _create_words(fid=0x4242, directory=0):
    return struct.pack("<BBHBHIQQQQIQQHHB", 0xFF, 0, 0, 0, fid, 2, 1, 2, 3, 4, 0x20, 4096, 5,
                       0, 0, directory)


def test_parse_nt_create():
    r = M.parse_nt_create(H.parse_response(response(0xA2, _create_words())))
    assert r.fid == 0x4242 and r.create_action == 2
    assert (r.creation_time, r.last_access_time, r.last_write_time, r.change_time) == (1, 2, 3, 4)
    assert r.file_attributes == 0x20 and r.allocation_size == 4096 and r.end_of_file == 5
    assert not r.directory
    with pytest.raises(ProtocolError):
        M.parse_nt_create(H.parse_response(response(0xA2, _create_words()[:40])))


def test_read_andx_request():
    hdr, words, data, bc = split(build(M.read_andx(0x11, (3 << 32) + 0x1000, 0x2F000)))
    assert hdr[1] == 0x2E and len(words) == 24 and bc == 0
    (andx, _r, _o, fid, off_low, maxcount, mincount, maxcount_high, remaining,
     off_high) = struct.unpack("<BBHHIHHIHI", words)
    assert (andx, fid, off_low, off_high) == (0xFF, 0x11, 0x1000, 3)
    assert maxcount == 0xF000 and maxcount_high == 2 and mincount == 0 and remaining == 0


def test_parse_read_andx_large_and_malformed():
    payload = bytes(range(256)) * 300  # 76800 bytes: DataLengthHigh = 1
    off = 32 + 1 + 24 + 2 + 1
    words = struct.pack("<BBHHHHHHH8s", 0xFF, 0, 0, 0xFFFF, 0, 0, len(payload) & 0xFFFF, off,
                        len(payload) >> 16, bytes(8))
    raw = response(0x2E, words, b"\0" + payload, bytecount=(len(payload) + 1) & 0xFFFF)
    r = H.parse_response(raw)
    assert bytes(M.parse_read_andx(r)) == payload
    bad = struct.pack("<BBHHHHHHH8s", 0xFF, 0, 0, 0, 0, 0, 100, off, 0, bytes(8))
    with pytest.raises(ProtocolError):
        M.parse_read_andx(H.parse_response(response(0x2E, bad, b"\0" + b"x" * 10)))


def test_write_andx_request():
    payload = b"D" * 70000
    bufs = M.assemble(M.write_andx(0x22, (1 << 32) + 512, payload))
    assert bufs[1] is payload  # not copied
    head = bytes(bufs[0])
    hdr, words, data, bc = split(head)
    assert hdr[1] == 0x2F and len(words) == 28
    (andx, _r, _o, fid, off_low, timeout, mode, remaining, len_high, len_low, data_off,
     off_high) = struct.unpack("<BBHHIIHHHHHI", words)
    assert (andx, fid, off_low, off_high, timeout, mode) == (0xFF, 0x22, 512, 1, 0, 0)
    assert (len_high << 16) | len_low == 70000
    assert data_off == 64 and len(head) == 64 and data == b"\0"
    assert bc == (70000 + 1) & 0xFFFF
    count = M.parse_write_andx(H.parse_response(response(0x2F, struct.pack("<BBHHHHH", 0xFF, 0, 0, 0x1170, 0, 1, 0))))
    assert count == 70000


def test_close_delete_rename_dir_requests():
    hdr, words, data, bc = split(build(M.close(0x33)))
    assert hdr[1] == 0x04 and struct.unpack("<HI", words) == (0x33, 0xFFFFFFFF) and bc == 0
    hdr, words, data, bc = split(build(M.delete("\\a.txt", 0x06)))
    assert hdr[1] == 0x06 and words == b"\x06\x00"
    # BufferFormat 0x04 at 37, name at 38 (even): no pad
    assert data == b"\x04" + "\\a.txt".encode("utf-16-le") + b"\0\0"
    hdr, words, data, bc = split(build(M.rename("\\a", "\\b")))
    assert hdr[1] == 0x07 and words == b"\x16\x00"
    old = "\\a".encode("utf-16-le") + b"\0\0"
    assert data[:1 + len(old)] == b"\x04" + old
    # second BufferFormat at 38+6=44, name at 45 (odd): pad byte
    assert data[1 + len(old):] == b"\x04\0" + "\\b".encode("utf-16-le") + b"\0\0"
    for builder, cmd in ((M.delete_directory, 0x01), (M.check_directory, 0x10), (M.create_directory, 0x00)):
        hdr, words, data, bc = split(build(builder("\\d")))
        assert hdr[1] == cmd and words == b""
        # BufferFormat at 35, name at 36 (even)
        assert data == b"\x04" + "\\d".encode("utf-16-le") + b"\0\0"
    hdr, words, data, bc = split(build(M.find_close2(0x99)))
    assert hdr[1] == 0x34 and words == b"\x99\x00"


# --- transactions ----------------------------------------------------------------------------------

def test_trans2_request_layout():
    params = T.find_first2_params("\\*", search_attributes=0x16, search_count=100)
    msg = build(T.trans2(T.TRANS2_FIND_FIRST2, params, max_param=10, max_data=4000))
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0x32 and len(words) == 30
    (tpc, tdc, mpc, mdc, msc, _r1, flags, timeout, _r2, pc, po, dc, do, sc, _r3,
     setup) = struct.unpack("<HHHHBBHIHHHHHBBH", words)
    assert (tpc, tdc, mpc, mdc, msc, flags, timeout) == (len(params), 0, 10, 4000, 0, 0, 0)
    assert (pc, dc, do, sc, setup) == (len(params), 0, 0, 1, 1)
    # Name (one NUL) at 65, params aligned to 68
    assert po == 68 and msg[65] == 0 and msg[po:po + pc] == params
    sa, count, fflags, level, storage = struct.unpack_from("<HHHHI", params)
    assert (sa, count, fflags, level, storage) == (0x16, 100, 2, 0x104, 0)
    assert params[12:] == "\\*".encode("utf-16-le") + b"\0\0"


def test_trans2_with_data_layout():
    msg = build(T.trans2(T.TRANS2_SET_FILE_INFORMATION, T.set_file_info_params(7, 1013), b"\x01",
                         max_param=2, max_data=0))
    hdr, words, data, bc = split(msg)
    (tpc, tdc, _mpc, _mdc, _msc, _r1, _f, _t, _r2, pc, po, dc, do, sc, _r3,
     setup) = struct.unpack("<HHHHBBHIHHHHHBBH", words)
    assert setup == 8 and tpc == pc == 6 and tdc == dc == 1
    assert po % 4 == 0 and do % 4 == 0 and do >= po + pc
    assert struct.unpack_from("<HHH", msg, po) == (7, 1013, 0) and msg[do:do + 1] == b"\x01"


def test_transaction_nmpipe_layout():
    msg = build(T.transaction(T.transact_nmpipe_setup(0x55), b"", b"RPC", max_param=0, max_data=1024))
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0x25 and len(words) == 32
    fields = struct.unpack("<HHHHBBHIHHHHHBBHH", words)
    assert fields[13] == 2 and fields[15:] == (0x26, 0x55)
    do = fields[12]
    # Name "\PIPE\" at 32+1+32+2 = 67 (odd): pad, UTF-16, NUL
    assert msg[67:68] == b"\0" and msg[68:82] == "\\PIPE\\".encode("utf-16-le") + b"\0\0"
    assert do % 4 == 0 and msg[do:] == b"RPC"


def test_nt_transact_layouts():
    msg = build(T.nt_transact(T.NT_TRANSACT_IOCTL, T.ioctl_setup(0x144064, 9), b"", b"in",
                              max_param=0, max_data=100, max_setup=1))
    hdr, words, data, bc = split(msg)
    assert hdr[1] == 0xA0 and len(words) == 2 * 23
    (msc, _r, tpc, tdc, mpc, mdc, pc, po, dc, do, sc,
     func) = struct.unpack_from("<BHIIIIIIIIBH", words)
    assert (msc, tpc, tdc, mpc, mdc, pc, dc, sc, func) == (1, 0, 2, 0, 100, 0, 2, 4, 2)
    assert struct.unpack_from("<IHBB", words, 38) == (0x144064, 9, 1, 0)
    assert do % 4 == 0 and msg[do:do + 2] == b"in"
    msg = build(T.nt_transact(T.NT_TRANSACT_QUERY_SECURITY_DESC, b"", T.query_security_params(9, 7),
                              max_param=4, max_data=4096))
    hdr, words, data, bc = split(msg)
    fields = struct.unpack_from("<BHIIIIIIIIBH", words)
    assert fields[-1] == 6 and fields[6] == 8
    assert struct.unpack_from("<HHI", msg, fields[7]) == (9, 0, 7)


def test_other_trans2_params():
    assert T.query_file_info_params(5, 1005) == struct.pack("<HH", 5, 1005)
    assert T.query_fs_info_params(1007) == struct.pack("<H", 1007)
    assert T.query_path_info_params(0x101, "\\x") == struct.pack("<HI", 0x101, 0) + "\\x\0".encode("utf-16-le")
    assert T.create_directory_params("\\d") == bytes(4) + "\\d\0".encode("utf-16-le")
    p = T.find_next2_params(3, 77, "last.txt", search_count=50)
    assert struct.unpack_from("<HHHIH", p) == (3, 50, 0x104, 77, 0x0A)
    assert p[12:] == "last.txt\0".encode("utf-16-le")
    assert T.parse_find_first2(struct.pack("<HHHHH", 1, 2, 1, 0, 0)) == (1, 2, 1, 0, 0)
    assert T.parse_find_next2(struct.pack("<HHHH", 2, 0, 0, 0)) == (2, 0, 0, 0)
    with pytest.raises(ProtocolError):
        T.parse_find_first2(b"\0" * 4)
    with pytest.raises(ProtocolError):
        T.parse_find_next2(b"\0" * 4)


def _trans_resp(tpc, tdc, params, data, pdisp=0, ddisp=0, nt=False, setup=b""):
    nwords = (18 if nt else 10) + len(setup) // 2
    base = 32 + 1 + 2 * nwords + 2
    po = base + 1
    do = po + len(params) + 1
    body = b"\0" + params + b"\0" + data
    if nt:
        words = struct.pack("<3sIIIIIIIIB", bytes(3), tpc, tdc, len(params), po, pdisp, len(data),
                            do, ddisp, len(setup) // 2) + setup
        cmd = 0xA0
    else:
        words = struct.pack("<HHHHHHHHHBB", tpc, tdc, 0, len(params), po, pdisp, len(data), do,
                            ddisp, len(setup) // 2, 0) + setup
        cmd = 0x32
    if len(words) % 2:
        words += b"\0"
    return H.parse_response(response(cmd, words, body))


@pytest.mark.parametrize("nt", [False, True])
def test_assembler_multipart(nt):
    a = T.Assembler(nt, 100, 100)
    assert not a.feed(_trans_resp(4, 10, b"PA", b"data", nt=nt))
    assert not a.feed(_trans_resp(4, 10, b"", b"DATA!!", ddisp=4, nt=nt))
    assert a.feed(_trans_resp(4, 10, b"RM", b"", pdisp=2, nt=nt))
    assert bytes(a.params) == b"PARM" and bytes(a.data) == b"dataDATA!!"


@pytest.mark.parametrize("resp", [
    lambda: _trans_resp(4, 10, b"PARM", b"0123456789" + b"x", ddisp=0),   # data beyond total
    lambda: _trans_resp(4, 10, b"PARM", b"0123", ddisp=8),                 # displacement too far
    lambda: _trans_resp(400, 10, b"PARM", b""),                            # total above our max
])
def test_assembler_malformed(resp):
    with pytest.raises(ProtocolError):
        T.Assembler(False, 100, 100).feed(resp())


def test_assembler_offsets_outside_message():
    words = struct.pack("<HHHHHHHHHBB", 0, 4, 0, 0, 0, 0, 4, 5000, 0, 0, 0)
    with pytest.raises(ProtocolError):
        T.Assembler(False, 10, 10).feed(H.parse_response(response(0x32, words, b"abcd")))
    with pytest.raises(ProtocolError):
        T.Assembler(False, 10, 10).feed(H.parse_response(response(0x32, b"\0\0", b"")))


def _entry(name, nxt, index=0):
    n = name.encode("utf-16-le")
    fixed = struct.pack("<IIQQQQQQIIIBB24s", nxt, index, 1, 2, 3, 4, 5, 6, 0x20, len(n), 0, 0, 0, bytes(24))
    assert len(fixed) == 94
    return fixed + n


def test_terminate_entries():
    e1 = _entry("a.txt", 0)
    e1 = _entry("a.txt", len(e1) + 2, 1) + b"\0\0"
    e2 = _entry("bb.txt", 999, 2)  # server left a NextEntryOffset on the last entry
    buf = bytearray(e1 + e2 + b"\0" * 8)
    end, index, name = T.terminate_entries(buf, 2)
    assert end == len(e1) + len(e2) and index == 2 and name == "bb.txt"
    assert struct.unpack_from("<I", buf, len(e1))[0] == 0
    from smb import fscc

    names = [e.file_name for e in fscc.parse_both_directory_information(memoryview(buf)[:end])]
    assert names == ["a.txt", "bb.txt"]


@pytest.mark.parametrize("buf,count", [
    (bytearray(_entry("abc", 0)[:80]), 1),                           # truncated fixed part
    (bytearray(_entry("abc", 0)[:-2]), 1),                           # name runs past the end
    (bytearray(_entry("abc", 10) + _entry("d", 0)), 2),              # NextEntryOffset too small
    (bytearray(_entry("abc", 5000) + _entry("d", 0)), 2),            # beyond the buffer
])
def test_terminate_entries_malformed(buf, count):
    with pytest.raises(ProtocolError):
        T.terminate_entries(buf, count)
