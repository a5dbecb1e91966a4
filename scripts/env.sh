# Sourced by scripts/test.sh and scripts/demo.sh: makes sure Samba and a virtual
# environment with the package (and its test extra) are present, then activates it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if ! command -v smbd >/dev/null 2>&1 && [ ! -x /usr/sbin/smbd ] || ! command -v smbclient >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing samba and smbclient (apt-get)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samba smbclient >&2
  else
    echo "== samba is missing: run 'sudo apt-get install samba smbclient'" >&2
  fi
fi
# the Kerberos tests run a private Samba AD DC (samba-ad-dc) and use MIT kinit/klist (krb5-user)
if { ! command -v samba >/dev/null 2>&1 && [ ! -x /usr/sbin/samba ]; } || ! command -v kinit >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing samba-ad-dc and krb5-user (apt-get)" >&2
    apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq samba-ad-dc krb5-user >&2 \
      || echo "== samba-ad-dc/krb5-user could not be installed: the Kerberos live tests will fail" >&2
  else
    echo "== for the Kerberos tests run 'sudo apt-get install samba-ad-dc krb5-user'" >&2
  fi
fi
export PATH="$PATH:/usr/sbin:/sbin"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv" >&2
  "$PY" -m venv .venv >&2
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c "import smb, pytest, Crypto, pyasn1, sphinx, tqdm, fsspec" >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.installed ]; then
  echo "== installing the package with its test extra" >&2
  log=.venv/install.log
  if ! { python -m pip install -q --upgrade pip && python -m pip install -q -e '.[test]'; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
  touch .venv/.installed
fi
