#!/bin/sh
# Build the virtio-video guest test image from Debian 12 packages only:
#   build/guest/vmlinuz        Debian's kernel (linux-image-$KVER)
#   build/guest/initrd.img     busybox-static, the kernel modules we need
#                              (virtio-gpu's DRM driver among them),
#                              our virtio_video.ko, v4l2-ctl, v4l2-compliance
#                              and the test client vvclient
# Downloads are cached under ~/.cache/virtio-video/guest/.
#
# Usage: guest/image/build-image.sh [SRCDIR] [OUTDIR]
set -eu

SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
OUT=${2:-$SRC/build/guest}
CACHE=${VV_GUEST_CACHE:-$HOME/.cache/virtio-video/guest}
mkdir -p "$OUT" "$CACHE/debs"
OUT=$(cd "$OUT" && pwd)

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# The kernel flavour Debian's linux-headers-amd64 points at, e.g. 6.1.0-56-amd64
if [ -z "${KVER:-}" ]; then
	KVER=$(apt-cache depends linux-headers-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-headers-\(.*\)$/\1/p' | head -n1)
fi
[ -n "$KVER" ] || { echo "build-image: cannot resolve the kernel version" >&2; exit 1; }
echo "build-image: kernel $KVER"

die() { echo "build-image: error: $*" >&2; exit 1; }
# Everything but another kernel's headers comes with qemu/scripts/deps.sh.
bash "$SRC/qemu/scripts/deps.sh" || die "qemu/scripts/deps.sh failed (see above)"
if [ ! -d "/usr/src/linux-headers-$KVER" ]; then
	echo "build-image: installing linux-headers-$KVER"
	$SUDO apt-get install -y -q --no-install-recommends "linux-headers-$KVER" ||
		die "cannot install linux-headers-$KVER (apt-get update? network?)"
fi

# Debian's kernel image package (vmlinuz + modules)
kdir=$CACHE/kernel-$KVER
if [ ! -f "$kdir/.done" ]; then
	(cd "$CACHE/debs" && apt-get download "linux-image-$KVER") ||
		die "cannot download linux-image-$KVER from Debian's archive (network? apt-get update?)"
	deb=$(ls "$CACHE"/debs/linux-image-"$KVER"_*.deb | tail -n1)
	rm -rf "$kdir" && mkdir -p "$kdir"
	dpkg-deb -x "$deb" "$kdir"
	# Debian 13's kernel packages put the modules in /usr/lib/modules
	if [ -d "$kdir/usr/lib/modules" ] && [ ! -e "$kdir/lib/modules" ]; then
		mkdir -p "$kdir/lib"
		mv "$kdir/usr/lib/modules" "$kdir/lib/modules"
	fi
	depmod -b "$kdir" "$KVER"
	touch "$kdir/.done"
fi
cp "$kdir/boot/vmlinuz-$KVER" "$OUT/vmlinuz"

# Our driver, built out of tree against Debian's headers
mkdir -p "$OUT/module"
cp "$SRC"/guest/linux/*.c "$SRC"/guest/linux/*.h "$SRC"/guest/linux/Kbuild "$OUT/module/"
make -s -C "/usr/src/linux-headers-$KVER" M="$OUT/module" modules
# v4l2-mem2mem.ko and vicodec.ko (the kernel's reference codec driver, for
# comparing v4l2-compliance results): Debian does not ship them, so build
# them out of tree from Debian's linux-source package.
srcver=$(echo "$KVER" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
ksrc=$CACHE/src-$srcver/linux-source-$srcver
if [ ! -f "$CACHE/src-$srcver/.done" ]; then
	(cd "$CACHE/debs" && apt-get download "linux-source-$srcver") ||
		die "cannot download linux-source-$srcver from Debian's archive (network? apt-get update?)"
	sdeb=$(ls "$CACHE"/debs/linux-source-"$srcver"_*.deb | tail -n1)
	rm -rf "$CACHE/src-$srcver" && mkdir -p "$CACHE/src-$srcver"
	dpkg-deb --fsys-tarfile "$sdeb" |
		tar -xO "./usr/src/linux-source-$srcver.tar.xz" | xz -dc |
		tar -x -C "$CACHE/src-$srcver" --wildcards \
			"linux-source-$srcver/drivers/media/v4l2-core/v4l2-mem2mem.c" \
			"linux-source-$srcver/drivers/media/test-drivers/vicodec/*"
	touch "$CACHE/src-$srcver/.done"
fi
rm -rf "$OUT/vicodec" && mkdir -p "$OUT/vicodec"
cp "$ksrc/drivers/media/v4l2-core/v4l2-mem2mem.c" \
	"$ksrc"/drivers/media/test-drivers/vicodec/*.[ch] "$OUT/vicodec/"
cat > "$OUT/vicodec/Kbuild" <<'KB'
obj-m := v4l2-mem2mem.o vicodec.o
vicodec-objs := vicodec-core.o codec-fwht.o codec-v4l2-fwht.o
KB
make -s -C "/usr/src/linux-headers-$KVER" M="$OUT/vicodec" modules

# Guest test client (static; the DRM uapi headers are libdrm-dev's copies,
# since Debian 12's linux-libc-dev ships none)
drm_cflags=$(pkg-config --cflags libdrm) ||
	{ echo "build-image: no libdrm headers: run 'make deps' (installs libdrm-dev)" >&2; exit 1; }
gcc -O2 -Wall -static $drm_cflags -o "$OUT/vvclient" "$SRC/tests/guest/vvclient.c"

# Root file system
root=$OUT/root
rm -rf "$root"
mkdir -p "$root"/bin "$root"/sbin "$root"/usr/bin "$root"/usr/sbin "$root"/proc \
	"$root"/sys "$root"/dev "$root"/tmp "$root"/data "$root"/out "$root"/etc \
	"$root"/lib/modules/"$KVER"/extra
cp /bin/busybox "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
cp "$SRC/guest/image/init" "$root/init"
chmod +x "$root/init"

# Kernel modules: what we load plus their dependencies (from modules.dep);
# virtio-gpu (with drm, drm_kms_helper, drm_shmem_helper, virtio_dma_buf)
# for decoding into virtio-gpu buffers
mods="virtio_pci virtio_blk videodev videobuf2-common videobuf2-v4l2
	videobuf2-memops videobuf2-dma-sg videobuf2-dma-contig virtio_dma_buf
	videobuf2-vmalloc vivid virtio-gpu"
kmods=$kdir/lib/modules/$KVER
want=
for m in $mods; do
	p=$(grep -E "(^|/)$m\.ko(\.xz)?:" "$kmods/modules.dep" | head -n1)
	if [ -z "$p" ]; then
		# built into this kernel?
		mu=$(echo "$m" | tr - _)
		grep -q -E "(^|/)($m|$mu)\.ko$" "$kmods/modules.builtin" && continue
		echo "build-image: module $m not in $KVER" >&2
		exit 1
	fi
	want="$want ${p%%:*} ${p#*:}"
done
for p in $(echo $want | tr ' ' '\n' | sort -u); do
	mkdir -p "$root/lib/modules/$KVER/$(dirname "$p")"
	case $p in
	*.xz) xz -dc "$kmods/$p" > "$root/lib/modules/$KVER/${p%.xz}" ;;
	*) cp "$kmods/$p" "$root/lib/modules/$KVER/$p" ;;
	esac
done
cp "$kmods"/modules.order "$kmods"/modules.builtin* "$root/lib/modules/$KVER/" 2>/dev/null || true
cp "$OUT/module/virtio_video.ko" "$OUT/vicodec/v4l2-mem2mem.ko" \
	"$OUT/vicodec/vicodec.ko" "$root/lib/modules/$KVER/extra/"
depmod -b "$root" "$KVER"

# v4l-utils and their shared libraries
for b in /usr/bin/v4l2-ctl /usr/bin/v4l2-compliance; do
	cp "$b" "$root/usr/bin/"
	for l in $(ldd "$b" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^\t\(\/[^ ]*\) .*/\1/p'); do
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
done
cp "$OUT/vvclient" "$root/usr/bin/vvclient"
cp "$SRC"/tests/guest/*.sh "$root/usr/bin/" 2>/dev/null || true

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
echo "$KVER" > "$OUT/kernel-version"
echo "build-image: $OUT/vmlinuz $OUT/initrd.img ($(du -h "$OUT/initrd.img" | cut -f1))"
