#!/usr/bin/env bash
# Runs the demo: with no server given, starts a private Samba and exercises the API against it.
source "$(dirname "$0")/env.sh"
exec python -m examples.demo "$@"
