#!/bin/bash
# make check-hw: on a host with a GPU, run the reference clips through the
# device's hardware backends and compare every frame (the decode-media
# qtests with BACKEND=vaapi / cuda), encode with PSNR >= 35 dB where the
# GPU has an encoder, and show that the GPU did the work: which backend
# served each stream (QEMU's virtio_video_stream_backend trace) and, with
# NVIDIA, nvidia-smi's decoder and encoder utilisation during the run.
#
#   tests/hw/check-hw.sh            (VIRTIO_VIDEO_MEDIA: the clips,
#                                    default ../shared/media)
#
# Fails when no hardware backend can be checked: a host without a GPU
# proves nothing here (the VA test driver's qtests cover that case in
# make check).
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
B=${VV_BUILD_DIR:-$top/build}
QEMU=${QEMU:-$B/qemu-build/qemu-system-x86_64}
QOS=${QOS:-$B/qemu-build/tests/qtest/qos-test}
export VIRTIO_VIDEO_MEDIA=${VIRTIO_VIDEO_MEDIA:-$top/../shared/media}
export QTEST_QEMU_BINARY=$QEMU
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${smi:-}" ] && kill "$smi" 2>/dev/null' EXIT
status=0 checked=0

echo "# check-hw on $(uname -n): $(nproc) CPUs; media $VIRTIO_VIDEO_MEDIA"
[ -x "$QEMU" ] && [ -x "$QOS" ] || { echo "check-hw: build first (make)"; exit 1; }

# CHECK_HW_BACKENDS="vaapi cuda" forces the list (a dry run of this script
# on the VA test driver: CHECK_HW_BACKENDS=vaapi on a host without a GPU)
read -r -a backends <<<"${CHECK_HW_BACKENDS:-}"
if [ ${#backends[@]} -gt 0 ]; then
    echo "# backends forced by CHECK_HW_BACKENDS: ${backends[*]}"
else
    if compgen -G '/dev/dri/renderD*' > /dev/null; then
        backends+=(vaapi)
    fi
    if [ -e /dev/nvidiactl ] || command -v nvidia-smi > /dev/null; then
        backends+=(cuda)
    fi
fi
if [[ " ${backends[*]} " == *" cuda "* ]]; then
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 |
        sed 's/^/# GPU: /'
fi
if [ ${#backends[@]} = 0 ]; then
    echo "check-hw: FAIL: no GPU on this host (no /dev/dri/renderD*, no" \
         "NVIDIA driver): nothing was checked"
    exit 1
fi

# Does -device virtio-video-pci,@opts realize?  Prints QEMU's error if not.
realizes() {
    printf 'quit\n' | timeout 60 "$QEMU" -M pc -display none -nodefaults \
        -S -monitor stdio -device "virtio-video-pci,$1" > "$work/rz" 2>&1 &&
        return 0
    grep -m1 'virtio-video' "$work/rz" || tail -n 1 "$work/rz"
    return 1
}

# Run the qtests matching @pattern with backend @b; print their TAP.
run_qtests() {
    local b=$1 pattern=$2 p out
    for p in $("$QOS" -l 2>/dev/null | sed -n 's|^\(# \)\{0,1\}\(/[^ ]*\)$|\2|p' |
               grep -E "$pattern"); do
        out=$(timeout 900 "$QOS" --tap -p "$p" 2>&1)
        if grep -q '^not ok' <<<"$out" || ! grep -q '^ok' <<<"$out"; then
            echo "not ok - $b $p"
            grep -E 'ERROR|^# ' <<<"$out" | head -n 8 | sed 's/^/#   /'
            status=1
        elif grep -q '# SKIP' <<<"$out"; then
            echo "ok - $b $p # SKIP $(sed -n 's/.*# SKIP //p' <<<"$out" | head -n 1)"
        else
            echo "ok - $b $p"
            checked=$((checked + 1))
        fi
    done
}

for b in "${backends[@]}"; do
    echo "# ---- backend=$b"
    if [ "$b" = cuda ]; then
        nvidia-smi --query-gpu=utilization.decoder,utilization.encoder \
            --format=csv,noheader,nounits -lms 200 > "$work/smi" 2>&1 &
        smi=$!
    fi
    # every stream's backend, from the trace of every QEMU the qtests start
    export VIRTIO_VIDEO_TRACE_DIR=$work/trace-$b
    mkdir -p "$VIRTIO_VIDEO_TRACE_DIR"
    BACKEND=$b
    . "$top/tests/backend-env.sh"
    vv_backend_env "$B/unit" || exit 2
    if why=$(realizes "${VIRTIO_VIDEO_DEVICE_OPTS#,}"); then
        run_qtests "$b" '/virtio-video-pci/.*decode-media/'
    else
        echo "not ok - backend=$b decoder does not start: $why"
        status=1
    fi
    if why=$(realizes "mode=encoder$VIRTIO_VIDEO_DEVICE_OPTS"); then
        run_qtests "$b" '/virtio-video-pci-encoder/.*/encode-(h264|hevc|vp8|vp9)$'
    else
        echo "# backend=$b has no encoder on this GPU (not checked): $why"
    fi
    echo "# streams per backend, from the device's trace:"
    cat "$VIRTIO_VIDEO_TRACE_DIR"/* 2>/dev/null |
        sed -n 's/.*virtio_video_stream_backend.*backend=\([a-z]*\).*/\1/p' |
        sort | uniq -c | sed 's/^/#   /'
    if [ -n "${smi:-}" ]; then
        kill "$smi" 2>/dev/null
        wait "$smi" 2>/dev/null
        smi=
        awk -F', *' '$1 ~ /^[0-9]+$/ { n++; if ($1 > d) d = $1;
                                       if ($2 > e) e = $2; if ($1 > 0) busy++ }
            END { printf "# nvidia-smi: %d samples, decoder busy in %d, " \
                  "max decoder %d%%, max encoder %d%%\n", n, busy, d, e }' \
            "$work/smi"
    fi
done
echo "# check-hw: $checked hardware checks passed$([ $status = 0 ] ||
      echo ', FAILURES above')"
[ $checked -gt 0 ] || { echo "check-hw: FAIL: no check ran on the hardware"; status=1; }
exit $status
