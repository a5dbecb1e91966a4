"""``nmb.NetBIOS.NetBIOS`` against Samba's real ``nmbd`` (tests/sambaserver.py, NmbdServer).

nmbd runs on loopback only, on a free high UDP port; it registers its names with the address
127.0.0.2 (its one, fake, interface) and answers unicast queries sent to 127.0.0.1.
"""

import socket

import pytest

from nmb.NetBIOS import NetBIOS
from tests import sambaserver

pytestmark = pytest.mark.integration


def _datagram_port_free() -> bool:
    """nmbd always binds UDP 138 (its datagram port is fixed): another NetBIOS service on this
    machine (a system nmbd) makes that impossible."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", 138))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def nmbd():
    if not _datagram_port_free():
        pytest.skip("UDP port 138 is taken on this machine (a system nmbd?): the private nmbd "
                    "cannot bind its fixed datagram port")
    srv = sambaserver.NmbdServer()
    try:
        info = srv.start()
    except sambaserver.SambaUnavailable as e:
        srv.stop()
        if sambaserver.external_server() is not None:
            pytest.skip("private nmbd unavailable (testing against SMB_TEST_HOST): %s" % e)
        pytest.fail(str(e), pytrace=False)
    yield info
    srv.stop()


@pytest.fixture
def nb():
    n = NetBIOS()
    yield n
    n.close()


def test_query_name(nmbd, nb):
    assert nb.queryName(nmbd.netbios_name, ip="127.0.0.1", port=nmbd.port, timeout=5) == [nmbd.address]


def test_query_name_is_case_insensitive(nmbd, nb):
    assert nb.queryName(nmbd.netbios_name.lower(), ip="127.0.0.1", port=nmbd.port, timeout=5) == [nmbd.address]


def test_query_name_at_registered_address(nmbd, nb):
    assert nb.queryName(nmbd.netbios_name, ip=nmbd.address, port=nmbd.port, timeout=5) == [nmbd.address]


def test_query_ip_for_name(nmbd, nb):
    assert nb.queryIPForName("127.0.0.1", port=nmbd.port, timeout=5) == [nmbd.netbios_name]


def test_query_ip_for_name_at_registered_address(nmbd, nb):
    assert nb.queryIPForName(nmbd.address, port=nmbd.port, timeout=5) == [nmbd.netbios_name]


def test_unknown_name_gets_no_answer(nmbd, nb):
    # a non-WINS nmbd stays silent for names it does not own (RFC 1001 15.1.3.1)
    assert nb.queryName("NOSUCHHOST", ip="127.0.0.1", port=nmbd.port, timeout=1) is None


def test_queries_reuse_one_socket(nmbd, nb):
    for _ in range(3):
        assert nb.queryName(nmbd.netbios_name, ip="127.0.0.1", port=nmbd.port, timeout=5) == [nmbd.address]
        assert nb.queryIPForName("127.0.0.1", port=nmbd.port, timeout=5) == [nmbd.netbios_name]
