/*
 * virtio-video engine: encoding through libavcodec.
 *
 * Raw frames are read out of the guest's buffer into a private picture (the
 * encoder never sees guest memory), encoded without B-frames so packets
 * come out in input order, and each packet is written into the next
 * bitstream buffer with the timestamp of the frame it encodes.
 *
 * The session is opened at the first frame with the stream's params and
 * controls, and closed (to reopen, starting with a keyframe) after a drain
 * or when the bitstream queue is cleared.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <limits.h>
#include <string.h>
#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>

#include "vv-internal.h"
#include "vv-layout.h"
#include "vv-lavc.h"

#define VV_ENC_DEFAULT_FPS          30
#define VV_ENC_DEFAULT_BITRATE      2000000
#define VV_ENC_DEFAULT_PEAK         4000000
#define VV_ENC_BITSTREAM_SIZE       (2 * 1024 * 1024)
#define VV_ENC_GOP                  60
#define VV_ENC_MIN_DIM              16      /* smallest picture */

typedef struct VvEncoder {
    AVCodecContext *ctx;
    AVFrame *frame;
    bool flushing;
    /*
     * VA-API: pictures go into the device's surfaces (frames), mapped
     * into host memory to be filled.  Other encoders take host frames.
     */
    AVBufferRef *frames;
    const char *backend;            /* "libavcodec", "vaapi", "cuda" */
    bool live_rate;                 /* takes a new rate while encoding */
} VvEncoder;

/* What a session is opened with (copied under the stream lock). */
typedef struct EncSettings {
    uint32_t format;
    uint32_t width, height, fps;
    uint32_t bitrate, peak, mode;
    uint32_t profile, level;
    uint32_t threads;
    const VvHwDevice *hw;           /* encode on it, or NULL */
    bool fallback;                  /* software if it cannot */
} EncSettings;

/* The encoder mode's state of a stream (VvStream.m). */
typedef struct VvEncStream {
    VvEncoder *enc;             /* opened with the first frame */
    AVPacket *pkt;              /* encoded, waiting for an output buffer */
    GQueue backlog;             /* AVPacket: more of them (migration) */
} VvEncStream;

static VvEncStream *E(VvStream *s)
{
    return s->m;
}

/* libavcodec's H.264 profile for hardware encoders (AVCodecContext). */
static int hw_h264_profile(uint32_t profile)
{
    switch (profile) {
    case VIRTIO_VIDEO_PROFILE_H264_BASELINE:
        return AV_PROFILE_H264_CONSTRAINED_BASELINE;
    case VIRTIO_VIDEO_PROFILE_H264_MAIN:
        return AV_PROFILE_H264_MAIN;
    default:
        return AV_PROFILE_H264_HIGH;
    }
}

static const char *x264_profile(uint32_t profile)
{
    switch (profile) {
    case VIRTIO_VIDEO_PROFILE_H264_BASELINE:
        return "baseline";
    case VIRTIO_VIDEO_PROFILE_H264_MAIN:
        return "main";
    case VIRTIO_VIDEO_PROFILE_H264_HIGH:
        return "high";
    default:
        return NULL;
    }
}

/* H.264 level_idc of a VIRTIO_VIDEO_LEVEL_H264_* value. */
static int h264_level_idc(uint32_t level)
{
    static const int idc[] = {
        10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51,
    };

    if (level < VIRTIO_VIDEO_LEVEL_H264_MIN ||
        level > VIRTIO_VIDEO_LEVEL_H264_MAX) {
        return -1;
    }
    return idc[level - VIRTIO_VIDEO_LEVEL_H264_MIN];
}

static void set_rate_control(AVCodecContext *ctx, uint32_t bitrate,
                             uint32_t peak, uint32_t mode)
{
    ctx->bit_rate = bitrate;
    if (mode == VIRTIO_VIDEO_BITRATE_MODE_CBR) {
        /* libvpx switches to CBR when min == max == target */
        ctx->rc_min_rate = bitrate;
        ctx->rc_max_rate = bitrate;
        ctx->rc_buffer_size = bitrate;
    } else {
        ctx->rc_min_rate = 0;
        ctx->rc_max_rate = MAX(peak, bitrate);
        ctx->rc_buffer_size = MAX(peak, bitrate) * 2;
    }
}

static void enc_free(VvEncoder *enc)
{
    if (!enc) {
        return;
    }
    av_frame_free(&enc->frame);
    avcodec_free_context(&enc->ctx);
    av_buffer_unref(&enc->frames);
    g_free(enc);
}

/* The hardware encoder for @format on @hw, or NULL. */
static const AVCodec *hw_encoder(const VvHwDevice *hw, uint32_t format)
{
    static const struct {
        uint32_t format;
        const char *vaapi, *cuda;
    } names[] = {
        { VIRTIO_VIDEO_FORMAT_H264, "h264_vaapi", "h264_nvenc" },
        { VIRTIO_VIDEO_FORMAT_HEVC, "hevc_vaapi", "hevc_nvenc" },
        { VIRTIO_VIDEO_FORMAT_VP8, "vp8_vaapi", NULL },
        { VIRTIO_VIDEO_FORMAT_VP9, "vp9_vaapi", NULL },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        const char *n = hw->type == AV_HWDEVICE_TYPE_VAAPI ? names[i].vaapi
                                                           : names[i].cuda;

        if (names[i].format == format && n) {
            return avcodec_find_encoder_by_name(n);
        }
    }
    return NULL;
}

/* VA-API encoders take pictures in the device's surfaces. */
static int vaapi_frames(VvEncoder *enc, const VvHwDevice *hw,
                        const EncSettings *st)
{
    AVHWFramesContext *fc;
    int ret;

    enc->frames = av_hwframe_ctx_alloc(hw->device);
    if (!enc->frames) {
        return AVERROR(ENOMEM);
    }
    fc = (AVHWFramesContext *)enc->frames->data;
    fc->format = AV_PIX_FMT_VAAPI;
    fc->sw_format = AV_PIX_FMT_NV12;
    fc->width = st->width;
    fc->height = st->height;
    ret = av_hwframe_ctx_init(enc->frames);
    if (ret < 0) {
        return ret;
    }
    enc->ctx->hw_frames_ctx = av_buffer_ref(enc->frames);
    enc->ctx->pix_fmt = AV_PIX_FMT_VAAPI;
    return 0;
}

/* The software encoders' settings for a device encoder. */
static void sw_options(AVCodecContext *ctx, const EncSettings *st)
{
    switch (st->format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        av_opt_set(ctx->priv_data, "profile", x264_profile(st->profile), 0);
        ctx->level = h264_level_idc(st->level);
        /* a device encoder: no lookahead, every IDR a keyframe */
        av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
        av_opt_set(ctx->priv_data, "forced-idr", "1", 0);
        /*
         * CBR is VBV-constrained ABR (maxrate == bitrate).  No "nal-hrd":
         * with HRD signalling x264 cannot change the rate while streaming.
         */
        break;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        av_opt_set(ctx->priv_data, "tune", "zerolatency", 0);
        av_opt_set(ctx->priv_data, "x265-params", "log-level=error", 0);
        break;
    case VIRTIO_VIDEO_FORMAT_VP8:
    case VIRTIO_VIDEO_FORMAT_VP9:
        ctx->profile = st->profile - (st->format == VIRTIO_VIDEO_FORMAT_VP8 ?
                                      VIRTIO_VIDEO_PROFILE_VP8_MIN :
                                      VIRTIO_VIDEO_PROFILE_VP9_MIN);
        av_opt_set(ctx->priv_data, "deadline", "realtime", 0);
        av_opt_set(ctx->priv_data, "cpu-used", "8", 0);
        av_opt_set(ctx->priv_data, "lag-in-frames", "0", 0);
        break;
    }
}

static VvEncoder *enc_open_with(const EncSettings *st, const VvHwDevice *hw,
                                char **err)
{
    const VvLavcFormat *lf = vv_lavc_format(st->format);
    const AVCodec *codec;
    VvEncoder *enc;
    AVCodecContext *ctx;
    int ret;

    if (hw) {
        codec = hw_encoder(hw, st->format);
    } else {
        codec = lf ? vv_lavc_find_codec(lf->codec_id, true) : NULL;
    }
    if (!codec) {
        *err = g_strdup_printf("no %sencoder for format 0x%x",
                               hw ? "hardware " : "", st->format);
        return NULL;
    }
    enc = g_new0(VvEncoder, 1);
    enc->backend = hw ? hw->name : "libavcodec";
    /* libx264 reconfigures itself; libvpx, libx265 and hardware do not */
    enc->live_rate = !strcmp(codec->name, "libx264");
    enc->ctx = ctx = avcodec_alloc_context3(codec);
    enc->frame = av_frame_alloc();
    if (!ctx || !enc->frame) {
        *err = g_strdup("out of memory");
        enc_free(enc);
        return NULL;
    }
    ctx->width = st->width;
    ctx->height = st->height;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){ 1, st->fps };
    ctx->framerate = (AVRational){ st->fps, 1 };
    ctx->gop_size = VV_ENC_GOP;
    ctx->max_b_frames = 0;
    ctx->thread_count = st->threads;
    set_rate_control(ctx, st->bitrate, st->peak, st->mode);

    if (hw) {
        /* the device's encoder: no B-frames, profile and level as asked */
        ret = hw->type == AV_HWDEVICE_TYPE_VAAPI ? vaapi_frames(enc, hw, st)
                                                 : 0;
        if (ret < 0) {
            *err = g_strdup_printf("no %ux%u surfaces on %s: %s", st->width,
                                   st->height, hw->description,
                                   av_err2str(ret));
            enc_free(enc);
            return NULL;
        }
        if (hw->type == AV_HWDEVICE_TYPE_CUDA) {
            ctx->hw_device_ctx = av_buffer_ref(hw->device);
        }
        if (st->format == VIRTIO_VIDEO_FORMAT_H264) {
            /* VA-API takes the context's profile, NVENC its own option */
            ctx->profile = hw_h264_profile(st->profile);
            ctx->level = h264_level_idc(st->level);
            if (hw->type == AV_HWDEVICE_TYPE_CUDA) {
                av_opt_set(ctx->priv_data, "profile",
                           x264_profile(st->profile), 0);
            }
        }
        if (vv_hw_format(hw, st->format)->low_power) {
            av_opt_set_int(ctx->priv_data, "low_power", 1, 0);
        }
        av_opt_set(ctx->priv_data, "zerolatency", "1", 0);
        av_opt_set(ctx->priv_data, "forced-idr", "1", 0);
    } else {
        sw_options(ctx, st);
    }

    ret = avcodec_open2(ctx, codec, NULL);
    if (ret < 0) {
        *err = g_strdup_printf("cannot open %s: %s", codec->name,
                               av_err2str(ret));
        enc_free(enc);
        return NULL;
    }
    enc->frame->format = AV_PIX_FMT_YUV420P;
    enc->frame->width = st->width;
    enc->frame->height = st->height;
    return enc;
}

/*
 * On the hardware device if it serves the format, else (or, with auto,
 * if it cannot open) in software.
 */
static VvEncoder *enc_open(const EncSettings *st, char **err)
{
    VvEncoder *enc;

    if (!st->hw) {
        return enc_open_with(st, NULL, err);
    }
    enc = enc_open_with(st, st->hw, err);
    if (!enc && st->fallback) {
        g_free(*err);
        *err = NULL;
        enc = enc_open_with(st, NULL, err);
    }
    return enc;
}

static bool enc_profile_supported(VvEngine *e, uint32_t format,
                                  uint32_t profile)
{
    const VvHwFormat *hf = vv_hw_format(e->hw, format);
    unsigned i;

    if (hf && e->hw_only) {
        for (i = 0; i < hf->num_profiles; i++) {
            if (hf->profiles[i] == profile) {
                return true;
            }
        }
        return false;
    }
    switch (format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        /* the ones 8-bit 4:2:0 input can be coded in */
        return x264_profile(profile) != NULL;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return profile == VIRTIO_VIDEO_PROFILE_HEVC_MAIN;
    case VIRTIO_VIDEO_FORMAT_VP8:
        return profile >= VIRTIO_VIDEO_PROFILE_VP8_MIN &&
               profile <= VIRTIO_VIDEO_PROFILE_VP8_MAX;
    case VIRTIO_VIDEO_FORMAT_VP9:
        /* profiles 1-3 need 4:4:4 or more than 8 bits */
        return profile == VIRTIO_VIDEO_PROFILE_VP9_PROFILE0;
    default:
        return false;
    }
}

static void enc_init(VvStream *s, uint32_t coded_format)
{
    VvEncStream *es = g_new0(VvEncStream, 1);
    VvParams *in = &s->params[VV_QUEUE_INPUT];
    VvParams *out = &s->params[VV_QUEUE_OUTPUT];
    uint32_t in_mem = s->mem_type[VV_QUEUE_INPUT];
    uint32_t out_mem = s->mem_type[VV_QUEUE_OUTPUT];

    memset(in, 0, sizeof(*in));
    in->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    vv_layout_fill(in, VIRTIO_VIDEO_FORMAT_NV12, 640, 480);
    in->min_buffers = 1;
    in->max_buffers = 32;
    in->frame_rate = VV_ENC_DEFAULT_FPS;
    in->resource_type = in_mem;

    memset(out, 0, sizeof(*out));
    out->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
    out->format = coded_format;
    out->frame_width = 640;
    out->frame_height = 480;
    out->crop = in->crop;
    out->min_buffers = 1;
    out->max_buffers = 32;
    out->frame_rate = VV_ENC_DEFAULT_FPS;
    out->num_planes = 1;
    out->plane_formats[0].plane_size = VV_ENC_BITSTREAM_SIZE;
    out->resource_type = out_mem;

    s->bitrate = VV_ENC_DEFAULT_BITRATE;
    s->bitrate_peak = VV_ENC_DEFAULT_PEAK;
    s->bitrate_mode = VIRTIO_VIDEO_BITRATE_MODE_VBR;
    s->profile = vv_default_profile(coded_format);
    s->level = coded_format == VIRTIO_VIDEO_FORMAT_H264 ?
               VIRTIO_VIDEO_LEVEL_H264_4_0 : VIRTIO_VIDEO_LEVEL_UNDEFINED;
    es->pkt = av_packet_alloc();
    g_queue_init(&es->backlog);
    s->m = es;
}

static void drop_backlog(VvEncStream *es)
{
    AVPacket *pkt;

    while ((pkt = g_queue_pop_head(&es->backlog))) {
        av_packet_free(&pkt);
    }
}

static void enc_mode_free(VvStream *s)
{
    VvEncStream *es = E(s);

    drop_backlog(es);
    enc_free(es->enc);
    av_packet_free(&es->pkt);
    g_free(es);
    s->m = NULL;
}

/* Drop the session and what it gave; lock held. */
static void enc_reset(VvStream *s)
{
    VvEncStream *es = E(s);

    av_packet_unref(es->pkt);
    drop_backlog(es);
    enc_free(es->enc);
    es->enc = NULL;
    s->active = false;
}

static void settings(VvStream *s, EncSettings *st)
{
    const VvParams *in = &s->params[VV_QUEUE_INPUT];

    st->format = s->params[VV_QUEUE_OUTPUT].format;
    st->width = in->crop.width;
    st->height = in->crop.height;
    st->fps = in->frame_rate ? in->frame_rate : VV_ENC_DEFAULT_FPS;
    st->bitrate = s->bitrate;
    st->peak = s->bitrate_peak;
    st->mode = s->bitrate_mode;
    st->profile = s->profile;
    st->level = s->level;
    st->threads = s->e->cfg.codec_threads;
    st->hw = vv_hw_format(s->e->hw, st->format) ? s->e->hw : NULL;
    st->fallback = !s->e->hw_only;
}

/*
 * VA-API: a device surface holding the raw frame laid out as @p in @b,
 * written through a mapping (one copy).
 */
static int fill_surface(VvEncoder *enc, const VvParams *p,
                        const VvBacking *b, AVFrame *hwf)
{
    AVFrame *m = av_frame_alloc();
    int ret;

    ret = m ? av_hwframe_get_buffer(enc->frames, hwf, 0) : AVERROR(ENOMEM);
    if (ret == 0) {
        m->format = AV_PIX_FMT_NV12;
        ret = av_hwframe_map(m, hwf, AV_HWFRAME_MAP_WRITE |
                                     AV_HWFRAME_MAP_OVERWRITE);
    }
    if (ret == 0) {
        m->width = p->crop.width;
        m->height = p->crop.height;
        ret = vv_frame_read(p, b, m) ? 0 : AVERROR(EINVAL);
    }
    av_frame_free(&m);          /* unmaps */
    return ret;
}

/*
 * An encoder that reads its rate control once (libvpx, libx265, the VA-API
 * and NVENC encoders): finish the session, its packets into the backlog,
 * so that the next frame opens one with the new rate, beginning with a
 * keyframe.  Lock held, dropped around the codec.
 */
static void restart_for_rate(VvStream *s)
{
    VvEncStream *es = E(s);
    VvEncoder *enc = es->enc;
    int ret;

    es->enc = NULL;
    g_mutex_unlock(&s->lock);
    avcodec_send_frame(enc->ctx, NULL);
    for (;;) {
        AVPacket *pkt = av_packet_alloc();

        ret = pkt ? avcodec_receive_packet(enc->ctx, pkt) : AVERROR(ENOMEM);
        if (ret < 0) {
            av_packet_free(&pkt);
            break;
        }
        g_mutex_lock(&s->lock);
        g_queue_push_tail(&es->backlog, pkt);
        g_mutex_unlock(&s->lock);
    }
    enc_free(enc);
    g_mutex_lock(&s->lock);
    s->active = false;
}

/* Encode one raw frame; lock held, dropped while working. */
static void enc_feed(VvStream *s, VvJob *job)
{
    VvEncStream *es = E(s);
    VvParams p = s->params[VV_QUEUE_INPUT];
    bool key = s->force_keyframe && job->index >= s->force_index;
    uint64_t seq;
    AVFrame *f;
    int ret;

    if (es->enc && s->bitrate_changed && !es->enc->live_rate) {
        restart_for_rate(s);
    }
    if (!es->enc) {
        g_autofree char *err = NULL;
        EncSettings st;

        settings(s, &st);
        g_mutex_unlock(&s->lock);
        es->enc = enc_open(&st, &err);
        g_mutex_lock(&s->lock);
        if (!es->enc) {
            vv_fail_stream(s, err);
            vv_cancel_job(s, job);
            return;
        }
        s->bitrate_changed = false;
        vv_report_backend(s, es->enc->backend);
    }
    if (s->bitrate_changed) {
        /* libx264 reconfigures itself when these change */
        s->bitrate_changed = false;
        set_rate_control(es->enc->ctx, s->bitrate, s->bitrate_peak,
                         s->bitrate_mode);
    }
    s->force_keyframe &= !key;
    seq = vv_next_seq(s, job->timestamp);
    f = es->enc->frame;

    g_mutex_unlock(&s->lock);
    if (es->enc->frames) {
        f = av_frame_alloc();
        ret = f ? fill_surface(es->enc, &p, job->backing, f) : AVERROR(ENOMEM);
    } else {
        ret = av_frame_make_writable(f);
        if (ret == AVERROR(EINVAL)) {
            ret = av_frame_get_buffer(f, 0);     /* first frame */
        }
        if (ret == 0 && !vv_frame_read(&p, job->backing, f)) {
            ret = AVERROR(EINVAL);
        }
    }
    if (ret == 0) {
        f->pts = seq;
        f->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
        ret = avcodec_send_frame(es->enc->ctx, f);
    }
    if (es->enc->frames) {
        av_frame_free(&f);
    }
    g_mutex_lock(&s->lock);
    /* the frame is consumed (copied out), whether it encoded or not */
    if (ret < 0) {
        vv_buffer_done(s, job, job->timestamp, VIRTIO_VIDEO_BUFFER_FLAG_ERR,
                       0);
    } else {
        vv_input_done(s, job, job->timestamp);
    }
    if (ret < 0 && strcmp(es->enc->backend, "libavcodec") &&
        ret != AVERROR(EINVAL)) {
        g_autofree char *why = g_strdup_printf("the hardware encoder "
                                               "failed: %s", av_err2str(ret));

        vv_fail_stream(s, why);
        return;
    }
    if (ret < 0) {
        vv_guest_error(s->e, "virtio-video: stream %u: frame not encoded: "
                       "%s", s->id, av_err2str(ret));
    }
    s->active = true;
}

static bool enc_has_output(VvStream *s)
{
    VvEncStream *es = E(s);

    if (!es->pkt->data && !g_queue_is_empty(&es->backlog)) {
        AVPacket *next = g_queue_pop_head(&es->backlog);

        av_packet_move_ref(es->pkt, next);
        av_packet_free(&next);
    }
    return es->pkt->data != NULL;
}

/* Write the pending packet into a bitstream buffer; lock held. */
static bool enc_put_output(VvStream *s)
{
    VvJob *job = vv_take_output(s, false);
    AVPacket *pkt = E(s)->pkt;
    uint32_t flags;

    if (!job) {
        return false;
    }
    if ((size_t)pkt->size > job->backing->planes[0].size) {
        vv_guest_error(s->e, "virtio-video: stream %u: a %d-byte packet "
                       "does not fit a %zu-byte buffer; dropped", s->id,
                       pkt->size, job->backing->planes[0].size);
        vv_buffer_done(s, job, vv_cookie(s, pkt->pts),
                       VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
        av_packet_unref(pkt);
        return true;
    }
    job->t_ready = MAX(s->t_ready, job->t_queued);
    job->copies = 1;
    g_mutex_unlock(&s->lock);
    vv_backing_write(job->backing, 0, 0, pkt->data, pkt->size);
    g_mutex_lock(&s->lock);
    flags = pkt->flags & AV_PKT_FLAG_KEY ? VIRTIO_VIDEO_BUFFER_FLAG_IFRAME
                                         : VIRTIO_VIDEO_BUFFER_FLAG_PFRAME;
    vv_buffer_done(s, job, vv_cookie(s, pkt->pts), flags, pkt->size);
    av_packet_unref(pkt);
    return true;
}

/* The encoder's next packet into @pkt: 0, AVERROR(EAGAIN), AVERROR_EOF. */
static int enc_receive_into(VvEncStream *es, AVPacket *pkt)
{
    return es->enc ? avcodec_receive_packet(es->enc->ctx, pkt) : AVERROR_EOF;
}

static VvRecv enc_receive(VvStream *s)
{
    VvEncStream *es = E(s);
    int ret;

    g_mutex_unlock(&s->lock);
    ret = enc_receive_into(es, es->pkt);
    g_mutex_lock(&s->lock);
    if (ret == 0) {
        s->t_ready = g_get_monotonic_time();
        return VV_RECV_OK;
    }
    if (ret == AVERROR_EOF) {
        return VV_RECV_EOF;
    }
    if (ret != AVERROR(EAGAIN) && es->enc &&
        strcmp(es->enc->backend, "libavcodec")) {
        g_autofree char *why = g_strdup_printf("the hardware encoder "
                                               "failed: %s", av_err2str(ret));

        vv_fail_stream(s, why);
        return VV_RECV_FAILED;
    }
    return VV_RECV_AGAIN;
}

static bool enc_started(VvStream *s)
{
    return E(s)->enc != NULL;
}

static void enc_drain(VvStream *s)
{
    g_mutex_unlock(&s->lock);
    avcodec_send_frame(E(s)->enc->ctx, NULL);
    g_mutex_lock(&s->lock);
}

static void enc_clear(VvStream *s, unsigned queue)
{
    /*
     * raw frames are simply handed back; a cleared bitstream queue
     * restarts the encoder, with a keyframe
     */
    if (queue == VV_QUEUE_OUTPUT) {
        enc_reset(s);
    }
}

static bool enc_busy(VvStream *s)
{
    return false;
}

/* packets go out on the worker itself: nothing in flight elsewhere */
static void enc_nothing(VvStream *s)
{
}

/*
 * An encoder's packets must not stay inside a codec that will not exist on
 * the destination: take what it has into the stream's own queue (where the
 * source, should migration fail, finds them too).
 */
static void enc_prepare_save(VvStream *s)
{
    VvEncStream *es = E(s);

    while (s->active) {
        AVPacket *pkt = es->pkt->data ? av_packet_alloc() : es->pkt;
        int ret = enc_receive_into(es, pkt);

        if (ret == 0) {
            if (pkt != es->pkt) {
                g_queue_push_tail(&es->backlog, pkt);
            }
            continue;
        }
        if (pkt != es->pkt) {
            av_packet_free(&pkt);
        }
        s->active = false;
        if (ret == AVERROR_EOF && s->drain) {
            s->eos_pending = true;
        }
    }
}

static void save_packet(GByteArray *out, const AVPacket *pkt)
{
    vv_put_blob(out, pkt->data, pkt->size);
    vv_put_u64(out, pkt->pts);
    vv_put_u32(out, pkt->flags);
}

static bool enc_save(VvStream *s, GByteArray *out, char **err)
{
    VvEncStream *es = E(s);
    GList *l;

    vv_put_u8(out, 0);          /* no decoder state */
    vv_put_u32(out, !!es->pkt->data + g_queue_get_length(&es->backlog));
    if (es->pkt->data) {
        save_packet(out, es->pkt);
    }
    for (l = es->backlog.head; l; l = l->next) {
        save_packet(out, l->data);
    }
    return true;
}

static bool enc_load(VvStream *s, VvReader *r, const char **why)
{
    VvEncStream *es = E(s);
    uint32_t n, i;

    if (vv_get_u8(r)) {
        *why = "decoder state for an encoder";
        return false;
    }
    n = vv_get_u32(r);
    for (i = 0; i < n && !r->bad; i++) {
        size_t size;
        const uint8_t *data = vv_get_blob(r, &size);
        AVPacket *pkt = i ? av_packet_alloc() : es->pkt;

        if (!pkt || !data || size > INT_MAX ||
            av_new_packet(pkt, size) < 0) {
            if (i) {
                av_packet_free(&pkt);
            }
            *why = "bad packet";
            return false;
        }
        memcpy(pkt->data, data, size);
        pkt->pts = vv_get_u64(r);
        pkt->flags = vv_get_u32(r);
        if (i) {
            g_queue_push_tail(&es->backlog, pkt);
        }
    }
    /* a new encoder starts with the next frame: make it a keyframe */
    s->force_keyframe = true;
    s->force_index = 0;
    return !r->bad;
}

/* ---- params and controls (main thread, lock held) ---- */

static bool crop_is_zero(const struct virtio_video_crop *c)
{
    return !(c->left | c->top | c->width | c->height);
}

static bool crop_equal(const struct virtio_video_crop *a,
                       const struct virtio_video_crop *b)
{
    return a->left == b->left && a->top == b->top &&
           a->width == b->width && a->height == b->height;
}

/*
 * Does SET_PARAMS on queue @q ask for crop rectangle @c?  Not when it is
 * all zero, nor when it is one the device reported on that queue: the
 * current one, or the one the guest's last GET_PARAMS there returned
 * (drivers send their cached params back, also after the crop changed
 * through the other queue).
 */
static bool crop_requested(const VvStream *s, unsigned q,
                           const struct virtio_video_crop *c)
{
    return !crop_is_zero(c) && !crop_equal(c, &s->params[q].crop) &&
           !(s->told[q] && crop_equal(c, &s->told_crop[q]));
}

/*
 * Can rectangle @c of a @fw x @fh 4:2:0 frame be encoded as
 * @coded_format?  NULL if so, else why not.
 */
static const char *check_visible(uint32_t coded_format,
                                 const struct virtio_video_crop *c,
                                 uint32_t fw, uint32_t fh)
{
    if (!c->width || !c->height) {
        return "crop rectangle of zero width or height";
    }
    if ((uint64_t)c->left + c->width > fw ||
        (uint64_t)c->top + c->height > fh) {
        return "crop rectangle outside the frame";
    }
    if (c->width < VV_ENC_MIN_DIM || c->height < VV_ENC_MIN_DIM) {
        return "picture smaller than 16x16";
    }
    if ((c->left | c->top) & 1) {
        return "odd crop offset: 4:2:0 chroma is subsampled by 2";
    }
    /* libx264 and libx265 code 4:2:0 pictures in whole chroma samples */
    if ((c->width | c->height) & 1 &&
        (coded_format == VIRTIO_VIDEO_FORMAT_H264 ||
         coded_format == VIRTIO_VIDEO_FORMAT_HEVC)) {
        return "odd picture size: H.264 and HEVC 4:2:0 need even sizes";
    }
    return NULL;
}

/*
 * SET_PARAMS(INPUT): the raw format, frame and visible rectangle it asks
 * for, into @nin (a copy of the current INPUT params).
 *
 * A frame size other than the device's current layout is a new frame, and
 * the whole of it is the picture unless a crop rectangle comes with it; a
 * frame size equal to the layout (GET_PARAMS sent back) or 0x0 keeps the
 * frame.  Only a crop rectangle the device did not report sets the
 * picture (crop_requested()).
 */
static uint32_t raw_request(VvEngine *e, VvStream *s, const VvParams *np,
                            VvParams *nin, const char **why)
{
    const VvParams *in = &s->params[VV_QUEUE_INPUT];
    bool new_frame = (np->frame_width || np->frame_height) &&
                     (np->frame_width != in->frame_width ||
                      np->frame_height != in->frame_height);
    uint32_t fw = new_frame ? np->frame_width : in->frame_width;
    uint32_t fh = new_frame ? np->frame_height : in->frame_height;

    if (np->format != in->format &&
        vv_caps_find(&e->caps.queue[VV_QUEUE_INPUT], np->format) < 0) {
        *why = "unsupported raw format";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    }
    if (!fw || !fh || fw > e->cfg.max_width || fh > e->cfg.max_height ||
        !vv_layout_fill(nin, np->format, fw, fh)) {
        *why = "frame size out of range";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    }
    if (crop_requested(s, VV_QUEUE_INPUT, &np->crop)) {
        if ((uint64_t)np->crop.left + np->crop.width > fw ||
            (uint64_t)np->crop.top + np->crop.height > fh) {
            *why = "crop rectangle outside the frame";
            return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        }
        nin->crop = np->crop;
    } else if (!new_frame) {
        nin->crop = in->crop;
    }
    /* else the frame's size, as vv_layout_fill() left it */
    return 0;
}

/*
 * In both queues' params the crop rectangle is the picture: the part of
 * the raw frame that is encoded, at the size the bitstream declares.
 * frame_width/frame_height are the raw frame's layout on INPUT and the
 * picture size on OUTPUT.  Everything is checked before anything changes.
 */
uint32_t vv_enc_set_params(VvEngine *e, VvStream *s, const VvParams *np,
                           const char **why)
{
    unsigned q = vv_queue_index(np->queue_type);
    VvParams *in = &s->params[VV_QUEUE_INPUT];
    VvParams *out = &s->params[VV_QUEUE_OUTPUT];
    VvParams nin = *in;
    uint32_t coded = out->format;
    bool started = s->decoding;
    bool relayout, resize;
    uint32_t err;

    if (np->frame_rate > 240) {
        *why = "frame rate above 240";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    }
    if (q == VV_QUEUE_OUTPUT) {
        if (np->format != coded) {
            if (vv_caps_find(&e->caps.queue[VV_QUEUE_OUTPUT],
                             np->format) < 0) {
                *why = "unsupported coded format";
                return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
            }
            if (started ||
                g_hash_table_size(s->resources[VV_QUEUE_OUTPUT])) {
                *why = "coded format change after buffers exist";
                return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
            }
            coded = np->format;
        }
        /* some drivers put V4L2's crop selection here */
        if (crop_requested(s, VV_QUEUE_OUTPUT, &np->crop)) {
            nin.crop = np->crop;
        }
    } else {
        err = raw_request(e, s, np, &nin, why);
        if (err) {
            return err;
        }
    }

    *why = check_visible(coded, &nin.crop, nin.frame_width,
                         nin.frame_height);
    if (*why) {
        return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    }
    relayout = nin.format != in->format ||
               nin.frame_width != in->frame_width ||
               nin.frame_height != in->frame_height;
    resize = !crop_equal(&nin.crop, &in->crop);
    if ((relayout || resize) && started) {
        *why = "picture size or raw format change after encoding started";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
    }
    if (relayout && g_hash_table_size(s->resources[VV_QUEUE_INPUT])) {
        *why = "raw frame layout change after buffers exist";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
    }

    if (coded != out->format) {
        out->format = coded;
        s->profile = vv_default_profile(coded);
        s->level = coded == VIRTIO_VIDEO_FORMAT_H264 ?
                   VIRTIO_VIDEO_LEVEL_H264_4_0 : 0;
    }
    if (q == VV_QUEUE_OUTPUT && np->num_planes >= 1 &&
        np->plane_formats[0].plane_size) {
        out->plane_formats[0].plane_size =
            CLAMP(np->plane_formats[0].plane_size, 4096, 64 * 1024 * 1024);
    }
    *in = nin;
    out->frame_width = in->crop.width;
    out->frame_height = in->crop.height;
    out->crop = in->crop;
    if (np->frame_rate) {
        /* takes effect when the encoder (re)starts */
        in->frame_rate = out->frame_rate = np->frame_rate;
    }
    return 0;
}

uint32_t vv_enc_set_control(VvEngine *e, VvStream *s, uint32_t control,
                            bool has_value, uint32_t value, const char **why)
{
    uint32_t format = s->params[VV_QUEUE_OUTPUT].format;
    bool started = s->decoding;

    switch (control) {
    case VIRTIO_VIDEO_CONTROL_BITRATE:
    case VIRTIO_VIDEO_CONTROL_BITRATE_PEAK:
        if (!value) {
            *why = "bitrate 0";
            return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        }
        /* may change while streaming */
        if (control == VIRTIO_VIDEO_CONTROL_BITRATE) {
            s->bitrate = value;
        } else {
            s->bitrate_peak = value;
        }
        s->bitrate_changed = true;
        return 0;
    case VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME:
        /* the next frame the guest queues, not the next one encoded */
        s->force_keyframe = true;
        s->force_index = s->inputs_queued;
        return 0;
    case VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR:
        if (value != 1) {
            *why = "SPS/PPS always precede IDR frames";
            return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
        }
        return 0;
    case VIRTIO_VIDEO_CONTROL_BITRATE_MODE:
    case VIRTIO_VIDEO_CONTROL_PROFILE:
    case VIRTIO_VIDEO_CONTROL_LEVEL:
        break;
    default:
        *why = "unknown control";
        return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
    }

    if (control == VIRTIO_VIDEO_CONTROL_LEVEL &&
        format != VIRTIO_VIDEO_FORMAT_H264) {
        *why = "levels exist for H.264 only";
        return VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
    }
    if ((control == VIRTIO_VIDEO_CONTROL_BITRATE_MODE &&
         value > VIRTIO_VIDEO_BITRATE_MODE_CBR) ||
        (control == VIRTIO_VIDEO_CONTROL_PROFILE &&
         !enc_profile_supported(e, format, value)) ||
        (control == VIRTIO_VIDEO_CONTROL_LEVEL &&
         h264_level_idc(value) < 0)) {
        *why = "value not supported";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    }
    if (started) {
        *why = "cannot change once encoding has started";
        return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
    }
    if (control == VIRTIO_VIDEO_CONTROL_BITRATE_MODE) {
        s->bitrate_mode = value;
    } else if (control == VIRTIO_VIDEO_CONTROL_PROFILE) {
        s->profile = value;
    } else {
        s->level = value;
    }
    return 0;
}

static bool enc_get_control(VvStream *s, uint32_t control, uint32_t *value)
{
    switch (control) {
    case VIRTIO_VIDEO_CONTROL_BITRATE:
        *value = s->bitrate;
        return true;
    case VIRTIO_VIDEO_CONTROL_BITRATE_PEAK:
        *value = s->bitrate_peak;
        return true;
    case VIRTIO_VIDEO_CONTROL_BITRATE_MODE:
        *value = s->bitrate_mode;
        return true;
    case VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR:
        *value = 1;
        return true;
    case VIRTIO_VIDEO_CONTROL_PROFILE:
        *value = s->profile;
        return true;
    case VIRTIO_VIDEO_CONTROL_LEVEL:
        *value = s->level;
        return s->level != VIRTIO_VIDEO_LEVEL_UNDEFINED;
    default:
        return false;
    }
}

const VvModeOps vv_encoder_mode = {
    .init = enc_init,
    .free = enc_mode_free,
    .has_output = enc_has_output,
    .put_output = enc_put_output,
    .receive = enc_receive,
    .feed = enc_feed,
    .started = enc_started,
    .drain = enc_drain,
    /* a flushed encoder takes no more frames: the next one reopens */
    .after_eos = enc_reset,
    .clear = enc_clear,
    .destroy = enc_reset,
    .busy = enc_busy,
    .settle = enc_nothing,
    .drop_output = enc_nothing,
    .stop = enc_nothing,
    .prepare_save = enc_prepare_save,
    .save = enc_save,
    .load = enc_load,
    .get_control = enc_get_control,
    .profile_supported = enc_profile_supported,
};
