#!/usr/bin/env bash
# Installs what the integration tests need: aiosmtpd (a real SMTP server) in a Python
# virtualenv under .venv, where the tests look for it, and systemd-analyze. The README's
# test command runs it, then `cargo test --all-targets`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi

# tests/deploy.rs checks the systemd unit with systemd-analyze.
if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
    else
        echo "systemd-analyze is needed by tests/deploy.rs: install systemd" >&2
        exit 1
    fi
fi

