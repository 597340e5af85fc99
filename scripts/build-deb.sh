#!/usr/bin/env bash
# Builds target/debian/veille_<version>_<arch>.deb with dpkg-deb (no other tool needed):
# the binary, the systemd unit, sysusers and tmpfiles snippets, the example config in
# /etc/veille and the example rules in /etc/veille/rules (both conffiles).
#
#     scripts/build-deb.sh                 # builds the release binary first
#     VEILLE_BIN=path/to/veille scripts/build-deb.sh   # packages that binary
#     VEILLE_DEB_COMPRESSION=none …                    # faster (tests)
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
bin=${VEILLE_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --locked
    bin=target/release/veille
fi

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/veille"
install -D -m 0644 deploy/veille.service "$root/lib/systemd/system/veille.service"
install -D -m 0644 deploy/veille.sysusers "$root/usr/lib/sysusers.d/veille.conf"
install -D -m 0644 deploy/veille.tmpfiles "$root/usr/lib/tmpfiles.d/veille.conf"
install -D -m 0640 deploy/veille.toml "$root/etc/veille/veille.toml"
for r in rules/*.toml; do
    install -D -m 0644 "$r" "$root/etc/veille/rules/$(basename "$r")"
done
install -D -m 0644 README.md "$root/usr/share/doc/veille/README.md"
install -D -m 0644 data/sentiment/PROVENANCE.md "$root/usr/share/doc/veille/SENTIMENT-DATA.md"

mkdir -p "$root/DEBIAN"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: veille
Version: $version
Architecture: $arch
Maintainer: veille maintainers <veille@example.org>
Installed-Size: $size
Depends: libc6, adduser
Section: net
Priority: optional
Homepage: https://github.com/veille/veille
Description: self-hosted brand-mention monitoring daemon
 veille polls news feeds, forums and social networks, keeps every mention of
 your brands searchable, and alerts by e-mail and team chat when a rule says
 something needs action: crisis words, a spike of mentions, a negative post by
 an influential author.
CONTROL

mkdir -p target/debian
out="target/debian/veille_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${VEILLE_DEB_COMPRESSION:-xz}" --build "$root" "$out" >/dev/null
echo "$out"
