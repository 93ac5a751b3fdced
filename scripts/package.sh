#!/usr/bin/env bash
# Builds the Debian package of dpdk-twamp from a `meson install --destdir` tree (prefix /usr).
#
#   scripts/package.sh [--build-dir DIR] [--out DIR]
#
# DIR (default build-pkg, beside build/ so ccache's objects are shared) is configured with
# --prefix=/usr -Dtests=false -Dperf=false when it is not yet, and built. The package holds
# what `meson install --strip` installs there: the binaries (whatever meson installs in bindir,
# dpdk-twamp-ctl included when it exists), /lib/systemd/system/dpdk-twamp.service,
# /etc/default/dpdk-twamp and /etc/dpdk-twamp/twamp.conf (every file under /etc is a conffile:
# dpkg never overwrites an edited one), the man pages (gzipped), the docs and conf/'s
# dashboards and alert rules. Depends: dpkg-shlibdeps over every ELF file (the shared
# libraries they need, for the Debian release they are built on), plus dpdk (DPDK's drivers
# are plugins loaded at run time, not linked; and dpdk-devbind.py, dpdk-hugepages.py,
# dpdk.service), librte-mempool-ring23 and librte-net-tap23 (the plugins it cannot start
# without, which dpdk only Recommends), Recommends librte-meta-net (af_packet and the NICs'
# PMDs), and iproute2 (the TAP's addresses and
# routes are set with `ip`), init-system-helpers (the maintainer scripts' deb-systemd-helper).
# Maintainer scripts as dh_installsystemd --no-enable --no-start writes them: daemon-reload,
# try-restart on upgrade, stop on removal, mask on remove, purge; the service is neither
# enabled nor started by installing: edit the config first.
# Prints the package's path on its last line.
set -euo pipefail
umask 022 # the package's files and directories: 0644 and 0755 whatever the caller's umask
cd "$(dirname "$0")/.."
top=$(pwd)

build=build-pkg
out=$top
while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir) build=${2:?--build-dir needs a directory}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "usage: scripts/package.sh [--build-dir DIR] [--out DIR]" >&2; exit 2 ;;
    esac
done
for tool in dpkg-deb dpkg-shlibdeps meson ninja; do
    command -v "$tool" >/dev/null || { echo "package.sh: $tool missing (scripts/setup.sh)" >&2; exit 1; }
done

# Full RELRO and immediate binding, as Debian's hardened builds link; the compile flags stay the
# project's own (-O2 -g, the same as build/: ccache's objects are shared).
link_args=-Dcpp_link_args=-Wl,-z,relro,-z,now
# --reconfigure on an existing directory: meson.build runs again, so files its globs find
# (docs/*.md, conf/*.json, ...) added since are in.
reconfigure=()
[[ -f $build/build.ninja ]] && reconfigure=(--reconfigure)
meson setup "${reconfigure[@]}" "$build" --prefix=/usr -Dtests=false -Dperf=false "$link_args" \
    >/dev/null
nice ninja -C "$build" >/dev/null

stage=$(mktemp -d "${TMPDIR:-/tmp}/dpdk-twamp-pkg.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
meson install -C "$build" --no-rebuild --strip --destdir "$root" >/dev/null
# Debian installs no static libraries or headers of an application.
find "$root" \( -name '*.a' -o -name '*.h' -o -name '*.hpp' \) -delete
find "$root" -depth -type d -empty -delete

version=$(meson introspect --projectinfo "$build" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)

# Man pages compressed, as Debian ships them.
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +

doc=$root/usr/share/doc/dpdk-twamp
mkdir -p "$doc"
# Maintainer: DEBFULLNAME and DEBEMAIL (Debian's convention) when set.
maintainer="${DEBFULLNAME:-dpdk-twamp maintainers} <${DEBEMAIL:-dpdk-twamp@example.com}>"
# The commit it was built from, and its date: the same tree gives the same changelog.
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
when=$(git -C "$top" log -1 --format=%aD 2>/dev/null || date -R)
year=$(date -d "$when" +%Y 2>/dev/null || date +%Y)
cat >"$doc/copyright" <<EOT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: dpdk-twamp
Source: the dpdk-twamp repository, commit $commit

Files: *
Copyright: $year the dpdk-twamp authors
License: BSD-3-Clause

License: BSD-3-Clause
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are met:
 .
 1. Redistributions of source code must retain the above copyright notice, this
    list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright notice,
    this list of conditions and the following disclaimer in the documentation
    and/or other materials provided with the distribution.
 .
 3. Neither the name of the copyright holder nor the names of its contributors
    may be used to endorse or promote products derived from this software
    without specific prior written permission.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
 DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
 FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
 SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
 CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
 OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
EOT
cat >"$stage/changelog" <<EOT
dpdk-twamp ($version) unstable; urgency=medium

  * Built from the dpdk-twamp repository at commit $commit (README.md has
    what changed; git log has every change).

 -- $maintainer  $when
EOT
gzip -9n -c "$stage/changelog" >"$doc/changelog.gz"

# Depends, computed: dpkg-shlibdeps wants a debian/control beside it.
mkdir -p "$stage/debian"
printf 'Source: dpdk-twamp\n\nPackage: dpdk-twamp\nArchitecture: any\n' >"$stage/debian/control"
elves=()
while IFS= read -r -d '' f; do
    if [[ $(head -c 4 "$f" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
        elves+=("${f#"$stage"/}")
    fi
done < <(find "$root" -type f -print0)
if [[ ${#elves[@]} -eq 0 ]]; then
    echo "package.sh: no ELF file in the install tree" >&2
    exit 1
fi
shlibs=$(cd "$stage" && dpkg-shlibdeps -O "${elves[@]}" 2>"$stage/shlibdeps.log" |
    sed -n 's/^shlibs:Depends=//p') || { cat "$stage/shlibdeps.log" >&2; exit 1; }
[[ -n $shlibs ]] || { echo "package.sh: dpkg-shlibdeps found nothing" >&2; exit 1; }
# DPDK's drivers are plugins (not linked: dpkg-shlibdeps cannot see them) and Debian 12's dpdk
# only Recommends them: the mempool driver and net_tap are needed to start at all.
depends="$shlibs, dpdk, librte-mempool-ring23, librte-net-tap23, iproute2, init-system-helpers (>= 1.54~)"
recommends="librte-meta-net"
rm -rf "$stage/debian"

mkdir -p "$root/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOT
Package: dpdk-twamp
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_kb
Depends: $depends
Recommends: $recommends
Section: net
Priority: optional
Description: TWAMP, TWAMP Light and STAMP Session-Reflector on DPDK
 dpdk-twamp reflects TWAMP Light (RFC 5357 Appendix I) and STAMP (RFC 8762,
 RFC 8972) test packets on DPDK ports and serves full TWAMP (RFC 5357) through a
 TWAMP-Control server on its kernel side; twamp-ping is its Session-Sender.
 .
 The service is installed but neither enabled nor started: edit
 /etc/dpdk-twamp/twamp.conf and /etc/default/dpdk-twamp first.
EOT
(cd "$root" && find etc -type f | sort | sed 's|^|/|') >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$root/DEBIAN/md5sums"
# The maintainer scripts follow what dh_installsystemd generates for a unit installed with
# --no-enable --no-start (init-system-helpers' deb-systemd-helper and deb-systemd-invoke):
# never enabled or started by the package, restarted on upgrade only if it was running.
cat >"$root/DEBIAN/postinst" <<'EOT'
#!/bin/sh
# Makes systemd see the (new) unit. Neither enables nor starts it: the operator edits
# /etc/dpdk-twamp/twamp.conf and /etc/default/dpdk-twamp first. On an upgrade, a running
# dpdk-twamp is restarted on the new binary (try-restart: a stopped one stays stopped).
set -e
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] ||
    [ "$1" = abort-remove ]; then
    # Only removes the mask postrm set on removal.
    deb-systemd-helper unmask 'dpdk-twamp.service' >/dev/null || true
    deb-systemd-helper update-state 'dpdk-twamp.service' >/dev/null || true
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then
            deb-systemd-invoke try-restart 'dpdk-twamp.service' >/dev/null || true
        fi
    fi
fi
exit 0
EOT
cat >"$root/DEBIAN/prerm" <<'EOT'
#!/bin/sh
# Stops a running dpdk-twamp before its binary goes away (on removal only: an upgrade
# restarts it in postinst).
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    deb-systemd-invoke stop 'dpdk-twamp.service' >/dev/null || true
fi
exit 0
EOT
cat >"$root/DEBIAN/postrm" <<'EOT'
#!/bin/sh
# Makes systemd forget the removed unit; remove masks it (a leftover enablement cannot start
# a unit without its binary), purge drops deb-systemd-helper's state and the mask.
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = remove ]; then
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper mask 'dpdk-twamp.service' >/dev/null || true
    fi
fi
if [ "$1" = purge ]; then
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper purge 'dpdk-twamp.service' >/dev/null || true
        deb-systemd-helper unmask 'dpdk-twamp.service' >/dev/null || true
    fi
fi
exit 0
EOT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb=$out/dpdk-twamp_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
