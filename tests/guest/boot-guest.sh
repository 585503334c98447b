#!/bin/sh
# Boot the virtio-video test guest once.
#
# Usage: tests/guest/boot-guest.sh WORKDIR SCRIPT [FILE...]
#   SCRIPT and FILEs are packed into a tar "input disk" (/data in the
#   guest; the script runs as /data/run.sh).  What the guest leaves in
#   /out is unpacked to WORKDIR/out.  The serial console goes to
#   WORKDIR/console.log and to stdout.
# Environment: QEMU (default build/qemu-system-x86_64), GUEST_DIR (default
#   build/guest), VV_DEVICES (extra -device arguments; default a decoder
#   and an encoder), VV_TIMEOUT (seconds, default 300), VV_MEM (default 1G),
#   VV_INITRD (default $GUEST_DIR/initrd.img), VV_APPEND (kernel arguments),
#   VV_QEMU_ARGS (more QEMU arguments, e.g. "-trace enable=EVENT,file=F";
#   split at spaces like VV_DEVICES).
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
QEMU=${QEMU:-$SRC/build/qemu-system-x86_64}
GUEST_DIR=${GUEST_DIR:-$SRC/build/guest}
work=$1
script=$2
shift 2
INITRD=${VV_INITRD:-$GUEST_DIR/initrd.img}
for f in "$QEMU" "$GUEST_DIR/vmlinuz" "$INITRD"; do
	[ -e "$f" ] || { echo "boot-guest: FAIL missing $f" >&2; exit 3; }
done
rm -rf "$work/in" "$work/out"
mkdir -p "$work/in" "$work/out"
cp "$script" "$work/in/run.sh"
for f in "$@"; do cp "$f" "$work/in/"; done
tar -C "$work/in" -cf "$work/in.img" .
truncate -s %1M "$work/in.img"
rm -f "$work/out.img"
truncate -s "${VV_OUT_MB:-128}M" "$work/out.img"
devs=${VV_DEVICES:-"-device virtio-video-pci -device virtio-video-pci,mode=encoder"}
start=$(date +%s.%N)
# shellcheck disable=SC2086
timeout "${VV_TIMEOUT:-300}" "$QEMU" -M q35 -accel tcg -m "${VV_MEM:-1G}" -smp 1 \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$GUEST_DIR/vmlinuz" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4 ${VV_APPEND:-}" \
	-drive file="$work/in.img",format=raw,if=virtio,readonly=on \
	-drive file="$work/out.img",format=raw,if=virtio \
	$devs ${VV_QEMU_ARGS:-} </dev/null 2>&1 | tee "$work/console.log"
rc=$?
end=$(date +%s.%N)
echo "boot-guest: qemu exit $rc, wall $(echo "$end - $start" | bc 2>/dev/null || echo ?)s" >&2
tar -C "$work/out" -xf "$work/out.img" 2>/dev/null || true
[ -f "$work/out/exit-status" ] || { echo "boot-guest: FAIL guest wrote no results" >&2; exit 4; }
exit 0
