# virtio-video for QEMU: front door.
#
#   make                 install missing packages, fetch QEMU 10.0.x, build
#                        build/qemu-system-x86_64 with the device
#   make demo            boot a Debian guest (TCG), decode a clip through the
#                        guest driver and the device: frames, fps and a PNG
#                        contact sheet in build/demo/
#   make check           everything `make` does, then every test (engine
#                        unit tests, qtests, command line, guest boot tests)
#   make unit            the engine's standalone build and unit tests only
#   make check-media MEDIA=<dir>
#                        decode every clip in <dir> that has a
#                        <clip>.nv12.framemd5 (or .p010.framemd5) reference
#   make bench           the device against native libavcodec, side by side
#                        (BENCH_RUNS=n runs per case, median reported)
#   make check-asan      QEMU and the engine built with ASan and UBSan
#                        (build/asan, build/unit-asan), then every test but
#                        the guest boot tests
#   make check-guest     the guest boot tests alone (driver + device end to end)
#   make check-guest-bpo the same on Debian's 6.12 backports kernel
#   make check-guest-apps  stock ffmpeg/GStreamer in a larger Debian guest
#   make fuzz            libFuzzer on the engine, then QEMU's generic-fuzz on
#                        the device (decoder, encoder), each for FUZZ_SECONDS
#                        (default 60); fails on any finding
#   make check-fresh [DIST=bookworm|trixie]
#                        in a clean Debian chroot made on the spot
#                        (debootstrap), run `make demo` and `make check` as
#                        the README says: catches a package that only this
#                        machine has (slow; run before resolving any change
#                        to dependencies, set-up or images)
#   make clean           remove build/ (the source download and ccache stay)
#
# SPDX-License-Identifier: GPL-2.0-or-later

B := build
QEMU_TARGETS := qemu-system-x86_64 tests/qtest/qos-test \
                tests/unit/test-virtio-dmabuf

.PHONY: all deps qemu unit check check-media check-asan bench fuzz clean \
	check-fresh check-hw

all: qemu

deps:
	@bash qemu/scripts/deps.sh

qemu: deps
	@bash qemu/scripts/build.sh $(QEMU_TARGETS)

# meson and ninja print to a log; the log is shown when they fail.  A
# setup that did not finish (no build.ninja) is wiped and done again.
VV_QUIET = bash qemu/scripts/quiet.sh

$(B)/unit/build.ninja: | deps
	@rm -rf $(B)/unit
	@$(VV_QUIET) $(B)/unit-setup.log meson setup $(B)/unit .

unit: $(B)/unit/build.ninja
	@$(VV_QUIET) $(B)/unit.log ninja -C $(B)/unit

check: qemu unit
	@bash tests/run-check.sh

# BACKEND=auto|libavcodec|vaapi|cuda (tests/backend-env.sh): the device's
# codec backend for check-media and bench; vaapi without a GPU runs with the
# VA test driver, which make unit builds.
BACKEND ?=
check-media: qemu unit
	@test -n "$(MEDIA)" || { echo "usage: make check-media MEDIA=<dir> [BACKEND=...]" >&2; exit 2; }
	@test -d "$(MEDIA)" || { echo "check-media: $(MEDIA) is not a folder" >&2; exit 2; }
	@BACKEND=$(BACKEND) VIRTIO_VIDEO_MEDIA="$(abspath $(MEDIA))" bash tests/run-check.sh media

# Sanitizers: UBSan stops at the first report; LeakSanitizer runs on the
# engine's tests (libraries' process-lifetime allocations suppressed), not
# on QEMU, whose exit under qtest is a kill.
SAN_ENV := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp
check-asan: deps
	@VV_BUILD_DIR=$(CURDIR)/$(B)/asan \
		VV_CONFIGURE_EXTRA="--enable-asan --enable-ubsan" \
		bash qemu/scripts/build.sh $(QEMU_TARGETS)
	@test -f $(B)/unit-asan/build.ninja || { rm -rf $(B)/unit-asan && \
		$(VV_QUIET) $(B)/unit-asan-setup.log meson setup $(B)/unit-asan . \
		-Db_sanitize=address,undefined -Db_lundef=false; }
	@$(VV_QUIET) $(B)/unit-asan.log ninja -C $(B)/unit-asan
	@$(SAN_ENV) VV_SANITIZE=1 VV_BUILD_DIR=$(CURDIR)/$(B)/asan \
		VV_UNIT_DIR=$(CURDIR)/$(B)/unit-asan bash tests/run-check.sh \
		unit qtest cli

BENCH_RUNS ?= 7
bench: qemu unit
	@BACKEND=$(BACKEND) bash tests/run-bench.sh $(BENCH_RUNS)

# On a host with a GPU: decode (and encode) the reference clips through the
# device's hardware backends, every frame compared (tests/hw/check-hw.sh).
check-hw: qemu unit
	@bash tests/hw/check-hw.sh

FUZZ_SECONDS ?= 60
fuzz: unit
	@bash tests/run-fuzz.sh $(FUZZ_SECONDS)

# A clean Debian chroot (debootstrap) runs the README's commands: proves
# that the scripts install everything (DIST=bookworm or trixie).
DIST ?= bookworm
check-fresh:
	@bash tests/fresh/check-fresh.sh $(DIST)

clean:
	rm -rf $(B)

# make demo, check-guest, check-guest-bpo, check-guest-apps, guest-image
include guest/guest.mk
