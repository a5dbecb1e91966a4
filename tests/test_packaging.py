"""The wheel builds with a standard PEP 517 backend and declares only pyasn1 and pycryptodome."""

import email
import os
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                        "--outdir", str(out), ROOT], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (name,) = [n for n in os.listdir(out) if n.endswith(".whl")]
    return os.path.join(out, name)


def test_wheel_metadata_requires_only_pyasn1_and_pycryptodome(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta_name = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")][0]
        meta = email.message_from_bytes(z.read(meta_name))
    required = sorted(r.split(">")[0].split("=")[0].split("<")[0].strip()
                      for r in meta.get_all("Requires-Dist") if "extra ==" not in r)
    assert required == ["pyasn1", "pycryptodome"]
    extras = meta.get_all("Provides-Extra")
    assert "progress" in extras and "test" in extras
    assert meta["Requires-Python"] == ">=3.9"


def test_wheel_ships_packages_and_py_typed(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for needed in ("smb/SMBConnection.py", "smb/base.py", "smb/py.typed", "nmb/py.typed",
                   "nmb/NetBIOS.py", "smb/ntlm.py", "smb/securityblob.py", "smb/utils/md4.py",
                   "smb/kerberos/client.py", "smb/__main__.py", "smb/cli/__init__.py", "smb/cli/program.py"):
        assert needed in names, needed
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_installs_the_smbpy_command(wheel):
    with zipfile.ZipFile(wheel) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = z.read(name).decode()
    assert "[console_scripts]" in entry_points
    assert "smbpy = smb.cli:main" in entry_points
