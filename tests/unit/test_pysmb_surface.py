"""pysmb 1.2.15's public surface, compared with this library's.

The surface was captured from pysmb 1.2.15 into ``tests/pysmb_surface/pysmb-1.2.15.json`` by
``tests/pysmb_surface/capture.py`` (run under a virtual environment holding pysmb, never this
library's); :mod:`tests.pysmb_surface.compare` states the rules. Every difference must be in
:data:`ALLOWED`, and every entry of :data:`ALLOWED` must still match a difference.

With ``PYSMB_PYTHON`` pointing at such an environment's interpreter, the surface is also
captured afresh and must equal the data file.
"""

import fnmatch
import json
import os
import subprocess
import sys

import pytest

from tests.pysmb_surface import capture, compare

#: deliberate differences: pattern (fnmatch, on the whole difference "<where>: <what>") -> why
ALLOWED = {
    # 1. Twisted integration
    "smb.SMBProtocol: *": "pysmb's Twisted protocol: this is a blocking library (and Twisted is "
                       "not installed where the surface was captured)",
    "nmb.NetBIOSProtocol: *": "the same, for the NetBIOS name service",
    # 2. pysmb's own packet classes
    "smb.*.Com*: *": "pysmb's SMB1 packet classes (ComNegotiateRequest...): packets are built "
                  "and parsed by smb.smb1.messages; the message records applications read "
                  "(SMBMessage, SMB2Message in OperationFailure.smb_messages) are provided",
    "smb.*.SMB2*Re[qs][up]*: *": "pysmb's SMB2 packet classes (SMB2CreateRequest...): "
                              "smb.smb2.messages builds and parses packets",
    "smb.*.Payload: *": "base class of pysmb's SMB1 packet classes",
    "smb.*.Structure: *": "base class of pysmb's SMB2 packet classes",
    # 3. pysmb's event-driven protocol core
    "*.NMBSession: *": "pysmb's NetBIOS session state machine (fed by feedData): the transport "
                       "(nmb.transport) and the engines replace it",
    "smb.*.SMB*: base class nmb.base.NMBSession missing": "the same: SMBConnection (pysmb's SMB) "
                                                        "does not derive from it",
    "smb.*.SMB*.feedData: *": "NMBSession's callback interface, internal to pysmb's socket loop",
    "smb.*.SMB*.onNMBSession*: *": "NMBSession's callback interface",
    "smb.*.SMB*.requestNMBSession: *": "NMBSession's callback interface",
    "smb.*.SMB*.sendNMBMessage: *": "NMBSession's callback interface",
    "smb.*.SMB*.write: *": "NMBSession's callback interface (raw socket write)",
    **{"instance smb.SMBConnection.SMBConnection.%s: *" % name: "state of pysmb's protocol "
       "machine (message and signing counters, pending-request tables, the last message "
       "decoded, the NetBIOS receive buffer and sender): the engines keep their own"
       for name in ("mid", "next_signing_id", "next_rpc_call_id", "pending_requests",
                    "async_requests", "smb_message", "data_buf", "data_nmb", "sendNMBPacket")},
    # 4. names leaked by a loop at the top of pysmb's smb_structs
    "smb.*.dialect: *": "loop variable of pysmb's smb_structs (b'SMB 2.002'), leaked by import *",
    "smb.*.i: *": "the same loop's counter",
    "smb.*.name: *": "the same loop's other variable",
    # 5. hand-written cryptography
    "smb.utils.U32: *": "pysmb's pure-Python 32-bit arithmetic for its MD4; the project forbids "
                     "hand-written crypto (MD4 comes from pycryptodome)",
    "smb.utils.pyDes: *": "pysmb's pure-Python DES (pycryptodome's Crypto.Cipher.DES is used)",
    "smb.utils.sha256: *": "pysmb's pure-Python SHA-256 (hashlib.sha256 is used)",
    "smb.utils.md4.[FGH]: *": "round functions of pysmb's pure-Python MD4",
    "smb.utils.md4.f[123]: *": "round functions of pysmb's pure-Python MD4",
    "smb.utils.md4.ROL: *": "bit rotation of pysmb's pure-Python MD4",
    "smb.utils.md4.U32: *": "pysmb's pure-Python 32-bit integers",
    "smb.utils.md4.*.[ABCD]: missing": "internal state of pysmb's pure-Python MD4 (MD4 wraps "
                                        "pycryptodome's; digest, update, copy, make_copy are there)",
    **{"smb.utils.md4.%s.%s: missing" % (cls, attr): "internal state of pysmb's pure-Python MD4"
       for cls in ("MD4", "new") for attr in ("buf", "count", "len1", "len2")},
    "smb.ntlm.des: *": "pysmb's pure-Python DES class (smb.ntlm.DESL and expandDesKey are provided)",
    # 6. values corrected
    "smb.security_descriptors.SECURITY_DESCRIPTOR_DACL_TRUSTED: *": "pysmb swaps DACL_TRUSTED and "
        "SERVER_SECURITY; these follow [MS-DTYP] 2.4.6 / winnt.h (0x0040 and 0x0080)",
    "smb.security_descriptors.SECURITY_DESCRIPTOR_SERVER_SECURITY: *": "see SECURITY_DESCRIPTOR_DACL_TRUSTED",
}

#: instance attributes of SMBConnection this library does provide (the allow-list entry for
#: pysmb's protocol machine must not hide these)
PROVIDED_STATE = ("sock", "is_using_smb2", "has_negotiated", "has_authenticated", "is_signing_active",
                  "connected_trees", "capabilities", "security_mode", "max_read_size", "max_write_size",
                  "max_transact_size", "max_buffer_size", "max_mpx_count", "max_raw_size", "session_id",
                  "uid", "auth_result", "is_busy", "pbar", "use_plaintext_authentication",
                  "signing_session_key", "signing_challenge_response", "host_type", "my_name",
                  "remote_name", "username", "domain", "use_ntlm_v2", "sign_options", "is_direct_tcp")


def _where(diff):
    return diff.split(": ", 1)[0]


def _allowed(diff):
    return [p for p in ALLOWED if fnmatch.fnmatchcase(diff, p)]


def test_surface_matches_pysmb_except_the_allow_list():
    diffs = compare.differences()
    unexplained = [d for d in diffs if not _allowed(d)]
    assert not unexplained, "differences from pysmb 1.2.15:\n" + "\n".join(unexplained)
    unused = [p for p in ALLOWED if not any(fnmatch.fnmatchcase(d, p) for d in diffs)]
    assert not unused, "allow-list entries that match nothing (remove them): %s" % unused


def test_allow_list_does_not_hide_provided_state():
    diffs = compare.differences()
    hidden = [d for d in diffs if _where(d).startswith("instance smb.SMBConnection.SMBConnection.")
              and _where(d).rsplit(".", 1)[1] in PROVIDED_STATE]
    assert not hidden, hidden


def test_capture_covers_the_documented_api():
    data = compare.load()
    conn = data["modules"]["smb.SMBConnection"]["names"]["SMBConnection"]["attributes"]
    for method in ("connect", "listPath", "retrieveFile", "storeFile", "deleteFiles", "getSecurity",
                   "listSnapshots", "resetFileAttributes", "echo", "rename", "isUsingSMB2"):
        assert method in conn
    assert data["version"] == "1.2.15"
    assert len(data["modules"]["smb.smb_constants"]["names"]) > 150


def test_compare_detects_differences():
    theirs = [["self", "POSITIONAL_OR_KEYWORD", None], ["a", "POSITIONAL_OR_KEYWORD", None],
              ["b", "POSITIONAL_OR_KEYWORD", {"int": 1}]]
    ok = theirs + [["extra", "KEYWORD_ONLY", {"bool": False}]]
    assert compare.signature_differences(theirs, ok) == []
    assert compare.signature_differences(theirs, theirs[:2] + [["b", "POSITIONAL_OR_KEYWORD", {"int": 2}]])
    assert compare.signature_differences(theirs, [theirs[0], theirs[2], theirs[1]])
    assert compare.signature_differences(theirs, theirs + [["c", "POSITIONAL_OR_KEYWORD", None]])
    data = {"modules": {"smb.smb_constants": {"names": {
        "ATTR_READONLY": {"kind": "constant", "value": {"int": 2}},
        "NOT_THERE": {"kind": "constant", "value": {"int": 1}}}}}, "instances": {}}
    found = compare.differences(data)
    assert any(d.startswith("smb.smb_constants.ATTR_READONLY: value 1") for d in found)
    assert "smb.smb_constants.NOT_THERE: missing" in found


@pytest.mark.skipif(not os.environ.get("PYSMB_PYTHON"), reason="PYSMB_PYTHON (a pysmb 1.2.15 venv) not set")
def test_data_file_is_current(tmp_path):
    out = tmp_path / "surface.json"
    subprocess.run([os.environ["PYSMB_PYTHON"], capture.__file__, str(out)], check=True,
                   cwd=str(tmp_path), timeout=120)
    assert json.loads(out.read_text()) == compare.load()


def test_capture_runs_here():
    # the capture script itself works (here on this library: the same rules both ways)
    out = subprocess.run([sys.executable, "-c", "import json, tests.pysmb_surface.capture as c; "
                          "print(json.dumps(sorted(c.capture(['smb.smb_constants'])['modules'])))"],
                         capture_output=True, text=True, check=True, timeout=120,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert json.loads(out.stdout) == ["smb.smb_constants"]
