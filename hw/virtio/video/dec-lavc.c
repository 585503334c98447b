/*
 * virtio-video engine: libavcodec decoding session.
 *
 * Byte-stream formats (H.264, HEVC, MPEG-2, MPEG-4 part 2) go through
 * libavcodec's parsers, so the guest may queue access units or arbitrary
 * chunks; frame-based formats (VP8, VP9, AV1) take one frame per buffer.
 * Each packet carries the index of the input buffer its first byte came
 * from as its pts; the stream maps that back to the guest's 64-bit
 * timestamp.  For parsed formats the device tracks byte positions itself:
 * libavcodec's parsers remember the timestamps of only the last four
 * buffers, too few when small chunks carry large pictures.
 *
 * Everything here runs on the stream's worker thread.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>
#include <libavcodec/avcodec.h>

#include "vv-internal.h"
#include "vv-lavc.h"

G_STATIC_ASSERT(VV_BITSTREAM_PADDING >= AV_INPUT_BUFFER_PADDING_SIZE);

/* Input buffers whose position is remembered (as the stream's cookies). */
#define VV_DEC_CHUNKS       VV_COOKIE_RING

struct VvDecoder {
    AVCodecContext *ctx;
    bool byte_stream;               /* parsed; else one frame per buffer */
    AVCodecParserContext *parser;
    GQueue pkts;                    /* AVPacket, parsed and not yet sent */
    /* where recent input buffers start in the parser's byte stream */
    uint64_t bytes_in;
    uint64_t chunk_start[VV_DEC_CHUNKS];
    uint64_t chunk_seq[VV_DEC_CHUNKS];
    uint64_t chunks;
    bool drain;                     /* flush requested */
    bool eof_sent;
    uint32_t max_w, max_h;          /* the device's frame size limit */
    gint oversize;                  /* a picture passed it (atomic) */

    /*
     * Migration: every input buffer since the codec was last fresh (open,
     * reset) or, for VP8/VP9, since the last keyframe that came out, and
     * how many frames the codec gave since.  Replaying them into a fresh
     * codec and dropping that many frames puts another decoder in the
     * same state.
     */
    VvEngine *e;                    /* the history allowance */
    GQueue history;                 /* VvDecInput */
    bool history_lost;              /* over the allowance: cannot migrate */
    uint64_t received;              /* frames given since the history base */
    uint64_t skip;                  /* replaying: frames to throw away */
    int64_t key_seq;                /* VP8/VP9: keyframe pushed, not out yet */
};

typedef struct VvDecInput {
    uint64_t seq;
    size_t size;
    uint8_t data[];
} VvDecInput;

/*
 * Picture buffers are allocated here, from the codec's threads too: refuse
 * any above the frame size limit before memory is spent on them.  The
 * display size is checked (1080p H.264 codes 1088 lines).
 */
static int get_buffer_capped(AVCodecContext *ctx, AVFrame *frame, int flags)
{
    VvDecoder *d = ctx->opaque;

    if ((uint32_t)ctx->width > d->max_w || (uint32_t)ctx->height > d->max_h) {
        g_atomic_int_set(&d->oversize, 1);
        return AVERROR(ERANGE);
    }
    return avcodec_default_get_buffer2(ctx, frame, flags);
}

VvDecoder *vv_dec_open(VvEngine *e, uint32_t coded_format, uint32_t threads,
                       uint32_t max_w, uint32_t max_h, char **err)
{
    const VvLavcFormat *lf = vv_lavc_format(coded_format);
    const AVCodec *codec;
    VvDecoder *d;
    int ret;

    codec = lf ? vv_lavc_find_codec(lf->codec_id, false) : NULL;
    if (!codec) {
        *err = g_strdup_printf("no decoder for format 0x%x", coded_format);
        return NULL;
    }
    d = g_new0(VvDecoder, 1);
    d->ctx = avcodec_alloc_context3(codec);
    if (!d->ctx) {
        *err = g_strdup("out of memory");
        g_free(d);
        return NULL;
    }
    d->ctx->thread_count = threads;
    /* crop exactly as the bitstream says, like the references do */
    d->ctx->flags |= AV_CODEC_FLAG_UNALIGNED;
    /* no picture buffers larger than the device's frame size limit */
    d->max_w = max_w;
    d->max_h = max_h;
    d->ctx->opaque = d;
    d->ctx->get_buffer2 = get_buffer_capped;
#if LIBAVCODEC_VERSION_MAJOR < 60
    /* it is thread-safe (libavcodec 60 requires that of every callback) */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    d->ctx->thread_safe_callbacks = 1;
    G_GNUC_END_IGNORE_DEPRECATIONS
#endif
    d->ctx->max_pixels = (int64_t)VV_ENGINE_MAX_DIM * VV_ENGINE_MAX_DIM;
    ret = avcodec_open2(d->ctx, codec, NULL);
    if (ret < 0) {
        *err = g_strdup_printf("cannot open %s: %s", codec->name,
                               av_err2str(ret));
        avcodec_free_context(&d->ctx);
        g_free(d);
        return NULL;
    }
    d->byte_stream = lf->byte_stream;
    if (d->byte_stream) {
        d->parser = av_parser_init(lf->codec_id);
        if (!d->parser) {
            *err = g_strdup_printf("no parser for %s", codec->name);
            vv_dec_free(d);
            return NULL;
        }
    }
    g_queue_init(&d->pkts);
    g_queue_init(&d->history);
    d->e = e;
    d->key_seq = -1;
    g_atomic_int_inc(&e->decoders);
    return d;
}

static void history_drop(VvDecoder *d, VvDecInput *in)
{
    vv_history_release(d->e, in->size);
    g_free(in);
}

/* Forget the history: the codec is fresh again (or it was lost). */
static void history_clear(VvDecoder *d)
{
    VvDecInput *in;

    while ((in = g_queue_pop_head(&d->history))) {
        history_drop(d, in);
    }
    d->received = 0;
    d->key_seq = -1;
}

/*
 * Does a VP8 or VP9 frame (the first of a VP9 superframe) start with a
 * keyframe?  Decoding from there needs nothing that came before.
 */
static bool vpx_keyframe(enum AVCodecID id, const uint8_t *p, size_t size)
{
    unsigned profile, bit = 2;

    if (!size) {
        return false;
    }
    if (id == AV_CODEC_ID_VP8) {
        return !(p[0] & 1);                 /* frame tag: key_frame is 0 */
    }
    if (id != AV_CODEC_ID_VP9 || (p[0] >> 6) != 2) {
        return false;                       /* frame_marker */
    }
    profile = (p[0] >> 5 & 1) | (p[0] >> 4 & 1) << 1;
    bit += 2 + (profile == 3);              /* profile bits, reserved_zero */
    if (p[0] << bit & 0x80) {
        return false;                       /* show_existing_frame */
    }
    return !(p[0] << (bit + 1) & 0x80);     /* frame_type: KEY_FRAME is 0 */
}

static void set_history_lost(VvDecoder *d, bool lost)
{
    if (lost && !d->history_lost) {
        g_atomic_int_inc(&d->e->unmigratable);
    } else if (!lost && d->history_lost) {
        g_atomic_int_dec_and_test(&d->e->unmigratable);
    }
    d->history_lost = lost;
}

static void history_push(VvDecoder *d, const uint8_t *data, size_t size,
                         uint64_t seq)
{
    VvDecInput *in;

    if (d->history_lost) {
        return;
    }
    if (!vv_history_reserve(d->e, size)) {
        history_clear(d);
        set_history_lost(d, true);
        return;
    }
    in = g_malloc(sizeof(*in) + size);
    in->seq = seq;
    in->size = size;
    memcpy(in->data, data, size);
    g_queue_push_tail(&d->history, in);
    if (!d->byte_stream && vpx_keyframe(d->ctx->codec_id, data, size)) {
        d->key_seq = seq;
    }
}

/*
 * A frame came out.  VP8 and VP9 give frames in decoding order: once the
 * frame of a keyframe is out, everything before it is out too, and a fresh
 * codec fed from that keyframe on gives the same frames from there.
 */
static void history_frame_out(VvDecoder *d, const AVFrame *frame)
{
    VvDecInput *in;

    d->received++;
    if (d->key_seq < 0 || frame->pts < d->key_seq) {
        return;
    }
    while ((in = g_queue_peek_head(&d->history)) &&
           in->seq < (uint64_t)d->key_seq) {
        g_queue_pop_head(&d->history);
        history_drop(d, in);
    }
    d->received = 1;
    d->key_seq = -1;
}

bool vv_dec_save(VvDecoder *d, GByteArray *out, bool pending, char **err)
{
    GList *l;

    if (d->history_lost) {
        *err = g_strdup("the bitstream since the codec's last fresh start "
                        "is larger than migrate-history-mb");
        return false;
    }
    vv_put_u8(out, d->drain);
    vv_put_u64(out, d->received + d->skip - pending);
    vv_put_u32(out, g_queue_get_length(&d->history));
    for (l = d->history.head; l; l = l->next) {
        VvDecInput *in = l->data;

        vv_put_u64(out, in->seq);
        vv_put_blob(out, in->data, in->size);
    }
    return true;
}

bool vv_dec_load(VvDecoder *d, VvReader *r)
{
    bool drain = vv_get_u8(r);
    uint64_t skip = vv_get_u64(r);
    uint32_t n = vv_get_u32(r), i;

    for (i = 0; i < n && !r->bad; i++) {
        uint64_t seq = vv_get_u64(r);
        size_t size;
        const uint8_t *data = vv_get_blob(r, &size);

        if (data) {
            g_autofree uint8_t *copy = g_malloc(size + VV_BITSTREAM_PADDING);

            memcpy(copy, data, size);
            memset(copy + size, 0, VV_BITSTREAM_PADDING);
            vv_dec_push(d, copy, size, seq);
        }
    }
    if (drain) {
        vv_dec_drain(d);
    }
    d->skip = skip;
    return !r->bad && !d->history_lost;
}

static void drop_packets(VvDecoder *d)
{
    AVPacket *pkt;

    while ((pkt = g_queue_pop_head(&d->pkts))) {
        av_packet_free(&pkt);
    }
}

void vv_dec_free(VvDecoder *d)
{
    if (!d) {
        return;
    }
    drop_packets(d);
    history_clear(d);
    set_history_lost(d, false);
    if (d->parser) {
        av_parser_close(d->parser);
    }
    avcodec_free_context(&d->ctx);
    if (d->e) {
        g_atomic_int_dec_and_test(&d->e->decoders);
    }
    g_free(d);
}

static void queue_packet(VvDecoder *d, const uint8_t *data, size_t size,
                         int64_t pts)
{
    AVPacket *pkt = av_packet_alloc();

    if (!pkt || av_new_packet(pkt, size) < 0) {
        av_packet_free(&pkt);
        return;             /* out of memory: lose this packet */
    }
    memcpy(pkt->data, data, size);
    pkt->pts = pts;
    pkt->dts = AV_NOPTS_VALUE;
    g_queue_push_tail(&d->pkts, pkt);
}

/* Index of the input buffer holding byte @pos of the parsed stream. */
static int64_t seq_at(VvDecoder *d, uint64_t pos)
{
    uint64_t i = d->chunks;

    while (i > 0 && d->chunks - i < VV_DEC_CHUNKS) {
        i--;
        if (d->chunk_start[i % VV_DEC_CHUNKS] <= pos) {
            return d->chunk_seq[i % VV_DEC_CHUNKS];
        }
    }
    return AV_NOPTS_VALUE;
}

/* Run the parser over @size bytes (0: flush it); queue what it completes. */
static void parse(VvDecoder *d, const uint8_t *data, size_t size)
{
    do {
        uint8_t *out = NULL;
        int out_size = 0;
        int used = av_parser_parse2(d->parser, d->ctx, &out, &out_size,
                                    data, size, AV_NOPTS_VALUE,
                                    AV_NOPTS_VALUE, 0);

        if (used < 0) {
            return;
        }
        if (data) {         /* NULL when flushing */
            data += used;
            size -= used;
        }
        if (out_size > 0) {
            /* frame_offset: where the picture just completed starts */
            queue_packet(d, out, out_size,
                         seq_at(d, d->parser->frame_offset));
        }
        if (!used && !out_size) {
            return;         /* flushed (size 0), or no progress */
        }
    } while (size > 0);
}

void vv_dec_push(VvDecoder *d, const uint8_t *data, size_t size,
                 uint64_t seq)
{
    if (!size) {
        return;
    }
    history_push(d, data, size, seq);
    if (d->byte_stream) {
        if (d->parser) {
            d->chunk_start[d->chunks % VV_DEC_CHUNKS] = d->bytes_in;
            d->chunk_seq[d->chunks % VV_DEC_CHUNKS] = seq;
            d->chunks++;
            d->bytes_in += size;
            parse(d, data, size);
        }
    } else {
        queue_packet(d, data, size, seq);
    }
}

void vv_dec_drain(VvDecoder *d)
{
    if (d->parser) {
        parse(d, NULL, 0);
    }
    d->drain = true;
}

int vv_dec_receive(VvDecoder *d, AVFrame *frame)
{
    for (;;) {
        int ret = avcodec_receive_frame(d->ctx, frame);
        AVPacket *pkt;

        if (g_atomic_int_get(&d->oversize)) {
            av_frame_unref(frame);
            return AVERROR(ERANGE);
        }
        if (ret == 0) {
            history_frame_out(d, frame);
            if (d->skip) {
                /* replaying after migration: the guest had this one */
                d->skip--;
                av_frame_unref(frame);
                continue;
            }
            return 0;
        }
        if (ret == AVERROR_EOF) {
            return ret;
        }
        /*
         * AVERROR(EAGAIN), or a picture that failed to decode: either way
         * feed the codec on; it conceals what it can.
         */
        pkt = g_queue_peek_head(&d->pkts);
        if (pkt) {
            ret = avcodec_send_packet(d->ctx, pkt);
            if (ret == AVERROR(EAGAIN)) {
                continue;       /* frames first; the packet waits */
            }
            /* sent, or refused as invalid data: either way it is done */
            g_queue_pop_head(&d->pkts);
            av_packet_free(&pkt);
            continue;
        }
        if (d->drain && !d->eof_sent) {
            d->eof_sent = true;
            avcodec_send_packet(d->ctx, NULL);
            continue;
        }
        return AVERROR(EAGAIN);
    }
}

void vv_dec_reset(VvDecoder *d)
{
    drop_packets(d);
    history_clear(d);
    set_history_lost(d, false);
    d->skip = 0;
    avcodec_flush_buffers(d->ctx);
    if (d->parser) {
        av_parser_close(d->parser);
        d->parser = av_parser_init(d->ctx->codec_id);
        d->bytes_in = 0;
        d->chunks = 0;
    }
    d->drain = false;
    d->eof_sent = false;
}

bool vv_dec_stream_size(VvDecoder *d, uint32_t *w, uint32_t *h)
{
    if (!d->parser || d->parser->width <= 0 || d->parser->height <= 0) {
        return false;
    }
    *w = d->parser->width;
    *h = d->parser->height;
    return true;
}

bool vv_dec_frame_threads(VvDecoder *d)
{
    return d->ctx->active_thread_type & FF_THREAD_FRAME;
}

void vv_dec_stream_info(VvDecoder *d, uint32_t coded_format,
                        uint32_t *profile, uint32_t *level)
{
    *profile = vv_profile_from_lavc(coded_format, d->ctx->profile);
    *level = vv_level_from_lavc(coded_format, d->ctx->level);
}
