#!/bin/bash
# Pack what make check-hw needs into one folder that runs on another
# x86-64 Linux whatever its libraries (a GPU machine with its own OS
# image and no network): QEMU and qos-test as built here, every shared
# library they load (glibc's loader included, so none of the other
# system's is used), QEMU's firmware, the reference clips, and the
# scripts.  NVIDIA's libraries (libcuda, libnvcuvid) stay the other
# machine's: the wrappers look for them there after the bundle's own.
#
#   tests/hw/bundle.sh OUT          then, there: OUT/run-check-hw.sh
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
B=${VV_BUILD_DIR:-$top/build}
out=${1:?usage: $0 OUT}
media=${VIRTIO_VIDEO_MEDIA:-$top/../shared/media}

rm -rf "$out"
mkdir -p "$out"/{bin,lib,share,media,tests/hw}
for exe in qemu-system-x86_64 tests/qtest/qos-test; do
    strip -o "$out/bin/$(basename "$exe")" "$B/qemu-build/$exe"
done
# the shared libraries, as the loader here resolves them
for exe in "$out"/bin/*; do
    ldd "$exe" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}'
done | sort -u | while read -r lib; do
    cp -L "$lib" "$out/lib/"
done
# QEMU's firmware for -M pc (qtests start plain PC machines), as build.sh
# links Debian's next to the binary; and its keymaps
for f in "$B"/qemu-build/qemu-bundle/usr/local/share/qemu/*; do
    case $f in *.bin) cp -L "$f" "$out/share/" ;; esac
done
cp -rL "$B/qemu-build/pc-bios/keymaps" "$out/share/"
cp -L "$media"/* "$out/media/"
cp "$top/tests/hw/check-hw.sh" "$out/tests/hw/"
cp "$top/tests/backend-env.sh" "$out/tests/"
cp "$top/tests/hw/run-check-hw.sh" "$out/"

for exe in qemu-system-x86_64 qos-test; do
    cat > "$out/$exe" <<EOF
#!/bin/sh
# $exe with the bundle's libraries; the host's NVIDIA libraries after them
d=\$(dirname "\$(readlink -f "\$0")")
exec "\$d/lib/ld-linux-x86-64.so.2" \\
    --library-path "\$d/lib:/usr/local/nvidia/lib64:/usr/lib/x86_64-linux-gnu:/usr/lib64" \\
    "\$d/bin/$exe" $([ $exe = qemu-system-x86_64 ] && echo '-L "$d/share"') "\$@"
EOF
    chmod +x "$out/$exe"
done
du -sh "$out"
