#!/usr/bin/env bash
# The test command: installs what the integration tests need (aiosmtpd, a real SMTP
# server, in a Python virtualenv under .venv) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2'
fi
export VEILLE_TEST_PYTHON="$PWD/.venv/bin/python"

cargo test --all-targets "$@"
