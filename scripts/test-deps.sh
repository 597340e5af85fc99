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

# tests/deploy.rs checks the systemd units with systemd-analyze, the example alerting
# rules with promtool (Debian's prometheus package), and builds the Debian package
# (dpkg-shlibdeps from dpkg-dev; objcopy, strip, readelf, objdump from binutils) to run
# lintian on it. As root they are installed with apt-get; otherwise the missing ones are
# named, and the lintian and promtool checks are skipped with that reason.
missing=()
for need in systemd-analyze:systemd promtool:prometheus lintian:lintian \
            dpkg-shlibdeps:dpkg-dev objcopy:binutils; do
    command -v "${need%%:*}" >/dev/null 2>&1 || missing+=("${need#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null
    else
        echo "tests/deploy.rs needs: ${missing[*]} (apt-get install, as root)" >&2
        case " ${missing[*]} " in
            *" systemd "*|*" dpkg-dev "*|*" binutils "*) exit 1 ;;
        esac
    fi
fi
