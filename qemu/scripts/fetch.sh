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
    [ -n "$QEMU_VERSION" ] || die "no QEMU ${SERIES}.x source package is known to apt.
  Add Debian 13 (trixie) deb-src entries (qemu/scripts/deps.sh does this) and
  run 'apt-get update'; without network access to Debian's archive, place the
  qemu_${SERIES}.*.dsc and its tarballs in $CACHE/dl by hand."
fi
upver=${QEMU_VERSION#*:}       # 10.0.13+ds-0+deb13u1
upver=${upver%%+*}             # 10.0.13
upver=${upver%%-*}
dir="$CACHE/qemu-$upver"

mkdir -p "$CACHE/dl"
dsc=$(ls "$CACHE"/dl/qemu_"${QEMU_VERSION#*:}".dsc 2>/dev/null || true)
if [ -z "$dsc" ]; then
    echo "fetch: downloading Debian source package qemu=$QEMU_VERSION" >&2
    (cd "$CACHE/dl" && apt-get source -qq --download-only "qemu=$QEMU_VERSION" >&2) ||
        die "could not download qemu=$QEMU_VERSION from Debian's archive (network? apt-get update?)"
    dsc=$(ls "$CACHE"/dl/qemu_"${QEMU_VERSION#*:}".dsc)
fi

if [ ! -f "$dir/.vv-extracted" ]; then
    echo "fetch: extracting $(basename "$dsc")" >&2
    rm -rf "$dir" "$dir.tmp"
    dpkg-source --no-check -x "$dsc" "$dir.tmp" >&2 ||
        die "dpkg-source could not extract $dsc"
    echo "$QEMU_VERSION" > "$dir.tmp/.vv-debian-version"
    touch "$dir.tmp/.vv-extracted"
    mv "$dir.tmp" "$dir"
fi
echo "$dir"
