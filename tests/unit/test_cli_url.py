"""smb:// URL parsing for the command line (smb.cli.url)."""

import pytest

from smb.cli.url import SMBURL, URLError, is_url, parse_url


@pytest.mark.parametrize("text, expected", [
    ("smb://host", SMBURL("host")),
    ("smb://host/", SMBURL("host")),
    ("SMB://Host/share", SMBURL("Host", share="share")),
    ("smb://alice@host/share/dir/file.txt",
     SMBURL("host", user="alice", share="share", path="dir/file.txt")),
    ("smb://CORP;alice@files.example.com:4450/docs/a/b/",
     SMBURL("files.example.com", 4450, "alice", "CORP", "docs", "a/b")),
    ("smb://alice@[fe80::1]:445/s/x", SMBURL("fe80::1", 445, "alice", "", "s", "x")),
    ("smb://[::1]/s", SMBURL("::1", share="s")),
    ("smb://h/s//a/./b/../c", SMBURL("h", share="s", path="a/c")),
    ("smb://h/s/a\\b", SMBURL("h", share="s", path="a/b")),
    # percent escapes: in the user (an '@' or ';' in a name) and in the path
    ("smb://dom%3Bx;a%40b@h/s/100%25%20done.txt",
     SMBURL("h", user="a@b", domain="dom;x", share="s", path="100% done.txt")),
    ("smb://h/s/50% off", SMBURL("h", share="s", path="50% off")),  # not an escape: kept
])
def test_parse(text, expected):
    assert parse_url(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("http://host/share", "not an smb:// URL"),
    ("host/share", "not an smb:// URL"),
    ("smb:///share", "no host"),
    ("smb://alice@/share", "no host"),
    ("smb://h:0/s", "bad port"),
    ("smb://h:65536/s", "bad port"),
    ("smb://h:44x/s", "bad port"),
    ("smb://[::1/s", "IPv6"),
    ("smb://[::1]x/s", "IPv6"),
    ("smb://h/s/..", "outside the share"),
    ("smb://h/s/a/../../b", "outside the share"),
])
def test_rejects(text, fragment):
    with pytest.raises(URLError, match=fragment):
        parse_url(text)


@pytest.mark.parametrize("text", ["smb://alice:Hunter2@h/s", "smb://D;alice:Hunter2@h:445/s/f"])
def test_password_in_url_refused_without_echoing_it(text):
    with pytest.raises(URLError) as e:
        parse_url(text)
    assert "password" in str(e.value) and "Hunter2" not in str(e.value)


def test_str_round_trips_and_never_has_a_password():
    for text in ("smb://CORP;alice@h:4450/docs/a%20b/c", "smb://h/s", "smb://a%40b@[::1]/s/x"):
        url = parse_url(text)
        assert str(url) == text
        assert parse_url(str(url)) == url


def test_navigation_helpers():
    url = parse_url("smb://u@h/s/dir/file.txt")
    assert url.name == "file.txt"
    assert url.parent == parse_url("smb://u@h/s/dir")
    assert url.parent.parent.path == "" and url.parent.parent.name == "s"
    assert url.parent.child("x") == parse_url("smb://u@h/s/dir/x")
    assert parse_url("smb://u@h/s").child("x").path == "x"
    assert url.server == ("h", None, "u", "")
    assert parse_url("smb://u@h/s/d/*.txt").has_wildcard()
    assert parse_url("smb://u@h/s/d/a?c").has_wildcard()
    assert not url.has_wildcard() and not parse_url("smb://u@h/s").has_wildcard()
    assert is_url("SMB://x") and not is_url("/tmp/smb://x")
