#!/bin/bash
# make fuzz: both fuzzers, each for FUZZ_SECONDS; non-zero exit on any finding.
#
#   1. libFuzzer on the engine (tests/fuzz/fuzz-vv-engine.c): arbitrary
#      command sequences, ASan + UBSan + LeakSanitizer, seeded from the
#      unit tests' command streams.
#   2. QEMU's own generic-fuzz on the whole device (decoder, then encoder):
#      MMIO/PIO and DMA from the fuzzer, through virtio-pci and the
#      virtqueues, ASan (configs in tests/qtest/fuzz/generic_fuzz_configs.h,
#      added by qemu/patches/).
#
# Findings land in build/fuzz/ (crash-*, leak-*, timeout-*) and
# build/qemu-fuzz/findings/.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

secs=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=build
F=$B/fuzz
QF=$B/qemu-fuzz
rc=0

command -v clang >/dev/null || {
    echo "fuzz: installing clang"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null
}

# ---- 1. the engine ----
[ -f $F/build.ninja ] || CC=clang meson setup $F . -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
ninja -C $F fuzz-vv-engine >$F/build.log 2>&1 || {
    echo "fuzz: building the engine fuzzer failed (log: $F/build.log)"
    tail -n 20 $F/build.log
    exit 1
}
mkdir -p $F/seeds $F/corpus
if [ -z "$(ls $F/seeds)" ]; then
    echo "fuzz: recording seeds from the unit tests"
    export VIRTIO_VIDEO_SEED_DIR=$top/$F/seeds
    $B/unit/tests/unit/test-vv-decode -p /vv/decode/test-25fps.vp9.ivf >/dev/null 2>&1
    $B/unit/tests/unit/test-vv-encode -p /vv/encode/bad-controls >/dev/null 2>&1
    $B/unit/tests/unit/test-vv-encode -p /vv/encode/force-keyframe/H264 >/dev/null 2>&1
    unset VIRTIO_VIDEO_SEED_DIR
fi
# virtio objects (fuzz-vv-engine.c's "OBJ!" UUIDs): a decoder stream whose
# output is an object, queued, revoked ("RVK!"), queued again
python3 - $F/seeds/objects-dec <<'PY'
import struct, sys
def rec(b):
    return struct.pack("<H", len(b)) + b
def hdr(t, sid=1):
    return struct.pack("<II", t, sid)
obj = b"OBJ!" + struct.pack("<IIB", 0, 0x60000, 5) + b"\0" * 3
create = hdr(0x104) + struct.pack("<IIII", 0x101, 1, 1, 1) + b"\0" * 32 + \
    struct.pack("<I", 1) + b"\0" * 28 + obj
queue = hdr(0x105) + struct.pack("<IIQI", 0x101, 1, 0, 1) + b"\0" * 36
out = bytes([4])
out += rec(hdr(0x101) + struct.pack("<III", 0, 1, 0x1002) + b"\0" * 68)
out += rec(create) + rec(queue) + rec(b"RVK!") + rec(queue)
out += rec(hdr(0x102))
open(sys.argv[1], "wb").write(out)
PY
echo "fuzz: engine libFuzzer for ${secs}s (log: $F/engine.log)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
LSAN_OPTIONS=suppressions=$top/tests/lsan.supp \
    $F/fuzz-vv-engine -max_total_time="$secs" -max_len=262144 -timeout=60 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$F/ \
    $F/corpus $F/seeds > $F/engine.log 2>&1
r=$?
grep -a -E '^stat::number_of_executed_units|^==[0-9]+==ERROR|^SUMMARY' $F/engine.log
if [ $r != 0 ]; then
    echo "fuzz: engine fuzzer FAILED (exit $r), see $F/engine.log"; rc=1
fi

# ---- 2. QEMU generic-fuzz on the device ----
VV_BUILD_DIR=$top/$QF \
VV_CONFIGURE_EXTRA="--cc=clang --cxx=clang++ --enable-fuzzing --enable-asan" \
    bash qemu/scripts/build.sh qemu-fuzz-x86_64 || exit 1
mkdir -p $QF/findings
for mode in decoder encoder; do
    t=generic-fuzz-virtio-video-$mode
    mkdir -p $QF/corpus-$mode
    echo "fuzz: QEMU $t for ${secs}s (log: $QF/$mode.log)"
    $QF/qemu-build/qemu-fuzz-x86_64 --fuzz-target=$t \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
        -print_final_stats=1 -artifact_prefix=$QF/findings/$mode- \
        $QF/corpus-$mode > $QF/$mode.log 2>&1
    r=$?
    grep -a -E '^stat::number_of_executed_units|^==[0-9]+==ERROR|^SUMMARY' \
        $QF/$mode.log
    if [ $r != 0 ]; then
        echo "fuzz: $t FAILED (exit $r), see $QF/$mode.log"; rc=1
    fi
done
[ $rc = 0 ] && echo "fuzz: no findings"
exit $rc
