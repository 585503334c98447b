#!/bin/sh
# make check-guest-apps: a stock program decodes through the driver.
# Boots the guest with the larger image (guest/image/build-apps-image.sh:
# Debian 12's ffmpeg and its libraries added) and runs
#   ffmpeg -c:v <codec>_v4l2m2m -i <clip> -fps_mode passthrough -noautoscale -pix_fmt nv12 -f framemd5
# for H.264, HEVC, VP8 and VP9 clips; every frame's MD5 must equal the
# reference in shared/media/<clip>.nv12.framemd5.  Also encodes with
# h264_v4l2m2m and checks the result decodes on the host with PSNR >= 35 dB,
# and decodes VP8 and VP9 (remuxed to WebM) with GStreamer:
#   gst-launch-1.0 filesrc ! matroskademux ! v4l2vp8dec ! video/x-raw,format=NV12 ! filesink
# Encodes 10 frames at sizes the device pads in its buffers (640x360,
# 854x480, 1920x1080) with every coded format the encoder node offers
# (H.264, HEVC, VP8, VP9), once with ffmpeg (<codec>_v4l2m2m; ffmpeg 5.1
# has none for VP9) and once with GStreamer (v4l2<codec>enc); each stream
# must decode on the host to the source's picture size with PSNR >= 30 dB.
# Both programs give the size with S_FMT only (no selection) and set
# 25 fps (S_PARM), which sends the device's parameters back to it.
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
# Encodes: "codec:ffmpeg-encoder:ffmpeg-muxer:gst-element:gst-output"
# (ffmpeg 5.1 has no V4L2 VP9 encoder: "-").  GStreamer writes H.264 and
# HEVC as a byte stream (filesink) and VP8/VP9 one file per frame
# (multifilesink), which the host wraps in IVF: webmmux cannot take the
# byte segment that filesrc starts with.
ENCS="h264:h264_v4l2m2m:h264:v4l2h264enc:stream
hevc:hevc_v4l2m2m:hevc:v4l2h265enc:stream
vp8:vp8_v4l2m2m:ivf:v4l2vp8enc:frames
vp9:-:ivf:v4l2vp9enc:frames"
SIZES="640x360 854x480 1920x1080"
cat > "$OUT/guest.sh" <<GS
modprobe virtio_video
sleep 0.3
for c in $CASES; do
	codec=\${c%%:*}; clip=\${c#*:}
	echo "guest: ffmpeg -c:v \${codec}_v4l2m2m -i \$clip"
	timeout -s KILL 120 ffmpeg -hide_banner -nostdin -c:v \${codec}_v4l2m2m -i /data/\$clip \
		-fps_mode passthrough -noautoscale -pix_fmt nv12 -f framemd5 /out/\$clip.framemd5 \
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

# Encodes at sizes the device pads.  (ffmpeg 5.1's wrapper copies each
# plane with the frame's own line size, not bytesperline: "-vf copy" gives
# it frames from libavfilter's pool, whose 32-byte aligned lines match the
# device's stride at these widths; rawvideo frames of 854 pixels would not.)
for n in /sys/class/video4linux/video*; do
	[ "\$(cat \$n/name)" = virtio-video-enc ] && ENC=/dev/\${n##*/}
done
v4l2-ctl -d "\$ENC" --list-formats > /out/enc-formats.txt 2>&1
for s in $SIZES; do
	# GStreamer's raw layout has rows of a multiple of 4 bytes: 854
	# pixel wide frames come from a copy with rows padded to 856
	gw=\$(((\${s%x*} + 3) / 4 * 4))
	fs=\$((gw * \${s#*x} * 3 / 2))
	src=/data/src-\$s.nv12
	[ -f /data/src-\$s.gst.nv12 ] && src=/data/src-\$s.gst.nv12
	case \$s in 640x360) b=2000000 ;; 854x480) b=3000000 ;; *) b=10000000 ;; esac
	for e in $(echo "$ENCS" | tr '\n' ' '); do
		IFS=: read -r c ffenc ffmux gstenc gstout <<E
\$e
E
		if [ "\$ffenc" != - ]; then
			echo "guest: ffmpeg -c:v \$ffenc \$s"
			timeout -s KILL 300 ffmpeg -hide_banner -nostdin -f rawvideo -pix_fmt nv12 -s \$s -r 25 \
				-i /data/src-\$s.nv12 -vf copy -c:v \$ffenc -b:v \$b -f \$ffmux \
				/out/ff-\$c-\$s.\$ffmux > /out/ff-\$c-\$s.log 2>&1
			echo "exit \$?" >> /out/ff-\$c-\$s.log
		fi
		echo "guest: gst-launch-1.0 ... \$gstenc \$s"
		sink="filesink location=/out/gst-\$c-\$s.\$c"
		[ "\$gstout" = frames ] &&
			sink="multifilesink location=/out/gst-\$c-\$s-%03d.frame"
		# identity datarate: timestamps from the byte offset (25 fps)
		timeout -s KILL 300 gst-launch-1.0 -q filesrc location=\$src blocksize=\$fs ! \
			identity datarate=\$((fs * 25)) ! \
			video/x-raw,format=NV12,width=\${s%x*},height=\${s#*x},framerate=25/1,interlace-mode=progressive,colorimetry=bt709 ! \
			\$gstenc extra-controls="controls,video_bitrate=\$b" ! \
			\$sink > /out/gst-\$c-\$s.log 2>&1
		echo "exit \$?" >> /out/gst-\$c-\$s.log
	done
done
GS
ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 \
	-frames:v 30 -pix_fmt nv12 -f rawvideo "$OUT/enc-src.nv12"
gstsrc=
for s in $SIZES; do
	ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=$s:rate=25 \
		-frames:v 10 -pix_fmt nv12 -f rawvideo "$OUT/src-$s.nv12" ||
		{ notok "cannot generate the $s encoder source"; finish; }
	# a copy in GStreamer's layout (rows padded to 4 bytes) where it differs
	[ $((${s%x*} % 4)) = 0 ] && continue
	python3 - "$OUT/src-$s.nv12" "$OUT/src-$s.gst.nv12" "${s%x*}" "${s#*x}" <<'PY'
import sys
w, h = int(sys.argv[3]), int(sys.argv[4])
gw = (w + 3) // 4 * 4
d = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as out:
    for r in range(len(d) // w):
        out.write(d[r * w:(r + 1) * w] + bytes(gw - w))
PY
	gstsrc="$gstsrc $OUT/src-$s.gst.nv12"
done
for c in vp8 vp9; do
	ffmpeg -v error -y -i "$MEDIA/test-25fps.$c.ivf" -c copy "$OUT/test-25fps.$c.webm" ||
		{ notok "cannot remux test-25fps.$c.ivf to WebM"; finish; }
done
# shellcheck disable=SC2086
VV_MEM=2G VV_INITRD=$SRC/build/guest/initrd-apps.img VV_TIMEOUT=1500 \
	"$SRC/tests/guest/boot-guest.sh" "$OUT/run" "$OUT/guest.sh" $files "$OUT/enc-src.nv12" \
	"$OUT/test-25fps.vp8.webm" "$OUT/test-25fps.vp9.webm" \
	$(for s in $SIZES; do echo "$OUT/src-$s.nv12"; done) $gstsrc \
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

# Encodes at sizes the device pads: decode on the host, the picture size
# must be the source's, PSNR >= 30 dB over all 10 frames
pic_sizes() { # FORMAT FILE: "WxH" (several: "a,b"; none: "none")
	r=$(ffprobe -v error -f "$1" -select_streams v:0 -show_entries frame=width,height \
		-of csv=p=0 "$2" 2>/dev/null </dev/null | sed 's/,*$//' | grep . |
		sort -u | tr ',' 'x' | paste -sd, -)
	echo "${r:-none}"
}
fourcc() { case $1 in h264) echo H264 ;; hevc) echo HEVC ;; vp8) echo VP80 ;; vp9) echo VP90 ;; esac; }
for s in $SIZES; do
	W=${s%x*} H=${s#*x}
	for e in $ENCS; do
		IFS=: read -r c ffenc ffmux gstenc gstout <<E
$e
E
		offered=1
		grep -q "'$(fourcc $c)'" "$R/enc-formats.txt" 2>/dev/null || offered=0
		for tool in ff gst; do
			if [ $tool = ff ] && [ "$ffenc" = - ]; then
				echo "# $c $s: ffmpeg 5.1 has no V4L2 encoder for $c (only GStreamer is checked)"
				continue
			fi
			if [ $tool = ff ]; then
				f=$R/ff-$c-$s.$ffmux dfmt=$ffmux what="ffmpeg -c:v $ffenc"
			else
				f=$R/gst-$c-$s.$c dfmt=$c what="GStreamer $gstenc"
				if [ "$gstout" = frames ]; then
					# one file per frame: wrap them in IVF
					f=$OUT/gst-$c-$s.ivf dfmt=ivf
					python3 - "$f" "$(fourcc $c)" "$W" "$H" "$R"/gst-$c-$s-*.frame <<'PY'
import struct, sys
out, fourcc, w, h = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4])
frames = [open(p, "rb").read() for p in sorted(sys.argv[5:]) if not p.endswith("*.frame")]
with open(out, "wb") as o:
    if frames:
        o.write(b"DKIF" + struct.pack("<HH4sHHIIII", 0, 32, fourcc, w, h, 25, 1, len(frames), 0))
        for i, d in enumerate(frames):
            o.write(struct.pack("<IQ", len(d), i) + d)
PY
				fi
			fi
			if [ $offered = 0 ]; then
				notok "$what $s: the encoder node does not offer $(fourcc $c) ($(grep -o "'[A-Z0-9]*'" "$R/enc-formats.txt" 2>/dev/null | tr '\n' ' '))"
				continue
			fi
			if [ ! -s "$f" ]; then
				notok "$what $s: no output ($(grep -a -v '^exit 0' "$R/$tool-$c-$s.log" 2>/dev/null | tail -n 3 | tr '\n' ' '))"
				continue
			fi
			pics=$(pic_sizes "$dfmt" "$f")
			rm -f "$OUT/$tool-$c-$s.dec.nv12"
			ffmpeg -nostdin -v error -f "$dfmt" -i "$f" -f rawvideo -pix_fmt nv12 \
				"$OUT/$tool-$c-$s.dec.nv12" 2> "$OUT/$tool-$c-$s.dec.log"
			set -- $(python3 "$SRC/tests/guest/nv12-psnr.py" "$OUT/$tool-$c-$s.dec.nv12" "$OUT/src-$s.nv12" "$W" "$H")
			detail="picture $pics, $1/10 frames, PSNR $2 dB"
			if [ "$pics" = "$s" ] && [ "$1" = 10 ] &&
			   python3 -c "import sys; sys.exit(0 if $2 >= 30 else 1)"; then
				ok "stock $what encodes $s through the driver: $detail"
			else
				notok "$what $s: $detail (expected picture $s, 10 frames, PSNR >= 30)"
			fi
		done
	done
done
finish
