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

/*
 * FFmpeg 6.1 renamed FF_PROFILE_* to AV_PROFILE_* and FFmpeg 8 removed the
 * old names; Debian 12's FFmpeg 5.1 has only the old ones.
 */
#ifndef AV_PROFILE_UNKNOWN
#define AV_PROFILE_UNKNOWN                  FF_PROFILE_UNKNOWN
#define AV_PROFILE_H264_BASELINE            FF_PROFILE_H264_BASELINE
#define AV_PROFILE_H264_CONSTRAINED_BASELINE \
    FF_PROFILE_H264_CONSTRAINED_BASELINE
#define AV_PROFILE_H264_MAIN                FF_PROFILE_H264_MAIN
#define AV_PROFILE_H264_EXTENDED            FF_PROFILE_H264_EXTENDED
#define AV_PROFILE_H264_HIGH                FF_PROFILE_H264_HIGH
#define AV_PROFILE_H264_HIGH_10             FF_PROFILE_H264_HIGH_10
#define AV_PROFILE_H264_HIGH_422            FF_PROFILE_H264_HIGH_422
#define AV_PROFILE_H264_HIGH_444_PREDICTIVE FF_PROFILE_H264_HIGH_444_PREDICTIVE
#define AV_PROFILE_H264_MULTIVIEW_HIGH      FF_PROFILE_H264_MULTIVIEW_HIGH
#define AV_PROFILE_H264_STEREO_HIGH         FF_PROFILE_H264_STEREO_HIGH
#define AV_PROFILE_HEVC_MAIN                FF_PROFILE_HEVC_MAIN
#define AV_PROFILE_HEVC_MAIN_10             FF_PROFILE_HEVC_MAIN_10
#define AV_PROFILE_HEVC_MAIN_STILL_PICTURE  FF_PROFILE_HEVC_MAIN_STILL_PICTURE
#define AV_PROFILE_VP9_0                    FF_PROFILE_VP9_0
#define AV_PROFILE_VP9_1                    FF_PROFILE_VP9_1
#define AV_PROFILE_VP9_2                    FF_PROFILE_VP9_2
#define AV_PROFILE_VP9_3                    FF_PROFILE_VP9_3
#endif

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
