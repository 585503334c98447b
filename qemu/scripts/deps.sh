#!/bin/bash
# Install everything building, testing and demonstrating the project needs,
# from Debian's archive: the QEMU build, the engine's unit build, the guest
# image (kernel headers, busybox, v4l-utils, libdrm's headers), the tests and
# make demo.  Supported: Debian 12 "bookworm" and Debian 13 "trixie".
#
# Idempotent: does nothing (and needs no network) when everything is
# present.  Every failure ends with one "deps: error:" line that says what is
# missing and how to fix it.
#
# apt sources it may add, in one file that is safe to delete
# (/etc/apt/sources.list.d/virtio-video.sources):
#   Debian 12: bookworm-backports binaries (meson >= 1.5 for QEMU 10.0,
#              python3-pycotap) and trixie deb-src entries (QEMU 10.0.x's
#              source package; no trixie binary is ever installed)
#   Debian 13: its own deb-src entries, only if apt has none for qemu
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "deps: error: $*" >&2; exit 1; }
SERIES=${QEMU_SERIES:-10.0}
SRC_LIST=/etc/apt/sources.list.d/virtio-video.sources
LOG=${TMPDIR:-/tmp}/virtio-video-deps.$$.log
trap 'rm -f "$LOG"' EXIT

[ -r /etc/os-release ] || die "no /etc/os-release: this is not Debian 12 or 13"
. /etc/os-release
codename=${VERSION_CODENAME:-}
[ "${ID:-}" = debian ] || [[ " ${ID_LIKE:-} " == *" debian "* ]] ||
    die "${PRETTY_NAME:-this system} is not Debian; supported: Debian 12 and 13"

# Packages on every supported release.
PKGS=(
    # QEMU and the engine
    build-essential pkg-config ninja-build python3 python3-venv python3-pip
    flex bison
    libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
    libavcodec-dev libavutil-dev libavformat-dev libswscale-dev
    # hardware backends: libva for VA-API; NVDEC's headers (loaded at run
    # time, only where the NVIDIA driver is) for the CUDA backend's probing
    libva-dev libffmpeg-nvenc-dev
    ccache dpkg-dev rsync
    # QEMU uses valgrind.h whenever it is there and has no switch against
    # it: with it everywhere, every machine builds the same QEMU
    valgrind
    # QEMU's firmware (the +ds source package ships none)
    seabios ipxe-qemu qemu-system-data
    # the guest image: Debian's kernel headers for the driver, busybox,
    # v4l-utils, libdrm's DRM uapi headers for the test client
    linux-headers-amd64 busybox-static v4l-utils cpio kmod xz-utils
    libdrm-dev
    # tests and make demo: ffmpeg/ffprobe for references, PSNR and the
    # contact sheet
    ffmpeg
)
# meson >= 1.5 and python3-pycotap: Debian 12 has them in backports only.
NEWER_PKGS=(meson python3-pycotap)

case $codename in
bookworm) BPO=bookworm-backports; SRC_SUITE=trixie ;;
trixie) BPO=; SRC_SUITE=trixie ;;
*)
    echo "deps: warning: written for Debian 12 and 13; this is" \
         "${PRETTY_NAME:-unknown}: trying it as Debian 13" >&2
    BPO=; SRC_SUITE=${codename:-trixie} ;;
esac

# deps.sh --list: "package suite" for each package this script installs
# (tests/check-deps.sh checks the build's headers against it).
if [ "${1:-}" = --list ]; then
    printf '%s\n' "${PKGS[@]/%/ $codename}"
    printf '%s\n' "${NEWER_PKGS[@]/%/ ${BPO:-$codename}}"
    exit 0
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}
meson_ok() {
    command -v meson >/dev/null &&
        dpkg --compare-versions "$(meson --version)" ge 1.5
}
# Does any deb-src entry offer QEMU $SERIES.x?  (Local: needs no network.)
qemu_source_known() {
    apt-cache showsrc qemu 2>/dev/null | sed -n 's/^Version: //p' |
        grep -qE "^([0-9]+:)?${SERIES//./\\.}\.[0-9]+"
}
# A QEMU source tree or download already in fetch.sh's cache also does.
qemu_source_cached() {
    local c=${VV_CACHE:-$HOME/.cache/virtio-video}/qemu
    ls "$c"/qemu-"$SERIES".*/.vv-extracted "$c"/dl/qemu_"$SERIES".*.dsc \
        >/dev/null 2>&1
}

missing=()
for p in "${PKGS[@]}" "${NEWER_PKGS[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && meson_ok &&
   { qemu_source_cached || qemu_source_known; }; then
    exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null ||
        die "missing packages (${missing[*]:-none}) and neither root nor sudo: run 'make deps' as root"
    SUDO=sudo
fi

# apt sources this script adds: written once, announced with the reason.
add_sources() {
    local want=$1 text
    text="# Added by virtio-video's qemu/scripts/deps.sh; delete this file and
# run 'apt-get update' to undo."
    if [ -n "$BPO" ]; then
        text+="
# $BPO: meson >= 1.5 (QEMU 10.0) and python3-pycotap
Types: deb
URIs: http://deb.debian.org/debian
Suites: $BPO
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
    fi
    if [ "$want" = src ]; then
        text+="
# source entries only, for 'apt-get source qemu' (QEMU $SERIES.x)
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $SRC_SUITE $SRC_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $SRC_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
    fi
    if [ "$(cat "$SRC_LIST" 2>/dev/null)" != "$text" ]; then
        echo "deps: writing $SRC_LIST:"
        [ -z "$BPO" ] ||
            echo "deps:   $BPO binaries (meson >= 1.5 for QEMU $SERIES)"
        [ "$want" != src ] ||
            echo "deps:   $SRC_SUITE deb-src entries (QEMU $SERIES.x source; no binaries)"
        echo "deps:   to undo: rm $SRC_LIST && apt-get update"
        printf '%s\n' "$text" | $SUDO tee "$SRC_LIST" >/dev/null ||
            die "cannot write $SRC_LIST"
    fi
}

apt_update() {
    echo "deps: apt-get update"
    # apt-get update exits 0 when an index could not be fetched: look for it
    if ! $SUDO apt-get update > "$LOG" 2>&1 ||
       grep -qE '^(W: Failed to fetch|E: )' "$LOG"; then
        grep -E '^(W|E):' "$LOG" | head -n 5 >&2
        die "apt-get update failed: is Debian's archive reachable (network, proxy, /etc/apt/sources.list*)?"
    fi
}

# Debian 12: backports for meson, trixie for QEMU's source, from the start.
# Debian 13: deb-src entries only if its own sources have none.
want=bin
if [ "$codename" = bookworm ] ||
   { [ -f "$SRC_LIST" ] && grep -q '^Types: deb-src' "$SRC_LIST"; }; then
    want=src
fi
if [ -n "$BPO" ] || [ "$want" = src ]; then
    add_sources "$want"
fi
apt_update
if ! qemu_source_cached && ! qemu_source_known && [ "$want" != src ]; then
    add_sources src
    apt_update
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    if ! $SUDO apt-get install -y -q --no-install-recommends "$@" \
            > "$LOG" 2>&1; then
        grep -E '^(E|W):' "$LOG" | head -n 5 >&2
        return 1
    fi
}
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
fi
apt_install "${PKGS[@]}" ||
    die "installing packages failed (apt's errors above); try 'apt-get install ${missing[*]:-${PKGS[*]}}' by hand"
if [ -n "$BPO" ]; then
    apt_install -t "$BPO" "${NEWER_PKGS[@]}" ||
        die "installing ${NEWER_PKGS[*]} from $BPO failed (apt's errors above)"
else
    apt_install "${NEWER_PKGS[@]}" ||
        die "installing ${NEWER_PKGS[*]} failed (apt's errors above)"
fi

meson_ok ||
    die "meson $(meson --version 2>/dev/null || echo '(none)') is too old for QEMU $SERIES: need >= 1.5${BPO:+ from $BPO}"
qemu_source_cached || qemu_source_known ||
    die "no QEMU $SERIES.x source package is known to apt even with $SRC_LIST: check it and run 'apt-get update'"
