"""Cipher and MAC objects made while the server works, against the private Samba:
:meth:`smb.smb2.crypto.Signer.prepare` (the AES-GMAC objects of a signed request's answer
and of the next request), :meth:`smb.smb2.session.Session.keys_ahead` (the keys derived,
and the final SESSION_SETUP answer's MAC made, while the server checks the NTLM
AUTHENTICATE) and :meth:`smb.smb2.session.Smb3Encryption.prepare` (the next AES-GCM
encryption). What is proved here: they are really used on a live connection (counted),
what is read and written is what is on the server's disk, and a tampered signed or
encrypted answer still breaks the connection.
"""

import os
from collections import OrderedDict

import pytest

from smb.engine import Timeout
from smb.errors import ProtocolError
from smb.smb2 import constants as C
from smb.smb2.session import Session
from tests.integration.test_smb3_security import (  # noqa: F401 - ``server`` is a fixture
    ENCRYPTED_CASES, RW, SIGNED_CASES, _session, assert_unusable, dl, server)

pytestmark = pytest.mark.integration

CASES = {c[0]: c[1:] for c in SIGNED_CASES + ENCRYPTED_CASES}


class CountingReady(OrderedDict):
    """A Signer's store of prepared objects that counts the ones taken."""

    taken = 0

    def pop(self, key, *default):
        value = super().pop(key, *default)
        if value is not None:
            CountingReady.taken += 1
        return value


@pytest.fixture
def ahead(monkeypatch):
    """Records the signer each keys_ahead() makes."""
    made = []
    real = Session.keys_ahead

    def recording(self, *args):
        real(self, *args)
        made.append(self._ahead[1])

    monkeypatch.setattr(Session, "keys_ahead", recording)
    return made


def _round_trips(e, tree, info, n=12):
    """n small files written and read back, each checked on the server's disk."""
    for i in range(n):
        data = os.urandom(1000 + i)
        r = e.create(tree, "ahead%d.bin" % i, desired_access=RW, create_disposition=C.FILE_OVERWRITE_IF,
                     timeout=dl())
        e.write(tree, r.file_id, 0, data, dl())
        assert e.read(tree, r.file_id, 0, len(data), dl()) == data
        e.close_file(tree, r.file_id, dl())
        with open(os.path.join(info.share_path, "ahead%d.bin" % i), "rb") as f:
            assert f.read() == data


def test_signed_session_uses_the_objects_made_ahead(server, ahead):
    variant, conf, cfg, _d, _a = CASES["gmac-3.1.1"]
    info, e, _tap, tree = _session(server, variant, conf, cfg)
    signer = e.session.signer
    assert ahead and signer is ahead[-1]  # the keys derived during the AUTHENTICATE's wait
    inner = signer._signer
    inner._ready = CountingReady(inner._ready)
    CountingReady.taken = 0
    _round_trips(e, tree, info)
    # 4 requests per file (CREATE, WRITE, READ, CLOSE): each signed with the object made
    # while the request before it was answered, each answer verified with one made ahead
    assert CountingReady.taken >= 2 * 4 * 12 - 2
    e.close()


@pytest.mark.parametrize("case", ["cmac-3.1.1", "hmac-2.1"])
def test_other_algorithms_prepare_nothing_and_still_verify(server, case, ahead):
    variant, conf, cfg, _d, _a = CASES[case]
    info, e, _tap, tree = _session(server, variant, conf, cfg)
    assert ahead and e.session.signer is ahead[-1]
    inner = getattr(e.session.signer, "_signer", None)
    assert inner is None or inner._ready is None
    _round_trips(e, tree, info, 3)
    e.close()


@pytest.mark.parametrize("case", ["gcm128-3.1.1", "gcm256-3.1.1", "ccm128-3.1.1"])
def test_encrypted_session_uses_the_cipher_made_ahead(server, case, monkeypatch):
    variant, conf, cfg, _d, cipher = CASES[case]
    info, e, _tap, tree = _session(server, variant, conf, cfg)
    enc = e.conn.encryption
    made = []
    real = enc._transform.new_cipher

    def counting(*args):
        made.append(args[2])
        return real(*args)

    monkeypatch.setattr(enc._transform, "new_cipher", counting)
    sent_nonces = []
    real_encrypt = enc._transform.encrypt_parts

    def recording(*args, **kwargs):
        out = real_encrypt(*args, **kwargs)
        sent_nonces.append(bytes(out[20:32]))
        return out

    monkeypatch.setattr(enc._transform, "encrypt_parts", recording)
    _round_trips(e, tree, info, 6)
    if case.startswith("ccm"):
        assert not made  # CCM needs the message's length: nothing made ahead
    else:
        # every message after the first was encrypted with the object made while the one
        # before it was answered (its nonce), and no nonce was used twice
        assert len(made) >= len(sent_nonces) - 1 >= 6 * 4 - 1
        assert set(sent_nonces[1:]) <= {bytes(n[:12]) for n in made}
    assert len(set(sent_nonces)) == len(sent_nonces)
    e.close()


@pytest.mark.parametrize("case,offset", [("gmac-3.1.1", 50), ("gmac-3.1.1", 66), ("gcm128-3.1.1", 4),
                                         ("gcm128-3.1.1", 60)])
def test_tampered_answer_breaks_the_connection_with_objects_made_ahead(server, case, offset):
    """One flipped byte (signature or body; tag or ciphertext) of the answer whose MAC or
    the next request's cipher was made ahead: ProtocolError, and the connection is dead."""
    variant, conf, cfg, _d, _a = CASES[case]
    info, e, tap, tree = _session(server, variant, conf, cfg)
    _round_trips(e, tree, info, 2)
    tap.arm(offset)  # the next answer
    with pytest.raises(ProtocolError):
        e.echo(b"", dl())
    assert tap.tampered is not None
    assert_unusable(e, tree)


def test_first_listing_chain_encrypted_with_the_cipher_made_during_authentication(samba_factory):
    """On 3.1.1 the first listing's chain (TREE_CONNECT + listing, encrypted) uses the
    AES-GCM object made while the server checked the AUTHENTICATE: its nonce is on the wire."""
    from tests.integration.test_smb2_engine import engine, find_names

    info = samba_factory("default")
    e = engine(info)
    assert e.authenticate(dl())
    ready = e.conn.encryption._ready
    assert ready is not None and ready[0] == e.session.encryption_key
    sent = []
    real = e.transport.send

    def recording(*parts, **kw):
        sent.append(b"".join(bytes(p) for p in parts))
        return real(*parts, **kw)

    e.transport.send = recording
    tree, entries = e.tree_connect_listing(info.share, "", "*", Timeout(30))
    assert sent[0][:4] == b"\xfdSMB" and sent[0][20:32] == ready[1]
    names = set(find_names(list(entries)))
    assert names == set(os.listdir(info.share_path)) | {".", ".."}
    e.close()


def test_small_files_on_a_signed_share_sign_and_verify_with_objects_made_ahead(server, monkeypatch):
    """storeFile / retrieveFile of small files on a signing-required share (CREATE + WRITE or
    READ + CLOSE, one compound each): after the first file, every AES-GMAC object the
    critical path needs -- to sign the three requests and verify the three answers -- was
    made while the server worked on the previous file; the data is intact on the disk."""
    import io

    from smb import smb_structs
    from smb.SMBConnection import SMBConnection
    from smb.smb2 import crypto

    variant, conf, _cfg, _d, _a = CASES["gmac-3.1.1"]
    info = server(variant, **conf)
    monkeypatch.setattr(smb_structs, "SUPPORT_SMB2", True)
    c = SMBConnection(info.user, info.password, "AHEAD", info.server_name, is_direct_tcp=True)
    assert c.connect(info.host, info.port, timeout=30)
    assert c.security.signed and c.security.signing_algorithm == "AES-GMAC"
    made = {"prepare": 0, "_new_mac": 0}
    real_new = crypto.AES.new

    class CountingAES:
        MODE_GCM = crypto.AES.MODE_GCM

        @staticmethod
        def new(*args, **kwargs):
            frame = __import__("sys")._getframe(2)  # who asked Signer._gmac for the object
            caller = frame.f_code.co_name
            if caller in made:
                made[caller] += 1
            return real_new(*args, **kwargs)

    monkeypatch.setattr(crypto, "AES", CountingAES)
    files = {"ahead%d.txt" % i: os.urandom(3000 + i) for i in range(10)}
    for name, data in files.items():
        c.storeFile(info.share, name, io.BytesIO(data))
    for name, data in files.items():
        out = io.BytesIO()
        c.retrieveFile(info.share, name, out)
        assert out.getvalue() == data
        with open(os.path.join(info.share_path, name), "rb") as f:
            assert f.read() == data
    c.close()
    # 20 compounds of 3 messages: 120 objects; made on the critical path: only those of the
    # first upload's requests and of the first download's (its READ charges more credits)
    assert made["_new_mac"] <= 8, made
    assert made["prepare"] >= 110, made
