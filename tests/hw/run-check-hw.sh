#!/bin/bash
# make check-hw from a folder tests/hw/bundle.sh made: on a GPU machine
# that has neither the project's build nor its libraries.
#
# SPDX-License-Identifier: GPL-2.0-or-later
d=$(cd "$(dirname "$0")" && pwd)
export QEMU=$d/qemu-system-x86_64 QOS=$d/qos-test
export VIRTIO_VIDEO_MEDIA=$d/media VIRTIO_VIDEO_TOP=$d
exec bash "$d/tests/hw/check-hw.sh" "$@"
