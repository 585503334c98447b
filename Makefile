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
#   make check-asan      QEMU and the engine built with ASan and UBSan
#                        (build/asan, build/unit-asan), then every test
#   make fuzz            libFuzzer on the engine for FUZZ_SECONDS (default
#                        60), seeded from the unit tests' command streams
#   make clean           remove build/ (the source download and ccache stay)
#
# SPDX-License-Identifier: GPL-2.0-or-later

B := build
QEMU_TARGETS := qemu-system-x86_64 tests/qtest/qos-test

.PHONY: all deps qemu unit check check-media check-asan bench fuzz clean

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

# Sanitizers: UBSan stops at the first report; LeakSanitizer runs on the
# engine's tests (libraries' process-lifetime allocations suppressed), not
# on QEMU, whose exit under qtest is a kill.
SAN_ENV := UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp
check-asan: deps
	@VV_BUILD_DIR=$(CURDIR)/$(B)/asan \
		VV_CONFIGURE_EXTRA="--enable-asan --enable-ubsan" \
		bash qemu/scripts/build.sh $(QEMU_TARGETS)
	@test -f $(B)/unit-asan/build.ninja || meson setup $(B)/unit-asan . \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(B)/unit-asan >/dev/null
	@$(SAN_ENV) VV_SANITIZE=1 VV_BUILD_DIR=$(CURDIR)/$(B)/asan \
		VV_UNIT_DIR=$(CURDIR)/$(B)/unit-asan bash tests/run-check.sh

BENCH_RUNS ?= 3
bench: qemu
	@bash tests/run-bench.sh $(BENCH_RUNS)

FUZZ_SECONDS ?= 60
FUZZ_DIR := $(B)/fuzz
fuzz: unit
	@command -v clang >/dev/null || { echo "fuzz: installing clang"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null; }
	@test -f $(FUZZ_DIR)/build.ninja || CC=clang meson setup $(FUZZ_DIR) . \
		-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(FUZZ_DIR) fuzz-vv-engine >/dev/null
	@mkdir -p $(FUZZ_DIR)/seeds $(FUZZ_DIR)/corpus
	@if [ -z "$$(ls $(FUZZ_DIR)/seeds)" ]; then \
		echo "fuzz: recording seeds from the unit tests"; \
		export VIRTIO_VIDEO_SEED_DIR=$(abspath $(FUZZ_DIR))/seeds; \
		$(B)/unit/tests/unit/test-vv-decode -p /vv/decode/test-25fps.vp9.ivf >/dev/null 2>&1; \
		$(B)/unit/tests/unit/test-vv-encode -p /vv/encode/bad-controls >/dev/null 2>&1; \
		$(B)/unit/tests/unit/test-vv-encode -p /vv/encode/force-keyframe/H264 >/dev/null 2>&1; \
		true; \
	fi
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	$(FUZZ_DIR)/fuzz-vv-engine -max_total_time=$(FUZZ_SECONDS) -max_len=262144 \
		-timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds

clean:
	rm -rf $(B)
