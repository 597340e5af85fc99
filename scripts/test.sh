#!/usr/bin/env bash
# The test command: installs what the integration tests need (aiosmtpd, a real SMTP
# server, in a Python virtualenv under .venv; systemd-analyze) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi
export VEILLE_TEST_PYTHON="$PWD/.venv/bin/python"

# tests/deploy.rs checks the systemd unit with systemd-analyze.
if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
    else
        echo "systemd-analyze is needed by tests/deploy.rs: install systemd" >&2
        exit 1
    fi
fi

# Incremental artefacts are useless on a one-shot CI checkout and take gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
cargo test --all-targets "$@"
