/*
 * virtio-video engine: device state and command dispatch.
 *
 * Commands that only read or set state are answered at once.  Those that
 * depend on the codec (RESOURCE_QUEUE, STREAM_DRAIN, QUEUE_CLEAR,
 * RESOURCE_DESTROY_ALL, STREAM_DESTROY) become jobs for the stream's worker
 * and complete later, through the completion queue (completion.c).
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

/*
 * Open hardware backend @name ("vaapi" or "cuda") for @cfg and find what
 * it can do in @cfg->mode.  NULL and *err (one line) if it cannot start or
 * does nothing the protocol can carry.
 */
static VvHwDevice *hw_open_one(const char *name,
                               const VvEngineConfig *cfg, char **err)
{
    VvHwDevice *hw = g_new0(VvHwDevice, 1);
    bool ok;

    hw->mode = cfg->mode;
    if (!strcmp(name, "vaapi")) {
        hw->name = "vaapi";
        ok = vv_hw_vaapi_open(hw, cfg, err);
    } else if (!strcmp(name, "cuda")) {
        hw->name = "cuda";
        ok = vv_hw_cuda_open(hw, cfg, err);
    } else {
        *err = g_strdup_printf("unknown hardware backend '%s'", name);
        ok = false;
    }
    if (ok && !hw->num_formats) {
        *err = g_strdup_printf("%s %s nothing the device can offer (8-bit "
                               "4:2:0 H.264, HEVC, VP8, VP9%s)",
                               hw->description,
                               cfg->mode == VV_MODE_DECODER ? "decodes"
                                                            : "encodes",
                               cfg->mode == VV_MODE_DECODER ?
                               ", MPEG-2, MPEG-4, AV1" : "");
        ok = false;
    }
    if (!ok) {
        vv_hw_free(hw);
        return NULL;
    }
    return hw;
}

/*
 * The hardware device for @cfg: the one named, or for auto the first that
 * starts.
 */
static VvHwDevice *open_hw(const VvEngineConfig *cfg, bool *hw_only,
                           char **errmsg)
{
    static const char *const order[] = { "vaapi", "cuda" };
    VvHwDevice *hw;
    size_t i;

    *hw_only = strcmp(cfg->backend, "auto") != 0;
    if (*hw_only) {
        return hw_open_one(cfg->backend, cfg, errmsg);
    }
    for (i = 0; i < G_N_ELEMENTS(order); i++) {
        g_autofree char *why = NULL;

        hw = hw_open_one(order[i], cfg, &why);
        if (hw) {
            return hw;
        }
    }
    return NULL;
}

/* A destroyed stream's worker has ended: from vv_engine_poll(). */
static void free_gone_stream(VvEngine *e, VvStream *s)
{
    e->dying = g_list_remove(e->dying, s);
    vv_stream_free(s);
}

VvEngine *vv_engine_new(const VvEngineConfig *cfg, char **errmsg)
{
    VvEngineConfig c = *cfg;
    VvEngine *e;
    size_t need;

    *errmsg = NULL;
    if (!c.backend) {
        c.backend = "auto";
    }
    if (strcmp(c.backend, "auto") && strcmp(c.backend, "libavcodec") &&
        strcmp(c.backend, "vaapi") && strcmp(c.backend, "cuda")) {
        *errmsg = g_strdup_printf("unknown backend '%s' (available: auto, "
                                  "libavcodec, vaapi, cuda)", c.backend);
        return NULL;
    }

    e = g_new0(VvEngine, 1);
    e->cfg = c;
    e->mode_ops = c.mode == VV_MODE_ENCODER ? &vv_encoder_mode
                                            : &vv_decoder_mode;
    e->free_stream = free_gone_stream;
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
    e->backend = &vv_backend_lavc;
    if (!e->backend->probe(&e->cfg, &e->caps, errmsg)) {
        g_free(e);
        return NULL;
    }
    if (strcmp(c.backend, "libavcodec")) {
        e->hw = open_hw(&e->cfg, &e->hw_only, errmsg);
        if (!e->hw && e->hw_only) {
            g_free(e);
            return NULL;
        }
        g_free(*errmsg);
        *errmsg = NULL;
    }
    if (e->hw && e->hw_only) {
        vv_hw_restrict_caps(e->hw, &e->caps);
        e->device_name = g_strdup(e->hw->name);
    } else if (e->hw) {
        e->device_name = g_strdup_printf("%s+libavcodec", e->hw->name);
    } else {
        e->device_name = g_strdup(e->backend->name);
    }
    vv_caps_clamp_frames(&e->caps, e->cfg.max_width, e->cfg.max_height);

    need = MAX(vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_INPUT]),
               vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_OUTPUT]));
    e->max_caps_length = MAX(VV_MIN_CAPS_LENGTH, (need + 255) & ~(size_t)255);
    e->streams = g_hash_table_new(NULL, NULL);
    e->latency = g_new0(uint32_t, VV_STATS_LATENCY_SAMPLES);
    e->latency_write = g_new0(uint32_t, VV_STATS_LATENCY_SAMPLES);
    e->latency_deliver = g_new0(uint32_t, VV_STATS_LATENCY_SAMPLES);
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
    g_free(e->latency_write);
    g_free(e->latency_deliver);
    g_mutex_clear(&e->lock);
    vv_hw_free(e->hw);
    g_free(e->device_name);
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
    return e->device_name;
}

const char *vv_engine_hw_description(const VvEngine *e)
{
    return e->hw ? e->hw->description : NULL;
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

void vv_engine_set_objects(VvEngine *e, bool enabled)
{
    e->objects = enabled && e->ops.object_get && e->ops.object_put;
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
        b = vv_map_object(c->e, s->id, write, req, &code, &why);
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
    } else if (vv_backing_revoked(b)) {
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

/* ---- reset ---- */

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
    GList *l;

    /* 1. no worker runs any more, so nothing new gets queued */
    g_list_foreach(streams, abort_stream, NULL);
    /* 2. completions not delivered yet: tokens go back unanswered */
    vv_completions_drop(e, drop, opaque);
    /* 3. what the streams still held */
    for (l = streams; l; l = l->next) {
        vv_stream_abort(l->data, drop, opaque);
        vv_stream_free(l->data);
    }
    g_list_free(streams);
    e->dying = NULL;
    g_hash_table_remove_all(e->streams);
}
