#!/bin/bash
# Turn the project into a QEMU patch series, ready for git send-email.
#
#   qemu/scripts/series.sh OUTDIR [GITDIR]
#
# GITDIR (default build/series-git) becomes a git tree of the pristine QEMU
# source that build.sh uses (commit "base", tag vv-base), then gets:
#   1. one commit per group of the project's files laid over QEMU's tree
#      (the overlay: standard header, engine, device, qtests, docs), which
#      nothing builds yet, so every commit of the series builds (tag
#      vv-overlay);
#   2. qemu/patches/*.patch as commits of their own, the first of which
#      hooks the new files into QEMU's build (tag vv-patches).
# OUTDIR gets `git format-patch --cover-letter` of vv-base..vv-patches,
# the cover letter filled in.  Commits carry the git identity of whoever
# runs this, with a Signed-off-by (QEMU takes no patch without one).
#
# To change a patch of qemu/patches/: edit its commit in GITDIR (git
# rebase -i vv-overlay), then write the patches back:
#   git -C GITDIR format-patch --zero-commit --no-signature \
#       -o "$PWD/qemu/patches" vv-overlay..HEAD
# and commit them here; build.sh applies them with patch -p1.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

die() { echo "series: error: $*" >&2; exit 1; }
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -ge 1 ] || die "usage: $0 OUTDIR [GITDIR]"
out=$(realpath -m "$1")
git_dir=$(realpath -m "${2:-$top/build/series-git}")
cd "$top"

pristine=$(bash qemu/scripts/fetch.sh) || die "could not obtain the QEMU source"
qver=$(cat "$pristine/VERSION")
OVERLAY_DIRS=$(sed -n 's/^OVERLAY_DIRS=(\(.*\))$/\1/p' qemu/scripts/build.sh)
[ -n "$OVERLAY_DIRS" ] || die "no OVERLAY_DIRS in qemu/scripts/build.sh"

g() { git -C "$git_dir" "$@"; }
name=$(git config user.name || true)
email=$(git config user.email || true)
[ -n "$name" ] && [ -n "$email" ] ||
    die "set git's user.name and user.email: the series is signed off"

echo "series: QEMU $qver from $pristine in $git_dir"
rm -rf "$git_dir"
mkdir -p "$git_dir"
cp -a "$pristine/." "$git_dir/"
rm -f "$git_dir/.vv-debian-version"
g init -q
g config user.name "$name"
g config user.email "$email"
g add -A
g commit -q -m "base: QEMU $qver (the source qemu/scripts/build.sh uses)"
g tag -f vv-base >/dev/null

# 1. The overlay, in commits that each add one part.
commit_files() {
    local subject=$1 body=$2
    shift 2
    local f
    for f in "$@"; do
        mkdir -p "$git_dir/$(dirname "$f")"
        cp "$f" "$git_dir/$f"
        g add "$f"
    done
    g commit -q -s -m "$subject" -m "$body"
}
mapfile -t files < <(git ls-files -- $OVERLAY_DIRS)
pick() { printf '%s\n' "${files[@]}" | grep -E "$1" || true; }
mapfile -t hdr < <(pick '^include/standard-headers/')
mapfile -t engine < <(pick '^hw/virtio/video/')
mapfile -t device < <(pick '^(hw/virtio/virtio-video|include/hw/virtio/)')
mapfile -t qtests < <(pick '^tests/qtest/')
mapfile -t docs < <(pick '^docs/')
[ $((${#hdr[@]} + ${#engine[@]} + ${#device[@]} + ${#qtests[@]} +
     ${#docs[@]})) = ${#files[@]} ] ||
    die "an overlay file belongs to no commit: extend series.sh's groups"
commit_files "standard-headers: add virtio_video.h" \
    "The wire format of the virtio-video \"v3\" protocol that the existing
Linux guest drivers speak." "${hdr[@]}"
commit_files "hw/virtio/video: the virtio-video engine" \
    "Dispatch, streams, backings, completions and migration framing,
with libavcodec, VA-API and NVDEC backends.  No QEMU header: the same
files build on their own for unit tests and fuzzing.  Not built yet." \
    "${engine[@]}"
commit_files "hw/virtio: the virtio-video device and its PCI proxy" \
    "The transport: virtqueues, guest memory, properties, migration and
the VM state hooks around the engine.  Not built yet." "${device[@]}"
commit_files "tests/qtest: virtio-video driver and tests" \
    "A libqos driver, the decode/encode/caps/reset/migration qtests and
the benchmark.  Not built yet." "${qtests[@]}"
commit_files "docs: virtio-video" \
    "The user's and the developer's documentation." "${docs[@]}"
g tag -f vv-overlay >/dev/null

# 2. qemu/patches/, each as its commit: subject and body from its header.
for p in qemu/patches/*.patch; do
    subject=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' "$p" |
              head -n1)
    body=$(awk 'NR > 1 && /^Subject:/ { s = 1; next }
                s && /^---$/ { exit } s { print }' "$p" | sed '1{/^$/d}')
    [ -n "$subject" ] || die "$p has no Subject: line"
    g apply --index "$top/$p" || die "$p does not apply to QEMU $qver"
    g commit -q -s -m "$subject" -m "$body"
done
g tag -f vv-patches >/dev/null

# 3. The series, cover letter filled in.
rm -rf "$out"
mkdir -p "$out"
g format-patch -q --cover-letter --zero-commit -o "$out" vv-base..vv-patches
cover=$(ls "$out"/0000-*.patch)
n=$(g rev-list --count vv-base..vv-patches)
python3 - "$cover" "$qver" "$n" <<'PY'
import sys
path, qver, n = sys.argv[1:]
text = open(path).read()
text = text.replace("*** SUBJECT HERE ***",
                    "virtio-video: a paravirtualized video decoder and "
                    "encoder")
text = text.replace("*** BLURB HERE ***", f"""\
This series adds virtio-video (device IDs 30 and 31, the "v3" protocol
of the existing Linux guest drivers): a decoder and encoder that guests
drive like a V4L2 memory-to-memory codec, backed by FFmpeg's libavcodec
in software and by the host's VA-API and NVDEC hardware.

The first {int(n) - 2} patches add files that nothing builds yet (the wire
header, the engine, the device, its qtests and docs); the next hooks them
into the build, Kconfig and MAINTAINERS; the last lets virtio-gpu export
resources by UUID so that the device decodes into them.

docs/devel/virtio-video.rst describes the design, the protocol's error
handling, migration, security and performance; docs/system/devices/
virtio-video.rst the properties.  Made from QEMU {qver}.""")
open(path, "w").write(text)
PY
echo "series: $(ls "$out" | wc -l) files in $out (cover letter and $n patches)"
