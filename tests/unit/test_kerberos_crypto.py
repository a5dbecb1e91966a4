"""Kerberos encryption types against the RFC test vectors: RFC 3961 A.1 (n-fold), RFC 3962
appendix B (PBKDF2 string-to-key, AES CBC with ciphertext stealing), RFC 8009 appendix A
(aes-sha2 string-to-key, key derivation, encryption, checksum), RFC 4757 (MD4 string-to-key);
plus round trips and tamper detection for every supported type."""

import pytest

from smb.kerberos import crypto
from smb.kerberos.errors import KRB_AP_ERR_BAD_INTEGRITY, KerberosError


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


# RFC 3961 appendix A.1: (bits, input, output)
NFOLD = [
    (64, b"012345", "be072631276b1955"),
    (56, b"password", "78a07b6caf85fa"),
    (64, b"Rough Consensus, and Running Code", "bb6ed30870b7f0e0"),
    (168, b"password", "59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"),
    (192, b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY", "db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"),
    (168, b"Q", "518a54a215a8452a518a54a215a8452a518a54a215"),
    (168, b"ba", "fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
    (64, b"kerberos", "6b65726265726f73"),
    (128, b"kerberos", "6b65726265726f737b9b5b2b93132b93"),
    (168, b"kerberos", "8372c236344e5f1550cd0747e15d62ca7a5a3bcea4"),
    (256, b"kerberos", "6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4"),
]


@pytest.mark.parametrize("bits,data,expected", NFOLD)
def test_nfold_rfc3961(bits, data, expected):
    assert crypto.nfold(data, bits // 8).hex() == expected


# RFC 3962 appendix B: (iterations, password, salt, aes128 key, aes256 key)
S2K = [
    (1, "password", b"ATHENA.MIT.EDUraeburn", "42263c6e89f4fc28b8df68ee09799f15",
     "fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"),
    (2, "password", b"ATHENA.MIT.EDUraeburn", "c651bf29e2300ac27fa469d693bdda13",
     "a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"),
    (1200, "password", b"ATHENA.MIT.EDUraeburn", "4c01cd46d632d01e6dbe230a01ed642a",
     "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"),
    (5, "password", h("1234567878563412"), "e9b23d52273747dd5c35cb55be619d8e",
     "97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31"),
    (1200, "X" * 64, b"pass phrase equals block size", "59d1bb789a828b1aa54ef9c2883f69ed",
     "89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34"),
    (1200, "X" * 65, b"pass phrase exceeds block size", "cb8005dc5f90179a7f02104c0018751d",
     "d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b"),
    (50, "\U0001d11e", b"EXAMPLE.COMpianist", "f149c1f2e154a73452d43e7fe62a56e5",
     "4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e"),
]


@pytest.mark.parametrize("iterations,password,salt,k128,k256", S2K)
def test_string_to_key_rfc3962(iterations, password, salt, k128, k256):
    params = iterations.to_bytes(4, "big")
    assert crypto.string_to_key(17, password, salt, params).contents.hex() == k128
    assert crypto.string_to_key(18, password, salt, params).contents.hex() == k256


CTS_KEY = b"chicken teriyaki"
_PLAIN = b"I would like the General Gau's Chicken, please, and wonton soup."
# RFC 3962 appendix B: (input length, output)
CTS = [
    (17, "c6353568f2bf8cb4d8a580362da7ff7f97"),
    (31, "fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"),
    (32, "39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"),
    (47, "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5"),
    (48, "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8"),
    (64, "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8"
         "4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"),
]


@pytest.mark.parametrize("length,expected", CTS)
def test_aes_cts_rfc3962(length, expected):
    plain = _PLAIN[:length]
    assert crypto.cts_encrypt(CTS_KEY, plain).hex() == expected
    assert crypto.cts_decrypt(CTS_KEY, h(expected)) == plain


RFC8009_SALT = h("10df9dd783e5bc8acea1730e74355f61") + b"ATHENA.MIT.EDUraeburn"
RFC8009_BASE128 = h("3705d96080c17728a0e800eab6e0d23c")


def test_string_to_key_rfc8009():
    params = (32768).to_bytes(4, "big")
    assert crypto.string_to_key(19, "password", RFC8009_SALT, params).contents.hex() == \
        "089bca48b105ea6ea77ca5d2f39dc5e7"
    assert crypto.string_to_key(20, "password", RFC8009_SALT, params).contents.hex() == \
        "45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467"


def test_key_derivation_rfc8009():
    p = crypto.get_etype(19)
    ke, ki = p._keys(RFC8009_BASE128, 2)
    assert ke.hex() == "9b197dd1e8c5609d6e67c3e37c62c72e"
    assert ki.hex() == "9fda0e56ab2d85e1569a688696c26a6c"
    assert p.kdf(RFC8009_BASE128, b"\x00\x00\x00\x02\x99", 128).hex() == "b31a018a48f54776f403e9a396325dc3"


def test_encrypt_and_checksum_rfc8009():
    p = crypto.get_etype(19)
    out = p.encrypt(RFC8009_BASE128, 2, b"", h("7e5895eaf2672435bad817f545a37148"))
    assert out.hex() == "ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"
    assert p.decrypt(RFC8009_BASE128, 2, out) == b""
    assert p.checksum(RFC8009_BASE128, 2, bytes(range(21))).hex() == "d78367186643d67b411cba9139fc1dee"


def test_rc4_string_to_key_is_the_nt_hash():
    # RFC 4757 section 4: MD4 of the UTF-16LE password (the NTLM "NT hash" of "password")
    assert crypto.string_to_key(23, "password", b"").contents.hex() == "8846f7eaee8fb117ad06bdd830b7586c"


@pytest.mark.parametrize("etype", crypto.DEFAULT_ETYPES)
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 100])
def test_round_trip(etype, length):
    key = crypto.get_etype(etype).random_key()
    plain = bytes(range(length))
    blob = key.encrypt(7, plain)
    assert key.decrypt(7, blob) == plain
    with pytest.raises(KerberosError) as e:  # another key usage does not decrypt
        key.decrypt(8, blob)
    assert e.value.code == KRB_AP_ERR_BAD_INTEGRITY


@pytest.mark.parametrize("etype", crypto.DEFAULT_ETYPES)
def test_tampering_detected(etype):
    key = crypto.get_etype(etype).random_key()
    blob = bytearray(key.encrypt(3, b"secret message body"))
    for pos in (0, len(blob) // 2, len(blob) - 1):
        bad = bytearray(blob)
        bad[pos] ^= 1
        with pytest.raises(KerberosError):
            key.decrypt(3, bytes(bad))
    with pytest.raises(KerberosError):
        key.decrypt(3, bytes(blob[:10]))
    mac = key.checksum(6, b"body")
    assert key.verify_checksum(6, b"body", mac)
    assert not key.verify_checksum(6, b"bodY", mac)


def test_unknown_etype_and_absurd_iterations():
    with pytest.raises(KerberosError, match="unsupported encryption type 3"):
        crypto.get_etype(3)
    with pytest.raises(KerberosError, match="iteration count"):
        crypto.string_to_key(18, "pw", b"salt", (0x7FFFFFFF).to_bytes(4, "big"))
