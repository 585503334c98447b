#!/bin/bash
# Install what building and testing the project needs, from Debian's archive.
# Idempotent: does nothing (and needs no network) when everything is present.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "deps: error: $*" >&2; exit 1; }

# Build and runtime packages on Debian 12.  meson and python3-pycotap come
# from bookworm-backports because QEMU 10.0 needs meson >= 1.5.
PKGS=(build-essential pkg-config ninja-build python3-venv python3-pip flex bison
      libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev
      libavcodec-dev libavutil-dev libavformat-dev libswscale-dev libva-dev
      ffmpeg ccache dpkg-dev seabios ipxe-qemu qemu-system-data rsync)
BPO_PKGS=(meson python3-pycotap)

SRC_LIST=/etc/apt/sources.list.d/virtio-video.sources

missing=()
for p in "${PKGS[@]}" "${BPO_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done
meson_ok=0
if command -v meson >/dev/null &&
   dpkg --compare-versions "$(meson --version)" ge 1.5; then
    meson_ok=1
fi

if [ ${#missing[@]} -eq 0 ] && [ $meson_ok = 1 ] && [ -f "$SRC_LIST" ]; then
    exit 0
fi

[ "$(id -u)" = 0 ] || SUDO=sudo
SUDO=${SUDO:-}

. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] ||
    echo "deps: warning: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}" >&2

# bookworm-backports for meson; trixie (Debian 13) source entries only, for
# QEMU 10.0's source package.  No trixie binaries are ever installed.
if [ ! -f "$SRC_LIST" ]; then
    echo "deps: adding $SRC_LIST (bookworm-backports, trixie deb-src)"
    $SUDO tee "$SRC_LIST" >/dev/null <<'SRC'
# Added by virtio-video's qemu/scripts/deps.sh
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

echo "deps: apt-get update"
$SUDO apt-get update -qq ||
    die "apt-get update failed: is Debian's archive reachable (network, proxy, /etc/apt/sources.list*)?"

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
fi
$SUDO apt-get install -y -q --no-install-recommends \
    "${PKGS[@]}" >/dev/null ||
    die "installing ${PKGS[*]} failed (see apt's output above)"
$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports \
    "${BPO_PKGS[@]}" >/dev/null ||
    die "installing ${BPO_PKGS[*]} from bookworm-backports failed"

dpkg --compare-versions "$(meson --version)" ge 1.5 ||
    die "meson $(meson --version) is too old for QEMU 10.0 (need >= 1.5 from bookworm-backports)"
