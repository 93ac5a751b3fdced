#!/bin/sh
# meson install script: installs an operator's configuration file only when it is absent, so
# that `meson install` never overwrites an edited one (the Debian package relies on dpkg's
# conffile handling instead). The reference copy is always installed by meson.build under
# share/doc/dpdk-twamp, to compare with.
#   install-config.sh SOURCE DEST [SOURCE DEST ...]   (DEST absolute, e.g. /etc/dpdk-twamp/twamp.conf)
# DESTDIR (set by `meson install --destdir`) is prefixed to each DEST.
set -eu
while [ $# -ge 2 ]; do
    src=$1
    dest=${DESTDIR:-}$2
    shift 2
    if [ -e "$dest" ]; then
        echo "Keeping $dest (exists; the reference is in share/doc/dpdk-twamp)"
    else
        echo "Installing $src to $dest"
        install -D -m 0644 "$src" "$dest"
    fi
done
