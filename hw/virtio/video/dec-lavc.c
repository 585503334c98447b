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

/* Largest picture the decoder may allocate (the capability maximum). */
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
};

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

VvDecoder *vv_dec_open(uint32_t coded_format, uint32_t threads,
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
    return d;
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
    if (d->parser) {
        av_parser_close(d->parser);
    }
    avcodec_free_context(&d->ctx);
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
        if (ret == 0 || ret == AVERROR_EOF) {
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

void vv_dec_stream_info(VvDecoder *d, uint32_t coded_format,
                        uint32_t *profile, uint32_t *level)
{
    *profile = vv_profile_from_lavc(coded_format, d->ctx->profile);
    *level = vv_level_from_lavc(coded_format, d->ctx->level);
}
