#!/bin/sh
# Guest side of tests/guest/run-guest-tests.sh: runs inside the test image
# with the clips in /data; leaves its results in /out, which the host
# checks (frame MD5s against the references, PSNR of the encodes,
# v4l2-compliance logs).  Lines "RESULT <name> PASS|FAIL <detail>" are
# checks decided here.
D=/data
O=/out
# every step is bounded, so that one hang cannot lose the other results
T="timeout -s KILL"
step() { echo "guest: $*"; }
result() { echo "RESULT $1 $2 ${3:-}" | tee -a $O/results.txt; }
node() {
	for n in /sys/class/video4linux/video*; do
		[ "$(cat $n/name 2>/dev/null)" = "$1" ] && { echo /dev/${n##*/}; return; }
	done
}
wait_nodes() {
	i=0
	while [ $i -lt 50 ]; do
		[ -n "$(node virtio-video-dec)" ] && [ -n "$(node virtio-video-enc)" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

echo "guest: uptime $(cut -d' ' -f1 /proc/uptime)s" | tee $O/uptime-start.txt
modprobe virtio_video
if wait_nodes; then
	result probe PASS "dec=$(node virtio-video-dec) enc=$(node virtio-video-enc)"
else
	result probe FAIL "video nodes missing"; dmesg | tail -20
fi
DEC=$(node virtio-video-dec)
ENC=$(node virtio-video-enc)

# Decoding: the host compares every frame's MD5 with the references.
while read -r codec clip; do
	[ -f "$D/$clip" ] || continue
	echo "guest: decoding $clip"
	$T 60 vvclient dec "$DEC" "$codec" "$D/$clip" > "$O/dec-$clip.txt" 2> "$O/dec-$clip.err"
	echo "exit $?" >> "$O/dec-$clip.err"
done <<LIST
h264 BA1_Sony_D.h264
h264 test-25fps.h264
h264 test-25fps-interlaced.h264
h264 64x64-I-P-B-P-high.h264
hevc bear.hevc
hevc test-25fps.hevc
vp8 test-25fps.vp8.ivf
vp9 test-25fps.vp9.ivf
vp9 vp90-2-10-show-existing-frame.vp9.ivf
h264 DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264
vp9 resolution_change_500frames-vp9.ivf
mpeg2 sample_h262_mpeg_audio.m2v
mpeg4 sample_h263.m4v
LIST

# Decoding into virtio-gpu buffers: the CAPTURE buffers are DRM dumb
# buffers, exported (PRIME) and queued as DMABUF; every picture is read back
# through the DRM mapping.  The GPU with RESOURCE_UUID negotiated (bit 2 in
# its virtio features) gives dma-bufs the driver passes to the device by
# UUID (the host checks QEMU's trace); the one without it gives dma-bufs
# that go as guest pages.
gpu_features() { # the virtio features a DRM card's GPU negotiated
	cat /sys/class/drm/$1/device/virtio*/features 2>/dev/null | head -n 1
}
gpu_card() { # $1: 1 with RESOURCE_UUID, 0 without
	for c in /sys/class/drm/card*; do
		f=$(gpu_features ${c##*/})
		[ -n "$f" ] && [ "$(echo "$f" | cut -c3)" = "$1" ] &&
			{ echo "/dev/dri/${c##*/}"; return; }
	done
}
UGPU=$(gpu_card 1)
PGPU=$(gpu_card 0)
for c in /sys/class/drm/card*; do
	echo "${c##*/} $(gpu_features ${c##*/})"
done > $O/gpu.txt
dmesg | grep -E "virtio_video|\[drm\]" >> $O/gpu.txt
while read -r codec clip; do
	echo "guest: decoding $clip into virtio-gpu buffers ($UGPU)"
	if [ -n "$UGPU" ]; then
		$T 60 vvclient dec "$DEC" "$codec" "$D/$clip" -d "$UGPU" > "$O/gpu-$clip.txt" 2> "$O/gpu-$clip.err"
		echo "exit $?" >> "$O/gpu-$clip.err"
	else
		echo "no virtio-gpu with RESOURCE_UUID (see gpu.txt)" > "$O/gpu-$clip.err"
	fi
done <<LIST
h264 test-25fps.h264
vp9 test-25fps.vp9.ivf
LIST
# Both kinds in one stream: the CAPTURE buffers alternate between dumb
# buffers and MMAP buffers at each resolution change (176x144, 320x192,
# 176x144), so the driver switches the queue's memory type both ways
c=DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264
echo "guest: decoding $c into virtio-gpu and MMAP buffers"
if [ -n "$UGPU" ]; then
	$T 60 vvclient dec "$DEC" h264 "$D/$c" -d "$UGPU" -a > "$O/gpu-mixed.txt" 2> "$O/gpu-mixed.err"
	echo "exit $?" >> "$O/gpu-mixed.err"
else
	echo "no virtio-gpu with RESOURCE_UUID (see gpu.txt)" > "$O/gpu-mixed.err"
fi
echo "guest: decoding into buffers of a virtio-gpu without RESOURCE_UUID ($PGPU)"
if [ -n "$PGPU" ]; then
	$T 60 vvclient dec "$DEC" h264 "$D/test-25fps.h264" -d "$PGPU" > "$O/gpu-pages.txt" 2> "$O/gpu-pages.err"
	echo "exit $?" >> "$O/gpu-pages.err"
else
	echo "no virtio-gpu without RESOURCE_UUID (see gpu.txt)" > "$O/gpu-pages.err"
fi

# A 10-bit stream no v3 raw format can carry: the device fails the stream
# (EVENT_ERROR); the client must get an error, not hang.  The decodes
# above and below show that the driver and device go on working.
step "decoding a 10-bit stream (expected to fail)"
$T 60 vvclient dec "$DEC" hevc "$D/sample_with_color_info.hevc" > "$O/err10.txt" 2> "$O/err10.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "Input/output error\|error" "$O/err10.err"; then
	result stream-error PASS "10-bit HEVC: device EVENT_ERROR reaches the client as $(tail -n 1 "$O/err10.err" | sed 's/vvclient: //')"
else
	result stream-error FAIL "10-bit HEVC: client exit $rc, $(tail -n 1 "$O/err10.err")"
fi

# Three streams at once on the decoder node
step "three concurrent decodes"
$T 120 vvclient dec "$DEC" vp9 "$D/test-25fps.vp9.ivf" > "$O/par-vp9.txt" 2> "$O/par-vp9.err" &
$T 120 vvclient dec "$DEC" h264 "$D/test-25fps.h264" > "$O/par-h264.txt" 2> "$O/par-h264.err" &
$T 120 vvclient dec "$DEC" hevc "$D/test-25fps.hevc" > "$O/par-hevc.txt" 2> "$O/par-hevc.err" &
wait

# Seek: after 2 input buffers, STREAMOFF/STREAMON and start again
$T 60 vvclient dec "$DEC" h264 "$D/BA1_Sony_D.h264" -s 4096 -k 4 > "$O/seek.txt" 2> "$O/seek.err"
echo "exit $?" >> "$O/seek.err"

# Encoding: the host decodes the bitstreams and measures PSNR
for codec in h264 hevc vp8 vp9; do
	echo "guest: encoding $codec"
	$T 60 vvclient enc "$ENC" $codec "$D/enc-src.nv12" 320 240 "$O/enc-$codec.bin" \
		-b 2000000 -f 30 > "$O/enc-$codec.txt" 2> "$O/enc-$codec.err"
	echo "exit $?" >> "$O/enc-$codec.err"
done
# A height the device pads (180 -> 192 rows in the buffer)
$T 60 vvclient enc "$ENC" h264 "$D/enc-src180.nv12" 320 180 "$O/enc-h264-180.bin" \
	-b 2000000 -f 30 > "$O/enc-h264-180.txt" 2> "$O/enc-h264-180.err"
# Controls: H.264 profile Baseline (0) and level 2.1 (6), CBR at 300 kbit/s
step "encoding with profile, level, CBR and a low bitrate"
$T 60 vvclient enc "$ENC" h264 "$D/enc-src.nv12" 320 240 "$O/enc-ctrl.bin" \
	-p 0 -l 6 -m 1 -b 300000 -f 30 > "$O/enc-ctrl.txt" 2> "$O/enc-ctrl.err"
# GOP size (driver-side forced keyframes) and FORCE_KEY_FRAME
step "encoding with GOP 10"
$T 60 vvclient enc "$ENC" h264 "$D/enc-src.nv12" 320 240 "$O/enc-gop.bin" -g 10 -K 5 \
	> "$O/enc-gop.txt" 2> "$O/enc-gop.err"
echo "exit $?" >> "$O/enc-gop.err"

# Picture sizes the device pads in its buffers (640x360: 368 rows, 854x480:
# 864 columns, 1920x1080: 1088 rows): the stream must have the source's
# size.  -c says how the size reaches the driver: S_FMT only (fmt), S_FMT
# and S_SELECTION(CROP) (sel), or an S_FMT 16-aligned and the crop (align).
# 25 fps, so that S_PARM sends the parameters back to the device.
while read -r codec size mode bps; do
	name=enc-$codec-$size-$mode
	step "encoding $codec $size ($mode)"
	$T 120 vvclient enc "$ENC" "$codec" "$D/src-$size.nv12" "${size%x*}" "${size#*x}" \
		"$O/$name.bin" -b "$bps" -f 25 -c "$mode" < /dev/null > "$O/$name.txt" 2> "$O/$name.err"
	echo "exit $?" >> "$O/$name.err"
done <<LIST
h264 640x360 fmt 2000000
hevc 640x360 fmt 2000000
vp8 640x360 fmt 2000000
vp9 640x360 fmt 2000000
vp9 640x360 sel 2000000
h264 854x480 fmt 3000000
hevc 854x480 fmt 3000000
vp8 854x480 fmt 3000000
vp9 854x480 fmt 3000000
hevc 854x480 align 3000000
h264 1920x1080 fmt 10000000
hevc 1920x1080 fmt 10000000
vp8 1920x1080 fmt 10000000
vp9 1920x1080 fmt 10000000
h264 1920x1080 align 10000000
LIST

# v4l2-compliance, streaming included, on our nodes and on vicodec
# vivid (the kernel's virtual capture driver) exports the DMABUFs that
# v4l2-compliance imports; big frames so they hold a bitstream buffer
EXP=
if modprobe vivid n_devs=1 node_types=0x1 num_inputs=1 input_types=0; then
	sleep 0.2
	EXP=$(node vivid-000-vid-cap)
	v4l2-ctl -d "$EXP" --set-fmt-video=width=1920,height=1080 >/dev/null 2>&1
fi
EXPARG=${EXP:+-e $EXP}
step "v4l2-compliance decoder"
$T 120 v4l2-compliance -d "$DEC" -s $EXPARG --stream-from="$D/BA1_Sony_D.h264" > $O/compliance-dec.txt 2>&1
step "v4l2-compliance encoder"
$T 120 v4l2-compliance -d "$ENC" -s $EXPARG > $O/compliance-enc.txt 2>&1
if modprobe vicodec; then
	sleep 0.2
	step "v4l2-compliance vicodec"
	# (vicodec's decoder needs an FWHT stream to stream: format and
	# control checks only)
	$T 120 v4l2-compliance -d "$(node stateful-decoder)" > $O/compliance-vicodec-dec.txt 2>&1
	$T 120 v4l2-compliance -d "$(node stateful-encoder)" -s $EXPARG > $O/compliance-vicodec-enc.txt 2>&1
	rmmod vicodec
else
	echo "vicodec missing" > $O/compliance-vicodec-dec.txt
	echo "vicodec missing" > $O/compliance-vicodec-enc.txt
fi

[ -n "$EXP" ] && rmmod vivid

# Unload and reload; then decode again with contiguous buffers
step "unload/reload"
if rmmod virtio_video && [ -z "$(node virtio-video-dec)" ]; then
	if modprobe virtio_video force_contig=1 && wait_nodes; then
		result reload PASS "unloaded and reloaded, nodes back"
	else
		result reload FAIL "reload failed"
	fi
else
	result reload FAIL "rmmod failed"
fi
dmesg | grep -q "contiguous buffers" && echo "contig mode active" > $O/contig-mode.txt
DEC=$(node virtio-video-dec)
step "decoding with contiguous buffers"
$T 60 vvclient dec "$DEC" h264 "$D/BA1_Sony_D.h264" > "$O/contig.txt" 2> "$O/contig.err"
echo "exit $?" >> "$O/contig.err"

dmesg > $O/dmesg.txt
if dmesg | grep -q -E "BUG:|WARNING:|Oops|timed out"; then
	result kernel-log FAIL "kernel warnings, see dmesg.txt"
else
	result kernel-log PASS "no BUG/WARNING/Oops/timeouts"
fi
echo "guest: uptime $(cut -d' ' -f1 /proc/uptime)s" | tee $O/uptime-end.txt
