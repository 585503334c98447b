#!/bin/sh
# make demo: boot a Debian guest under TCG with a virtio-video decoder,
# decode a clip in the guest through the virtio_video driver and the QEMU
# device, then tile the decoded frames into a PNG contact sheet on the host.
#
# Environment: VV_DEMO_CLIP (default shared/media/test-25fps.h264),
# VV_DEMO_CODEC (h264, hevc, vp8, vp9, mpeg2, mpeg4; default from the
# file name), VV_DEMO_OUT (default build/demo).
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
MEDIA=${VV_MEDIA:-$SRC/../shared/media}
CLIP=${VV_DEMO_CLIP:-$MEDIA/test-25fps.h264}
OUT=${VV_DEMO_OUT:-$SRC/build/demo}
case "${VV_DEMO_CODEC:-$CLIP}" in
*h264*) CODEC=h264 ;; *hevc*|*h265*) CODEC=hevc ;; *vp8*) CODEC=vp8 ;;
*vp9*) CODEC=vp9 ;; *m2v*|*mpeg2*) CODEC=mpeg2 ;; *m4v*|*mpeg4*) CODEC=mpeg4 ;;
*) echo "demo: cannot tell the codec of $CLIP (set VV_DEMO_CODEC)" >&2; exit 2 ;;
esac
[ -f "$CLIP" ] || { echo "demo: FAIL no clip $CLIP" >&2; exit 1; }
mkdir -p "$OUT"

echo "demo: building the guest image (Debian kernel + busybox + virtio_video.ko)"
"$SRC/guest/image/build-image.sh" "$SRC" > "$OUT/build-image.log" 2>&1 ||
	{ tail -20 "$OUT/build-image.log"; echo "demo: FAIL image build" >&2; exit 1; }

name=$(basename "$CLIP")
cat > "$OUT/guest.sh" <<GS
modprobe virtio_video
sleep 0.2
for n in /sys/class/video4linux/video*; do
	[ "\$(cat \$n/name)" = virtio-video-dec ] && DEC=/dev/\${n##*/}
done
echo "guest: decoding $name on \$DEC"
vvclient dec "\$DEC" $CODEC "/data/$name" -o /out/frames.nv12 > /out/frames.txt
tail -n 2 /out/frames.txt
GS
echo "demo: booting QEMU (TCG) with -device virtio-video-pci"
VV_DEVICES="-device virtio-video-pci" VV_OUT_MB=${VV_DEMO_OUT_MB:-256} \
	"$SRC/tests/guest/boot-guest.sh" "$OUT/run" "$OUT/guest.sh" "$CLIP" \
	> "$OUT/console.txt" 2>&1 ||
	{ tail -20 "$OUT/console.txt"; echo "demo: FAIL guest run" >&2; exit 1; }
R=$OUT/run/out
grep -q '^DONE' "$R/frames.txt" 2>/dev/null ||
	{ tail -20 "$OUT/console.txt"; echo "demo: FAIL no frames decoded" >&2; exit 1; }

frames=$(sed -n 's/^DONE frames=\([0-9]*\).*/\1/p' "$R/frames.txt")
fps=$(sed -n 's/^DONE .*fps=\([0-9.]*\).*/\1/p' "$R/frames.txt")
size=$(awk '/^FRAME/ { print $3; exit }' "$R/frames.txt")
nsizes=$(awk '/^FRAME/ { print $3 }' "$R/frames.txt" | sort -u | wc -l)
if [ "$nsizes" != 1 ]; then
	echo "demo: the clip changes resolution; the sheet shows the first size only"
fi
nfirst=$(awk -v s="$size" '/^FRAME/ && $3 == s { n++ } END { print n }' "$R/frames.txt")
# at most 48 tiles, evenly spread over the clip
step=$(( (nfirst + 47) / 48 ))
[ "$step" -ge 1 ] || step=1
cols=8
tiles=$(( (nfirst + step - 1) / step ))
rows=$(( (tiles + cols - 1) / cols ))
ffmpeg -v error -y -f rawvideo -pix_fmt nv12 -s "$size" \
	-i "$R/frames.nv12" \
	-vf "trim=end_frame=$nfirst,drawtext=text='%{n}':x=w-tw-6:y=6:fontsize=24:fontcolor=yellow:box=1:boxcolor=black@0.6,select='not(mod(n\,$step))',scale=160:-2,tile=${cols}x${rows}" \
	-frames:v 1 -update 1 "$OUT/contact-sheet.png" 2>/dev/null ||
ffmpeg -v error -y -f rawvideo -pix_fmt nv12 -s "$size" \
	-i "$R/frames.nv12" \
	-vf "trim=end_frame=$nfirst,select='not(mod(n\,$step))',scale=160:-2,tile=${cols}x${rows}" \
	-frames:v 1 -update 1 "$OUT/contact-sheet.png"

# compare with the reference when there is one
ref="$CLIP.nv12.framemd5"
match=
if [ -f "$ref" ]; then
	good=$(python3 - "$R/frames.txt" "$ref" <<'PY'
import sys
got = [l.split()[3] for l in open(sys.argv[1]) if l.startswith("FRAME ")]
ref = [l.split(",")[5].strip() for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
print(f"{sum(1 for g, r in zip(got, ref) if g == r)}/{len(ref)}")
PY
)
	match=", $good frames identical to ffmpeg's reference decode (MD5)"
fi
boot=$(grep -a -o 'vv-init: kernel [^,]*, up [0-9.]*s' "$OUT/console.txt" | sed 's/.*up //')
echo "demo: decoded $frames frames of $name ($size) in the guest at $fps fps$match"
echo "demo: guest kernel was up after $boot under TCG"
echo "demo: contact sheet: $OUT/contact-sheet.png (every ${step}th frame), raw frames: $R/frames.nv12"
