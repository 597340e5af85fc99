#!/bin/sh
# Renders the README's digest screenshot (docs/digest.png): the demo's data, its digest
# in French as an e-mail client on a phone shows it (412 px wide), through Chromium.
# Usage: scripts/screenshot-digest.sh [VEILLE_BINARY]
set -eu
bin=${1:-target/release/veille}
out=$(pwd)/docs/digest.png
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rmdir "$dir" && "$bin" demo --keep "$dir" >/dev/null
# The digest of the demo's config, in the language of its e-mail notifier.
"$bin" digest --config "$dir/veille.toml" --now demo --locale fr --dry-run "$dir/digest.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=412,1400 --screenshot="$out" "file://$dir/digest.html" 2>/dev/null
echo "wrote $out"
