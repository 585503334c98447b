#!/bin/bash
# make bench: run the benchmark cases of qos-test (virtio-video-bench.c)
# one by one and print their BENCH lines.
#
#   [BACKEND=...] tests/run-bench.sh [runs]   (tests/backend-env.sh)
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
B=${VV_BUILD_DIR:-$top/build}
QEMU=$B/qemu-build/qemu-system-x86_64
QOS=$B/qemu-build/tests/qtest/qos-test
export VIRTIO_VIDEO_BENCH=1 VIRTIO_VIDEO_BENCH_RUNS=${1:-7}
export QTEST_QEMU_BINARY=$QEMU
# BACKEND= (make bench BACKEND=vaapi): the bench nodes' codec backend
. "$top/tests/backend-env.sh"
vv_backend_env "$B/unit" || exit 2

echo "# virtio-video benchmark on $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "# libavcodec $(pkg-config --modversion libavcodec), $VIRTIO_VIDEO_BENCH_RUNS runs per case, median"
status=0
# (GLib 2.84 lists paths as TAP comments: "# /x86_64/...")
for p in $("$QOS" -l | sed -n 's|^\(# \)\{0,1\}\(/[^ ]*/bench-[^ ]*\)$|\2|p'); do
    # the machine may be shared: say how busy it was
    echo "# load average before the next case: $(cut -d' ' -f1-3 /proc/loadavg)"
    out=$("$QOS" --tap -p "$p" 2>&1)
    if ! grep -E '^(BENCH|COUNTS|FFMPEG)' <<<"$out"; then
        echo "# FAILED: $p"
        grep -E 'ERROR|Bail' <<<"$out" | sed 's/^/#   /'
        status=1
    fi
done
# guest RAM files a failed case left (the harness unlinks them once mapped)
for f in /dev/shm/qemu-virtio-video-bench-*.ram "${TMPDIR:-/tmp}"/qemu-virtio-video-bench-*.ram; do
    pid=${f##*-}; pid=${pid%.ram}
    [ -e "$f" ] && ! kill -0 "$pid" 2>/dev/null && rm -f "$f"
done
exit $status
