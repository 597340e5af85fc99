#!/usr/bin/env bash
# Builds target/debian/veille_<version>_<arch>.deb with dpkg-deb: the one way the package
# is built (no cargo-deb metadata). What goes in:
#   /usr/bin/veille          stripped (its line tables are kept apart, see below)
#   /lib/systemd/system/veille.service, sysusers and tmpfiles snippets
#   /etc/veille/veille.toml and /etc/veille/rules/*.toml (conffiles)
#   /usr/share/man/man1/veille*.1.gz   generated from the clap definitions (veille man)
#   /usr/share/doc/veille/  copyright (DEP-5), changelog, README, sentiment data
#                           provenance, examples/ (the unit for systemd < 253, the
#                           Prometheus alerting rules, the Grafana dashboard)
#   Depends computed from the binary by dpkg-shlibdeps, plus adduser and ca-certificates
#   (the TLS client reads the system trust store).
#
#     scripts/build-deb.sh                             # builds the release binary first
#     VEILLE_BIN=path/to/veille scripts/build-deb.sh   # packages that binary
#     VEILLE_DEB_COMPRESSION=gzip VEILLE_DEB_LEVEL=1 … # faster (tests)
#
# The line tables of the release binary (veille's own code only: Cargo.toml) go to
# target/debian/veille_<version>_<arch>.debug, named by the binary's .gnu_debuglink:
# `addr2line -e veille_….debug ADDR` turns a reported address into file:line.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
bin=${VEILLE_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release --locked
    bin=target/release/veille
fi
mkdir -p target/debian
out="target/debian/veille_${version}_${arch}.deb"
debug="target/debian/veille_${version}_${arch}.debug"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -m 0755 "$root"

# The binary: debug sections apart, then stripped as dh_strip does.
objcopy --only-keep-debug --compress-debug-sections "$bin" "$debug"
install -D -m 0755 "$bin" "$root/usr/bin/veille"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/veille"
objcopy --add-gnu-debuglink="$debug" "$root/usr/bin/veille"

install -D -m 0644 deploy/veille.service "$root/lib/systemd/system/veille.service"
install -D -m 0644 deploy/veille.sysusers "$root/usr/lib/sysusers.d/veille.conf"
install -D -m 0644 deploy/veille.tmpfiles "$root/usr/lib/tmpfiles.d/veille.conf"
install -D -m 0640 deploy/veille.toml "$root/etc/veille/veille.toml"
for r in rules/*.toml; do
    install -D -m 0644 "$r" "$root/etc/veille/rules/$(basename "$r")"
done

doc="$root/usr/share/doc/veille"
install -D -m 0644 deploy/debian/copyright "$doc/copyright"
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 data/sentiment/PROVENANCE.md "$doc/SENTIMENT-DATA.md"
install -D -m 0644 deploy/debian/changelog "$doc/changelog"
gzip -9n "$doc/changelog"
install -D -m 0644 deploy/veille-systemd252.service "$doc/examples/veille-systemd252.service"
install -D -m 0644 deploy/prometheus/veille-alerts.yml "$doc/examples/prometheus/veille-alerts.yml"
install -D -m 0644 deploy/grafana/veille-dashboard.json "$doc/examples/grafana/veille-dashboard.json"
install -D -m 0644 deploy/debian/lintian-overrides "$root/usr/share/lintian/overrides/veille"

# Manual pages, one per command, from the clap definitions of the binary packaged.
man="$root/usr/share/man/man1"
mkdir -p "$man"
"$bin" man "$man"
chmod 0644 "$man"/*.1
gzip -9n "$man"/*.1

# Depends: the shared libraries the binary links to, at the versions of the symbols it
# uses (libc6 >= its highest GLIBC_x.y), as dpkg-shlibdeps computes them.
mkdir -p "$work/src/debian"
printf 'Source: veille\n\nPackage: veille\nArchitecture: any\n' > "$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/veille" 2>/dev/null \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "dpkg-shlibdeps found no dependency" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$root/DEBIAN/"
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: veille
Version: $version
Architecture: $arch
Maintainer: veille maintainers <veille@example.org>
Installed-Size: $size
Depends: $shlibs, adduser, ca-certificates
Section: net
Priority: optional
Homepage: https://github.com/veille/veille
Description: self-hosted brand-mention monitoring daemon
 veille polls news feeds, forums and social networks, keeps every mention of
 your brands searchable, and alerts by e-mail and team chat when a rule says
 something needs action: crisis words, a spike of mentions, a negative post by
 an influential author.
CONTROL

dpkg-deb --root-owner-group -Z"${VEILLE_DEB_COMPRESSION:-xz}" ${VEILLE_DEB_LEVEL:+-z"$VEILLE_DEB_LEVEL"} --build "$root" "$out" >/dev/null
echo "$out"
