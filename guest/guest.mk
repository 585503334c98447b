# Guest-side targets of virtio-video (included by the top-level Makefile).
#
#   make demo            boot a Debian guest under TCG, decode a clip through
#                        the guest driver and the device, write the frames
#                        as a PNG contact sheet under build/demo/
#   make check-guest     boot tests: driver + device end to end (decode
#                        MD5s, encode PSNR, v4l2-compliance, drain, seek,
#                        reload); ends "N passed, N failed"
#   make check-guest-bpo  the same boot tests on Debian's bookworm-backports
#                        kernel (6.12) instead of bookworm's 6.1
#   make check-guest-apps  stock ffmpeg (h264_v4l2m2m) in a larger Debian
#                        guest decodes through the driver (slow, cached)
#   make guest-image     only build build/guest/{vmlinuz,initrd.img}
#
# SPDX-License-Identifier: GPL-2.0-or-later

VV_GUEST_MK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
VV_GUEST_ROOT := $(abspath $(VV_GUEST_MK_DIR)/..)
# what must be built first (the top-level Makefile's QEMU target)
VV_GUEST_DEPS ?= qemu

.PHONY: guest-image check-guest check-guest-bpo check-guest-apps demo

guest-image:
	@$(VV_GUEST_ROOT)/guest/image/build-image.sh $(VV_GUEST_ROOT)

check-guest: $(VV_GUEST_DEPS)
	@$(VV_GUEST_ROOT)/tests/guest/run-guest-tests.sh

check-guest-bpo: $(VV_GUEST_DEPS)
	@VV_GUEST_KERNEL=backports $(VV_GUEST_ROOT)/tests/guest/run-guest-tests.sh

check-guest-apps: $(VV_GUEST_DEPS)
	@$(VV_GUEST_ROOT)/tests/guest/run-guest-apps.sh

demo: $(VV_GUEST_DEPS)
	@$(VV_GUEST_ROOT)/guest/demo.sh
