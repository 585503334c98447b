/*
 * virtio-video engine: streams and their worker threads.
 *
 * Each stream has one worker thread that drives its codec session through
 * the stream's mode (VvModeOps: decode.c, enc-lavc.c), in one loop for
 * both modes (stream_step()).  The main thread queues jobs (buffers,
 * drains, clears, destroys) and signals it; the worker takes them at safe
 * points, between two codec calls, so every completion goes out in the
 * order the protocol requires: cancelled buffers before the CLEAR,
 * DESTROY_ALL or DESTROY that cancelled them, the EOS buffer before the
 * DRAIN response, and a resolution-change event only after every frame of
 * the old size is back.  A clear or destroy-all empties its queue (and
 * drops the resources) when the command comes, so that the commands after
 * it find it done (vv_cancel_queue()); its job only resets the codec and
 * answers, after what the worker had in hand.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-internal.h"
#include "vv-layout.h"

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
static void buffer_done(VvStream *s, VvJob *job, uint64_t timestamp,
                        uint32_t flags, uint32_t size, bool lazy)
{
    gpointer id = GUINT_TO_POINTER(job->resource_id);

    /* not if a clear gave the id back and the guest queued it again */
    if (g_hash_table_lookup(s->queued[job->queue], id) == job) {
        g_hash_table_remove(s->queued[job->queue], id);
    }
    vv_complete_buffer(s->e, job->token, s->id, timestamp, flags, size,
                       flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR ? NULL : job,
                       lazy);
    vv_job_free(job);
}

void vv_buffer_done(VvStream *s, VvJob *job, uint64_t timestamp,
                    uint32_t flags, uint32_t size)
{
    buffer_done(s, job, timestamp, flags, size, false);
}

/*
 * Lazy only while the guest has more input queued: a guest that is out of
 * bitstream buffers gets this one back at once.
 */
void vv_input_done(VvStream *s, VvJob *job, uint64_t timestamp)
{
    buffer_done(s, job, timestamp, 0, 0, !g_queue_is_empty(&s->inputs));
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

/* Unrecoverable: tell the guest, fail whatever input comes. */
void vv_fail_stream(VvStream *s, const char *why)
{
    if (s->failed) {
        return;
    }
    vv_guest_error(s->e, "virtio-video: stream %u failed: %s", s->id, why);
    s->mode->settle(s);
    s->failed = true;
    s->mode->drop_output(s);
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
        s->mode->clear(s, job->queue);
        break;
    case VV_JOB_DESTROY_ALL:
        break;
    case VV_JOB_DESTROY:
        vv_cancel_queue(s, VV_QUEUE_INPUT);
        vv_cancel_queue(s, VV_QUEUE_OUTPUT);
        s->mode->destroy(s);
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
    if (!backend || s->backend == backend) {
        return;
    }
    s->backend = backend;
    if (s->e->ops.stream_backend) {
        s->e->ops.stream_backend(s->e->cfg.opaque, s->id, backend);
    }
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
    /* unknown (e.g. AV_NOPTS_VALUE) is negative */
    if (!s->cookies || pts < 0 ||
        (uint64_t)pts >= s->seq || s->seq - (uint64_t)pts > VV_COOKIE_RING) {
        return 0;
    }
    return s->cookies[pts % VV_COOKIE_RING];
}

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
    s->mode->after_eos(s);
    return true;
}

uint64_t vv_next_seq(VvStream *s, uint64_t timestamp)
{
    alloc_cookies(s);
    s->cookies[s->seq % VV_COOKIE_RING] = timestamp;
    return s->seq++;
}

/*
 * One step of the stream's work, the same for both modes; lock held,
 * dropped around codec calls and copies.  Returns false when there is
 * nothing to do until something changes.
 */
static bool stream_step(VvStream *s)
{
    const VvModeOps *m = s->mode;
    VvJob *job;

    if (s->hw_lost && !s->failed) {
        vv_fail_stream(s, "the hardware device failed to give a picture");
    }
    if (s->failed) {
        return vv_fail_next_input(s);
    }
    if (m->has_output(s)) {
        return m->put_output(s);
    }
    if (s->eos_pending) {
        /* the EOS buffer comes after the last picture or packet */
        return !m->busy(s) && vv_deliver_eos(s);
    }
    if (s->active) {
        VvRecv r = m->receive(s);

        if (r != VV_RECV_OK) {
            s->active = false;
            if (r == VV_RECV_EOF && s->drain) {
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
        if (!m->started(s)) {
            s->eos_pending = true;      /* nothing was ever coded */
            return true;
        }
        m->drain(s);
        s->active = true;
        return true;
    }
    m->feed(s, job);
    return true;
}

static gpointer stream_worker(gpointer opaque)
{
    VvStream *s = opaque;
    bool destroyed = false;

    g_mutex_lock(&s->lock);
    while (!s->abort) {
        VvJob *job = g_queue_pop_head(&s->ctrl);

        if (job) {
            /* buffers it cancels or frees come after the picture */
            s->mode->settle(s);
            if (handle_ctrl(s, job)) {
                destroyed = true;
                break;
            }
            continue;
        }
        if (!stream_step(s)) {
            /* nothing to do: what waited for a wake-up goes out now */
            vv_kick_deferred(s->e);
            g_cond_wait(&s->cond, &s->lock);
        }
    }
    /* stopped or destroyed: nothing is left half done */
    s->mode->settle(s);
    vv_kick_deferred(s->e);
    g_mutex_unlock(&s->lock);
    s->mode->stop(s);

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
    s->mode = e->mode_ops;
    s->mode->init(s, coded_format);
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
    s->mode->free(s);
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        g_hash_table_destroy(s->resources[q]);
        g_hash_table_destroy(s->queued[q]);
    }
    g_free(s->cookies);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
}
