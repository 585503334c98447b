#!/bin/bash
# virtio-video-pci on QEMU's command line: properties, their help text, and
# realize errors for bad values.  Prints TAP.
#
#   tests/cli/virtio-video-cli.sh path/to/qemu-system-x86_64
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -u
QEMU=${1:?usage: $0 qemu-system-x86_64}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; printf '#   %s\n' "$@"; }

# Start QEMU with the device (stopped, no guest code runs) and quit from
# the monitor; prints QEMU's output, returns its exit status.
run() {
    printf 'quit\n' | timeout 60 "$QEMU" -M pc -accel tcg -display none \
        -nodefaults -S -monitor stdio "$@" 2>&1
}

help=$("$QEMU" -device virtio-video-pci,help 2>&1)
for p in mode backend render-node codec-threads max-streams cmdq-size \
         eventq-size av1 \
         max-bitstream-mb max-resources max-queued max-sg-entries \
         max-mapped-mb max-width max-height virtio-objects; do
    line=$(grep -E "^  $p=<[a-z0-9]+> +- [^ ]" <<<"$help")
    if [ -n "$line" ]; then
        ok "help lists $p with a description"
    else
        nok "help lists $p with a description" "$(grep "$p" <<<"$help")"
    fi
done

# many opens are cheap: the default allows v4l2-compliance's 100 and more
if grep -qE '^  max-streams=<uint32> .*\(default: 256\)$' <<<"$help"; then
    ok "max-streams defaults to 256"
else
    nok "max-streams defaults to 256" "$(grep max-streams <<<"$help")"
fi

expect_ok() {
    local out
    if out=$(run -device "virtio-video-pci,$1"); then
        ok "accepted: $1"
    else
        nok "accepted: $1" "$out"
    fi
}

expect_error() {
    local out
    if out=$(run -device "virtio-video-pci,$1"); then
        nok "refused: $1" "QEMU started"
    elif grep -qF -- "$2" <<<"$out"; then
        ok "refused: $1 ($2)"
    else
        nok "refused: $1" "$out"
    fi
}

expect_ok "mode=decoder"
expect_ok "mode=encoder,codec-threads=2,max-streams=4"
expect_ok "cmdq-size=256,eventq-size=64"
expect_ok "av1=on,max-bitstream-mb=64"
expect_ok "virtio-objects=off"
# virtio-gpu exports its resources by UUID (qemu/patches/0002)
if out=$(run -device virtio-gpu-pci,resource_uuid=on \
             -device virtio-video-pci); then
    ok "accepted: virtio-gpu-pci,resource_uuid=on next to the decoder"
else
    nok "accepted: virtio-gpu-pci,resource_uuid=on next to the decoder" "$out"
fi
expect_error "mode=transcoder" "mode must be 'decoder' or 'encoder'"
expect_error "backend=vdpau" "unknown backend 'vdpau' (available: auto, libavcodec, vaapi, cuda)"
expect_ok "backend=libavcodec"
expect_ok "backend=auto,mode=encoder"
# an explicit hardware backend that cannot start says why, in one line
expect_error "backend=vaapi,render-node=/nonexistent" \
    "virtio-video: cannot open /nonexistent: No such file or directory"
if [ ! -e /dev/nvidiactl ]; then
    expect_error "backend=cuda" "virtio-video: no CUDA: the NVIDIA driver's libcuda.so.1 is not installed"
fi
if ! compgen -G '/dev/dri/renderD*' > /dev/null; then
    expect_error "backend=vaapi" "virtio-video: no DRM render node (/dev/dri/renderD*)"
fi
expect_error "cmdq-size=1000" "powers of 2"
expect_error "eventq-size=0" "powers of 2"
expect_error "cmdq-size=2048" "powers of 2"
expect_error "max-streams=0" "max-streams must be between"
expect_error "codec-threads=65" "codec-threads must be between 0 and 64"
expect_ok "max-resources=8,max-queued=4,max-sg-entries=16,max-mapped-mb=64"
expect_ok "max-width=1920,max-height=1080"
expect_error "max-resources=0" "max-resources must be between 1 and 4096"
expect_error "max-queued=5000" "max-queued must be between 1 and 4096"
expect_error "max-sg-entries=70000" "max-sg-entries must be between 1 and 65544"
expect_error "max-mapped-mb=0" "max-mapped-mb must be between"
expect_error "max-width=8" "max-width must be between 16 and 8192"
expect_error "max-height=8193" "max-height must be between 16 and 8192"
expect_error "max-bitstream-mb=0" "max-bitstream-mb must be between"
