#!/bin/sh
# Larger guest image for the "stock applications" test: the quick image
# (build-image.sh) plus Debian 12's ffmpeg and every shared library it
# loads, appended as a second cpio archive (the kernel unpacks both).
# Output: build/guest/initrd-apps.img (cached; rebuilt when the quick image
# or the ffmpeg package changes).
set -eu
SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
OUT=${2:-$SRC/build/guest}
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
dpkg -s ffmpeg >/dev/null 2>&1 ||
	$SUDO apt-get install -y --no-install-recommends ffmpeg
[ -f "$OUT/initrd.img" ] || "$SRC/guest/image/build-image.sh" "$SRC" "$OUT"

stamp="ffmpeg $(dpkg-query -W -f '${Version}' ffmpeg) $(stat -c %Y "$OUT/initrd.img")"
if [ -f "$OUT/initrd-apps.img" ] && [ "$(cat "$OUT/initrd-apps.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-apps-image: $OUT/initrd-apps.img is up to date"
	exit 0
fi
root=$OUT/apps-root
rm -rf "$root"
mkdir -p "$root/usr/bin"
cp /usr/bin/ffmpeg "$root/usr/bin/"
for l in $(ldd /usr/bin/ffmpeg | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\t\(\/[^ ]*\) .*/\1/p'); do
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$OUT/apps.cpio.gz"
cat "$OUT/initrd.img" "$OUT/apps.cpio.gz" > "$OUT/initrd-apps.img.tmp"
mv "$OUT/initrd-apps.img.tmp" "$OUT/initrd-apps.img"
echo "$stamp" > "$OUT/initrd-apps.stamp"
echo "build-apps-image: $OUT/initrd-apps.img ($(du -h "$OUT/initrd-apps.img" | cut -f1))"
