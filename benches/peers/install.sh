#!/usr/bin/env bash
# Installs the do-it-yourself peers' pinned packages: `npm ci` in
# benches/peers/node, and a venv (PEERS_VENV, default benches/peers/.venv)
# from benches/peers/python/requirements.txt. Idempotent, as
# scripts/receivers-install: a step is skipped while its lock file is
# unchanged since it last succeeded.
set -euo pipefail
cd "$(dirname "$0")"

venv="${PEERS_VENV:-.venv}"
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

node_stamp=$(stamp_of node/package.json node/package-lock.json <(node --version))
if [ "$(cat node/node_modules/.peers-installed 2>/dev/null)" != "$node_stamp" ]; then
  echo "peers/install: npm ci in benches/peers/node" >&2
  (cd node && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$node_stamp" >node/node_modules/.peers-installed
fi

py_stamp=$(stamp_of python/requirements.txt <(python3 --version))
if [ "$(cat "$venv/.peers-installed" 2>/dev/null)" != "$py_stamp" ] || [ ! -x "$venv/bin/gunicorn" ]; then
  echo "peers/install: venv $venv from python/requirements.txt" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r python/requirements.txt >&2
  echo "$py_stamp" >"$venv/.peers-installed"
fi
