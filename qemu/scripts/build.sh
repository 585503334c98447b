#!/bin/bash
# Lay the project over Debian's QEMU 10.0.x source, apply qemu/patches/,
# configure (again whenever the options change) and build qemu-system-x86_64 plus the qtest binaries.
#
#   qemu/scripts/build.sh [ninja targets...]
#
# Layout (all under build/, ignored by git):
#   build/qemu-src     the QEMU tree: a copy of the cached pristine source with
#                      qemu/patches/ applied and every project file symlinked
#                      in at its upstream path (so edits need no copy step)
#   build/qemu-build   QEMU's build directory
#   build/qemu-system-x86_64   link to the binary (firmware is found by the
#                      binary through build/qemu-build/qemu-bundle)
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "build: error: $*" >&2; exit 1; }
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

B=${VV_BUILD_DIR:-$top/build}
SRC=$B/qemu-src
BLD=$B/qemu-build
mkdir -p "$B"

# ccache through its masquerade directory, keyed on relative paths so a fresh
# clone in another directory on the same machine hits the same cache.
if [ -d /usr/lib/ccache ]; then
    export PATH=/usr/lib/ccache:$PATH
    export CCACHE_BASEDIR=$B CCACHE_NOHASHDIR=1
fi

pristine=$(bash qemu/scripts/fetch.sh) || die "could not obtain the QEMU source"
debver=$(cat "$pristine/.vv-debian-version")
qver=$(cat "$pristine/VERSION")

# Directories of the project whose files are laid over QEMU's tree.
OVERLAY_DIRS=(hw include tests/qtest docs/system docs/devel)

# 1. (Re)create the patched tree when the source or the patch series changes.
want="$pristine $(find qemu/patches -name '*.patch' -print0 | sort -z |
      xargs -0r cat | sha256sum | cut -d' ' -f1)"
have=$(cat "$SRC/.vv-stamp" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "build: preparing QEMU $qver (Debian $debver) in $SRC"
    rm -rf "$SRC" "$BLD"
    cp -a "$pristine" "$SRC"
    for p in qemu/patches/*.patch; do
        [ -e "$p" ] || continue
        echo "build: applying $p"
        patch -s -p1 -d "$SRC" --no-backup-if-mismatch < "$p" ||
            die "$p does not apply to QEMU $qver"
    done
    echo "$want" > "$SRC/.vv-stamp"
fi

# 2. Overlay: symlink each project file at its upstream path.  Files that exist
# in QEMU already are changed through patches only, never overlaid.
changed=0
while IFS= read -r f; do
    dst=$SRC/$f
    if [ -L "$dst" ]; then
        continue
    fi
    [ -e "$dst" ] && die "$f exists in QEMU: change it through qemu/patches/, not the overlay"
    mkdir -p "$(dirname "$dst")"
    ln -s "$top/$f" "$dst"
    changed=1
done < <(git ls-files --cached --others --exclude-standard -- "${OVERLAY_DIRS[@]}" 2>/dev/null ||
         find "${OVERLAY_DIRS[@]}" -type f 2>/dev/null)
# Drop links to project files that no longer exist.
while IFS= read -r l; do
    rm -f "$l"; changed=1
done < <(find "$SRC" -xtype l -lname "$top/*" 2>/dev/null)

# 3. Configure when the build directory is new or the options changed
# (VV_CONFIGURE_EXTRA, this list); otherwise meson re-runs itself when a
# meson.build changes.  An interrupted configure leaves no build.ninja or no
# stamp, so the next run starts over.
CONFIGURE_OPTS=(--python=/usr/bin/python3 --target-list=x86_64-softmmu
    --without-default-features --enable-kvm --enable-fdt=system
    --disable-install-blobs --disable-docs
    ${VV_CONFIGURE_EXTRA:-})
opts="$qver ${CONFIGURE_OPTS[*]}"
if [ ! -f "$BLD/build.ninja" ] ||
   [ "$(cat "$BLD/.vv-configure" 2>/dev/null)" != "$opts" ]; then
    if [ -f "$BLD/build.ninja" ]; then
        echo "build: configure options changed: reconfiguring QEMU $qver"
    else
        echo "build: configuring QEMU $qver"
    fi
    rm -rf "$BLD"
    mkdir -p "$BLD"
    (cd "$BLD" && "$SRC/configure" "${CONFIGURE_OPTS[@]}") \
        > "$B/configure.log" 2>&1 ||
        { tail -n 30 "$B/configure.log" >&2; die "configure failed (full log: $B/configure.log)"; }
    echo "$opts" > "$BLD/.vv-configure"
fi

# 4. Build.
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(qemu-system-x86_64)
echo "build: QEMU $qver (Debian source package qemu $debver): ninja ${targets[*]}"
set +e
ninja -C "$BLD" "${targets[@]}" > "$B/ninja.log" 2>&1
rc=$?
set -e
grep -v -e '^\[' -e '^ninja: Entering' "$B/ninja.log" || true
[ $rc = 0 ] || die "ninja ${targets[*]} failed (the errors are above; log: $B/ninja.log)"
# QEMU's release tarballs build without -Werror; our own files must be clean.
if grep -E '(virtio-video|virtio/video/|virtio_video).*(warning|error):' "$B/ninja.log"; then
    die "compiler warnings in virtio-video files (see above)"
fi

# 5. Firmware: the +ds source ships no blobs; link Debian's into the bundle
# directory the binary searches next to itself.
data=$BLD/qemu-bundle/usr/local/share/qemu
mkdir -p "$data"
for d in /usr/share/qemu /usr/share/seabios /usr/lib/ipxe/qemu; do
    for f in "$d"/*; do
        [ -f "$f" ] || continue
        [ -e "$data/$(basename "$f")" ] || ln -s "$f" "$data/"
    done
done
[ -e "$data/bios-256k.bin" ] || die "no bios-256k.bin: install Debian's seabios package"

ln -sfn qemu-build/qemu-system-x86_64 "$B/qemu-system-x86_64"
echo "$qver" > "$B/qemu-version"
