/*
 * virtio-video engine: libavcodec backend.
 *
 * Capabilities are probed from the linked FFmpeg: a coded format is offered
 * only if a software codec for it is present (and, for decoders, actually
 * opens); raw formats only if there is a conversion path to or from the
 * codec's native layout.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "standard-headers/linux/virtio_video.h"
#include "vv-codec.h"
#include "vv-lavc.h"

/*
 * The coded formats the device can offer, in the order they are listed (the
 * guest driver starts every stream with the first one).  max_w/max_h are the
 * bitstream syntax limits, clamped to 8192.
 */
static const VvLavcFormat lavc_formats[] = {
    { VIRTIO_VIDEO_FORMAT_H264, AV_CODEC_ID_H264, 16, 8192, 8192,
      .encodable = true, .byte_stream = true },
    { VIRTIO_VIDEO_FORMAT_HEVC, AV_CODEC_ID_HEVC, 16, 8192, 8192,
      .encodable = true, .byte_stream = true },
    { VIRTIO_VIDEO_FORMAT_VP8, AV_CODEC_ID_VP8, 16, 8192, 8192,
      .encodable = true },
    { VIRTIO_VIDEO_FORMAT_VP9, AV_CODEC_ID_VP9, 16, 8192, 8192,
      .encodable = true },
    { VIRTIO_VIDEO_FORMAT_MPEG2, AV_CODEC_ID_MPEG2VIDEO, 16, 8192, 8192,
      .byte_stream = true },
    { VIRTIO_VIDEO_FORMAT_MPEG4, AV_CODEC_ID_MPEG4, 16, 8191, 8191,
      .byte_stream = true },
    { VIRTIO_VIDEO_FORMAT_AV1, AV_CODEC_ID_AV1, 16, 8192, 8192,
      .extension = true },
};
/* Raw formats and the pixel format each one is in libav* terms. */
static const struct {
    uint32_t format;
    enum AVPixelFormat pix_fmt;
} lavc_raw_formats[] = {
    { VIRTIO_VIDEO_FORMAT_NV12,     AV_PIX_FMT_NV12 },
    { VIRTIO_VIDEO_FORMAT_YUV420,   AV_PIX_FMT_YUV420P },
    { VIRTIO_VIDEO_FORMAT_YVU420,   AV_PIX_FMT_YUV420P },  /* U, V swapped */
    /* V4L2 'BA24': bytes A, R, G, B */
    { VIRTIO_VIDEO_FORMAT_ARGB8888, AV_PIX_FMT_ARGB },
    /* V4L2 'AR24': bytes B, G, R, A */
    { VIRTIO_VIDEO_FORMAT_BGRA8888, AV_PIX_FMT_BGRA },
};

/* Frame rates an encoder accepts (V4L2 S_PARM needs a range). */
static const VvRange lavc_enc_rates = { 1, 240, 1 };

const VvLavcFormat *vv_lavc_format(uint32_t format)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(lavc_formats); i++) {
        if (lavc_formats[i].format == format) {
            return &lavc_formats[i];
        }
    }
    return NULL;
}

enum AVPixelFormat vv_lavc_pix_fmt(uint32_t raw_format)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(lavc_raw_formats); i++) {
        if (lavc_raw_formats[i].format == raw_format) {
            return lavc_raw_formats[i].pix_fmt;
        }
    }
    return AV_PIX_FMT_NONE;
}

static bool codec_is_software(const AVCodec *c)
{
    return !(c->capabilities & (AV_CODEC_CAP_HARDWARE | AV_CODEC_CAP_HYBRID |
                                AV_CODEC_CAP_EXPERIMENTAL));
}

static bool codec_has_pix_fmt(const AVCodec *c, enum AVPixelFormat fmt)
{
    const enum AVPixelFormat *p = NULL;

    /* FFmpeg 7.1 deprecates AVCodec.pix_fmts for this call */
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(61, 13, 100)
    if (avcodec_get_supported_config(NULL, c, AV_CODEC_CONFIG_PIX_FORMAT, 0,
                                     (const void **)&p, NULL) < 0) {
        return false;
    }
#else
    p = c->pix_fmts;
#endif
    for (; p && *p != AV_PIX_FMT_NONE; p++) {
        if (*p == fmt) {
            return true;
        }
    }
    return false;
}

/* A decoder is usable if it is software and really opens. */
static bool decoder_usable(const AVCodec *c)
{
    AVCodecContext *ctx;
    bool ok;

    if (!codec_is_software(c)) {
        return false;
    }
    ctx = avcodec_alloc_context3(c);
    if (!ctx) {
        return false;
    }
    ok = avcodec_open2(ctx, c, NULL) == 0;
    avcodec_free_context(&ctx);
    return ok;
}

/* An encoder is usable if it is software and takes 8-bit 4:2:0 frames. */
static bool encoder_usable(const AVCodec *c)
{
    return codec_is_software(c) &&
           (codec_has_pix_fmt(c, AV_PIX_FMT_YUV420P) ||
            codec_has_pix_fmt(c, AV_PIX_FMT_NV12));
}

const AVCodec *vv_lavc_find_codec(enum AVCodecID id, bool encoder)
{
    const AVCodec *c;
    void *it = NULL;

    while ((c = av_codec_iterate(&it))) {
        if (c->id != id || c->type != AVMEDIA_TYPE_VIDEO) {
            continue;
        }
        if (encoder ? (av_codec_is_encoder(c) && encoder_usable(c))
                    : (av_codec_is_decoder(c) && decoder_usable(c))) {
            return c;
        }
    }
    return NULL;
}

/* Can frames be converted between 8-bit 4:2:0 and @raw's pixel format? */
static bool raw_format_available(enum AVPixelFormat pix_fmt, VvMode mode)
{
    if (pix_fmt == AV_PIX_FMT_YUV420P || pix_fmt == AV_PIX_FMT_NV12) {
        /* plane copies of our own, no library needed */
        return true;
    }
    if (mode == VV_MODE_DECODER) {
        return sws_isSupportedInput(AV_PIX_FMT_YUV420P) &&
               sws_isSupportedOutput(pix_fmt);
    }
    /* The encoder takes 4:2:0 YUV layouts only. */
    return false;
}

static bool lavc_probe_uncached(const VvEngineConfig *cfg, VvCaps *caps,
                                char **errmsg)
{
    VvMode mode = cfg->mode;
    unsigned coded_q = mode == VV_MODE_DECODER ? VV_QUEUE_INPUT
                                               : VV_QUEUE_OUTPUT;
    unsigned raw_q = !coded_q;
    uint32_t raw_min = 0, raw_max_w = 0, raw_max_h = 0;
    size_t i;
    unsigned c, r;

    memset(caps, 0, sizeof(*caps));
    for (i = 0; i < G_N_ELEMENTS(lavc_formats); i++) {
        const VvLavcFormat *lf = &lavc_formats[i];
        VvFormatCaps *f;
        VvFrameCaps *fr;
        VvRange w, h;

        if (mode == VV_MODE_ENCODER && !lf->encodable) {
            continue;
        }
        if (lf->extension && !(mode == VV_MODE_DECODER && cfg->av1)) {
            continue;
        }
        if (!vv_lavc_find_codec(lf->codec_id, mode == VV_MODE_ENCODER)) {
            continue;
        }
        w = (VvRange){ lf->min_size, lf->max_w, 1 };
        h = (VvRange){ lf->min_size, lf->max_h, 1 };
        if (av_image_check_size(w.max, h.max, 0, NULL) < 0) {
            continue;
        }
        f = vv_caps_add_format(&caps->queue[coded_q], lf->format,
                               VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1);
        fr = vv_caps_add_frame(f, w, h);
        if (mode == VV_MODE_ENCODER) {
            vv_caps_add_rate(fr, lavc_enc_rates);
        }
        raw_min = raw_min ? MIN(raw_min, lf->min_size) : lf->min_size;
        raw_max_w = MAX(raw_max_w, lf->max_w);
        raw_max_h = MAX(raw_max_h, lf->max_h);
    }
    if (!caps->queue[coded_q].num_formats) {
        *errmsg = g_strdup_printf("the linked libavcodec has no usable %s "
                                  "for any supported format",
                                  mode == VV_MODE_DECODER ? "decoder"
                                                          : "encoder");
        return false;
    }

    for (i = 0; i < G_N_ELEMENTS(lavc_raw_formats); i++) {
        VvFormatCaps *f;
        VvFrameCaps *fr;

        if (!raw_format_available(lavc_raw_formats[i].pix_fmt, mode)) {
            continue;
        }
        /* 4:2:0 buffers have even dimensions; crop gives the visible size */
        f = vv_caps_add_format(&caps->queue[raw_q], lavc_raw_formats[i].format,
                               VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER, 1);
        fr = vv_caps_add_frame(f, (VvRange){ raw_min, raw_max_w, 2 },
                               (VvRange){ raw_min, raw_max_h, 2 });
        if (mode == VV_MODE_ENCODER) {
            vv_caps_add_rate(fr, lavc_enc_rates);
        }
    }

    /* Every raw format converts to/from every codec's 4:2:0 frames. */
    for (c = 0; c < caps->queue[coded_q].num_formats; c++) {
        for (r = 0; r < caps->queue[raw_q].num_formats; r++) {
            if (mode == VV_MODE_DECODER) {
                vv_caps_pair(caps, c, r);
            } else {
                vv_caps_pair(caps, r, c);
            }
        }
    }
    vv_caps_prune(caps);
    return true;
}

/*
 * The linked libraries do not change while the process runs: probe each
 * configuration once (opening every decoder takes a while).
 */
static bool lavc_probe(const VvEngineConfig *cfg, VvCaps *caps,
                       char **errmsg)
{
    static GMutex lock;
    static VvCaps cache[2][2];
    static bool cached[2][2];
    unsigned m = cfg->mode == VV_MODE_ENCODER, a = !!cfg->av1;
    bool ok = true;

    g_mutex_lock(&lock);
    if (!cached[m][a]) {
        ok = lavc_probe_uncached(cfg, &cache[m][a], errmsg);
        cached[m][a] = ok;
    }
    if (ok) {
        *caps = cache[m][a];
    }
    g_mutex_unlock(&lock);
    return ok;
}

const VvBackend vv_backend_lavc = {
    .name = "libavcodec",
    .probe = lavc_probe,
};
