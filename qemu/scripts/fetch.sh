#!/bin/bash
# Obtain Debian's QEMU 10.0.x source package (from trixie's deb-src entries)
# and extract it, with Debian's patch series applied, into a cache directory.
# Prints the path of the extracted, pristine tree on stdout.
#
# The download and the extracted tree are kept under
# ${VV_CACHE:-$HOME/.cache/virtio-video} so rebuilds and fresh clones on the
# same machine never download again.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "fetch: error: $*" >&2; exit 1; }
SERIES=${QEMU_SERIES:-10.0}
CACHE=${VV_CACHE:-$HOME/.cache/virtio-video}/qemu
mkdir -p "$CACHE"

# Reuse an already extracted tree of the series unless asked for another one.
if [ -z "${QEMU_VERSION:-}" ]; then
    cached=$(ls -d "$CACHE"/qemu-"$SERIES".*/ 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$cached" ] && [ -f "$cached/.vv-extracted" ]; then
        echo "${cached%/}"
        exit 0
    fi
fi

if [ -z "${QEMU_VERSION:-}" ]; then
    # Highest 1:SERIES.x version any deb-src entry offers.
    QEMU_VERSION=$(apt-cache showsrc qemu 2>/dev/null |
        sed -n 's/^Version: //p' |
        grep -E "^([0-9]+:)?${SERIES//./\\.}\.[0-9]+" |
        sort -V | tail -n 1 || true)
    if [ -z "$QEMU_VERSION" ]; then
        # no deb-src entry (or no network for apt-get update): a .dsc that
        # was downloaded before, or placed there by hand, will do
        dsc=$(ls "$CACHE"/dl/qemu_"$SERIES".*.dsc 2>/dev/null | sort -V |
              tail -n 1 || true)
        [ -n "$dsc" ] && QEMU_VERSION=$(sed -n 's/^Version: //p' "$dsc")
    fi
    [ -n "$QEMU_VERSION" ] || die "no QEMU ${SERIES}.x source package is known to apt: run 'make deps' (it adds Debian 13 deb-src entries), or place qemu_${SERIES}.*.dsc and its tarballs in $CACHE/dl"
fi
upver=${QEMU_VERSION#*:}       # 10.0.13+ds-0+deb13u1
upver=${upver%%+*}             # 10.0.13
upver=${upver%%-*}
dir="$CACHE/qemu-$upver"

# Download into a scratch folder and move the files in only once apt-get
# has them all (it checks their hashes): an interrupted download leaves no
# partial .dsc behind for the next run to trip over.
download() {
    rm -rf "$CACHE/dl.tmp" && mkdir -p "$CACHE/dl.tmp" "$CACHE/dl"
    echo "fetch: downloading Debian source package qemu=$QEMU_VERSION" >&2
    (cd "$CACHE/dl.tmp" &&
     apt-get source -qq --download-only "qemu=$QEMU_VERSION" >&2) ||
        die "could not download qemu=$QEMU_VERSION from Debian's archive: check the network and run 'make deps' (apt-get update)"
    mv -f "$CACHE"/dl.tmp/* "$CACHE/dl/" && rm -rf "$CACHE/dl.tmp"
}
extract() {
    echo "fetch: extracting $(basename "$dsc")" >&2
    rm -rf "$dir" "$dir.tmp"
    dpkg-source --no-check -x "$dsc" "$dir.tmp" >&2 || return 1
    echo "$QEMU_VERSION" > "$dir.tmp/.vv-debian-version"
    touch "$dir.tmp/.vv-extracted"
    mv "$dir.tmp" "$dir"
}

dsc=$CACHE/dl/qemu_${QEMU_VERSION#*:}.dsc
[ -f "$dsc" ] || download
if [ ! -f "$dir/.vv-extracted" ]; then
    if ! extract; then
        # a damaged download (e.g. a file cut short): fetch it again, once
        echo "fetch: $(basename "$dsc") does not extract; downloading it again" >&2
        rm -f "$CACHE"/dl/qemu_"${upver}"* || true
        download
        extract || die "dpkg-source could not extract $dsc (disk full? see above)"
    fi
fi
echo "$dir"
