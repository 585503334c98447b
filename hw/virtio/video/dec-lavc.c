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
 * H.264 pictures come out in output order, which libavcodec works out
 * with a reorder delay (AVCodecContext.has_b_frames): how many decoded
 * pictures it holds back.  A sequence parameter set with VUI
 * bitstream_restriction states it (max_num_reorder_frames) and libavcodec
 * applies it; without one, libavcodec starts from 0 and raises the delay
 * when it sees a picture come too late, dropping that picture ("Increasing
 * reorder buffer").  ffmpeg's command line avoids that by probing the
 * stream first; a stream that switches from one without reordering
 * (Baseline) to one with B-frames loses pictures anyway.  So the device
 * reads every sequence parameter set before the codec gets it
 * (h264_sps_reorder()): none is needed for output in decoding order
 * (pic_order_cnt_type 2, no reference frames), for Baseline and streams
 * without B slices (constraint_set5) and for intra profiles; otherwise
 * the most the level allows, MaxDpbFrames, up to libavcodec's limit of
 * 15.  (strict_std_compliance would make libavcodec take the level's
 * value for every stream, Baseline included.)  When a set asks for more
 * than the codec has, the decoder drains it, which gives out every
 * picture of the old sequence, and opens it again with has_b_frames set:
 * frame threads copy the context only when the codec opens.
 *
 * Everything here runs on the stream's worker thread.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>
#ifdef G_OS_UNIX
#include <sys/mman.h>
#endif
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

#include "vv-internal.h"
#include "vv-lavc.h"

G_STATIC_ASSERT(VV_BITSTREAM_PADDING >= AV_INPUT_BUFFER_PADDING_SIZE);

/* Input buffers whose position is remembered (as the stream's cookies). */
#define VV_DEC_CHUNKS       VV_COOKIE_RING

/* libavcodec's H.264 decoder holds back at most 15 pictures */
#define VV_H264_MAX_REORDER 15

/*
 * The history's bytes live in blocks of 2 MiB (or one input's size, if
 * larger) that are reused once every input in them is dropped.  An H.264
 * or HEVC history grows until the codec is fresh again, so what it is
 * stored in is fresh memory: one allocation per input cost a page fault
 * per 4 KiB of bitstream, several per picture, which is expensive where
 * QEMU itself runs in a VM.  The blocks are aligned to 2 MiB and ask for
 * transparent huge pages: one fault per block where the host has them.
 * Inputs are dropped oldest first, so only the oldest block and the one
 * being filled are partly used.
 */
#define VV_HIST_BLOCK   (2u << 20)

typedef struct VvHistBlock {
    uint8_t *data;
    size_t size;                    /* of data, a multiple of 2 MiB */
    size_t used;                    /* handed out from the start */
    unsigned live;                  /* inputs still in it */
} VvHistBlock;

struct VvDecoder {
    AVCodecContext *ctx;
    const AVCodec *codec;
    uint32_t threads;
    /*
     * H.264: the reorder delay the codec was opened with; while switch_to
     * is set, the codec is being drained to open it again with that
     * delay.  head_checked: the parameter sets of the first packet in
     * pkts were read.
     */
    bool h264;
    int delay;
    int switch_to;
    bool head_checked;
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
     * Hardware decoding (libavcodec's hwaccel on hw_device): hw_pix_fmt is
     * what its pictures come in.  The codec chooses when it knows the
     * stream (get_format); without hw_only (backend=auto) a stream the
     * device cannot take is decoded in software instead.  hw_refused: it
     * could not and there is no fallback; hw_failed: the device failed.
     */
    AVBufferRef *hw_device;
    int hw_pix_fmt;
    bool hw_only;
    bool hw_active;                 /* the last get_format chose it */
    bool chosen;                    /* get_format ran */
    gint hw_refused;                /* atomic */
    int hw_failed;                  /* the error, or 0 */
    char hw_msg[AV_ERROR_MAX_STRING_SIZE];

    /*
     * Migration: every input buffer since the codec was last fresh (open,
     * reset) or, for VP8/VP9, since the last keyframe that came out, and
     * how many frames the codec gave since.  Replaying them into a fresh
     * codec and dropping that many frames puts another decoder in the
     * same state.
     */
    VvEngine *e;                    /* the history allowance */
    GQueue history;                 /* VvDecInput */
    VvHistBlock *hist_tail;         /* where the next input is stored */
    GSList *hist_spare;             /* emptied blocks, kept for reuse */
    bool history_lost;              /* over the allowance: cannot migrate */
    uint64_t received;              /* frames given since the history base */
    uint64_t skip;                  /* replaying: frames to throw away */
    int64_t key_seq;                /* VP8/VP9: keyframe pushed, not out yet */
    int base_delay;                 /* H.264: reorder delay at the base */
};

typedef struct VvDecInput {
    uint64_t seq;
    size_t size;
    VvHistBlock *block;             /* where data is */
    uint8_t *data;
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

/*
 * The codec knows the stream (size, profile, bit depth): decode it on the
 * hardware device if its hwaccel took it (@fmts lists the hardware format
 * first then), else in software, or not at all with hw_only.
 */
static enum AVPixelFormat pick_format(AVCodecContext *ctx,
                                      const enum AVPixelFormat *fmts)
{
    VvDecoder *d = ctx->opaque;
    const enum AVPixelFormat *p;

    d->chosen = true;
    for (p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        if (*p == d->hw_pix_fmt) {
            d->hw_active = true;
            return *p;
        }
    }
    d->hw_active = false;
    if (d->hw_only) {
        g_atomic_int_set(&d->hw_refused, 1);
        return AV_PIX_FMT_NONE;
    }
    for (p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(*p);

        if (desc && !(desc->flags & AV_PIX_FMT_FLAG_HWACCEL)) {
            return *p;
        }
    }
    return AV_PIX_FMT_NONE;
}

/* A codec context for @d that holds back up to @delay pictures. */
static AVCodecContext *codec_open(VvDecoder *d, int delay, char **err)
{
    AVCodecContext *ctx = avcodec_alloc_context3(d->codec);
    int ret;

    if (!ctx) {
        *err = g_strdup("out of memory");
        return NULL;
    }
    ctx->thread_count = d->threads;
    if (d->hw_device) {
        ctx->hw_device_ctx = av_buffer_ref(d->hw_device);
        ctx->get_format = pick_format;
        /*
         * The device's fixed surface pool holds the codec's references
         * plus the pictures the stream holds: the one waiting for an
         * output buffer and the one being copied out.
         */
        ctx->extra_hw_frames = 3;
        /* the hardware decodes: no frame threads competing for it */
        ctx->thread_count = 1;
    }
    /* crop exactly as the bitstream says, like the references do */
    ctx->flags |= AV_CODEC_FLAG_UNALIGNED;
    /* no picture buffers larger than the device's frame size limit */
    ctx->opaque = d;
    ctx->get_buffer2 = get_buffer_capped;
#if LIBAVCODEC_VERSION_MAJOR < 60
    /* it is thread-safe (libavcodec 60 requires that of every callback) */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    ctx->thread_safe_callbacks = 1;
    G_GNUC_END_IGNORE_DEPRECATIONS
#endif
    ctx->max_pixels = (int64_t)VV_ENGINE_MAX_DIM * VV_ENGINE_MAX_DIM;
    /* as a demuxer's probing would set it (codecpar video_delay) */
    ctx->has_b_frames = delay;
    ret = avcodec_open2(ctx, d->codec, NULL);
    if (ret < 0) {
        *err = g_strdup_printf("cannot open %s: %s", d->codec->name,
                               av_err2str(ret));
        avcodec_free_context(&ctx);
        return NULL;
    }
    return ctx;
}

VvDecoder *vv_dec_open(VvEngine *e, uint32_t coded_format, uint32_t threads,
                       uint32_t max_w, uint32_t max_h, char **err)
{
    const VvLavcFormat *lf = vv_lavc_format(coded_format);
    const AVCodec *codec;
    VvDecoder *d;

    codec = lf ? vv_lavc_find_codec(lf->codec_id, false) : NULL;
    if (!codec) {
        *err = g_strdup_printf("no decoder for format 0x%x", coded_format);
        return NULL;
    }
    d = g_new0(VvDecoder, 1);
    d->codec = codec;
    d->threads = threads;
    d->hw_pix_fmt = AV_PIX_FMT_NONE;
    if (vv_hw_format(e->hw, coded_format)) {
        d->hw_device = av_buffer_ref(e->hw->device);
        d->hw_only = e->hw_only;
        d->hw_pix_fmt = e->hw->type == AV_HWDEVICE_TYPE_CUDA ?
                        AV_PIX_FMT_CUDA : AV_PIX_FMT_VAAPI;
    }
    d->h264 = lf->codec_id == AV_CODEC_ID_H264;
    d->max_w = max_w;
    d->max_h = max_h;
    d->ctx = codec_open(d, 0, err);
    if (!d->ctx) {
        av_buffer_unref(&d->hw_device);
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

/*
 * A block of @size bytes (a multiple of VV_HIST_BLOCK), 2 MiB aligned;
 * NULL if the host has no memory for it.
 */
static VvHistBlock *hist_block_new(size_t size)
{
    VvHistBlock *b;
#ifdef G_OS_UNIX
    size_t map = size + VV_HIST_BLOCK, head;
    uint8_t *p = mmap(NULL, map, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        return NULL;
    }
    head = (VV_HIST_BLOCK - (uintptr_t)p % VV_HIST_BLOCK) % VV_HIST_BLOCK;
    if (head) {
        munmap(p, head);
    }
    munmap(p + head + size, map - head - size);
    p += head;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);
#endif
#else
    uint8_t *p = g_try_malloc(size);    /* no huge pages asked for */

    if (!p) {
        return NULL;
    }
#endif
    b = g_new0(VvHistBlock, 1);
    b->data = p;
    b->size = size;
    return b;
}

static void hist_block_free(gpointer opaque)
{
    VvHistBlock *b = opaque;

    if (b) {
#ifdef G_OS_UNIX
        munmap(b->data, b->size);
#else
        g_free(b->data);
#endif
        g_free(b);
    }
}

/*
 * Room for @size bytes of history, in a block it is counted in; NULL if
 * the host is out of memory.
 */
static uint8_t *hist_alloc(VvDecoder *d, size_t size, VvHistBlock **block)
{
    VvHistBlock *b = d->hist_tail;
    size_t need = (size + 63) & ~(size_t)63;
    GSList *l;

    if (b && !b->live) {
        b->used = 0;                /* emptied while being filled */
    }
    if (!b || b->size - b->used < need) {
        b = NULL;
        for (l = d->hist_spare; l; l = l->next) {
            if (((VvHistBlock *)l->data)->size >= need) {
                b = l->data;
                d->hist_spare = g_slist_delete_link(d->hist_spare, l);
                break;
            }
        }
        if (!b) {
            b = hist_block_new((need + VV_HIST_BLOCK - 1) /
                               VV_HIST_BLOCK * VV_HIST_BLOCK);
            if (!b) {
                return NULL;
            }
        }
        b->used = 0;
        b->live = 0;
        if (d->hist_tail && !d->hist_tail->live) {
            d->hist_spare = g_slist_prepend(d->hist_spare, d->hist_tail);
        }
        d->hist_tail = b;
    }
    *block = b;
    b->live++;
    b->used += need;
    return b->data + b->used - need;
}

static void history_drop(VvDecoder *d, VvDecInput *in)
{
    VvHistBlock *b = in->block;

    vv_history_release(d->e, in->size);
    if (!--b->live && b != d->hist_tail) {
        d->hist_spare = g_slist_prepend(d->hist_spare, b);
    }
    g_free(in);
}

/* Give every block back: the history is over (lost, or the codec gone). */
static void hist_free_blocks(VvDecoder *d)
{
    g_slist_free_full(d->hist_spare, hist_block_free);
    d->hist_spare = NULL;
    hist_block_free(d->hist_tail);
    d->hist_tail = NULL;
}

/*
 * Forget the history: the codec is fresh again (or it was lost).  A
 * flushed codec keeps its reorder delay, which another decoder must start
 * with to give the same pictures.
 */
static void history_clear(VvDecoder *d)
{
    VvDecInput *in;

    while ((in = g_queue_pop_head(&d->history))) {
        history_drop(d, in);
    }
    d->received = 0;
    d->key_seq = -1;
    d->base_delay = d->h264 ? MAX(d->delay, d->ctx->has_b_frames) : 0;
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
        hist_free_blocks(d);
        set_history_lost(d, true);
        return;
    }
    in = g_new(VvDecInput, 1);
    in->seq = seq;
    in->size = size;
    in->data = hist_alloc(d, size, &in->block);
    if (!in->data) {
        /* as over the allowance: this stream cannot migrate for now */
        g_free(in);
        vv_history_release(d->e, size);
        history_clear(d);
        hist_free_blocks(d);
        set_history_lost(d, true);
        return;
    }
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
    vv_put_u32(out, d->base_delay);
    vv_put_u64(out, d->received + d->skip - pending);
    vv_put_u32(out, g_queue_get_length(&d->history));
    for (l = d->history.head; l; l = l->next) {
        VvDecInput *in = l->data;

        vv_put_u64(out, in->seq);
        vv_put_blob(out, in->data, in->size);
    }
    return true;
}

static void codec_reopen(VvDecoder *d);

bool vv_dec_load(VvDecoder *d, VvReader *r)
{
    bool drain = vv_get_u8(r);
    uint32_t delay = vv_get_u32(r);
    uint64_t skip = vv_get_u64(r);
    uint32_t n = vv_get_u32(r), i;

    if (delay > VV_H264_MAX_REORDER || (delay && !d->h264)) {
        r->bad = true;
        return false;
    }
    if (delay > (uint32_t)d->delay) {
        d->switch_to = delay;
        codec_reopen(d);
    }
    d->base_delay = delay;

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
    hist_free_blocks(d);
    set_history_lost(d, false);
    if (d->parser) {
        av_parser_close(d->parser);
    }
    avcodec_free_context(&d->ctx);
    av_buffer_unref(&d->hw_device);
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

/*
 * H.264 bitstream reader for the parameter sets: reads past the end give
 * zeros, and the caller checks pos against the length at the end.
 */
typedef struct VvBits {
    const uint8_t *p;
    size_t len;                     /* bytes */
    size_t pos;                     /* bits read */
} VvBits;

static uint32_t bits_get(VvBits *b, unsigned n)
{
    uint32_t v = 0;

    while (n--) {
        size_t byte = b->pos / 8;

        v = v << 1 | (byte < b->len ? b->p[byte] >> (7 - b->pos % 8) & 1 : 0);
        b->pos++;
    }
    return v;
}

/* ue(v); longer than 32 bits: UINT32_MAX, and the reader runs out */
static uint32_t bits_ue(VvBits *b)
{
    unsigned zeros = 0;

    while (!bits_get(b, 1)) {
        if (++zeros > 31) {
            b->pos = b->len * 8 + 1;
            return UINT32_MAX;
        }
    }
    return (1u << zeros) - 1 + bits_get(b, zeros);
}

/* hrd_parameters() (E.1.2) */
static void bits_skip_hrd(VvBits *b)
{
    uint32_t cpb_cnt = bits_ue(b), i;

    bits_get(b, 8);                 /* bit_rate_scale, cpb_size_scale */
    for (i = 0; i <= cpb_cnt && b->pos <= b->len * 8; i++) {
        bits_ue(b);                 /* bit_rate_value_minus1 */
        bits_ue(b);                 /* cpb_size_value_minus1 */
        bits_get(b, 1);             /* cbr_flag */
    }
    bits_get(b, 20);                /* four delay and offset lengths */
}

/* scaling_list() (7.3.2.1.1.1) */
static void bits_skip_scaling_list(VvBits *b, unsigned size)
{
    int last = 8, next = 8;
    unsigned j;

    for (j = 0; j < size && next && b->pos <= b->len * 8; j++) {
        uint32_t v = bits_ue(b);
        int delta = v & 1 ? (int)((v + 1) / 2) : -(int)(v / 2);

        next = (last + delta + 256) % 256;
        last = next ? next : last;
    }
}

/*
 * The reorder delay an H.264 sequence parameter set (@rbsp: after the NAL
 * header, emulation prevention removed) asks the decoder for (see the top
 * of this file); -1 when libavcodec applies the one its VUI states, or
 * the set cannot be read.
 */
static int h264_sps_reorder(const uint8_t *rbsp, size_t len)
{
    /* MaxDpbMbs of each level_idc (Table A-1; 9 is level 1b) */
    static const struct {
        uint8_t level;
        uint32_t max_dpb_mbs;
    } levels[] = {
        { 9, 396 }, { 10, 396 }, { 11, 900 }, { 12, 2376 }, { 13, 2376 },
        { 20, 2376 }, { 21, 4752 }, { 22, 8100 }, { 30, 8100 },
        { 31, 18000 }, { 32, 20480 }, { 40, 32768 }, { 41, 32768 },
        { 42, 34816 }, { 50, 110400 }, { 51, 184320 }, { 52, 184320 },
        { 60, 696320 }, { 61, 696320 }, { 62, 696320 },
    };
    VvBits b = { .p = rbsp, .len = len };
    uint32_t profile, flags, level, poc_type, refs, n, i;
    uint64_t mbs;
    bool restriction = false;

    profile = bits_get(&b, 8);
    flags = bits_get(&b, 8);        /* constraint_set0..5_flag */
    level = bits_get(&b, 8);
    bits_ue(&b);                    /* seq_parameter_set_id */
    if (profile == 100 || profile == 110 || profile == 122 ||
        profile == 244 || profile == 44 || profile == 83 || profile == 86 ||
        profile == 118 || profile == 128 || profile == 138 ||
        profile == 139 || profile == 134 || profile == 135) {
        uint32_t chroma = bits_ue(&b);

        if (chroma == 3) {
            bits_get(&b, 1);        /* separate_colour_plane_flag */
        }
        bits_ue(&b);                /* bit_depth_luma_minus8 */
        bits_ue(&b);                /* bit_depth_chroma_minus8 */
        bits_get(&b, 1);            /* qpprime_y_zero_transform_bypass */
        if (bits_get(&b, 1)) {      /* seq_scaling_matrix_present_flag */
            for (i = 0; i < (chroma != 3 ? 8 : 12); i++) {
                if (bits_get(&b, 1)) {
                    bits_skip_scaling_list(&b, i < 6 ? 16 : 64);
                }
            }
        }
    }
    bits_ue(&b);                    /* log2_max_frame_num_minus4 */
    poc_type = bits_ue(&b);
    if (poc_type == 0) {
        bits_ue(&b);                /* log2_max_pic_order_cnt_lsb_minus4 */
    } else if (poc_type == 1) {
        bits_get(&b, 1);            /* delta_pic_order_always_zero_flag */
        bits_ue(&b);                /* offset_for_non_ref_pic */
        bits_ue(&b);                /* offset_for_top_to_bottom_field */
        n = bits_ue(&b);
        for (i = 0; i < n && b.pos <= b.len * 8; i++) {
            bits_ue(&b);            /* offset_for_ref_frame[i] */
        }
    }
    refs = bits_ue(&b);             /* max_num_ref_frames */
    bits_get(&b, 1);                /* gaps_in_frame_num_value_allowed */
    mbs = (uint64_t)bits_ue(&b) + 1;            /* pic_width_in_mbs */
    mbs *= (uint64_t)bits_ue(&b) + 1;           /* pic_height_in_map_units */
    if (!bits_get(&b, 1)) {         /* frame_mbs_only_flag */
        mbs *= 2;
        bits_get(&b, 1);            /* mb_adaptive_frame_field_flag */
    }
    bits_get(&b, 1);                /* direct_8x8_inference_flag */
    if (bits_get(&b, 1)) {          /* frame_cropping_flag */
        for (i = 0; i < 4; i++) {
            bits_ue(&b);
        }
    }
    if (bits_get(&b, 1)) {          /* vui_parameters_present_flag */
        bool nal_hrd, vcl_hrd;

        if (bits_get(&b, 1) && bits_get(&b, 8) == 255) {
            bits_get(&b, 32);       /* sar_width, sar_height */
        }
        if (bits_get(&b, 1)) {      /* overscan_info_present_flag */
            bits_get(&b, 1);
        }
        if (bits_get(&b, 1)) {      /* video_signal_type_present_flag */
            bits_get(&b, 4);
            if (bits_get(&b, 1)) {  /* colour_description_present_flag */
                bits_get(&b, 24);
            }
        }
        if (bits_get(&b, 1)) {      /* chroma_loc_info_present_flag */
            bits_ue(&b);
            bits_ue(&b);
        }
        if (bits_get(&b, 1)) {      /* timing_info_present_flag */
            bits_get(&b, 32);
            bits_get(&b, 32);
            bits_get(&b, 1);
        }
        nal_hrd = bits_get(&b, 1);
        if (nal_hrd) {
            bits_skip_hrd(&b);
        }
        vcl_hrd = bits_get(&b, 1);
        if (vcl_hrd) {
            bits_skip_hrd(&b);
        }
        if (nal_hrd || vcl_hrd) {
            bits_get(&b, 1);        /* low_delay_hrd_flag */
        }
        bits_get(&b, 1);            /* pic_struct_present_flag */
        restriction = bits_get(&b, 1);
    }
    if (b.pos > b.len * 8 || restriction) {
        return -1;
    }
    /* output order is decoding order */
    if (poc_type == 2 || !refs) {
        return 0;
    }
    /* no B slices: Baseline; Main, Extended, High with constraint_set5 */
    if (profile == 66 ||
        ((flags & 0x04) && (profile == 77 || profile == 88 ||
                            profile == 100))) {
        return 0;
    }
    /* intra profiles: max_num_reorder_frames is 0 (E.2.1) */
    if (profile == 44 ||
        ((flags & 0x10) && (profile == 100 || profile == 110 ||
                            profile == 122 || profile == 244))) {
        return 0;
    }
    for (i = 0; i < G_N_ELEMENTS(levels); i++) {
        if (levels[i].level == level) {
            return CLAMP(levels[i].max_dpb_mbs / mbs, 1, VV_H264_MAX_REORDER);
        }
    }
    return VV_H264_MAX_REORDER;
}

/*
 * The most any sequence parameter set in the H.264 access unit @data asks
 * for (they come before its slices); -1 when none asks.
 */
static int h264_au_reorder(const uint8_t *data, size_t size)
{
    size_t i = 0;
    int need = -1;

    for (;;) {
        uint8_t rbsp[1024];
        size_t n = 0, zeros = 0;
        unsigned type;

        /* the next start code */
        while (i + 3 <= size &&
               (data[i] || data[i + 1] || data[i + 2] != 1)) {
            i++;
        }
        if (i + 3 >= size) {
            return need;
        }
        i += 3;
        type = data[i] & 0x1f;
        if (type >= 1 && type <= 5) {
            return need;            /* a slice: no more parameter sets */
        }
        if (type != 7) {
            continue;
        }
        /* the RBSP, up to the next start code */
        for (i++; i < size && n < sizeof(rbsp); i++) {
            if (zeros >= 2 && data[i] <= 1) {
                i -= 2;             /* where the next start code begins */
                break;
            }
            if (zeros >= 2 && data[i] == 3) {
                zeros = 0;          /* emulation_prevention_three_byte */
                continue;
            }
            zeros = data[i] ? 0 : zeros + 1;
            rbsp[n++] = data[i];
        }
        need = MAX(need, h264_sps_reorder(rbsp, n));
    }
}

/*
 * The codec was drained for switch_to: go on with a codec that holds back
 * that many pictures.  If it cannot be opened, the old one goes on.
 */
static void codec_reopen(VvDecoder *d)
{
    g_autofree char *err = NULL;
    AVCodecContext *ctx = codec_open(d, d->switch_to, &err);

    if (ctx) {
        avcodec_free_context(&d->ctx);
        d->ctx = ctx;
        d->delay = d->switch_to;
    } else {
        avcodec_flush_buffers(d->ctx);
    }
    d->switch_to = 0;
}

/*
 * Does the packet at the head of pkts start a sequence that needs a longer
 * reorder delay than the codec has?  Then drain the codec first.
 */
static bool need_switch(VvDecoder *d, const AVPacket *pkt)
{
    int need;

    if (!d->h264 || d->head_checked) {
        return false;
    }
    d->head_checked = true;
    need = h264_au_reorder(pkt->data, pkt->size);
    if (need <= d->delay) {
        return false;
    }
    d->switch_to = need;
    avcodec_send_packet(d->ctx, NULL);
    return true;
}

/*
 * An error of the hardware device (not of the bitstream, which the codec
 * conceals): the stream cannot go on.
 */
static bool hw_error(VvDecoder *d, int ret)
{
    if (!d->hw_active || ret >= 0 || ret == AVERROR(EAGAIN) ||
        ret == AVERROR_EOF || ret == AVERROR_INVALIDDATA) {
        return false;
    }
    d->hw_failed = ret;
    return true;
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
        if (g_atomic_int_get(&d->hw_refused)) {
            av_frame_unref(frame);
            return VV_DEC_HW_REFUSED;
        }
        if (d->hw_failed || hw_error(d, ret)) {
            av_frame_unref(frame);
            return VV_DEC_HW_FAILED;
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
        if (d->switch_to) {
            /* draining for a longer reorder delay: until the codec ends */
            if (ret == AVERROR_EOF || ret == AVERROR(EAGAIN)) {
                codec_reopen(d);
            }
            continue;
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
            if (need_switch(d, pkt)) {
                continue;
            }
            ret = avcodec_send_packet(d->ctx, pkt);
            if (ret == AVERROR(EAGAIN)) {
                continue;       /* frames first; the packet waits */
            }
            if (hw_error(d, ret) || g_atomic_int_get(&d->hw_refused)) {
                continue;       /* reported above */
            }
            /* sent, or refused as invalid data: either way it is done */
            g_queue_pop_head(&d->pkts);
            av_packet_free(&pkt);
            d->head_checked = false;
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
    d->switch_to = 0;
    d->head_checked = false;
    avcodec_flush_buffers(d->ctx);
    history_clear(d);
    set_history_lost(d, false);
    d->skip = 0;
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

const char *vv_dec_backend(VvDecoder *d, const VvEngine *e)
{
    if (!d->hw_device) {
        return "libavcodec";
    }
    if (d->hw_only) {
        return e->hw->name;             /* nothing else may serve it */
    }
    /* auto: known once the codec chose, at its first picture */
    return !d->chosen ? NULL : d->hw_active ? e->hw->name : "libavcodec";
}

const char *vv_dec_hw_error(VvDecoder *d)
{
    if (!d->hw_failed) {
        return "no error";
    }
    return av_make_error_string(d->hw_msg, sizeof(d->hw_msg), d->hw_failed);
}

void vv_dec_stream_info(VvDecoder *d, uint32_t coded_format,
                        uint32_t *profile, uint32_t *level)
{
    *profile = vv_profile_from_lavc(coded_format, d->ctx->profile);
    *level = vv_level_from_lavc(coded_format, d->ctx->level);
}
