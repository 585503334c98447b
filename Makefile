# virtio-video for QEMU: front door.
#
#   make                 install missing packages, fetch QEMU 10.0.x, build
#                        build/qemu-system-x86_64 with the device
#   make check           everything `make` does, then every test
#   make unit            the engine's standalone build and unit tests only
#   make check-media MEDIA=<dir>
#                        decode every clip in <dir> that has a
#                        <clip>.nv12.framemd5 (or .p010.framemd5) reference
#   make bench           the device against native libavcodec, side by side
#                        (BENCH_RUNS=n runs per case, median reported)
#   make clean           remove build/ (the source download and ccache stay)
#
# SPDX-License-Identifier: GPL-2.0-or-later

B := build
QEMU_TARGETS := qemu-system-x86_64 tests/qtest/qos-test

.PHONY: all deps qemu unit check check-media bench clean

all: qemu

deps:
	@bash qemu/scripts/deps.sh

qemu: deps
	@bash qemu/scripts/build.sh $(QEMU_TARGETS)

$(B)/unit/build.ninja: | deps
	@meson setup $(B)/unit . >/dev/null

unit: $(B)/unit/build.ninja
	@ninja -C $(B)/unit >/dev/null

check: qemu unit
	@bash tests/run-check.sh

check-media: qemu
	@test -n "$(MEDIA)" || { echo "usage: make check-media MEDIA=<dir>" >&2; exit 2; }
	@test -d "$(MEDIA)" || { echo "check-media: $(MEDIA) is not a folder" >&2; exit 2; }
	@VIRTIO_VIDEO_MEDIA="$(abspath $(MEDIA))" bash tests/run-check.sh media

BENCH_RUNS ?= 3
bench: qemu
	@bash tests/run-bench.sh $(BENCH_RUNS)

clean:
	rm -rf $(B)
