/*
 * virtio-video engine: libavcodec backend internals.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_LAVC_H
#define HW_VIRTIO_VIDEO_VV_LAVC_H

#include <stdbool.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>

typedef struct VvLavcFormat {
    uint32_t format;            /* VIRTIO_VIDEO_FORMAT_* */
    enum AVCodecID codec_id;
    uint32_t min_size;
    uint32_t max_w;
    uint32_t max_h;
    bool encodable;             /* in the encoder's scope */
    bool byte_stream;           /* parsed from arbitrary chunks */
    bool extension;             /* not in v3: offered only on request */
} VvLavcFormat;

/* The table entry for a coded VIRTIO_VIDEO_FORMAT_*, or NULL. */
const VvLavcFormat *vv_lavc_format(uint32_t format);
/* libav* pixel format of a raw VIRTIO_VIDEO_FORMAT_*, or AV_PIX_FMT_NONE. */
enum AVPixelFormat vv_lavc_pix_fmt(uint32_t raw_format);
/* First usable software decoder or encoder for @id, or NULL. */
const AVCodec *vv_lavc_find_codec(enum AVCodecID id, bool encoder);

#endif
