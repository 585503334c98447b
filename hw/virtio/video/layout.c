/*
 * virtio-video engine: raw frame layouts.
 *
 * The device decides the layout of raw frames in guest buffers and reports
 * it through GET_PARAMS; this is the one place that computes it.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-layout.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

bool vv_format_is_raw(uint32_t format)
{
    return format >= VIRTIO_VIDEO_FORMAT_RAW_MIN &&
           format <= VIRTIO_VIDEO_FORMAT_RAW_MAX;
}

bool vv_layout_fill(VvParams *p, uint32_t format, uint32_t width,
                    uint32_t height)
{
    uint32_t w, h;

    if (!vv_format_is_raw(format) || !width || !height ||
        width > VV_LAYOUT_MAX_DIM || height > VV_LAYOUT_MAX_DIM) {
        return false;
    }
    /* 16-aligned buffers: whole macroblocks, SIMD-friendly rows */
    w = ALIGN_UP(width, 16);
    h = ALIGN_UP(height, 16);

    p->format = format;
    p->frame_width = w;
    p->frame_height = h;
    p->crop.left = 0;
    p->crop.top = 0;
    p->crop.width = width;
    p->crop.height = height;
    memset(p->plane_formats, 0, sizeof(p->plane_formats));

    switch (format) {
    case VIRTIO_VIDEO_FORMAT_NV12:
        p->num_planes = 2;
        p->plane_formats[0] = (struct virtio_video_plane_format){ w * h, w };
        p->plane_formats[1] =
            (struct virtio_video_plane_format){ w * h / 2, w };
        break;
    case VIRTIO_VIDEO_FORMAT_YUV420:
    case VIRTIO_VIDEO_FORMAT_YVU420:
        p->num_planes = 3;
        p->plane_formats[0] = (struct virtio_video_plane_format){ w * h, w };
        p->plane_formats[1] =
            (struct virtio_video_plane_format){ w / 2 * h / 2, w / 2 };
        p->plane_formats[2] = p->plane_formats[1];
        break;
    default:    /* ARGB8888, BGRA8888 */
        p->num_planes = 1;
        p->plane_formats[0] =
            (struct virtio_video_plane_format){ w * 4 * h, w * 4 };
        break;
    }
    return true;
}

size_t vv_layout_size(const VvParams *p)
{
    size_t size = 0;
    uint32_t i;

    for (i = 0; i < p->num_planes && i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        size += p->plane_formats[i].plane_size;
    }
    return size;
}
