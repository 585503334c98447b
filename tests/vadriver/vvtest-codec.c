/*
 * virtio-video VA-API test driver: the software codecs behind it
 *
 * VP9 profile 0 decoding with libavcodec's native "vp9" decoder and
 * encoding with libavcodec's "libvpx-vp9" wrapper, plus the pixel copies
 * between VA surfaces (NV12) and libavcodec frames (yuv420p).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/pixfmt.h>

#include "vvtest-drv.h"

struct VvCodec {
    AVCodecContext *avctx;
    AVPacket *pkt;
    AVFrame *frame;
    bool encoder;
    /* encoder: what the open libvpx instance was configured with */
    uint32_t width;
    uint32_t height;
    bool cqp;
    int quantizer;
    uint32_t bitrate;
    int64_t pts;
    uint8_t *out;
    size_t out_cap;
};

/* ---- pixel copies ---- */

void vv_view_copy(const VvView *dst, uint32_t dx, uint32_t dy,
                  const VvView *src, uint32_t sx, uint32_t sy,
                  uint32_t w, uint32_t h)
{
    uint32_t cw = (w + 1) / 2;
    uint32_t ch = (h + 1) / 2;
    uint32_t row, col;

    for (row = 0; row < h; row++) {
        memcpy(dst->y + (size_t)(dy + row) * dst->ypitch + dx,
               src->y + (size_t)(sy + row) * src->ypitch + sx, w);
    }
    for (row = 0; row < ch; row++) {
        size_t doff = (size_t)(dy / 2 + row) * dst->cpitch +
                      (size_t)(dx / 2) * dst->cstep;
        size_t soff = (size_t)(sy / 2 + row) * src->cpitch +
                      (size_t)(sx / 2) * src->cstep;
        uint8_t *du = dst->u + doff, *dv = dst->v + doff;
        const uint8_t *su = src->u + soff, *sv = src->v + soff;

        if (dst->cstep == 1 && src->cstep == 1) {
            memcpy(du, su, cw);
            memcpy(dv, sv, cw);
            continue;
        }
        for (col = 0; col < cw; col++) {
            du[col * dst->cstep] = su[col * src->cstep];
            dv[col * dst->cstep] = sv[col * src->cstep];
        }
    }
}

static void frame_view(VvView *v, AVFrame *f)
{
    v->y = f->data[0];
    v->u = f->data[1];
    v->v = f->data[2];
    v->ypitch = f->linesize[0];
    v->cpitch = f->linesize[1];
    v->cstep = 1;
    v->width = f->width;
    v->height = f->height;
}

/* ---- VP9 uncompressed header ---- */

typedef struct VvBits {
    const uint8_t *data;
    size_t size;
    size_t pos;
} VvBits;

static int get_bits(VvBits *b, int n)
{
    int v = 0;

    while (n--) {
        if (b->pos >= b->size * 8) {
            return -1;
        }
        v = (v << 1) | ((b->data[b->pos >> 3] >> (7 - (b->pos & 7))) & 1);
        b->pos++;
    }
    return v;
}

static int skip_color_config(VvBits *b, int profile)
{
    int cs;

    if (profile >= 2 && get_bits(b, 1) < 0) {
        return -1;
    }
    cs = get_bits(b, 3);
    if (cs < 0) {
        return -1;
    }
    if (cs != 7) {                      /* not sRGB: colour range */
        if (get_bits(b, 1) < 0) {
            return -1;
        }
        if ((profile == 1 || profile == 3) && get_bits(b, 3) < 0) {
            return -1;                  /* subsampling x/y, reserved */
        }
    } else if ((profile == 1 || profile == 3) && get_bits(b, 1) < 0) {
        return -1;
    }
    return 0;
}

int vv_vp9_parse_header(const uint8_t *data, size_t size, VvVp9Header *h)
{
    VvBits b = { .data = data, .size = size };
    int lo, hi, v, error_res;

    memset(h, 0, sizeof(*h));
    if (get_bits(&b, 2) != 2) {         /* frame_marker */
        return -1;
    }
    lo = get_bits(&b, 1);
    hi = get_bits(&b, 1);
    if (lo < 0 || hi < 0) {
        return -1;
    }
    h->profile = (hi << 1) | lo;
    if (h->profile == 3 && get_bits(&b, 1) != 0) {
        return -1;
    }
    v = get_bits(&b, 1);
    if (v < 0) {
        return -1;
    }
    if (v) {
        h->show_existing_frame = true;
        h->frame_to_show = get_bits(&b, 3);
        return h->frame_to_show < 0 ? -1 : 0;
    }
    v = get_bits(&b, 1);                /* frame_type: 0 = key frame */
    h->show_frame = get_bits(&b, 1) == 1;
    error_res = get_bits(&b, 1);
    if (v < 0 || error_res < 0) {
        return -1;
    }
    if (v == 0) {
        h->key_frame = true;
        h->refresh_frame_flags = 0xff;
        return 0;
    }
    if (!h->show_frame) {
        v = get_bits(&b, 1);
        if (v < 0) {
            return -1;
        }
        h->intra_only = v;
    }
    if (!error_res && get_bits(&b, 2) < 0) {    /* reset_frame_context */
        return -1;
    }
    if (h->intra_only) {
        if (get_bits(&b, 24) != 0x498342) {     /* frame_sync_code */
            return -1;
        }
        if (h->profile > 0 && skip_color_config(&b, h->profile) < 0) {
            return -1;
        }
    }
    v = get_bits(&b, 8);
    if (v < 0) {
        return -1;
    }
    h->refresh_frame_flags = v;
    return 0;
}

/* ---- codec objects ---- */

static VvCodec *codec_alloc(void)
{
    VvCodec *c = calloc(1, sizeof(*c));

    if (!c) {
        return NULL;
    }
    c->pkt = av_packet_alloc();
    c->frame = av_frame_alloc();
    if (!c->pkt || !c->frame) {
        vv_codec_free(c);
        return NULL;
    }
    return c;
}

void vv_codec_free(VvCodec *c)
{
    if (!c) {
        return;
    }
    avcodec_free_context(&c->avctx);
    av_packet_free(&c->pkt);
    av_frame_free(&c->frame);
    free(c->out);
    free(c);
}

VvCodec *vv_vp9_decoder_new(void)
{
    const AVCodec *codec = avcodec_find_decoder_by_name("vp9");
    VvCodec *c;

    if (!codec) {
        return NULL;
    }
    c = codec_alloc();
    if (!c) {
        return NULL;
    }
    c->avctx = avcodec_alloc_context3(codec);
    if (!c->avctx) {
        vv_codec_free(c);
        return NULL;
    }
    c->avctx->thread_count = 1;
    if (avcodec_open2(c->avctx, codec, NULL) < 0) {
        vv_codec_free(c);
        return NULL;
    }
    return c;
}

/* Feed one packet and write every picture it yields into @out. */
static VAStatus decode_packet(VvCodec *c, const uint8_t *data, size_t size,
                              const VvView *out, int *pictures)
{
    int ret;

    av_packet_unref(c->pkt);
    if (av_new_packet(c->pkt, size) < 0) {
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    memcpy(c->pkt->data, data, size);
    ret = avcodec_send_packet(c->avctx, c->pkt);
    av_packet_unref(c->pkt);
    if (ret < 0) {
        return VA_STATUS_ERROR_DECODING_ERROR;
    }
    for (;;) {
        VvView src;

        ret = avcodec_receive_frame(c->avctx, c->frame);
        if (ret == AVERROR(EAGAIN)) {
            return VA_STATUS_SUCCESS;
        }
        if (ret < 0) {
            return VA_STATUS_ERROR_DECODING_ERROR;
        }
        if (c->frame->format != AV_PIX_FMT_YUV420P) {
            av_frame_unref(c->frame);
            return VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT;
        }
        if ((uint32_t)c->frame->width > out->width ||
            (uint32_t)c->frame->height > out->height) {
            av_frame_unref(c->frame);
            return VA_STATUS_ERROR_DECODING_ERROR;
        }
        frame_view(&src, c->frame);
        vv_view_copy(out, 0, 0, &src, 0, 0, src.width, src.height);
        av_frame_unref(c->frame);
        (*pictures)++;
    }
}

VAStatus vv_vp9_decode(VvCodec *c, const uint8_t *data, size_t size,
                       const VvView *out)
{
    VvVp9Header h;
    VAStatus st;
    uint8_t sef[2];
    size_t sef_size;
    int pictures = 0;
    int slot;

    if (vv_vp9_parse_header(data, size, &h) < 0) {
        return VA_STATUS_ERROR_DECODING_ERROR;
    }
    st = decode_packet(c, data, size, out, &pictures);
    if (st != VA_STATUS_SUCCESS) {
        return st;
    }
    if (h.show_existing_frame || h.show_frame || !h.refresh_frame_flags) {
        return VA_STATUS_SUCCESS;
    }

    /*
     * A hidden frame: the stream may show it later with a
     * show_existing_frame that never reaches the driver, so the surface
     * has to hold it now.  Ask the inner decoder for one of the slots the
     * frame went into: frame_marker, profile bits, (reserved bit),
     * show_existing_frame = 1, frame_to_show_map_idx.
     */
    for (slot = 0; !(h.refresh_frame_flags & (1 << slot)); slot++) {
        /* find the first refreshed slot */
    }
    if (h.profile == 3) {
        sef[0] = 0xb4 | (slot >> 1);
        sef[1] = (slot & 1) << 7;
        sef_size = 2;
    } else {
        sef[0] = 0x88 | ((h.profile & 1) << 5) | ((h.profile >> 1) << 4) |
                 slot;
        sef[1] = 0;
        sef_size = 1;
    }
    return decode_packet(c, sef, sef_size, out, &pictures);
}

VvCodec *vv_vp9_encoder_new(void)
{
    VvCodec *c = codec_alloc();

    if (c) {
        c->encoder = true;
    }
    return c;
}

/* libvpx quantizer (0..63) for a VP9 qindex (0..255). */
static int qindex_to_quantizer(int qindex)
{
    int q = (qindex + 2) / 4;

    return q < 0 ? 0 : q > 63 ? 63 : q;
}

static VAStatus encoder_open(VvCodec *c, const VvEncParams *p)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libvpx-vp9");
    AVCodecContext *avctx;
    uint32_t fr_num = p->fr_num ? p->fr_num : 30;
    uint32_t fr_den = p->fr_den ? p->fr_den : 1;

    avcodec_free_context(&c->avctx);
    if (!codec) {
        return VA_STATUS_ERROR_UNSUPPORTED_PROFILE;
    }
    avctx = avcodec_alloc_context3(codec);
    if (!avctx) {
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    avctx->width = p->width;
    avctx->height = p->height;
    avctx->pix_fmt = AV_PIX_FMT_YUV420P;
    avctx->time_base = (AVRational){ fr_den, fr_num };
    avctx->framerate = (AVRational){ fr_num, fr_den };
    avctx->thread_count = 1;
    /* key frames come from the picture parameters only */
    avctx->gop_size = 1 << 20;
    c->cqp = p->cqp;
    c->quantizer = qindex_to_quantizer(p->qindex);
    c->bitrate = 0;
    if (p->cqp) {
        avctx->bit_rate = 0;
        avctx->qmin = c->quantizer;
        avctx->qmax = c->quantizer;
        av_opt_set_int(avctx->priv_data, "crf", c->quantizer, 0);
    } else {
        uint32_t pct = p->target_percentage ? p->target_percentage : 100;
        uint64_t target = (uint64_t)p->bits_per_second * pct / 100;

        c->bitrate = p->bits_per_second;
        avctx->bit_rate = target ? target : 1000000;
        avctx->rc_max_rate = p->bits_per_second ? p->bits_per_second
                                                : avctx->bit_rate;
        if (pct == 100) {
            avctx->rc_min_rate = avctx->bit_rate;   /* CBR */
        }
        avctx->rc_buffer_size = (int)(avctx->rc_max_rate * 2);
    }
    av_opt_set(avctx->priv_data, "deadline", "realtime", 0);
    av_opt_set_int(avctx->priv_data, "cpu-used", 8, 0);
    av_opt_set_int(avctx->priv_data, "lag-in-frames", 0, 0);
    av_opt_set_int(avctx->priv_data, "auto-alt-ref", 0, 0);
    if (avcodec_open2(avctx, codec, NULL) < 0) {
        avcodec_free_context(&avctx);
        return VA_STATUS_ERROR_OPERATION_FAILED;
    }
    c->avctx = avctx;
    c->width = p->width;
    c->height = p->height;
    c->pts = 0;
    return VA_STATUS_SUCCESS;
}

VAStatus vv_vp9_encode(VvCodec *c, const VvEncParams *p, const VvView *in,
                       const uint8_t **pkt, size_t *pkt_size)
{
    VvView dst;
    VAStatus st;
    int ret;

    if (p->width == 0 || p->height == 0 ||
        p->width > in->width || p->height > in->height) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    if (!c->avctx || (p->key_frame &&
                      (p->width != c->width || p->height != c->height ||
                       p->cqp != c->cqp ||
                       (p->cqp && qindex_to_quantizer(p->qindex) !=
                                  c->quantizer) ||
                       (!p->cqp && p->bits_per_second != c->bitrate)))) {
        st = encoder_open(c, p);
        if (st != VA_STATUS_SUCCESS) {
            return st;
        }
    } else if (p->width != c->width || p->height != c->height) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }

    av_frame_unref(c->frame);
    c->frame->format = AV_PIX_FMT_YUV420P;
    c->frame->width = p->width;
    c->frame->height = p->height;
    if (av_frame_get_buffer(c->frame, 0) < 0) {
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    frame_view(&dst, c->frame);
    vv_view_copy(&dst, 0, 0, in, 0, 0, p->width, p->height);
    c->frame->pict_type = p->key_frame ? AV_PICTURE_TYPE_I
                                       : AV_PICTURE_TYPE_NONE;
    c->frame->pts = c->pts++;
    ret = avcodec_send_frame(c->avctx, c->frame);
    av_frame_unref(c->frame);
    if (ret < 0) {
        return VA_STATUS_ERROR_ENCODING_ERROR;
    }
    ret = avcodec_receive_packet(c->avctx, c->pkt);
    if (ret == AVERROR(EAGAIN)) {
        *pkt = c->out;
        *pkt_size = 0;
        return VA_STATUS_SUCCESS;       /* dropped frame: empty packet */
    }
    if (ret < 0) {
        return VA_STATUS_ERROR_ENCODING_ERROR;
    }
    if ((size_t)c->pkt->size > c->out_cap) {
        uint8_t *n = realloc(c->out, c->pkt->size);

        if (!n) {
            av_packet_unref(c->pkt);
            return VA_STATUS_ERROR_ALLOCATION_FAILED;
        }
        c->out = n;
        c->out_cap = c->pkt->size;
    }
    memcpy(c->out, c->pkt->data, c->pkt->size);
    *pkt = c->out;
    *pkt_size = c->pkt->size;
    av_packet_unref(c->pkt);
    return VA_STATUS_SUCCESS;
}
