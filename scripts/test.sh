#!/usr/bin/env bash
# Runs the whole test suite (unit + live tests against a private Samba started by the tests).
source "$(dirname "$0")/env.sh"
exec python -m pytest -q -ra "$@"
