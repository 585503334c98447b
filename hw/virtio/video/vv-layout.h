/*
 * virtio-video engine: raw frame layouts.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_LAYOUT_H
#define HW_VIRTIO_VIDEO_VV_LAYOUT_H

#include "vv-protocol.h"

/* Largest frame dimension the device handles (the capability maximum). */
#define VV_LAYOUT_MAX_DIM   8192

bool vv_format_is_raw(uint32_t format);

/*
 * Fill @p's format, frame size, crop and planes for @format frames with a
 * visible size of @width x @height.  Returns false for a non-raw format or
 * a size out of range.
 */
bool vv_layout_fill(VvParams *p, uint32_t format, uint32_t width,
                    uint32_t height);

/* Bytes a buffer needs for @p's planes, back to back. */
size_t vv_layout_size(const VvParams *p);

#endif
