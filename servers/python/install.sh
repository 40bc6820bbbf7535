#!/usr/bin/env bash
# Installs the Python servers' packages, exactly as locked (requirements.txt: every file's
# hash), into servers/python/.venv: `bash servers/python/install.sh`. Needs python3 with
# its venv module (Debian: apt-get install python3-venv). `.ci/run` runs it; the tests and
# scenarios that measure the Python servers start them with .venv/bin/python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install.sh: needs $python (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "install.sh: $python has no venv/ensurepip (Debian: apt-get install python3-venv)" >&2
  exit 1
fi
# A venv made by another Python (or half made) is made again rather than patched.
if [ ! -x "$here/.venv/bin/python" ] || ! "$here/.venv/bin/python" -c 'import sys' 2>/dev/null; then
  rm -rf "$here/.venv"
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --require-hashes --only-binary=:all: -r "$here/requirements.txt"
"$here/.venv/bin/python" -c 'import websockets, socketio, uvicorn' \
  && echo "servers/python/.venv: websockets, python-socketio and uvicorn installed"
