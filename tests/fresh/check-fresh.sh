#!/bin/bash
# make check-fresh: prove that the project's scripts install everything.
#
#   tests/fresh/check-fresh.sh [--src DIR] [DIST]
#
# Makes a clean Debian chroot on the spot (debootstrap --variant=minbase,
# DIST bookworm (default) or trixie, sources as a new installation has them:
# main, -updates, -security, no deb-src), copies the checkout into it with
# ../shared beside it (bind-mounted read-only), and runs the README's
# commands there exactly as documented: `apt-get install make` (the one
# prerequisite), `make demo`, then `make check`.
# A package, header or download that only this machine has shows up as a
# failure.  Needs root (debootstrap, chroot, mounts) and Debian's archive.
#
# To save time, two caches of this machine may be lent read-only (they
# change no result: a miss is built or downloaded as on a new machine):
#   VV_FRESH_CCACHE=1 (default)   ccache's directory (CCACHE_READONLY)
#   VV_FRESH_SOURCE=1 (default)   the QEMU source package download
# --src DIR checks another checkout (e.g. an older commit from `git
# worktree add`) instead of this one.
# Output: build/fresh-DIST/{make-demo,make-check}.log (on this machine);
# the chroot stays in ${VV_FRESH_ROOT:-/var/tmp/virtio-video-fresh}/DIST
# until the next run.  Ends with "check-fresh DIST: PASS" or "... FAIL".
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "check-fresh: error: $*" >&2; exit 1; }
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$top
if [ "${1:-}" = --src ]; then
    src=$(cd "$2" && pwd) || die "no folder $2"
    shift 2
fi
dist=${1:-bookworm}
case $dist in
bookworm|trixie) ;;
*) die "DIST must be bookworm or trixie, not '$dist'" ;;
esac
shared=$(cd "$src/.." && pwd)/shared
[ -d "$shared" ] || die "no $shared next to the checkout"
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, bind mounts)"

mirror=${VV_FRESH_MIRROR:-http://deb.debian.org/debian}
root=${VV_FRESH_ROOT:-/var/tmp/virtio-video-fresh}/$dist
logs=$top/build/fresh-$dist
mkdir -p "$logs"

if ! command -v debootstrap >/dev/null; then
    echo "check-fresh: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap \
        >/dev/null || die "cannot install debootstrap (apt-get install debootstrap)"
fi

mounts=()
cleanup() {
    local i
    # processes a failed test left behind (QEMU) hold the mounts
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] &&
            kill -9 "${p#/proc/}" 2>/dev/null
    done
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
        umount -R "${mounts[i]}" 2>/dev/null || umount -lR "${mounts[i]}" ||
            echo "check-fresh: warning: ${mounts[i]} is still mounted" >&2
    done
}
trap cleanup EXIT
bind() {        # bind SRC DST [ro]
    mkdir -p "$2"
    mount --rbind "$1" "$2"
    mount --make-rslave "$2"
    mounts+=("$2")
    if [ "${3:-}" = ro ]; then
        mount -o remount,bind,ro "$2"
    fi
}

# 1. A new chroot (never reuse one: it would hide what an earlier run
# installed).  Nothing may still be mounted below it.
if [ -d "$root" ]; then
    grep -q " $root/" /proc/mounts &&
        die "something is still mounted under $root (see /proc/mounts)"
    rm -rf --one-file-system "$root"
fi
mkdir -p "$root"
echo "check-fresh: debootstrap --variant=minbase $dist into $root"
debootstrap --variant=minbase "$dist" "$root" "$mirror" \
    > "$logs/debootstrap.log" 2>&1 ||
    { tail -n 5 "$logs/debootstrap.log" >&2
      die "debootstrap failed (log: $logs/debootstrap.log): is $mirror reachable?"; }
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror $dist main
deb $mirror $dist-updates main
deb ${mirror%/debian}/debian-security $dist-security main
EOF
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# 2. The checkout as its owner sees it (tracked and untracked files that
# git does not ignore; no build/), and ../shared read-only beside it.
mkdir -p "$root/work/main"
(cd "$src" && { git ls-files -z --cached --others --exclude-standard 2>/dev/null ||
                find . -path ./build -prune -o -type f -print0; }) |
    (cd "$src" && rsync -a --from0 --files-from=- . "$root/work/main/")
bind "$shared" "$root/work/shared" ro
mkdir -p "$root/proc" && mount -t proc proc "$root/proc" && mounts+=("$root/proc")
bind /sys "$root/sys"
bind /dev "$root/dev"

env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
     LANG=C.UTF-8 TERM=dumb)
if [ "${VV_FRESH_CCACHE:-1}" = 1 ] && command -v ccache >/dev/null &&
   cdir=$(ccache -k cache_dir 2>/dev/null) && [ -d "$cdir" ]; then
    bind "$cdir" "$root/var/cache/ccache-host" ro
    env+=(CCACHE_DIR=/var/cache/ccache-host CCACHE_READONLY=1
          CCACHE_TEMPDIR=/tmp/ccache-tmp)
    echo "check-fresh: lending this machine's ccache read-only"
fi
dl=${VV_CACHE:-$HOME/.cache/virtio-video}/qemu/dl
if [ "${VV_FRESH_SOURCE:-1}" = 1 ] && [ -d "$dl" ]; then
    bind "$dl" "$root/root/.cache/virtio-video/qemu/dl" ro
    echo "check-fresh: lending the QEMU source download read-only"
fi

# 3. The README's commands.
run() {         # run NAME COMMAND: in the checkout inside the chroot
    local name=$1 rc
    shift
    echo "check-fresh: $dist: $* (log: $logs/$name.log)"
    set +e
    chroot "$root" /usr/bin/env -i "${env[@]}" /bin/bash -c \
        "cd /work/main && $*" > "$logs/$name.log" 2>&1 < /dev/null
    rc=$?
    set -e
    return $rc
}
result=PASS
start=$SECONDS
# The README's one prerequisite on a new machine: make itself.
run prerequisite "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q make" ||
    { tail -n 5 "$logs/prerequisite.log"; die "cannot install make in the chroot"; }
if run make-demo make demo; then
    demo=$(grep -E '^demo: ' "$logs/make-demo.log" | tail -n 3 | tr '\n' ' ')
    echo "check-fresh: $dist: make demo: PASS: $demo"
else
    echo "check-fresh: $dist: make demo: FAIL; its last lines:"
    tail -n 15 "$logs/make-demo.log" | sed 's/^/    /'
    result=FAIL
fi
if [ $result = PASS ]; then
    if run make-check make check; then
        echo "check-fresh: $dist: make check: PASS:" \
             "$(tail -n 1 "$logs/make-check.log")"
    else
        echo "check-fresh: $dist: make check: FAIL; failures:"
        grep -E '^not ok' "$logs/make-check.log" | head -n 20 |
            sed 's/^/    /'
        tail -n 3 "$logs/make-check.log" | sed 's/^/    /'
        result=FAIL
    fi
fi
echo "check-fresh $dist: $result ($(( (SECONDS - start) / 60 )) min in the chroot)"
[ $result = PASS ]
