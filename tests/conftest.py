"""Shared fixtures: the private Samba server (see tests/sambaserver.py).

``samba_factory(variant)`` returns a :class:`tests.sambaserver.ServerInfo` for a running
server of that variant, started on first use and stopped at the end of the session.
``samba`` is the ``default`` variant. With ``SMB_TEST_HOST`` set, both return the external
server instead; tests that need a specific variant are skipped unless ``SMB_TEST_VARIANT``
names it. A missing ``smbd`` fails the tests (with install instructions), never skips them.
"""

import pytest

from tests import sambaserver


@pytest.fixture(scope="session")
def samba_factory():
    servers = {}
    external = sambaserver.external_server()

    def get(variant="default"):
        if external is not None:
            if variant != external.variant:
                pytest.skip("external server is variant %r, test needs %r" % (external.variant, variant))
            return external
        if variant not in servers:
            srv = sambaserver.SambaServer(variant)
            try:
                srv.start()
            except sambaserver.SambaUnavailable as e:
                srv.stop()
                pytest.fail(str(e), pytrace=False)
            servers[variant] = srv
        return servers[variant].info

    yield get
    for srv in servers.values():
        srv.stop()


@pytest.fixture(scope="session")
def samba(samba_factory):
    return samba_factory("default")


@pytest.fixture(autouse=True)
def _pysmb_switches_restored():
    """pysmb's module-level switches (``smb_structs.SUPPORT_SMB2`` ...) are global: whatever a
    test (or a thread it started) leaves them at, the next test starts from the defaults."""
    from smb import smb_structs

    names = ("SUPPORT_SMB2", "SUPPORT_SMB2x", "SUPPORT_EXTENDED_SECURITY")
    saved = {n: getattr(smb_structs, n) for n in names}
    yield
    for n, v in saved.items():
        setattr(smb_structs, n, v)
