"""DFS referral codec ([MS-DFSC] 2.2.2, 2.2.4, 2.2.5.1-2.2.5.4), referral cache and the DFS
forms of requests (SMB2_FLAGS_DFS_OPERATIONS, full DFS path names), on canned bytes built
here with struct."""

import struct

import pytest

from smb import dfs
from smb.engine import Tree
from smb.errors import OperationFailure, ProtocolError
from smb.ntstatus import STATUS_PATH_NOT_COVERED
from smb.smb1.engine import _path as smb1_path
from smb.smb2 import constants as C
from smb.smb2.header import frame_chain

REQUEST = "\\srv\\dfs\\link\\dir\\file.txt"
LINK = "\\srv\\dfs\\link"


def utf16z(s):
    return (s + "\0").encode("utf-16-le")


def response(entries, consumed=len(LINK) * 2, flags=0x2):
    """RESP_GET_DFS_REFERRAL: ``entries`` are (fixed part builder, strings) pairs; a builder
    gets the offsets (relative to its entry) of its strings, laid out after all entries."""
    fixed_sizes = [len(build([0] * len(strings))) for build, strings in entries]
    out = struct.pack("<HHI", consumed, len(entries), flags)
    string_pos = 8 + sum(fixed_sizes)
    blobs = b""
    entry_pos = 8
    for (build, strings), size in zip(entries, fixed_sizes):
        offsets = []
        for s in strings:
            offsets.append(string_pos + len(blobs) - entry_pos)
            blobs += utf16z(s)
        out += build(offsets)
        entry_pos += size
    return out + blobs


def v1(share, flags=0):
    body = utf16z(share)
    return struct.pack("<HHHH", 1, 8 + len(body), 1, flags) + body


def v2(ttl=300):
    def build(o):
        return struct.pack("<HHHHIIHHH", 2, 22, 1, 0, 0, ttl, o[0], o[1], o[2])
    return build


def v34(version, ttl=600, flags=0):
    def build(o):
        return struct.pack("<HHHHIHHH16s", version, 34, 1, flags, ttl, o[0], o[1], o[2], bytes(16))
    return build


def name_list(ttl=900):
    """A V3 NameListReferral (a domain referral: SpecialNameOffset, NumberOfExpandedNames,
    ExpandedNameOffset)."""
    def build(o):
        return struct.pack("<HHHHIHHH", 3, 18, 0, dfs.NAME_LIST_REFERRAL, ttl, o[0], 1, o[1])
    return build


# ------------------------------------------------------------------ request

def test_encode_request():
    assert dfs.encode_request("\\a\\b") == struct.pack("<H", 4) + "\\a\\b\0".encode("utf-16-le")
    assert dfs.encode_request("\\a", 3)[:2] == b"\x03\x00"


# ------------------------------------------------------------------ decoder

def test_v1_entry_names_its_share_inline():
    data = struct.pack("<HHI", len(LINK) * 2, 1, 0) + v1("\\other\\share")
    r = dfs.decode_response(data, REQUEST)
    assert r.path_consumed == len(LINK)
    (ref,) = r.referrals
    assert (ref.version, ref.target, ref.dfs_path, ref.ttl) == (1, "\\other\\share", REQUEST, 0)
    assert dfs.resolve_response(r, REQUEST) == (ref, "dir\\file.txt")  # by PathConsumed


def test_v2_entry():
    data = response([(v2(ttl=321), [LINK, LINK, "\\t\\share"])])
    (ref,) = dfs.decode_response(data, REQUEST).referrals
    assert (ref.version, ref.dfs_path, ref.target, ref.ttl) == (2, LINK, "\\t\\share", 321)


@pytest.mark.parametrize("version", [3, 4])
def test_v3_v4_entries(version):
    data = response([(v34(version, ttl=600), [LINK, LINK, "\\t1\\share\\sub"]),
                     (v34(version, ttl=60), [LINK, LINK, "\\t2\\share"])], flags=0x3)
    r = dfs.decode_response(data, REQUEST)
    assert r.header_flags == 0x3
    assert [(x.version, x.target, x.ttl) for x in r.referrals] == [
        (version, "\\t1\\share\\sub", 600), (version, "\\t2\\share", 60)]
    ref, rest = dfs.resolve_response(r, REQUEST)
    assert ref.target == "\\t1\\share\\sub" and rest == "dir\\file.txt"


def test_name_list_referrals_are_skipped():
    data = response([(name_list(), ["\\DOMAIN", "\\dc1.domain"]),
                     (v34(4), [LINK, LINK, "\\t\\share"])])
    (ref,) = dfs.decode_response(data, REQUEST).referrals
    assert ref.target == "\\t\\share"
    only = response([(name_list(), ["\\DOMAIN", "\\dc1.domain"])])
    resp = dfs.decode_response(only, REQUEST)
    assert resp.referrals == ()
    with pytest.raises(OperationFailure) as e:
        dfs.resolve_response(resp, REQUEST)
    assert e.value.status == STATUS_PATH_NOT_COVERED


def test_path_consumed_is_in_characters_and_capped():
    data = response([(v34(3), [LINK, LINK, "\\t\\s"])], consumed=len(LINK) * 2)
    assert dfs.decode_response(data, REQUEST).path_consumed == len(LINK)
    huge = response([(v34(3), [LINK, LINK, "\\t\\s"])], consumed=0xFFFF)
    assert dfs.decode_response(huge, REQUEST).path_consumed == len(REQUEST)


def test_resolve_matches_the_link_case_insensitively():
    data = response([(v34(3), [LINK.upper(), LINK, "\\t\\s"])], consumed=4)  # a wrong PathConsumed
    assert dfs.resolve_response(dfs.decode_response(data, REQUEST), REQUEST)[1] == "dir\\file.txt"


def _good():
    return bytearray(response([(v34(3), [LINK, LINK, "\\t\\share"])]))


@pytest.mark.parametrize("mutate", [
    lambda d: d[:7],                                        # header truncated
    lambda d: d[:8],                                        # the one entry missing
    lambda d: d[:20],                                       # entry header truncated
    lambda d: d[:40],                                       # entry cut (Size beyond the data)
    lambda d: d[:-2],                                       # last string not terminated
    lambda d: d[:2] + b"\x02\x00" + d[4:],                  # two entries announced, one there
    lambda d: d[:8] + b"\x07\x00" + d[10:],                 # unknown version
    lambda d: d[:10] + b"\x04\x00" + d[12:],                # Size below the fixed fields
    lambda d: d[:10] + b"\xff\x00" + d[12:],                # Size past the end
    lambda d: d[:24] + b"\xff\x7f" + d[26:],                # NetworkAddressOffset out of range
    lambda d: d[:24] + b"\x00\x00" + d[26:],                # a string inside the entry (overlap)
    lambda d: d[:42] + "\ud800".encode("utf-16-le", "surrogatepass") + d[44:],  # lone surrogate
], ids=["short-header", "no-entry", "entry-fixed", "entry-cut", "unterminated", "count",
        "version", "size-small", "size-large", "offset-far", "offset-overlap",
        "not-utf16"])
def test_malformed_responses_are_protocol_errors(mutate):
    data = bytes(mutate(_good()))
    with pytest.raises(ProtocolError):
        dfs.decode_response(data, REQUEST)


def test_a_huge_entry_count_is_bounded_by_the_data():
    data = struct.pack("<HHI", 0, 0xFFFF, 0) + v1("\\a\\b")
    with pytest.raises(ProtocolError):
        dfs.decode_response(data, REQUEST)


def test_v1_share_name_must_end_inside_its_entry():
    body = utf16z("\\a\\b")
    entry = struct.pack("<HHHH", 1, 8 + len(body) - 2, 1, 0) + body  # Size cuts the null
    with pytest.raises(ProtocolError):
        dfs.decode_response(struct.pack("<HHI", 0, 1, 0) + entry, REQUEST)


def test_split_unc():
    assert dfs.split_unc("\\\\srv\\share\\a\\b") == ("srv", "share", "a\\b")
    assert dfs.split_unc("\\srv\\share") == ("srv", "share", "")
    for bad in ("", "\\srv", "\\\\srv\\", "\\\\\\share"):
        with pytest.raises(ProtocolError):
            dfs.split_unc(bad)


# ------------------------------------------------------------------ cache

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_cache_longest_prefix_on_component_boundaries():
    c = dfs.ReferralCache(clock=Clock())
    c.add("\\s\\r\\a", "\\t1\\x", 60)
    c.add("\\s\\r\\a\\b", "\\t2\\y", 60)
    assert c.lookup("\\s\\r\\a\\b\\c.txt") == ("\\t2\\y", "c.txt")
    assert c.lookup("\\s\\r\\a\\bc") == ("\\t1\\x", "bc")
    assert c.lookup("\\s\\r\\a") == ("\\t1\\x", "")
    assert c.lookup("\\s\\r\\ab") is None  # not a component boundary
    assert c.lookup("\\s\\r") is None


def test_cache_is_case_insensitive_and_keeps_the_rest_as_given():
    c = dfs.ReferralCache(clock=Clock())
    c.add("\\SRV\\Root\\Link\\", "\\t\\s", 60)
    assert c.lookup("\\srv\\root\\LINK\\Dir\\File.TXT") == ("\\t\\s", "Dir\\File.TXT")


def test_cache_ttl_expiry_and_cap():
    clock = Clock()
    c = dfs.ReferralCache(clock=clock)
    c.add("\\s\\r\\short", "\\t\\a", 10)
    c.add("\\s\\r\\long", "\\t\\b", 10 ** 9)  # capped at MAX_TTL
    c.add("\\s\\r\\never", "\\t\\c", 0)  # TimeToLive 0: not cached
    assert len(c) == 2 and c.lookup("\\s\\r\\never\\x") is None
    clock.now += 9.9
    assert c.lookup("\\s\\r\\short\\x") == ("\\t\\a", "x")
    clock.now += 0.1
    assert c.lookup("\\s\\r\\short\\x") is None
    assert len(c) == 1  # expired entries are dropped
    clock.now += dfs.MAX_TTL - 10 - 0.5
    assert c.lookup("\\s\\r\\long") == ("\\t\\b", "")
    clock.now += 0.5
    assert c.lookup("\\s\\r\\long") is None and len(c) == 0


def test_cache_size_is_bounded_least_recently_used_first():
    c = dfs.ReferralCache(size=3, clock=Clock())
    for name in ("a", "b", "c"):
        c.add("\\s\\r\\" + name, "\\t\\" + name, 60)
    assert c.lookup("\\s\\r\\a\\x") is not None  # a is now the most recently used
    c.add("\\s\\r\\d", "\\t\\d", 60)
    assert len(c) == 3
    assert c.lookup("\\s\\r\\b") is None  # the least recently used went
    assert [c.lookup("\\s\\r\\" + n) is not None for n in "acd"] == [True, True, True]
    big = dfs.ReferralCache(clock=Clock())
    for i in range(dfs.CACHE_SIZE * 3):
        big.add("\\s\\r\\l%d" % i, "\\t\\s", 60)
    assert len(big) == dfs.CACHE_SIZE


def test_cache_re_adding_refreshes_the_target_and_ttl():
    clock = Clock()
    c = dfs.ReferralCache(clock=clock)
    c.add("\\s\\r\\a", "\\t\\old", 10)
    clock.now += 5
    c.add("\\s\\r\\a", "\\t\\new", 10)
    clock.now += 8
    assert c.lookup("\\s\\r\\a") == ("\\t\\new", "") and len(c) == 1


# ------------------------------------------------------------------ DFS forms of requests

def test_tree_wire_path():
    plain = Tree(tree_id=1, share_name="public")
    assert plain.wire_path("a\\b") == "a\\b" and plain.wire_path("") == ""
    d = Tree(tree_id=2, share_name="dfsroot", dfs_prefix="127.0.0.1\\dfsroot")
    assert d.wire_path("a\\b") == "127.0.0.1\\dfsroot\\a\\b"
    assert d.wire_path("") == "127.0.0.1\\dfsroot"
    # SMB1 names are rooted ([MS-CIFS] 2.2.1.1.2): '\server\share\path' on a DFS share
    assert smb1_path(d, "a\\b") == "\\127.0.0.1\\dfsroot\\a\\b"
    assert smb1_path(plain, "a\\b") == "\\a\\b" and smb1_path(plain, "") == "\\"


def _flags(messages):
    return [struct.unpack_from("<I", m[0], 16)[0] for m in messages]


@pytest.mark.parametrize("dfs_tree", [False, True])
def test_only_creates_on_a_dfs_tree_carry_the_dfs_flag(dfs_tree):
    items = [(C.CREATE, b"\0" * 57, None, 1), (C.QUERY_INFO, b"\0" * 41, None, 1),
             (C.CLOSE, b"\0" * 24, None, 1)]
    messages = frame_chain(items, [5, 6, 7], tree_id=9, session_id=3, related=True, signer=None,
                           multi_credit=True, credit_request=8, dfs=dfs_tree)
    flags = _flags(messages)
    assert bool(flags[0] & C.FLAGS_DFS_OPERATIONS) is dfs_tree
    assert not flags[1] & C.FLAGS_DFS_OPERATIONS and not flags[2] & C.FLAGS_DFS_OPERATIONS
    assert flags[1] & C.FLAGS_RELATED_OPERATIONS
