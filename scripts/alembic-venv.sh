#!/usr/bin/env bash
# Creates target/alembic-venv, the virtualenv with the Alembic that
# tests/tests/alembic.rs (migrator_agrees_with_alembic) uses as its oracle,
# from tests/alembic/requirements.txt.
#
# Idempotent: when the venv exists and was made from the same requirements
# (their hash is kept in the venv), it only checks. Needs root (apt-get) only
# when Python's venv module is missing (Debian's python3-venv).
#
# The test finds the venv's python at $MIGRATOR_ALEMBIC_PYTHON or
# <workspace>/target/alembic-venv/bin/python.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'alembic-venv: %s\n' "$*"; }

venv=target/alembic-venv
requirements=tests/alembic/requirements.txt
stamp="$venv/.requirements.sha256"
python=${PYTHON:-python3}

want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && "$venv/bin/python" -c 'import alembic, sqlalchemy' 2>/dev/null; then
    log "up to date ($venv)"
    exit 0
fi

# SQLAlchemy 2.1 (pinned with Alembic) needs Python 3.11 or newer.
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "$python is older than Python 3.11, which the pinned SQLAlchemy needs: set PYTHON to a newer one" >&2
    exit 1
fi

if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing python3-venv"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv >/dev/null
    else
        log "Python's venv module is missing: install python3-venv" >&2
        exit 1
    fi
fi

log "creating $venv"
rm -rf "$venv"
mkdir -p target
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
printf '%s\n' "$want" >"$stamp"
"$venv/bin/python" -c 'import alembic, sqlalchemy; print("alembic-venv: alembic", alembic.__version__, "sqlalchemy", sqlalchemy.__version__)'
