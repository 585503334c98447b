/*
 * virtio-video engine: the completion and event queue.
 *
 * Workers (and the main thread) post completions and events here in the
 * order the protocol requires; vv_engine_poll() delivers them from the
 * main thread in that order, marks guest memory the device wrote dirty
 * first, frees destroyed streams, and keeps the statistics (x-stats).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-internal.h"

typedef struct VvCompletion {
    uint64_t seq;               /* order among completions and events */
    gint64 t_ready;             /* picture/packet: when the codec gave it */
    gint64 t_posted;            /* and when its completion was posted */
    void *token;
    VvStream *gone;             /* a destroyed stream to free */
    VvBacking *written;         /* guest memory the device wrote */
    size_t len;
    uint8_t resp[sizeof(struct virtio_video_resource_queue_resp)];
} VvCompletion;

void vv_guest_error(VvEngine *e, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!e->ops.guest_error) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    e->ops.guest_error(e->cfg.opaque, msg);
    g_free(msg);
}

static void kick(VvEngine *e)
{
    if (e->ops.kick) {
        e->ops.kick(e->cfg.opaque);
    }
}

static void push_completion_lazy(VvEngine *e, VvCompletion *c, bool lazy)
{
    gint64 now = lazy || c->t_ready ? g_get_monotonic_time() : 0;

    c->t_posted = now;
    g_mutex_lock(&e->lock);
    c->seq = e->seq++;
    g_queue_push_tail(&e->completions, c);
    if (lazy && !g_atomic_int_get(&e->kick_deferred)) {
        e->deferred_since = now;
        g_atomic_int_set(&e->kick_deferred, 1);
    } else if (lazy && now - e->deferred_since < VV_LAZY_MAX_US) {
        lazy = true;
    } else {
        lazy = false;
    }
    if (!lazy) {
        /* this kick delivers the deferred ones too */
        g_atomic_int_set(&e->kick_deferred, 0);
    }
    g_mutex_unlock(&e->lock);
    if (!lazy) {
        kick(e);
    }
}

static void push_completion(VvEngine *e, VvCompletion *c)
{
    push_completion_lazy(e, c, false);
}

void vv_kick_deferred(VvEngine *e)
{
    if (g_atomic_int_get(&e->kick_deferred) &&
        g_atomic_int_compare_and_exchange(&e->kick_deferred, 1, 0)) {
        kick(e);
    }
}

void vv_complete(VvEngine *e, void *token, const void *resp, size_t len)
{
    VvCompletion *c = g_new0(VvCompletion, 1);

    g_assert(len <= sizeof(c->resp));
    c->token = token;
    c->len = len;
    memcpy(c->resp, resp, len);
    push_completion(e, c);
}

void vv_complete_hdr(VvEngine *e, void *token, uint32_t type,
                     uint32_t stream_id)
{
    uint8_t resp[sizeof(struct virtio_video_cmd_hdr)];

    vv_complete(e, token, resp, vv_write_hdr(resp, type, stream_id));
}

void vv_complete_buffer(VvEngine *e, void *token, uint32_t stream_id,
                        uint64_t timestamp, uint32_t flags, uint32_t size,
                        const VvJob *stats, bool lazy)
{
    VvCompletion *c = g_new0(VvCompletion, 1);

    c->token = token;
    c->len = sizeof(struct virtio_video_resource_queue_resp);
    vv_write_hdr(c->resp, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, stream_id);
    vv_st64(c->resp + 8, timestamp);
    vv_st32(c->resp + 16, flags);
    vv_st32(c->resp + 20, size);
    if (stats && stats->backing && stats->backing->write) {
        c->written = vv_backing_ref(stats->backing);
    }
    if (stats && stats->t_ready) {
        c->t_ready = stats->t_ready;
        g_mutex_lock(&e->lock);
        e->stats.buffers++;
        e->stats.copies += stats->copies;
        e->stats.bytes += size;
        g_mutex_unlock(&e->lock);
    }
    push_completion_lazy(e, c, lazy);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* p50 and p99 of the @n samples in @lat, which it sorts. */
static void percentiles(uint32_t *lat, size_t n, double *p50, double *p99)
{
    if (n) {
        qsort(lat, n, sizeof(*lat), cmp_u32);
        *p50 = lat[n / 2];
        *p99 = lat[MIN(n - 1, n * 99 / 100)];
    }
}

void vv_engine_get_stats(VvEngine *e, VvEngineStats *st)
{
    /* no g_memdup2(): the engine builds with GLib 2.66, as QEMU does */
    g_autofree uint32_t *lat = g_new(uint32_t, VV_STATS_LATENCY_SAMPLES);
    g_autofree uint32_t *wr = g_new(uint32_t, VV_STATS_LATENCY_SAMPLES);
    g_autofree uint32_t *dl = g_new(uint32_t, VV_STATS_LATENCY_SAMPLES);
    size_t n;

    g_mutex_lock(&e->lock);
    *st = e->stats;
    n = MIN(e->latency_n, VV_STATS_LATENCY_SAMPLES);
    memcpy(lat, e->latency, n * sizeof(*lat));
    memcpy(wr, e->latency_write, n * sizeof(*wr));
    memcpy(dl, e->latency_deliver, n * sizeof(*dl));
    g_mutex_unlock(&e->lock);
    percentiles(lat, n, &st->latency_p50_us, &st->latency_p99_us);
    percentiles(wr, n, &st->write_p50_us, &st->write_p99_us);
    percentiles(dl, n, &st->deliver_p50_us, &st->deliver_p99_us);
}

void vv_engine_reset_stats(VvEngine *e)
{
    g_mutex_lock(&e->lock);
    memset(&e->stats, 0, sizeof(e->stats));
    e->latency_n = 0;
    g_mutex_unlock(&e->lock);
}

void vv_complete_stream_gone(VvEngine *e, VvStream *s)
{
    VvCompletion *c = g_new0(VvCompletion, 1);

    c->gone = s;
    push_completion(e, c);
}

void vv_post_event(VvEngine *e, uint32_t type, uint32_t stream_id)
{
    VvEventMsg *m = g_new0(VvEventMsg, 1);

    vv_st32(m->ev, type);
    vv_st32(m->ev + 4, stream_id);
    g_mutex_lock(&e->lock);
    m->seq = e->seq++;
    g_queue_push_tail(&e->events, m);
    g_mutex_unlock(&e->lock);
    kick(e);
}

/*
 * The device wrote @b through its long-lived mapping: tell the transport
 * (for dirty-page tracking) before the guest hears of it, and drop the
 * completion's reference.
 */
static void mark_dirty(VvEngine *e, VvBacking *b)
{
    unsigned i;

    for (i = 0; i < b->num_segs && e->ops.dirty; i++) {
        e->ops.dirty(e->cfg.opaque, b->segs[i].host, b->segs[i].len);
    }
    vv_backing_unref(b);
}

/*
 * Deliver completions and events in the order they were posted, so that an
 * event never overtakes a buffer returned before it.  An event waiting for
 * an eventq buffer does not hold back the completions after it.
 */
void vv_engine_poll(VvEngine *e, VvCompleteFn *complete, VvEventFn *event,
                    void *opaque)
{
    bool events_blocked = false;

    for (;;) {
        VvCompletion *c;
        VvEventMsg *m;

        g_mutex_lock(&e->lock);
        c = g_queue_peek_head(&e->completions);
        m = events_blocked ? NULL : g_queue_peek_head(&e->events);
        if (m && (!c || m->seq < c->seq)) {
            c = NULL;
        } else if (c) {
            g_queue_pop_head(&e->completions);
            m = NULL;
        }
        g_mutex_unlock(&e->lock);

        if (c) {
            if (c->t_ready) {
                gint64 now = g_get_monotonic_time();
                uint64_t i;

                g_mutex_lock(&e->lock);
                i = e->latency_n++ % VV_STATS_LATENCY_SAMPLES;
                e->latency[i] = MIN(now - c->t_ready, UINT32_MAX);
                e->latency_write[i] = MIN(MAX(c->t_posted - c->t_ready, 0),
                                          UINT32_MAX);
                e->latency_deliver[i] = MIN(now - c->t_posted, UINT32_MAX);
                g_mutex_unlock(&e->lock);
            }
            if (c->written) {
                mark_dirty(e, c->written);
            }
            if (c->gone) {
                e->free_stream(e, c->gone);
            } else {
                complete(opaque, c->token, c->resp, c->len);
            }
            g_free(c);
        } else if (m) {
            if (!event(opaque, m->ev, sizeof(m->ev))) {
                events_blocked = true;
                continue;
            }
            g_mutex_lock(&e->lock);
            g_queue_pop_head(&e->events);
            g_mutex_unlock(&e->lock);
            g_free(m);
        } else {
            break;
        }
    }
}

void vv_completions_drop(VvEngine *e, void (*drop)(void *opaque, void *token),
                         void *opaque)
{
    VvCompletion *c;
    VvEventMsg *m;

    while ((c = g_queue_pop_head(&e->completions))) {
        if (c->token) {
            drop(opaque, c->token);
        }
        if (c->written) {
            mark_dirty(e, c->written);
        }
        g_free(c);
    }
    while ((m = g_queue_pop_head(&e->events))) {
        g_free(m);
    }
}
