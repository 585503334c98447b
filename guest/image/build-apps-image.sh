#!/bin/sh
# Larger guest image for the "stock applications" test: the quick image
# (build-image.sh) plus Debian 12's ffmpeg, GStreamer's gst-launch-1.0 with
# the plugins the test uses (coreelements, matroska, video4linux2,
# multifile) and every
# shared library they load, appended as a second cpio archive (the kernel
# unpacks both).
# Output: build/guest/initrd-apps.img (cached; rebuilt when the quick image
# or the ffmpeg package changes).
set -eu
SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
OUT=${2:-$SRC/build/guest}
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
need=
for p in ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good; do
	dpkg -s $p >/dev/null 2>&1 || need="$need $p"
done
[ -z "$need" ] || $SUDO apt-get install -y --no-install-recommends $need
GSTLIB=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
GSTPLUGINS="$GSTLIB/libgstcoreelements.so $GSTLIB/libgstmatroska.so $GSTLIB/libgstvideo4linux2.so
	$GSTLIB/libgstmultifile.so"
[ -f "$OUT/initrd.img" ] || "$SRC/guest/image/build-image.sh" "$SRC" "$OUT"

stamp="ffmpeg $(dpkg-query -W -f '${Version}' ffmpeg) gst $(dpkg-query -W -f '${Version}' gstreamer1.0-plugins-good) $(stat -c %Y "$OUT/initrd.img") $(md5sum < "$0" | cut -c1-8)"
if [ -f "$OUT/initrd-apps.img" ] && [ "$(cat "$OUT/initrd-apps.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-apps-image: $OUT/initrd-apps.img is up to date"
	exit 0
fi
root=$OUT/apps-root
rm -rf "$root"
mkdir -p "$root/usr/bin"
for f in /usr/bin/ffmpeg /usr/bin/gst-launch-1.0 /usr/bin/gst-inspect-1.0 $GSTPLUGINS; do
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
	for l in $(ldd "$f" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\t\(\/[^ ]*\) .*/\1/p'); do
		[ -e "$root$l" ] && continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$OUT/apps.cpio.gz"
cat "$OUT/initrd.img" "$OUT/apps.cpio.gz" > "$OUT/initrd-apps.img.tmp"
mv "$OUT/initrd-apps.img.tmp" "$OUT/initrd-apps.img"
echo "$stamp" > "$OUT/initrd-apps.stamp"
echo "build-apps-image: $OUT/initrd-apps.img ($(du -h "$OUT/initrd-apps.img" | cut -f1))"
