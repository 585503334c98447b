/*
 * virtio-video engine: device state, command dispatch, completions.
 *
 * Commands that only read or set state are answered at once.  Those that
 * depend on the codec (RESOURCE_QUEUE, STREAM_DRAIN, QUEUE_CLEAR,
 * RESOURCE_DESTROY_ALL, STREAM_DESTROY) become jobs for the stream's worker
 * and complete later, through the completion queue and vv_engine_poll().
 * Every command still takes effect on what the guest sees (resources,
 * queued ids, the drain, the stream table) in command order, when it comes:
 * the next command finds it done, answered or not.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-internal.h"
#include "vv-layout.h"

/* Config space values are at least this (what crosvm and drivers expect). */
#define VV_MIN_CAPS_LENGTH      1024
#define VV_MAX_RESP_LENGTH      1024
#define VV_MAX_ENTRIES  VV_ENGINE_MAX_SG_ENTRIES
G_STATIC_ASSERT(VV_ENGINE_MAX_DIM == VV_LAYOUT_MAX_DIM);
/* Largest resource: an 8192x8192 ARGB frame. */
#define VV_MAX_RESOURCE_SIZE    ((size_t)8192 * 8192 * 4)
/*
 * Defaults of the caps in VvEngineConfig.  Resources per queue: V4L2 allows
 * 32 (64 since Linux 6.8) buffers per queue; be generous.
 */
#define VV_DEFAULT_RESOURCES    256
#define VV_DEFAULT_QUEUED       256
#define VV_DEFAULT_MAPPED       ((uint64_t)8 << 30)
#define VV_DEFAULT_HISTORY      ((uint64_t)256 << 20)
/* Bitstream held by default, all streams together. */
#define VV_DEFAULT_BITSTREAM_HELD   (256 * 1024 * 1024)
/* Bitstream buffer sizes the guest may ask for. */
#define VV_MIN_BITSTREAM_SIZE   4096
#define VV_MAX_BITSTREAM_SIZE   (64 * 1024 * 1024)

const VvBackend *const vv_backends[] = {
    &vv_backend_lavc,
    NULL,
};

typedef struct VvCompletion {
    uint64_t seq;               /* order among completions and events */
    gint64 t_ready;             /* picture/packet: when the codec gave it */
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

static void push_completion(VvEngine *e, VvCompletion *c)
{
    g_mutex_lock(&e->lock);
    c->seq = e->seq++;
    g_queue_push_tail(&e->completions, c);
    g_mutex_unlock(&e->lock);
    kick(e);
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
                        const VvJob *stats)
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
    push_completion(e, c);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

void vv_engine_get_stats(VvEngine *e, VvEngineStats *st)
{
    g_autofree uint32_t *lat = NULL;
    size_t n;

    g_mutex_lock(&e->lock);
    *st = e->stats;
    n = MIN(e->latency_n, VV_STATS_LATENCY_SAMPLES);
    lat = g_memdup2(e->latency, n * sizeof(*lat));
    g_mutex_unlock(&e->lock);
    if (n) {
        qsort(lat, n, sizeof(*lat), cmp_u32);
        st->latency_p50_us = lat[n / 2];
        st->latency_p99_us = lat[MIN(n - 1, n * 99 / 100)];
    }
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

VvEngine *vv_engine_new(const VvEngineConfig *cfg, char **errmsg)
{
    const VvBackend *const *b;
    VvEngine *e;
    size_t need;

    *errmsg = NULL;
    for (b = vv_backends; *b; b++) {
        if (!strcmp((*b)->name, cfg->backend)) {
            break;
        }
    }
    if (!*b) {
        *errmsg = g_strdup_printf("unknown backend '%s' (available: %s)",
                                  cfg->backend, vv_backend_lavc.name);
        return NULL;
    }

    e = g_new0(VvEngine, 1);
    e->cfg = *cfg;
    e->cfg.backend = (*b)->name;
    if (!e->cfg.max_bitstream_bytes) {
        e->cfg.max_bitstream_bytes = VV_DEFAULT_BITSTREAM_HELD;
    }
    if (!e->cfg.max_resources) {
        e->cfg.max_resources = VV_DEFAULT_RESOURCES;
    }
    if (!e->cfg.max_queued) {
        e->cfg.max_queued = VV_DEFAULT_QUEUED;
    }
    if (!e->cfg.max_entries || e->cfg.max_entries > VV_MAX_ENTRIES) {
        e->cfg.max_entries = VV_MAX_ENTRIES;
    }
    if (!e->cfg.max_history_bytes) {
        e->cfg.max_history_bytes = VV_DEFAULT_HISTORY;
    }
    if (!e->cfg.max_mapped_bytes) {
        e->cfg.max_mapped_bytes = VV_DEFAULT_MAPPED;
    }
    if (!e->cfg.max_width || e->cfg.max_width > VV_LAYOUT_MAX_DIM) {
        e->cfg.max_width = VV_LAYOUT_MAX_DIM;
    }
    if (!e->cfg.max_height || e->cfg.max_height > VV_LAYOUT_MAX_DIM) {
        e->cfg.max_height = VV_LAYOUT_MAX_DIM;
    }
    if (cfg->ops) {
        e->ops = *cfg->ops;
    }
    e->backend = *b;
    if (!e->backend->probe(&e->cfg, &e->caps, errmsg)) {
        g_free(e);
        return NULL;
    }
    vv_caps_clamp_frames(&e->caps, e->cfg.max_width, e->cfg.max_height);

    need = MAX(vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_INPUT]),
               vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_OUTPUT]));
    e->max_caps_length = MAX(VV_MIN_CAPS_LENGTH, (need + 255) & ~(size_t)255);
    e->streams = g_hash_table_new(NULL, NULL);
    e->latency = g_new0(uint32_t, VV_STATS_LATENCY_SAMPLES);
    g_mutex_init(&e->lock);
    g_queue_init(&e->completions);
    g_queue_init(&e->events);
    return e;
}

void vv_engine_free(VvEngine *e, void (*drop)(void *opaque, void *token),
                    void *opaque)
{
    vv_engine_reset(e, drop, opaque);
    g_hash_table_destroy(e->streams);
    g_free(e->latency);
    g_mutex_clear(&e->lock);
    g_free(e);
}

VvMode vv_engine_mode(const VvEngine *e)
{
    return e->cfg.mode;
}

uint16_t vv_engine_virtio_id(const VvEngine *e)
{
    /* VIRTIO_ID_VIDEO_DECODER / VIRTIO_ID_VIDEO_ENCODER */
    return e->cfg.mode == VV_MODE_DECODER ? 31 : 30;
}

const char *vv_engine_device_name(const VvEngine *e)
{
    return e->backend->name;
}

uint32_t vv_engine_max_caps_length(const VvEngine *e)
{
    return e->max_caps_length;
}

uint32_t vv_engine_max_resp_length(const VvEngine *e)
{
    return VV_MAX_RESP_LENGTH;
}

size_t vv_engine_max_response_size(const VvEngine *e)
{
    return MAX(e->max_caps_length, VV_MAX_RESP_LENGTH);
}

unsigned vv_engine_num_streams(const VvEngine *e)
{
    return g_hash_table_size(e->streams) + g_list_length(e->dying);
}

size_t vv_engine_max_request_size(const VvEngine *e)
{
    return sizeof(struct virtio_video_resource_create) +
           (size_t)e->cfg.max_entries * sizeof(struct virtio_video_mem_entry);
}

/* ---- backings ---- */

VvBacking *vv_backing_ref(VvBacking *b)
{
    g_atomic_int_inc(&b->ref);
    return b;
}

static void backing_unmap(VvBacking *b)
{
    unsigned i;

    if (b->object) {
        /* the segments are slices of the object's own mapping */
        b->e->ops.object_put(b->e->cfg.opaque, b->object);
        return;
    }
    for (i = 0; i < b->num_segs; i++) {
        if (b->segs[i].host && b->e->ops.unmap) {
            b->e->ops.unmap(b->e->cfg.opaque, b->segs[i].host,
                            b->segs[i].len, b->write);
        }
    }
}

/*
 * The device's allowances (mapped guest memory, bitstream copies, migration
 * history): take @len > 0 bytes of one, false if that would pass @max, or
 * give @len < 0 bytes back.
 */
static bool allowance(VvEngine *e, uint64_t *held, uint64_t max, int64_t len)
{
    bool ok = true;

    g_mutex_lock(&e->lock);
    if (len > 0 && *held + len > max) {
        ok = false;
    } else {
        g_assert(len >= 0 || *held >= (uint64_t)-len);
        *held += len;
    }
    g_mutex_unlock(&e->lock);
    return ok;
}

static bool mapped_account(VvEngine *e, int64_t len)
{
    return allowance(e, &e->mapped, e->cfg.max_mapped_bytes, len);
}

void vv_backing_unref(VvBacking *b)
{
    if (g_atomic_int_dec_and_test(&b->ref)) {
        backing_unmap(b);
        mapped_account(b->e, -(int64_t)b->reserved);
        g_free(b);
    }
}

/* ---- commands ---- */

typedef struct Cmd {
    VvEngine *e;
    const VvRequest *req;
    void *token;
    uint8_t *resp;
    size_t resp_size;
    size_t resp_len;
} Cmd;

static VvCmdStatus reply_hdr(Cmd *c, uint32_t type)
{
    c->resp_len = vv_write_hdr(c->resp, type, c->req->stream_id);
    return VV_CMD_DONE;
}

static VvCmdStatus reply_error(Cmd *c, uint32_t code, const char *why)
{
    vv_guest_error(c->e, "virtio-video: %s (0x%x) on stream %u: %s",
                   vv_cmd_name(c->req->type), c->req->type,
                   c->req->stream_id, why);
    return reply_hdr(c, code);
}

static VvStream *find_stream(VvEngine *e, uint32_t id)
{
    return g_hash_table_lookup(e->streams, GUINT_TO_POINTER(id));
}

static bool format_in(const VvQueueCaps *q, uint32_t format)
{
    return vv_caps_find(q, format) >= 0;
}

static VvJob *job_new(VvJobType type, Cmd *c)
{
    VvJob *job = g_new0(VvJob, 1);

    job->e = c->e;
    job->type = type;
    job->token = c->token;
    job->stream_id = c->req->stream_id;
    job->t_queued = g_get_monotonic_time();
    return job;
}

static VvCmdStatus cmd_query_capability(Cmd *c)
{
    const VvQueueCaps *q =
        &c->e->caps.queue[vv_queue_index(c->req->u.queue.queue_type)];

    c->resp_len = vv_caps_encode(q, c->req->stream_id, c->resp, c->resp_size);
    if (!c->resp_len) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "response buffer smaller than max_caps_length");
    }
    return VV_CMD_DONE;
}

static VvCmdStatus cmd_stream_create(Cmd *c)
{
    VvEngine *e = c->e;
    const VvRequest *req = c->req;
    uint32_t fmt = req->u.stream_create.coded_format;
    unsigned coded_q = e->cfg.mode == VV_MODE_DECODER ? VV_QUEUE_INPUT
                                                      : VV_QUEUE_OUTPUT;
    VvStream *s;

    if (find_stream(e, req->stream_id)) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID,
                           "stream id already in use");
    }
    if (g_hash_table_size(e->streams) >= e->cfg.max_streams ||
        g_list_length(e->dying) >= e->cfg.max_streams) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY,
                           "too many streams (max-streams)");
    }
    if (!format_in(&e->caps.queue[coded_q], fmt)) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "unsupported coded format");
    }
    /* VIRTIO_OBJECT is provisional here: Gen B drivers always send it */
    if (MAX(req->u.stream_create.in_mem_type,
            req->u.stream_create.out_mem_type) >
        VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "unknown memory type");
    }
    s = vv_stream_new(e, req->stream_id, fmt,
                      req->u.stream_create.in_mem_type,
                      req->u.stream_create.out_mem_type);
    g_hash_table_insert(e->streams, GUINT_TO_POINTER(req->stream_id), s);
    return reply_hdr(c, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static VvCmdStatus cmd_stream_destroy(Cmd *c, VvStream *s)
{
    g_hash_table_remove(c->e->streams, GUINT_TO_POINTER(s->id));
    c->e->dying = g_list_prepend(c->e->dying, s);
    vv_stream_push(s, job_new(VV_JOB_DESTROY, c));
    return VV_CMD_PENDING;
}

static VvCmdStatus cmd_stream_drain(Cmd *c, VvStream *s)
{
    const char *why = NULL;

    g_mutex_lock(&s->lock);
    if (s->draining) {
        why = "a drain is already running";
    } else if (s->failed) {
        why = "the stream has failed";
    } else {
        s->draining = true;
    }
    g_mutex_unlock(&s->lock);
    if (why) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, why);
    }
    vv_stream_push(s, job_new(VV_JOB_DRAIN, c));
    return VV_CMD_PENDING;
}

VvBacking *vv_map_entries(VvEngine *e, bool write, unsigned num_planes,
                          const uint32_t *counts, const uint8_t *ent,
                          uint32_t n, uint32_t *code, const char **why)
{
    uint64_t total = 0;
    unsigned plane, i = 0;
    VvBacking *b;

    for (i = 0; i < n; i++) {
        uint32_t len = vv_ld32(ent + i * 16 + 8);

        if (!len || len > VV_MAX_RESOURCE_SIZE - total) {
            *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
            *why = "entry of length 0, or resource too large";
            return NULL;
        }
        total += len;
    }
    if (!mapped_account(e, total)) {
        *code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        *why = "too much guest memory mapped (max-mapped-mb)";
        return NULL;
    }

    b = g_malloc0(sizeof(*b) + n * sizeof(VvSeg));
    b->reserved = total;
    i = 0;
    b->ref = 1;
    b->e = e;
    b->write = write;
    b->num_planes = num_planes;
    for (plane = 0; plane < b->num_planes; plane++) {
        uint32_t count = counts[plane];
        unsigned j;

        b->planes[plane].first = i;
        b->planes[plane].count = count;
        for (j = 0; j < count && i < n; j++, i++, ent += 16) {
            uint64_t addr = vv_ld64(ent);
            uint32_t len = vv_ld32(ent + 8);

            b->segs[i].host = e->ops.map ?
                e->ops.map(e->cfg.opaque, addr, len, write) : NULL;
            if (!b->segs[i].host) {
                *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
                *why = "entry is not guest RAM";
                goto fail;
            }
            b->segs[i].len = len;
            b->segs[i].addr = addr;
            b->num_segs = i + 1;
            b->planes[plane].size += len;
            b->size += len;
        }
    }
    if (i != n) {
        *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        *why = "entry counts do not add up";
        goto fail;
    }
    return b;

fail:
    b->num_segs = i;
    backing_unmap(b);
    mapped_account(e, -(int64_t)b->reserved);
    g_free(b);
    return NULL;
}

static bool backing_revoked(const VvBacking *b)
{
    return b->object && g_atomic_int_get(&b->object->revoked);
}

void vv_engine_set_objects(VvEngine *e, bool enabled)
{
    e->objects = enabled && e->ops.object_get && e->ops.object_put;
}

/*
 * A resource in a virtio object: one entry naming the object for all
 * memory planes, or one per plane naming the same object.  Memory plane k
 * starts plane_offsets[k] bytes into the object and runs to its end; the
 * component planes inside it are laid out from the params as for pages.
 */
static VvBacking *map_object(VvEngine *e, uint32_t stream_id, bool write,
                             const VvRequest *req, uint32_t *code,
                             const char **why)
{
    const uint8_t *ent = req->u.resource_create.entries;
    uint32_t n = req->u.resource_create.total_entries;
    unsigned np = req->u.resource_create.num_planes;
    unsigned k, j, first[VIRTIO_VIDEO_MAX_PLANES], total = 0;
    VvObject *obj;
    VvBacking *b;

    *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    if (n != 1 && n != np) {
        *why = "a virtio object resource needs one entry, or one per plane";
        return NULL;
    }
    for (j = 1; j < n; j++) {
        if (memcmp(ent, ent + j * 16, 16)) {
            *why = "memory planes in different virtio objects";
            return NULL;
        }
    }
    obj = e->ops.object_get(e->cfg.opaque, stream_id,
                            req->u.resource_create.resource_id, ent, write,
                            why);
    if (!obj) {
        return NULL;
    }
    for (k = 0; k < np; k++) {
        uint64_t off = req->u.resource_create.plane_offsets[k];

        if (off >= obj->size) {
            *why = "plane offset beyond the end of the virtio object";
            goto fail;
        }
        for (j = 0; off >= obj->segs[j].len; j++) {
            off -= obj->segs[j].len;
        }
        first[k] = j;
        total += obj->num_segs - j;
    }
    if (!mapped_account(e, obj->size)) {
        *code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        *why = "too much guest memory mapped (max-mapped-mb)";
        goto fail;
    }

    b = g_malloc0(sizeof(*b) + total * sizeof(VvSeg));
    b->ref = 1;
    b->e = e;
    b->write = write;
    b->object = obj;
    b->reserved = obj->size;
    b->num_planes = np;
    for (k = 0; k < np; k++) {
        uint64_t skip = req->u.resource_create.plane_offsets[k];

        for (j = 0; j < first[k]; j++) {
            skip -= obj->segs[j].len;
        }
        b->planes[k].first = b->num_segs;
        b->planes[k].count = obj->num_segs - first[k];
        for (j = first[k]; j < obj->num_segs; j++, skip = 0) {
            VvSeg *seg = &b->segs[b->num_segs++];

            seg->host = obj->segs[j].host + skip;
            seg->len = obj->segs[j].len - skip;
            seg->addr = obj->segs[j].addr + skip;
            b->planes[k].size += seg->len;
        }
        b->size += b->planes[k].size;
    }
    return b;

fail:
    e->ops.object_put(e->cfg.opaque, obj);
    return NULL;
}

static VvCmdStatus cmd_resource_create(Cmd *c, VvStream *s)
{
    const VvRequest *req = c->req;
    unsigned q = vv_queue_index(req->u.resource_create.queue_type);
    /* the device writes decoder OUTPUT and encoder OUTPUT buffers */
    bool write = q == VV_QUEUE_OUTPUT;
    uint32_t layout = req->u.resource_create.planes_layout;
    const char *why = NULL;
    uint32_t code = 0;
    VvBacking *b;
    bool full;

    g_mutex_lock(&s->lock);
    full = g_hash_table_size(s->resources[q]) >= c->e->cfg.max_resources &&
           !g_hash_table_contains(s->resources[q],
               GUINT_TO_POINTER(req->u.resource_create.resource_id));
    g_mutex_unlock(&s->lock);

    /*
     * Without RESOURCE_VIRTIO_OBJECT negotiated the entries are guest
     * pages whatever the queue's memory type: VIRTIO_OBJECT can then only
     * be the provisional type Gen B drivers put in STREAM_CREATE, and a
     * driver that never corrects it with SET_PARAMS_EXT still sends pages.
     */
    if (layout != VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER &&
        layout != VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "bad planes_layout");
    }
    if (full) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY,
                           "too many resources on this queue (max-resources)");
    }
    if (c->e->objects &&
        s->mem_type[q] == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
        b = map_object(c->e, s->id, write, req, &code, &why);
    } else {
        b = vv_map_entries(c->e, write, req->u.resource_create.num_planes,
                           req->u.resource_create.num_entries,
                           req->u.resource_create.entries,
                           req->u.resource_create.total_entries, &code, &why);
    }
    if (!b) {
        return reply_error(c, code, why);
    }
    /* a known id gets new backing (Gen B drivers re-create DMABUF slots) */
    g_mutex_lock(&s->lock);
    g_hash_table_replace(s->resources[q],
                         GUINT_TO_POINTER(req->u.resource_create.resource_id),
                         b);
    g_mutex_unlock(&s->lock);
    return reply_hdr(c, VIRTIO_VIDEO_RESP_OK_NODATA);
}

/*
 * Bitstream copies of queued input (a guest queueing huge buffers must not
 * run QEMU out of memory) and decoders' migration history.
 */
bool vv_bitstream_reserve(VvEngine *e, size_t len)
{
    return allowance(e, &e->bitstream_held, e->cfg.max_bitstream_bytes, len);
}

void vv_bitstream_release(VvEngine *e, size_t len)
{
    allowance(e, &e->bitstream_held, 0, -(int64_t)len);
}

bool vv_history_reserve(VvEngine *e, size_t len)
{
    return allowance(e, &e->history_held, e->cfg.max_history_bytes, len);
}

void vv_history_release(VvEngine *e, size_t len)
{
    allowance(e, &e->history_held, 0, -(int64_t)len);
}

static VvCmdStatus cmd_resource_queue(Cmd *c, VvStream *s)
{
    const VvRequest *req = c->req;
    unsigned q = vv_queue_index(req->u.resource_queue.queue_type);
    gpointer id = GUINT_TO_POINTER(req->u.resource_queue.resource_id);
    /* decoder INPUT and encoder OUTPUT carry bitstream */
    unsigned bitstream_q = c->e->cfg.mode == VV_MODE_DECODER ?
                           VV_QUEUE_INPUT : VV_QUEUE_OUTPUT;
    uint32_t code = 0;
    const char *why = NULL;
    VvBacking *b;
    VvJob *job = job_new(q == VV_QUEUE_INPUT ? VV_JOB_INPUT : VV_JOB_OUTPUT,
                         c);

    job->queue = q;
    job->resource_id = req->u.resource_queue.resource_id;
    job->timestamp = req->u.resource_queue.timestamp;
    g_mutex_lock(&s->lock);
    b = g_hash_table_lookup(s->resources[q], id);
    if (!b) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID;
        why = "unknown resource";
    } else if (backing_revoked(b)) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID;
        why = "the resource's virtio object was taken back by its exporter";
    } else if (g_hash_table_contains(s->queued[q], id)) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        why = "resource queued twice";
    } else if (g_hash_table_size(s->queued[q]) >= c->e->cfg.max_queued) {
        code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        why = "too many buffers queued (max-queued)";
    } else if (q == VV_QUEUE_INPUT && s->draining) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
        why = "input queued during a drain";
    } else if (q == bitstream_q &&
               (req->u.resource_queue.num_data_sizes < 1 ||
                req->u.resource_queue.data_sizes[0] > b->planes[0].size ||
                req->u.resource_queue.data_sizes[0] >
                VV_MAX_BITSTREAM_SIZE)) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        why = "data size beyond the buffer or above 64 MiB";
    } else if (q == VV_QUEUE_INPUT && c->e->cfg.mode == VV_MODE_DECODER &&
               !vv_bitstream_reserve(c->e, req->u.resource_queue.data_sizes[0] +
                                  VV_BITSTREAM_PADDING)) {
        code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        why = "too much bitstream queued (max-bitstream-mb)";
    } else if (q != bitstream_q &&
               b->size < (q == VV_QUEUE_OUTPUT ? s->seen_out_size :
                          vv_layout_size(&s->params[q]))) {
        code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        why = "raw buffer smaller than the frame";
    } else {
        g_hash_table_insert(s->queued[q], id, job);
        s->decoding |= q == VV_QUEUE_INPUT;
        job->index = q == VV_QUEUE_INPUT ? s->inputs_queued++ : 0;
        job->backing = vv_backing_ref(b);
    }
    g_mutex_unlock(&s->lock);
    if (code) {
        g_free(job);
        return reply_error(c, code, why);
    }

    if (q == VV_QUEUE_INPUT && c->e->cfg.mode == VV_MODE_DECODER) {
        /* never let the codec read memory the guest can still write */
        job->size = req->u.resource_queue.data_sizes[0];
        job->data = g_malloc(job->size + VV_BITSTREAM_PADDING);
        vv_backing_read(b, 0, 0, job->data, job->size);
        memset(job->data + job->size, 0, VV_BITSTREAM_PADDING);
    }
    vv_stream_push(s, job);
    return VV_CMD_PENDING;
}

/*
 * QUEUE_CLEAR and RESOURCE_DESTROY_ALL take effect now, for the commands
 * that follow (a driver may re-create and queue buffers without waiting
 * for the answer): the queue's buffers that the worker has not taken
 * complete cancelled, a drain is cancelled with INPUT, and DESTROY_ALL
 * drops the resources (a buffer the worker holds keeps its backing mapped
 * through its own reference).  The worker answers once it has finished
 * what it had in hand (and reset the codec for a clear): the answer comes
 * after every buffer of the queue, and after it the device writes no
 * memory of the cancelled buffers or destroyed resources.
 */
static VvCmdStatus cmd_queue_job(Cmd *c, VvStream *s, VvJobType type)
{
    VvJob *job = job_new(type, c);

    job->queue = vv_queue_index(c->req->u.queue.queue_type);
    g_mutex_lock(&s->lock);
    vv_cancel_queue(s, job->queue);
    if (type == VV_JOB_DESTROY_ALL) {
        g_hash_table_remove_all(s->resources[job->queue]);
    }
    g_mutex_unlock(&s->lock);
    vv_stream_push(s, job);
    return VV_CMD_PENDING;
}

static VvCmdStatus cmd_get_params(Cmd *c, VvStream *s)
{
    bool ext = c->req->type == VIRTIO_VIDEO_CMD_GET_PARAMS_EXT;
    unsigned q = vv_queue_index(c->req->u.queue.queue_type);
    size_t need = ext ? sizeof(struct virtio_video_get_params_ext_resp)
                      : sizeof(struct virtio_video_get_params_resp);
    VvParams p;

    if (c->resp_size < need) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "response buffer too small");
    }
    g_mutex_lock(&s->lock);
    p = s->params[q];
    p.resource_type = s->mem_type[q];
    s->told_crop[q] = p.crop;
    s->told[q] = true;
    if (q == VV_QUEUE_OUTPUT) {
        s->seen_epoch = s->out_epoch;
        s->seen_out_size = vv_layout_size(&p);
    }
    g_mutex_unlock(&s->lock);
    c->resp_len = vv_write_hdr(c->resp, VIRTIO_VIDEO_RESP_OK_GET_PARAMS,
                               c->req->stream_id);
    c->resp_len += vv_write_params(c->resp + c->resp_len, &p, ext);
    return VV_CMD_DONE;
}

/* SET_PARAMS on a decoder stream; lock held.  Returns an error or 0. */
static uint32_t set_dec_params(VvEngine *e, VvStream *s, const VvParams *np,
                               const char **why)
{
    unsigned q = vv_queue_index(np->queue_type);
    VvParams *p = &s->params[q];

    if (q == VV_QUEUE_INPUT) {
        if (np->format != p->format) {
            if (!format_in(&e->caps.queue[VV_QUEUE_INPUT], np->format)) {
                *why = "unsupported coded format";
                return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
            }
            if (s->decoding ||
                g_hash_table_size(s->resources[VV_QUEUE_INPUT])) {
                *why = "coded format change after buffers exist";
                return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
            }
            p->format = np->format;
            s->profile = vv_default_profile(np->format);
        }
        if (np->num_planes >= 1 && np->plane_formats[0].plane_size) {
            p->plane_formats[0].plane_size =
                CLAMP(np->plane_formats[0].plane_size, VV_MIN_BITSTREAM_SIZE,
                      VV_MAX_BITSTREAM_SIZE);
        }
        if (np->frame_width && np->frame_height &&
            np->frame_width <= e->cfg.max_width &&
            np->frame_height <= e->cfg.max_height) {
            p->frame_width = np->frame_width;
            p->frame_height = np->frame_height;
        }
        return 0;
    }

    /* OUTPUT: the guest picks the raw format, the device the layout */
    if (np->format != p->format) {
        if (!format_in(&e->caps.queue[VV_QUEUE_OUTPUT], np->format)) {
            *why = "unsupported raw format";
            return VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        }
        if (g_hash_table_size(s->resources[VV_QUEUE_OUTPUT])) {
            *why = "raw format change while output buffers exist";
            return VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION;
        }
        vv_layout_fill(p, np->format, p->crop.width, p->crop.height);
        /* the guest chose this layout: buffers for it are current */
        s->seen_out_size = vv_layout_size(p);
    }
    return 0;
}

static VvCmdStatus cmd_set_params(Cmd *c, VvStream *s)
{
    const VvParams *np = &c->req->u.set_params;
    bool ext = c->req->type == VIRTIO_VIDEO_CMD_SET_PARAMS_EXT;
    unsigned q = vv_queue_index(np->queue_type);
    const char *why = NULL;
    uint32_t err;

    if (ext && np->resource_type > VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                           "unknown resource_type");
    }
    g_mutex_lock(&s->lock);
    err = c->e->cfg.mode == VV_MODE_DECODER ?
          set_dec_params(c->e, s, np, &why) :
          vv_enc_set_params(c->e, s, np, &why);
    if (!err && ext) {
        s->mem_type[q] = np->resource_type;
    }
    g_mutex_unlock(&s->lock);
    if (err) {
        return reply_error(c, err, why);
    }
    return reply_hdr(c, VIRTIO_VIDEO_RESP_OK_NODATA);
}

static VvCmdStatus cmd_set_control(Cmd *c, VvStream *s)
{
    const char *why = NULL;
    uint32_t err;

    if (c->e->cfg.mode == VV_MODE_DECODER) {
        return reply_error(c, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                           "a decoder has no settable controls");
    }
    g_mutex_lock(&s->lock);
    err = vv_enc_set_control(c->e, s, c->req->u.set_control.control,
                             c->req->u.set_control.has_value,
                             c->req->u.set_control.value, &why);
    g_mutex_unlock(&s->lock);
    if (err) {
        return reply_error(c, err, why);
    }
    return reply_hdr(c, VIRTIO_VIDEO_RESP_OK_NODATA);
}

VvCmdStatus vv_engine_handle_command(VvEngine *e, const void *req_buf,
                                     size_t req_len, void *token,
                                     void *resp, size_t resp_size,
                                     size_t *resp_len)
{
    VvRequest req;
    Cmd c = {
        .e = e, .req = &req, .token = token,
        .resp = resp, .resp_size = resp_size,
    };
    VvCmdStatus st;
    const char *why;
    VvStream *s = NULL;
    uint32_t err;

    g_assert(resp_size >= sizeof(struct virtio_video_cmd_hdr));

    err = vv_parse_request(req_buf, req_len, e->cfg.max_entries, &req, &why);
    if (err) {
        st = reply_error(&c, err, why);
        goto out;
    }

    switch (req.type) {
    case VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
        st = cmd_query_capability(&c);
        goto out;
    case VIRTIO_VIDEO_CMD_STREAM_CREATE:
        st = cmd_stream_create(&c);
        goto out;
    case VIRTIO_VIDEO_CMD_QUERY_CONTROL:
        c.resp_len = vv_query_control(e, &req, c.resp, c.resp_size);
        st = VV_CMD_DONE;
        goto out;
    default:
        break;
    }

    s = find_stream(e, req.stream_id);
    if (!s) {
        st = reply_error(&c, VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID,
                         "unknown stream");
        goto out;
    }
    switch (req.type) {
    case VIRTIO_VIDEO_CMD_STREAM_DESTROY:
        st = cmd_stream_destroy(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_STREAM_DRAIN:
        st = cmd_stream_drain(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_RESOURCE_CREATE:
        st = cmd_resource_create(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_RESOURCE_QUEUE:
        st = cmd_resource_queue(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL:
        st = cmd_queue_job(&c, s, VV_JOB_DESTROY_ALL);
        break;
    case VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
        st = cmd_queue_job(&c, s, VV_JOB_CLEAR);
        break;
    case VIRTIO_VIDEO_CMD_GET_PARAMS:
    case VIRTIO_VIDEO_CMD_GET_PARAMS_EXT:
        st = cmd_get_params(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_SET_PARAMS:
    case VIRTIO_VIDEO_CMD_SET_PARAMS_EXT:
        st = cmd_set_params(&c, s);
        break;
    case VIRTIO_VIDEO_CMD_GET_CONTROL:
        c.resp_len = vv_get_control(e, s, &req, c.resp, c.resp_size);
        st = VV_CMD_DONE;
        break;
    case VIRTIO_VIDEO_CMD_SET_CONTROL:
        st = cmd_set_control(&c, s);
        break;
    default:
        g_assert_not_reached();
    }

out:
    *resp_len = st == VV_CMD_DONE ? c.resp_len : 0;
    return st;
}

/* ---- completions ---- */

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

static void free_gone_stream(VvEngine *e, VvStream *s)
{
    e->dying = g_list_remove(e->dying, s);
    vv_stream_free(s);
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
                gint64 us = g_get_monotonic_time() - c->t_ready;

                g_mutex_lock(&e->lock);
                e->latency[e->latency_n++ % VV_STATS_LATENCY_SAMPLES] =
                    MIN(us, UINT32_MAX);
                g_mutex_unlock(&e->lock);
            }
            if (c->written) {
                mark_dirty(e, c->written);
            }
            if (c->gone) {
                free_gone_stream(e, c->gone);
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

static void abort_stream(gpointer data, gpointer user_data)
{
    /* stop the worker; its jobs are dropped below */
    vv_stream_stop(data);
}

void vv_engine_reset(VvEngine *e, void (*drop)(void *opaque, void *token),
                     void *opaque)
{
    GList *streams = g_list_concat(g_hash_table_get_values(e->streams),
                                   e->dying);
    VvCompletion *c;
    VvEventMsg *m;
    GList *l;

    /* 1. no worker runs any more, so nothing new gets queued */
    g_list_foreach(streams, abort_stream, NULL);
    /* 2. completions not delivered yet: tokens go back unanswered */
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
    /* 3. what the streams still held */
    for (l = streams; l; l = l->next) {
        vv_stream_abort(l->data, drop, opaque);
        vv_stream_free(l->data);
    }
    g_list_free(streams);
    e->dying = NULL;
    g_hash_table_remove_all(e->streams);
}
