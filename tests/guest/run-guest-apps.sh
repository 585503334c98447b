#!/bin/sh
# make check-guest-apps: a stock program decodes through the driver.
# Boots the guest with the larger image (guest/image/build-apps-image.sh:
# Debian 12's ffmpeg and its libraries added) and runs
#   ffmpeg -c:v <codec>_v4l2m2m -i <clip> -fps_mode passthrough -autoscale 0 -pix_fmt nv12 -f framemd5
# for H.264, HEVC, VP8 and VP9 clips; every frame's MD5 must equal the
# reference in shared/media/<clip>.nv12.framemd5.  Also encodes with
# h264_v4l2m2m and checks the result decodes on the host with PSNR >= 35 dB,
# and decodes VP8 and VP9 (remuxed to WebM) with GStreamer:
#   gst-launch-1.0 filesrc ! matroskademux ! v4l2vp8dec ! video/x-raw,format=NV12 ! filesink
# Prints "ok N - ..." lines and "N passed, N failed".
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MEDIA=${VV_MEDIA:-$SRC/../shared/media}
OUT=${VV_TEST_OUT:-$SRC/build/guest/apps}
export QEMU=${QEMU:-$SRC/build/qemu-system-x86_64}
mkdir -p "$OUT"
n=0; passed=0; failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit $?; }

[ -x "$QEMU" ] || { notok "QEMU not built: $QEMU"; finish; }
if "$SRC/guest/image/build-image.sh" "$SRC" > "$OUT/build.log" 2>&1 &&
   "$SRC/guest/image/build-apps-image.sh" "$SRC" >> "$OUT/build.log" 2>&1; then
	ok "guest image with Debian's ffmpeg ($(du -h "$SRC/build/guest/initrd-apps.img" | cut -f1))"
else
	notok "image build failed (see $OUT/build.log)"; finish
fi

CASES="h264:BA1_Sony_D.h264 h264:test-25fps.h264"
CASES="$CASES h264:DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264"
CASES="$CASES hevc:test-25fps.hevc vp8:test-25fps.vp8.ivf vp9:test-25fps.vp9.ivf"
# (only clips whose sizes are multiples of 16: ffmpeg 5.1's v4l2m2m wrapper
# ignores the compose rectangle, and the device pads the buffer height to 16)
files=
for c in $CASES; do
	f=$MEDIA/${c#*:}
	[ -f "$f" ] && [ -f "$f.nv12.framemd5" ] || { notok "missing $f or its reference"; finish; }
	files="$files $f"
done
cat > "$OUT/guest.sh" <<GS
modprobe virtio_video
sleep 0.3
for c in $CASES; do
	codec=\${c%%:*}; clip=\${c#*:}
	echo "guest: ffmpeg -c:v \${codec}_v4l2m2m -i \$clip"
	timeout -s KILL 120 ffmpeg -hide_banner -nostdin -c:v \${codec}_v4l2m2m -i /data/\$clip \
		-fps_mode passthrough -autoscale 0 -pix_fmt nv12 -f framemd5 /out/\$clip.framemd5 \
		> /out/\$clip.log 2>&1
	echo "exit \$?" >> /out/\$clip.log
done
export GST_REGISTRY_FORK=no GST_REGISTRY=/tmp/gst-registry.bin HOME=/tmp
export GST_PLUGIN_SYSTEM_PATH=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
for c in vp8 vp9; do
	echo "guest: gst-launch-1.0 ... v4l2\${c}dec ..."
	timeout -s KILL 120 gst-launch-1.0 -q filesrc location=/data/test-25fps.\$c.webm ! \
		matroskademux ! v4l2\${c}dec ! video/x-raw,format=NV12 ! \
		filesink location=/out/gst-\$c.nv12 > /out/gst-\$c.log 2>&1
	echo "exit \$?" >> /out/gst-\$c.log
done
echo "guest: ffmpeg -c:v h264_v4l2m2m (encoder)"
timeout -s KILL 120 ffmpeg -hide_banner -nostdin -f rawvideo -pix_fmt nv12 -s 320x240 -r 30 \
	-i /data/enc-src.nv12 -c:v h264_v4l2m2m -b:v 2M -f h264 /out/enc.h264 > /out/enc.log 2>&1
echo "exit \$?" >> /out/enc.log
GS
ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 \
	-frames:v 30 -pix_fmt nv12 -f rawvideo "$OUT/enc-src.nv12"
for c in vp8 vp9; do
	ffmpeg -v error -y -i "$MEDIA/test-25fps.$c.ivf" -c copy "$OUT/test-25fps.$c.webm" ||
		{ notok "cannot remux test-25fps.$c.ivf to WebM"; finish; }
done
# shellcheck disable=SC2086
VV_MEM=2G VV_INITRD=$SRC/build/guest/initrd-apps.img VV_TIMEOUT=600 \
	"$SRC/tests/guest/boot-guest.sh" "$OUT/run" "$OUT/guest.sh" $files "$OUT/enc-src.nv12" \
	"$OUT/test-25fps.vp8.webm" "$OUT/test-25fps.vp9.webm" \
	> "$OUT/console.txt" 2>&1 || { notok "guest run failed (see $OUT/console.txt)"; finish; }
R=$OUT/run/out
for c in $CASES; do
	codec=${c%%:*}; clip=${c#*:}
	res=$(python3 - "$R/$clip.framemd5" "$MEDIA/$clip.nv12.framemd5" <<'PY'
import sys
def md5s(p):
    try:
        return [l.split(",")[5].strip() for l in open(p) if l.strip() and not l.startswith("#")]
    except OSError:
        return []
got, ref = md5s(sys.argv[1]), md5s(sys.argv[2])
good = sum(1 for g, r in zip(got, ref) if g == r)
print(good, len(ref), len(got))
PY
)
	set -- $res
	if [ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "$2" -gt 0 ]; then
		ok "stock ffmpeg -c:v ${codec}_v4l2m2m decodes $clip through the driver: $1/$2 frames MD5 match"
	else
		notok "ffmpeg ${codec}_v4l2m2m $clip: $1/$2 frames match, $3 decoded ($(grep -a -i -m1 -E 'error|fail' "$R/$clip.log"))"
	fi
done
for c in vp8 vp9; do
	set -- $(python3 - "$R/gst-$c.nv12" "$MEDIA/test-25fps.$c.ivf.nv12.framemd5" <<'PY'
import hashlib, sys
fs = 320 * 240 * 3 // 2
try:
    d = open(sys.argv[1], "rb").read()
except OSError:
    d = b""
got = [hashlib.md5(d[i * fs:(i + 1) * fs]).hexdigest() for i in range(len(d) // fs)]
ref = [l.split(",")[5].strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
print(sum(1 for g, r in zip(got, ref) if g == r), len(ref), len(got))
PY
)
	if [ "$1" = "$2" ] && [ "$2" = "$3" ] && [ "$2" -gt 0 ]; then
		ok "stock GStreamer v4l2${c}dec decodes test-25fps.$c (WebM) through the driver: $1/$2 frames MD5 match"
	else
		notok "GStreamer v4l2${c}dec: $1/$2 frames match, $3 decoded ($(tail -n 2 "$R/gst-$c.log" | tr '\n' ' '))"
	fi
done
if [ -s "$R/enc.h264" ]; then
	ffmpeg -v error -y -f h264 -i "$R/enc.h264" -f rawvideo -pix_fmt nv12 "$OUT/enc.dec.nv12"
	set -- $(python3 "$SRC/tests/guest/nv12-psnr.py" "$OUT/enc.dec.nv12" "$OUT/enc-src.nv12" 320 240)
	if [ "$1" = 30 ] && python3 -c "import sys; sys.exit(0 if $2 >= 35 else 1)"; then
		ok "stock ffmpeg -c:v h264_v4l2m2m encodes through the driver: $1 frames, PSNR $2 dB"
	else
		notok "ffmpeg h264_v4l2m2m encode: $1 frames, PSNR $2 dB"
	fi
else
	notok "ffmpeg h264_v4l2m2m encode: no output ($(tail -n 3 "$R/enc.log" | tr '\n' ' '))"
fi
finish
