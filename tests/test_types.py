"""``mypy`` reports no error on ``smb`` and ``nmb`` (configured in pyproject.toml [tool.mypy]).

mypy comes with the ``test`` extra (Python 3.10 and later), so CI runs this check; it is
skipped only where mypy is not installed.
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_is_clean_on_smb_and_nmb():
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Success: no issues found" in r.stdout
