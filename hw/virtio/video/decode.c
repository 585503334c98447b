/*
 * virtio-video engine: the decoder mode of a stream.
 *
 * The stream's worker (stream.c) drives a decoding session (dec-lavc.c)
 * through these ops: bitstream buffers in, pictures out into the guest's
 * buffers (frame.c).  One decoded picture is held at a time, which gives
 * back-pressure: input waits while the guest gives no output buffer.  A
 * resolution-change event goes out only after every picture of the old
 * size is back.
 *
 * A decoder whose codec runs on the worker itself (no frame threads) while
 * the host has a CPU to spare also gets a copier thread that writes each
 * picture into its guest buffer and completes it while the worker decodes
 * the next one (use_copier()).  One picture is in its hands at a time; the
 * worker waits for it (settle()) before writing one itself, control jobs,
 * EOS, events and stopping, so the order above holds.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <libavutil/frame.h>

#include "vv-internal.h"
#include "vv-layout.h"

typedef struct VvDecStream {
    VvDecoder *dec;             /* opened with the first input */
    VvFrameWriter *writer;
    AVFrame *frame;             /* the codec's next picture */
    AVFrame *pending;           /* decoded, waiting for an output buffer */
    /*
     * The picture being written into a guest buffer by the copier thread
     * while the worker decodes the next one.  copy_job stays set until it
     * is complete.
     */
    GThread *copier;            /* started with the first picture */
    GCond copy_cond;            /* the copier waits for work on it */
    bool copy_quit;
    VvJob *copy_job;            /* output buffer being written, or NULL */
    AVFrame *copy_frame;
    VvParams copy_params;       /* OUTPUT params it is written with */
    uint64_t copy_ts;           /* its timestamp */
} VvDecStream;

static VvDecStream *D(VvStream *s)
{
    return s->m;
}

static bool dec_busy(VvStream *s)
{
    return D(s)->copy_job != NULL;
}

/*
 * Wait until the copier has completed the picture it was given (that
 * completion goes out before whatever the caller posts next); lock held.
 */
static void dec_settle(VvStream *s)
{
    while (D(s)->copy_job) {
        g_cond_wait(&s->cond, &s->lock);
    }
}

static void dec_drop_output(VvStream *s)
{
    av_frame_unref(D(s)->pending);
}

static bool dec_has_output(VvStream *s)
{
    return D(s)->pending->buf[0] != NULL;
}

/*
 * Write @frame into @job's buffer laid out as @p, then complete the buffer
 * and drop the frame; lock held, dropped while writing and dropping.  Only
 * the calling thread touches @frame meanwhile (the worker its pending
 * picture, the copier its picture until it clears copy_job).
 */
static void write_picture(VvStream *s, VvJob *job, AVFrame *frame,
                          const VvParams *p, uint64_t ts)
{
    int n;

    g_mutex_unlock(&s->lock);
    n = vv_frame_write(D(s)->writer, frame, p, job->backing);
    g_mutex_lock(&s->lock);
    job->copies = MAX(n, 0);
    vv_buffer_done(s, job, ts, n >= 0 ? 0 : VIRTIO_VIDEO_BUFFER_FLAG_ERR,
                   n >= 0 ? vv_layout_size(p) : 0);
    if (n == -EIO) {
        /* the worker fails the stream (the copier cannot wait for itself) */
        s->hw_lost = true;
        g_cond_signal(&s->cond);
    }
    /*
     * Giving the picture back to the codec's buffer pool can wait for the
     * pool's lock while a codec thread fills a new buffer (the pool grows
     * for a few pictures after the codec opens): the guest has its buffer
     * by then, and no one waits for this stream's lock.
     */
    g_mutex_unlock(&s->lock);
    av_frame_unref(frame);
    g_mutex_lock(&s->lock);
}

/*
 * Hand pictures to the copier?  Only while it can overlap with decoding:
 * the codec decodes on the worker (frame threads go on decoding while the
 * worker writes a picture anyway) and the open decoders, one worker busy
 * each, leave a CPU free.  On a full machine the hand-off only adds a
 * thread wake-up to every picture.
 */
static bool use_copier(VvStream *s)
{
    static gsize cpus;

    if (g_once_init_enter(&cpus)) {
        g_once_init_leave(&cpus, MAX(g_get_num_processors(), 1));
    }
    return !vv_dec_frame_threads(D(s)->dec) &&
           (gsize)g_atomic_int_get(&s->e->decoders) < cpus;
}

static gpointer stream_copier(gpointer opaque)
{
    VvStream *s = opaque;
    VvDecStream *d = D(s);

    g_mutex_lock(&s->lock);
    for (;;) {
        if (d->copy_job) {
            /* copy_job stays set until it is complete: dec_settle() */
            write_picture(s, d->copy_job, d->copy_frame, &d->copy_params,
                          d->copy_ts);
            d->copy_job = NULL;
            g_cond_signal(&s->cond);    /* the worker may wait for it */
        } else if (d->copy_quit) {
            break;
        } else {
            g_cond_wait(&d->copy_cond, &s->lock);
        }
    }
    g_mutex_unlock(&s->lock);
    return NULL;
}

static bool dec_put_output(VvStream *s)
{
    VvDecStream *d = D(s);
    AVFrame *f = d->pending;
    VvJob *job;
    uint64_t ts;

    /* the copier signals s->cond when it is free */
    if (d->copy_job) {
        return false;
    }
    job = vv_take_output(s, true);
    if (!job) {
        return false;
    }
    /* the device adds latency only once it has the buffer too */
    job->t_ready = MAX(s->t_ready, job->t_queued);
    ts = vv_cookie(s, f->pts != AV_NOPTS_VALUE ? f->pts
                                               : f->best_effort_timestamp);
    if (!use_copier(s)) {
        VvParams p = s->params[VV_QUEUE_OUTPUT];

        write_picture(s, job, f, &p, ts);
        return true;
    }
    d->copy_params = s->params[VV_QUEUE_OUTPUT];
    d->copy_ts = ts;
    av_frame_move_ref(d->copy_frame, f);
    d->copy_job = job;
    if (!d->copier) {
        d->copy_quit = false;
        d->copier = g_thread_new("vv-copy", stream_copier, s);
    }
    g_cond_signal(&d->copy_cond);
    /* let the copier have a CPU now, before the next codec call */
    g_mutex_unlock(&s->lock);
    g_thread_yield();
    g_mutex_lock(&s->lock);
    return true;
}

/*
 * The stream's pictures are @w x @h from now on: update the OUTPUT params
 * and tell the guest.  False (the stream failed) if that is too large.
 * Lock held.
 */
static bool announce_format(VvStream *s, uint32_t w, uint32_t h)
{
    VvParams *out = &s->params[VV_QUEUE_OUTPUT];

    /* every picture of the old size is back before the event */
    dec_settle(s);
    if (w > s->e->cfg.max_width || h > s->e->cfg.max_height ||
        !vv_layout_fill(out, out->format, w, h)) {
        vv_fail_stream(s, "picture size out of range (max-width, "
                       "max-height)");
        return false;
    }
    out->min_buffers = VV_DEC_MIN_OUTPUT_BUFFERS;
    out->max_buffers = VV_MAX_BUFFERS;
    s->cur_w = w;
    s->cur_h = h;
    s->have_format = true;
    s->out_epoch++;
    vv_dec_stream_info(D(s)->dec, s->params[VV_QUEUE_INPUT].format,
                       &s->profile, &s->level);
    vv_report_backend(s, vv_dec_backend(D(s)->dec, s->e));
    vv_post_event(s->e, VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED,
                  s->id);
    return true;
}

/* A decoded picture arrived; lock held. */
static void on_picture(VvStream *s, AVFrame *frame)
{
    if (!vv_frame_supported(frame)) {
        vv_fail_stream(s, "the stream decodes to a pixel format no raw format "
                    "can carry (more than 8 bits per component?)");
        av_frame_unref(frame);
        return;
    }
    /*
     * New stream metadata.  Every earlier picture has been written already
     * (one picture is held at a time), so the new size can be announced.
     */
    if ((!s->have_format || (uint32_t)frame->width != s->cur_w ||
         (uint32_t)frame->height != s->cur_h) &&
        !announce_format(s, frame->width, frame->height)) {
        av_frame_unref(frame);
        return;
    }
    av_frame_move_ref(D(s)->pending, frame);
}

static VvRecv dec_receive(VvStream *s)
{
    VvDecStream *d = D(s);
    int ret;

    g_mutex_unlock(&s->lock);
    ret = vv_dec_receive(d->dec, d->frame);
    g_mutex_lock(&s->lock);
    /* the codec chooses hardware or software when it knows the stream */
    vv_report_backend(s, vv_dec_backend(d->dec, s->e));
    switch (ret) {
    case 0:
        s->t_ready = g_get_monotonic_time();
        on_picture(s, d->frame);
        return VV_RECV_OK;
    case AVERROR(ERANGE):
        vv_fail_stream(s, "picture buffer refused: larger than "
                       "max-width x max-height");
        return VV_RECV_FAILED;
    case VV_DEC_HW_REFUSED:
        vv_fail_stream(s, "the hardware device cannot decode this stream "
                       "(profile, size or bit depth)");
        return VV_RECV_FAILED;
    case VV_DEC_HW_FAILED: {
        g_autofree char *why = g_strdup_printf("the hardware device "
                                               "failed: %s",
                                               vv_dec_hw_error(d->dec));

        vv_fail_stream(s, why);
        return VV_RECV_FAILED;
    }
    case AVERROR_EOF:
        return VV_RECV_EOF;
    default:
        return VV_RECV_AGAIN;
    }
}

static bool dec_started(VvStream *s)
{
    return D(s)->dec != NULL;
}

static void dec_drain(VvStream *s)
{
    g_mutex_unlock(&s->lock);
    vv_dec_drain(D(s)->dec);
    g_mutex_lock(&s->lock);
}

static void dec_feed(VvStream *s, VvJob *job)
{
    VvDecStream *d = D(s);
    uint64_t seq;
    uint32_t w, h;

    if (!d->dec) {
        uint32_t format = s->params[VV_QUEUE_INPUT].format;
        g_autofree char *err = NULL;
        VvDecoder *dec;

        g_mutex_unlock(&s->lock);
        dec = vv_dec_open(s->e, format, s->e->cfg.codec_threads,
                          s->e->cfg.max_width, s->e->cfg.max_height, &err);
        g_mutex_lock(&s->lock);
        if (!dec) {
            vv_fail_stream(s, err);
            vv_cancel_job(s, job);
            return;
        }
        d->dec = dec;
    }
    seq = vv_next_seq(s, job->timestamp);
    g_mutex_unlock(&s->lock);
    vv_dec_push(d->dec, job->data, job->size, seq);
    g_mutex_lock(&s->lock);
    /*
     * The first headers give the size: say so before any picture comes
     * out (with B-frames a short stream gives none until it is drained,
     * and a V4L2 client drains only once its CAPTURE queue runs).
     */
    if (!s->have_format && vv_dec_stream_size(d->dec, &w, &h) &&
        !announce_format(s, w, h)) {
        vv_cancel_job(s, job);
        return;
    }
    vv_input_done(s, job, job->timestamp);
    s->active = true;
}

/* Start the codec afresh: what it holds is of input the guest cleared. */
static void reset_codec_input(VvStream *s)
{
    dec_drop_output(s);
    if (D(s)->dec) {
        vv_dec_reset(D(s)->dec);
    }
    s->active = false;
}

static void dec_after_eos(VvStream *s)
{
    /* ready for more input after V4L2_DEC_CMD_START */
    if (D(s)->dec) {
        vv_dec_reset(D(s)->dec);
    }
}

static void dec_clear(VvStream *s, unsigned queue)
{
    /* a cleared OUTPUT queue only gives its buffers back */
    if (queue == VV_QUEUE_INPUT) {
        reset_codec_input(s);
    }
}

static void dec_stop(VvStream *s)
{
    VvDecStream *d = D(s);

    g_mutex_lock(&s->lock);
    d->copy_quit = true;
    g_cond_signal(&d->copy_cond);
    g_mutex_unlock(&s->lock);
    if (d->copier) {
        g_thread_join(d->copier);
        d->copier = NULL;
    }
}

static void dec_init(VvStream *s, uint32_t coded_format)
{
    VvDecStream *d = g_new0(VvDecStream, 1);

    d->frame = av_frame_alloc();
    d->pending = av_frame_alloc();
    d->copy_frame = av_frame_alloc();
    d->writer = vv_frame_writer_new();
    g_cond_init(&d->copy_cond);
    s->m = d;
}

static void dec_free(VvStream *s)
{
    VvDecStream *d = D(s);

    vv_dec_free(d->dec);
    vv_frame_writer_free(d->writer);
    av_frame_free(&d->frame);
    av_frame_free(&d->pending);
    av_frame_free(&d->copy_frame);
    g_cond_clear(&d->copy_cond);
    g_free(d);
    s->m = NULL;
}

static void dec_prepare_save(VvStream *s)
{
}

static bool dec_save(VvStream *s, GByteArray *out, char **err)
{
    VvDecStream *d = D(s);

    vv_put_u8(out, d->dec && !s->failed);
    if (d->dec && !s->failed &&
        !vv_dec_save(d->dec, out, dec_has_output(s), err)) {
        return false;
    }
    vv_put_u32(out, 0);         /* no packets (the encoder's) */
    return true;
}

static bool dec_load(VvStream *s, VvReader *r, const char **why)
{
    VvDecStream *d = D(s);

    if (vv_get_u8(r)) {
        g_autofree char *err = NULL;

        d->dec = vv_dec_open(s->e, s->params[VV_QUEUE_INPUT].format,
                             s->e->cfg.codec_threads, s->e->cfg.max_width,
                             s->e->cfg.max_height, &err);
        if (!d->dec || !vv_dec_load(d->dec, r)) {
            *why = "cannot replay the decoder's input";
            return false;
        }
        s->active = true;
        /* a drained codec comes to its end again after the replay */
        s->eos_pending = false;
    }
    if (vv_get_u32(r)) {
        *why = "packets for a decoder";
        return false;
    }
    return true;
}

static bool dec_get_control(VvStream *s, uint32_t control, uint32_t *value)
{
    switch (control) {
    case VIRTIO_VIDEO_CONTROL_PROFILE:
        *value = s->profile;
        return *value != VIRTIO_VIDEO_PROFILE_UNDEFINED;
    case VIRTIO_VIDEO_CONTROL_LEVEL:
        *value = s->level;
        return *value != VIRTIO_VIDEO_LEVEL_UNDEFINED;
    default:
        return false;
    }
}

const VvModeOps vv_decoder_mode = {
    .init = dec_init,
    .free = dec_free,
    .has_output = dec_has_output,
    .put_output = dec_put_output,
    .receive = dec_receive,
    .feed = dec_feed,
    .started = dec_started,
    .drain = dec_drain,
    .after_eos = dec_after_eos,
    .clear = dec_clear,
    .destroy = reset_codec_input,
    .busy = dec_busy,
    .settle = dec_settle,
    .drop_output = dec_drop_output,
    .stop = dec_stop,
    .prepare_save = dec_prepare_save,
    .save = dec_save,
    .load = dec_load,
    .get_control = dec_get_control,
};
