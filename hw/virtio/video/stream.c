/*
 * virtio-video engine: streams and their worker threads.
 *
 * Each stream has one worker thread that owns the codec.  The main thread
 * queues jobs (buffers, drains, clears, destroys) and signals it; the
 * worker takes them at safe points, between two codec calls, so every
 * completion goes out in the order the protocol requires: cancelled
 * buffers before the CLEAR, DESTROY_ALL or DESTROY that cancelled them, the
 * EOS buffer before the DRAIN response, and a resolution-change event only
 * after every frame of the old size is back.  A clear or destroy-all
 * empties its queue (and drops the resources) when the command comes, so
 * that the commands after it find it done (vv_cancel_queue()); its job only
 * resets the codec and answers, after what the worker had in hand.
 *
 * A decoder whose codec runs on the worker itself (no frame threads) while
 * the host has a CPU to spare also gets a copier thread that writes each
 * picture into its guest buffer and completes it while the worker decodes
 * the next one (use_copier()).  One picture is in its hands at a time; the
 * worker waits for it before writing one itself, control jobs, EOS,
 * events and stopping, so the order above holds.
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

/*
 * Output buffers a decoder stream asks for (no reference frames are kept
 * in guest buffers: pictures are copied out as they are decoded).
 */
#define VV_DEC_MIN_OUTPUT_BUFFERS   2
#define VV_MAX_BUFFERS              32

void vv_job_free(VvJob *job)
{
    if (!job) {
        return;
    }
    if (job->backing) {
        vv_backing_unref(job->backing);
    }
    if (job->data) {
        vv_bitstream_release(job->e, job->size + VV_BITSTREAM_PADDING);
    }
    g_free(job->data);
    g_free(job);
}

/* Complete a buffer job; lock held. */
void vv_buffer_done(VvStream *s, VvJob *job, uint64_t timestamp,
                    uint32_t flags, uint32_t size)
{
    gpointer id = GUINT_TO_POINTER(job->resource_id);

    /* not if a clear gave the id back and the guest queued it again */
    if (g_hash_table_lookup(s->queued[job->queue], id) == job) {
        g_hash_table_remove(s->queued[job->queue], id);
    }
    vv_complete_buffer(s->e, job->token, s->id, timestamp, flags, size,
                       flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR ? NULL : job);
    vv_job_free(job);
}

/* Complete a job that did not happen; lock held. */
void vv_cancel_job(VvStream *s, VvJob *job)
{
    switch (job->type) {
    case VV_JOB_INPUT:
    case VV_JOB_OUTPUT:
        vv_buffer_done(s, job, 0, VIRTIO_VIDEO_BUFFER_FLAG_ERR, 0);
        return;
    default:
        vv_complete_hdr(s->e, job->token,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, s->id);
        vv_job_free(job);
        return;
    }
}

void vv_cancel_all(VvStream *s, GQueue *q)
{
    VvJob *job;

    while ((job = g_queue_pop_head(q))) {
        vv_cancel_job(s, job);
    }
}

static void drop_pending_frame(VvStream *s)
{
    av_frame_unref(s->pending);
}

static bool have_pending_frame(VvStream *s)
{
    return s->pending->buf[0] != NULL;
}

/*
 * Wait until the copier has completed the picture it was given (that
 * completion goes out before whatever the caller posts next); lock held.
 */
static void copy_wait(VvStream *s)
{
    while (s->copy_job) {
        g_cond_wait(&s->cond, &s->lock);
    }
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
    n = vv_frame_write(s->writer, frame, p, job->backing);
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
    return !vv_dec_frame_threads(s->dec) &&
           (gsize)g_atomic_int_get(&s->e->decoders) < cpus;
}

static gpointer stream_copier(gpointer opaque)
{
    VvStream *s = opaque;

    g_mutex_lock(&s->lock);
    for (;;) {
        if (s->copy_job) {
            /* copy_job stays set until it is complete: copy_wait() */
            write_picture(s, s->copy_job, s->copy_frame, &s->copy_params,
                          s->copy_ts);
            s->copy_job = NULL;
            g_cond_signal(&s->cond);    /* the worker may wait for it */
        } else if (s->copy_quit) {
            break;
        } else {
            g_cond_wait(&s->copy_cond, &s->lock);
        }
    }
    g_mutex_unlock(&s->lock);
    return NULL;
}

/* Stop any drain in progress; lock held. */
void vv_cancel_drain(VvStream *s)
{
    if (s->drain) {
        vv_cancel_job(s, s->drain);
        s->drain = NULL;
    }
    s->eos_pending = false;
    s->draining = false;
}

/*
 * QUEUE_CLEAR, RESOURCE_DESTROY_ALL and STREAM_DESTROY of queue @q, from
 * the main thread when the command comes (or the worker); lock held.
 * Every buffer of the queue the worker has not taken, and for INPUT the
 * drain, wherever it is, completes cancelled now.  A buffer the worker
 * holds (being decoded from or written) completes when it is done, before
 * the worker answers the command; its id is free for the guest to queue
 * again at once, and vv_buffer_done() leaves the new entry alone.
 */
void vv_cancel_queue(VvStream *s, unsigned q)
{
    if (q == VV_QUEUE_INPUT) {
        vv_cancel_all(s, &s->inputs);
        vv_cancel_drain(s);
    } else {
        vv_cancel_all(s, &s->outputs);
    }
    g_hash_table_remove_all(s->queued[q]);
}

/* Start the codec afresh: what it holds is of input the guest cleared. */
static void reset_codec_input(VvStream *s)
{
    drop_pending_frame(s);
    if (s->dec) {
        vv_dec_reset(s->dec);
    }
    s->dec_active = false;
}

/* Unrecoverable: tell the guest, fail whatever input comes. */
void vv_fail_stream(VvStream *s, const char *why)
{
    if (s->failed) {
        return;
    }
    vv_guest_error(s->e, "virtio-video: stream %u failed: %s", s->id, why);
    copy_wait(s);
    s->failed = true;
    drop_pending_frame(s);
    vv_cancel_drain(s);
    vv_post_event(s->e, VIRTIO_VIDEO_EVENT_ERROR, s->id);
}

/*
 * Handle a control job; lock held.  Returns true when the stream ends.
 * QUEUE_CLEAR and RESOURCE_DESTROY_ALL took effect on the queue (and the
 * resources) when they came, see engine.c; what is left is the codec's
 * side and the answer, which the worker gives once it has finished what
 * it had in hand.
 */
static bool handle_ctrl(VvStream *s, VvJob *job)
{
    switch (job->type) {
    case VV_JOB_CLEAR:
        if (s->e->cfg.mode == VV_MODE_ENCODER) {
            /*
             * raw frames are simply handed back; a cleared bitstream
             * queue restarts the encoder, with a keyframe
             */
            if (job->queue == VV_QUEUE_OUTPUT) {
                vv_enc_reset(s);
            }
        } else if (job->queue == VV_QUEUE_INPUT) {
            reset_codec_input(s);
        }
        break;
    case VV_JOB_DESTROY_ALL:
        break;
    case VV_JOB_DESTROY:
        vv_cancel_queue(s, VV_QUEUE_INPUT);
        vv_cancel_queue(s, VV_QUEUE_OUTPUT);
        reset_codec_input(s);
        vv_enc_reset(s);
        vv_cancel_all(s, &s->ctrl);
        vv_complete_hdr(s->e, job->token, VIRTIO_VIDEO_RESP_OK_NODATA, s->id);
        vv_job_free(job);
        return true;
    default:
        g_assert_not_reached();
    }
    vv_complete_hdr(s->e, job->token, VIRTIO_VIDEO_RESP_OK_NODATA, s->id);
    vv_job_free(job);
    return false;
}

/* Is @b large enough for frames laid out as @p? */
static bool backing_fits(const VvBacking *b, const VvParams *p)
{
    unsigned k;

    if (b->num_planes == 1) {
        return b->size >= vv_layout_size(p);
    }
    if (b->num_planes != p->num_planes) {
        return false;
    }
    for (k = 0; k < p->num_planes; k++) {
        if (b->planes[k].size < p->plane_formats[k].plane_size) {
            return false;
        }
    }
    return true;
}

/*
 * Take an output buffer: for a picture, one queued after the guest saw the
 * current OUTPUT params, and large enough; for EOS, any.  Lock held.
 */
VvJob *vv_take_output(VvStream *s, bool for_picture)
{
    GList *l;

    for (l = s->outputs.head; l; l = l->next) {
        VvJob *job = l->data;

        if (!for_picture ||
            (job->epoch == s->out_epoch &&
             backing_fits(job->backing, &s->params[VV_QUEUE_OUTPUT]))) {
            g_queue_delete_link(&s->outputs, l);
            return job;
        }
    }
    return NULL;
}

/* Say which backend serves the stream, when that changes; lock held. */
void vv_report_backend(VvStream *s, const char *backend)
{
    if (s->backend == backend) {
        return;
    }
    s->backend = backend;
    if (s->e->ops.stream_backend) {
        s->e->ops.stream_backend(s->e->cfg.opaque, s->id, backend);
    }
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
    copy_wait(s);
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
    vv_dec_stream_info(s->dec, s->params[VV_QUEUE_INPUT].format,
                       &s->profile, &s->level);
    vv_report_backend(s, vv_dec_backend(s->dec, s->e));
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
    av_frame_move_ref(s->pending, frame);
}

/*
 * The timestamp ring (32 KiB) comes with the first input, so that a stream
 * that is only opened costs little.  migrate.c saves and loads the ring of
 * every stream while the engine is paused: a stream made while paused gets
 * it at once, and vv_stream_stop() (how the engine pauses) gives one to any
 * stream that has none yet.
 */
static void alloc_cookies(VvStream *s)
{
    if (!s->cookies) {
        s->cookies = g_new0(uint64_t, VV_COOKIE_RING);
    }
}

uint64_t vv_cookie(VvStream *s, int64_t pts)
{
    if (!s->cookies || pts == AV_NOPTS_VALUE || pts < 0 ||
        (uint64_t)pts >= s->seq || s->seq - (uint64_t)pts > VV_COOKIE_RING) {
        return 0;
    }
    return s->cookies[pts % VV_COOKIE_RING];
}

/*
 * One step of work; lock held, dropped around codec calls and copies.
 * Returns false when there is nothing to do.
 */
bool vv_fail_next_input(VvStream *s)
{
    VvJob *job = g_queue_pop_head(&s->inputs);

    if (!job) {
        return false;
    }
    vv_cancel_job(s, job);
    return true;
}

bool vv_deliver_eos(VvStream *s)
{
    VvJob *job = vv_take_output(s, false);

    if (!job) {
        return false;
    }
    vv_buffer_done(s, job, 0, VIRTIO_VIDEO_BUFFER_FLAG_EOS, 0);
    vv_complete_hdr(s->e, s->drain->token, VIRTIO_VIDEO_RESP_OK_NODATA,
                    s->id);
    vv_job_free(s->drain);
    s->drain = NULL;
    s->eos_pending = false;
    s->draining = false;
    /* ready for more input after V4L2_DEC_CMD_START / ENC_CMD_START */
    if (s->dec) {
        vv_dec_reset(s->dec);
    }
    /* a flushed encoder takes no more frames: the next one reopens */
    vv_enc_reset(s);
    return true;
}

uint64_t vv_next_seq(VvStream *s, uint64_t timestamp)
{
    alloc_cookies(s);
    s->cookies[s->seq % VV_COOKIE_RING] = timestamp;
    return s->seq++;
}

static bool worker_step(VvStream *s, AVFrame *frame)
{
    VvJob *job;
    uint64_t seq;
    uint32_t w, h;

    if (s->hw_lost && !s->failed) {
        vv_fail_stream(s, "the hardware device failed to give a picture");
    }
    if (s->failed) {
        return vv_fail_next_input(s);
    }

    if (have_pending_frame(s)) {
        uint64_t ts;

        /* the copier signals s->cond when it is free */
        if (s->copy_job) {
            return false;
        }
        job = vv_take_output(s, true);
        if (!job) {
            return false;
        }
        /* the device adds latency only once it has the buffer too */
        job->t_ready = MAX(s->t_ready, job->t_queued);
        ts = vv_cookie(s, s->pending->pts != AV_NOPTS_VALUE ?
                           s->pending->pts :
                           s->pending->best_effort_timestamp);
        if (!use_copier(s)) {
            VvParams p = s->params[VV_QUEUE_OUTPUT];

            write_picture(s, job, s->pending, &p, ts);
            return true;
        }
        s->copy_params = s->params[VV_QUEUE_OUTPUT];
        s->copy_ts = ts;
        av_frame_move_ref(s->copy_frame, s->pending);
        s->copy_job = job;
        if (!s->copier) {
            s->copy_quit = false;
            s->copier = g_thread_new("vv-copy", stream_copier, s);
        }
        g_cond_signal(&s->copy_cond);
        /* let the copier have a CPU now, before the next codec call */
        g_mutex_unlock(&s->lock);
        g_thread_yield();
        g_mutex_lock(&s->lock);
        return true;
    }

    if (s->eos_pending) {
        /* the EOS buffer comes after the last picture */
        if (s->copy_job) {
            return false;
        }
        return vv_deliver_eos(s);
    }

    if (s->dec_active) {
        int ret;

        g_mutex_unlock(&s->lock);
        ret = vv_dec_receive(s->dec, frame);
        g_mutex_lock(&s->lock);
        if (ret == 0) {
            s->t_ready = g_get_monotonic_time();
            on_picture(s, frame);
        } else if (ret == AVERROR(ERANGE)) {
            s->dec_active = false;
            vv_fail_stream(s, "picture buffer refused: larger than "
                           "max-width x max-height");
        } else if (ret == VV_DEC_HW_REFUSED) {
            s->dec_active = false;
            vv_fail_stream(s, "the hardware device cannot decode this "
                           "stream (profile, size or bit depth)");
        } else if (ret == VV_DEC_HW_FAILED) {
            g_autofree char *why =
                g_strdup_printf("the hardware device failed: %s",
                                vv_dec_hw_error(s->dec));

            s->dec_active = false;
            vv_fail_stream(s, why);
        } else {
            s->dec_active = false;
            if (ret == AVERROR_EOF && s->drain) {
                s->eos_pending = true;
            }
        }
        return true;
    }

    job = g_queue_pop_head(&s->inputs);
    if (!job) {
        return false;
    }
    if (job->type == VV_JOB_DRAIN) {
        s->drain = job;
        if (!s->dec) {
            s->eos_pending = true;      /* nothing was ever decoded */
            return true;
        }
        g_mutex_unlock(&s->lock);
        vv_dec_drain(s->dec);
        g_mutex_lock(&s->lock);
        s->dec_active = true;
        return true;
    }

    if (!s->dec) {
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
            return true;
        }
        s->dec = dec;
    }
    seq = vv_next_seq(s, job->timestamp);
    g_mutex_unlock(&s->lock);
    vv_dec_push(s->dec, job->data, job->size, seq);
    g_mutex_lock(&s->lock);
    /*
     * The first headers give the size: say so before any picture comes
     * out (with B-frames a short stream gives none until it is drained,
     * and a V4L2 client drains only once its CAPTURE queue runs).
     */
    if (!s->have_format && vv_dec_stream_size(s->dec, &w, &h) &&
        !announce_format(s, w, h)) {
        vv_cancel_job(s, job);
        return true;
    }
    vv_buffer_done(s, job, job->timestamp, 0, 0);
    s->dec_active = true;
    return true;
}

static gpointer stream_worker(gpointer opaque)
{
    VvStream *s = opaque;
    AVFrame *frame = av_frame_alloc();
    bool destroyed = false;

    g_mutex_lock(&s->lock);
    while (!s->abort) {
        VvJob *job = g_queue_pop_head(&s->ctrl);

        if (job) {
            /* buffers it cancels or frees come after the picture */
            copy_wait(s);
            if (handle_ctrl(s, job)) {
                destroyed = true;
                break;
            }
            continue;
        }
        if (!(s->e->cfg.mode == VV_MODE_ENCODER ? vv_enc_step(s)
                                                : worker_step(s, frame))) {
            g_cond_wait(&s->cond, &s->lock);
        }
    }
    /* stopped or destroyed: nothing is left half done */
    copy_wait(s);
    s->copy_quit = true;
    g_cond_signal(&s->copy_cond);
    g_mutex_unlock(&s->lock);
    if (s->copier) {
        g_thread_join(s->copier);
        s->copier = NULL;
    }

    av_frame_free(&frame);
    if (destroyed) {
        s->finished = true;
        vv_complete_stream_gone(s->e, s);
    }
    return NULL;
}

static void backing_unref_notify(gpointer data)
{
    vv_backing_unref(data);
}

VvStream *vv_stream_new(VvEngine *e, uint32_t id, uint32_t coded_format,
                        uint32_t in_mem, uint32_t out_mem)
{
    VvStream *s = g_new0(VvStream, 1);
    VvParams *in = &s->params[VV_QUEUE_INPUT];
    VvParams *out = &s->params[VV_QUEUE_OUTPUT];
    unsigned q;

    s->e = e;
    s->id = id;
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    g_cond_init(&s->copy_cond);
    g_queue_init(&s->inputs);
    g_queue_init(&s->outputs);
    g_queue_init(&s->ctrl);
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        s->resources[q] = g_hash_table_new_full(NULL, NULL, NULL,
                                                backing_unref_notify);
        s->queued[q] = g_hash_table_new(NULL, NULL);
    }
    s->mem_type[VV_QUEUE_INPUT] = in_mem;
    s->mem_type[VV_QUEUE_OUTPUT] = out_mem;

    /* Defaults until the guest sets params or the stream says otherwise. */
    in->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    in->format = coded_format;
    in->frame_width = 640;
    in->frame_height = 480;
    in->min_buffers = 1;
    in->max_buffers = VV_MAX_BUFFERS;
    in->num_planes = 1;
    in->plane_formats[0].plane_size = 1024 * 1024;
    in->resource_type = in_mem;

    out->queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
    vv_layout_fill(out, VIRTIO_VIDEO_FORMAT_NV12, 640, 480);
    out->min_buffers = VV_DEC_MIN_OUTPUT_BUFFERS;
    out->max_buffers = VV_MAX_BUFFERS;
    out->resource_type = out_mem;
    s->seen_out_size = vv_layout_size(out);

    s->profile = vv_default_profile(coded_format);
    s->level = coded_format == VIRTIO_VIDEO_FORMAT_H264 ?
               VIRTIO_VIDEO_LEVEL_H264_1_0 : 0;
    if (e->cfg.mode == VV_MODE_ENCODER) {
        vv_enc_stream_init(s, coded_format);
    }
    s->pending = av_frame_alloc();
    s->copy_frame = av_frame_alloc();
    s->writer = vv_frame_writer_new();
    g_queue_init(&s->pkt_backlog);
    /*
     * The worker starts with the first job (vv_stream_push()): a stream
     * that is open and idle has no thread.  One made while the engine is
     * paused (loaded by migration, maybe busy) starts when it resumes.
     */
    s->lazy = !e->paused;
    if (e->paused) {
        alloc_cookies(s);
    }
    return s;
}

void vv_stream_start(VvStream *s)
{
    if (!s->thread && !s->finished && !s->lazy) {
        s->abort = false;
        s->thread = g_thread_new("vv-stream", stream_worker, s);
    }
}

void vv_stream_join(VvStream *s)
{
    if (s->thread) {
        g_thread_join(s->thread);
        s->thread = NULL;
    }
}

void vv_stream_push(VvStream *s, VvJob *job)
{
    g_mutex_lock(&s->lock);
    switch (job->type) {
    case VV_JOB_INPUT:
    case VV_JOB_DRAIN:
        g_queue_push_tail(&s->inputs, job);
        break;
    case VV_JOB_OUTPUT:
        /*
         * A buffer serves pictures of the current size only if the guest
         * had read the OUTPUT params of that size when it queued it:
         * buffers queued between a resolution change and the guest's
         * GET_PARAMS are laid out for the old size.
         */
        job->epoch = s->seen_epoch;
        g_queue_push_tail(&s->outputs, job);
        break;
    default:
        g_queue_push_tail(&s->ctrl, job);
        break;
    }
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);
    s->lazy = false;
    if (!s->e->paused) {
        vv_stream_start(s);
    }
}

static void drop_queue(GQueue *q, void (*drop)(void *, void *), void *opaque)
{
    VvJob *job;

    while ((job = g_queue_pop_head(q))) {
        drop(opaque, job->token);
        vv_job_free(job);
    }
}

void vv_stream_stop(VvStream *s)
{
    if (s->e->paused) {
        alloc_cookies(s);       /* to be saved */
    }
    if (s->thread) {
        g_mutex_lock(&s->lock);
        s->abort = true;
        g_cond_signal(&s->cond);
        g_mutex_unlock(&s->lock);
        g_thread_join(s->thread);
        s->thread = NULL;
    }
}

void vv_stream_abort(VvStream *s, void (*drop)(void *opaque, void *token),
                     void *opaque)
{
    vv_stream_stop(s);
    drop_queue(&s->inputs, drop, opaque);
    drop_queue(&s->outputs, drop, opaque);
    drop_queue(&s->ctrl, drop, opaque);
    if (s->drain) {
        drop(opaque, s->drain->token);
        vv_job_free(s->drain);
        s->drain = NULL;
    }
}

void vv_stream_free(VvStream *s)
{
    unsigned q;

    vv_stream_join(s);
    g_assert(g_queue_is_empty(&s->inputs) && g_queue_is_empty(&s->outputs) &&
             g_queue_is_empty(&s->ctrl) && !s->drain);
    vv_dec_free(s->dec);
    vv_enc_stream_free(s);
    vv_frame_writer_free(s->writer);
    av_frame_free(&s->pending);
    av_frame_free(&s->copy_frame);
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        g_hash_table_destroy(s->resources[q]);
        g_hash_table_destroy(s->queued[q]);
    }
    g_free(s->cookies);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_cond_clear(&s->copy_cond);
    g_free(s);
}
