/*
 * virtio-video engine: pausing the stream workers, and the state of every
 * stream for live migration.
 *
 * While the VM is stopped the workers are stopped too, each between two
 * steps, so the streams hold still: queued jobs, resources, the undelivered
 * picture or packets, and the codec.  A codec's internal state is not
 * portable; instead a decoder keeps the input it was fed since it was last
 * fresh (see dec-lavc.c) and the destination replays it into a new codec,
 * dropping the frames the guest already had.  An encoder is restarted on
 * the destination and its next frame is a keyframe.
 *
 * The encoding is private to this file and versioned as a whole; tokens
 * (the transport's pending commands) are handed to the transport in the
 * order they are referenced and come back by index.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-internal.h"

#define VV_MIG_MAGIC    0x564d5631u     /* "1VMV" on the wire */
/*
 * 2: QUEUE_CLEAR and RESOURCE_DESTROY_ALL jobs only finish what the
 * command did when it came (version 1 jobs carried out all of it);
 * decoders save the reorder delay of their codec.
 */
#define VV_MIG_VERSION  2
#define VV_NO_INDEX     UINT32_MAX

/* ---- encoding ---- */

void vv_put_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

void vv_put_u32(GByteArray *b, uint32_t v)
{
    uint8_t x[4];

    vv_st32(x, v);
    g_byte_array_append(b, x, sizeof(x));
}

void vv_put_u64(GByteArray *b, uint64_t v)
{
    uint8_t x[8];

    vv_st64(x, v);
    g_byte_array_append(b, x, sizeof(x));
}

void vv_put_blob(GByteArray *b, const void *data, size_t len)
{
    vv_put_u64(b, len);
    g_byte_array_append(b, data, len);
}

static const uint8_t *take(VvReader *r, uint64_t n)
{
    const uint8_t *p = r->p;

    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

uint8_t vv_get_u8(VvReader *r)
{
    const uint8_t *p = take(r, 1);

    return p ? p[0] : 0;
}

uint32_t vv_get_u32(VvReader *r)
{
    const uint8_t *p = take(r, 4);

    return p ? vv_ld32(p) : 0;
}

uint64_t vv_get_u64(VvReader *r)
{
    const uint8_t *p = take(r, 8);

    return p ? vv_ld64(p) : 0;
}

const uint8_t *vv_get_blob(VvReader *r, size_t *len)
{
    uint64_t n = vv_get_u64(r);
    const uint8_t *p = take(r, n);

    *len = p ? n : 0;
    return p;
}

/* ---- pause and resume ---- */

void vv_engine_pause(VvEngine *e)
{
    GHashTableIter it;
    gpointer s;
    GList *l;

    if (e->paused) {
        return;
    }
    e->paused = true;
    g_hash_table_iter_init(&it, e->streams);
    while (g_hash_table_iter_next(&it, NULL, &s)) {
        vv_stream_stop(s);
    }
    /* a destroyed stream's worker only has its DESTROY left: let it end */
    for (l = e->dying; l; l = l->next) {
        vv_stream_join(l->data);
    }
}

void vv_engine_resume(VvEngine *e)
{
    GHashTableIter it;
    gpointer s;
    GList *l;

    if (!e->paused) {
        return;
    }
    e->paused = false;
    g_hash_table_iter_init(&it, e->streams);
    while (g_hash_table_iter_next(&it, NULL, &s)) {
        vv_stream_start(s);
    }
    for (l = e->dying; l; l = l->next) {
        vv_stream_start(l->data);
    }
}

unsigned vv_engine_unmigratable(VvEngine *e)
{
    return g_atomic_int_get(&e->unmigratable);
}

/* ---- save ---- */

typedef struct SaveCtx {
    VvEngine *e;
    GByteArray *out;
    void (*put_token)(void *opaque, void *token);
    void *opaque;
    uint32_t tokens;
    GHashTable *backing_idx;        /* VvBacking -> index + 1 */
    GPtrArray *backings;
} SaveCtx;

static uint32_t save_token(SaveCtx *sc, void *token)
{
    if (!token) {
        return VV_NO_INDEX;
    }
    sc->put_token(sc->opaque, token);
    return sc->tokens++;
}

static void collect_backing(SaveCtx *sc, VvBacking *b)
{
    if (b && !g_hash_table_contains(sc->backing_idx, b)) {
        g_ptr_array_add(sc->backings, b);
        g_hash_table_insert(sc->backing_idx, b,
                            GUINT_TO_POINTER(sc->backings->len));
    }
}

static uint32_t backing_index(SaveCtx *sc, VvBacking *b)
{
    return b ? GPOINTER_TO_UINT(g_hash_table_lookup(sc->backing_idx, b)) - 1
             : VV_NO_INDEX;
}

static void collect_jobs(SaveCtx *sc, GQueue *q)
{
    GList *l;

    for (l = q->head; l; l = l->next) {
        collect_backing(sc, ((VvJob *)l->data)->backing);
    }
}

static void save_backing(GByteArray *out, const VvBacking *b)
{
    unsigned k, i;

    vv_put_u8(out, b->write);
    vv_put_u32(out, b->num_planes);
    for (k = 0; k < b->num_planes; k++) {
        vv_put_u32(out, b->planes[k].count);
    }
    vv_put_u32(out, b->num_segs);
    for (i = 0; i < b->num_segs; i++) {
        vv_put_u64(out, b->segs[i].addr);
        vv_put_u32(out, b->segs[i].len);
    }
}

static void save_params(GByteArray *out, const VvParams *p)
{
    uint8_t buf[VV_PARAMS_EXT_SIZE];

    vv_put_blob(out, buf, vv_write_params(buf, p, true));
}

static void save_job(SaveCtx *sc, const VvJob *job)
{
    GByteArray *out = sc->out;

    vv_put_u32(out, job->type);
    vv_put_u32(out, save_token(sc, job->token));
    vv_put_u32(out, job->queue);
    vv_put_u32(out, job->resource_id);
    vv_put_u32(out, backing_index(sc, job->backing));
    vv_put_u64(out, job->timestamp);
    vv_put_u64(out, job->index);
    vv_put_u64(out, job->epoch);
    vv_put_blob(out, job->data, job->data ? job->size : 0);
}

static void save_jobs(SaveCtx *sc, GQueue *q)
{
    GList *l;

    vv_put_u32(sc->out, g_queue_get_length(q));
    for (l = q->head; l; l = l->next) {
        save_job(sc, l->data);
    }
}

static void save_resources(SaveCtx *sc, GHashTable *res)
{
    GHashTableIter it;
    gpointer id, b;

    vv_put_u32(sc->out, g_hash_table_size(res));
    g_hash_table_iter_init(&it, res);
    while (g_hash_table_iter_next(&it, &id, &b)) {
        vv_put_u32(sc->out, GPOINTER_TO_UINT(id));
        vv_put_u32(sc->out, backing_index(sc, b));
    }
}

static bool save_stream(SaveCtx *sc, VvStream *s, char **err)
{
    GByteArray *out = sc->out;
    unsigned q, i;

    s->mode->prepare_save(s);

    vv_put_u32(out, s->id);
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        vv_put_u32(out, s->mem_type[q]);
        save_params(out, &s->params[q]);
    }
    vv_put_u32(out, s->profile);
    vv_put_u32(out, s->level);
    vv_put_u8(out, s->draining);
    vv_put_u8(out, s->decoding);
    vv_put_u8(out, s->failed);
    vv_put_u8(out, s->eos_pending);
    vv_put_u8(out, s->have_format);
    vv_put_u64(out, s->out_epoch);
    vv_put_u64(out, s->seen_epoch);
    vv_put_u64(out, s->seen_out_size);
    vv_put_u64(out, s->inputs_queued);
    vv_put_u64(out, s->seq);
    vv_put_u32(out, s->cur_w);
    vv_put_u32(out, s->cur_h);
    vv_put_u32(out, s->cur_pix_fmt);
    vv_put_u32(out, s->bitrate);
    vv_put_u32(out, s->bitrate_peak);
    vv_put_u32(out, s->bitrate_mode);
    for (i = 0; i < VV_COOKIE_RING; i++) {
        vv_put_u64(out, s->cookies[i]);
    }

    /* the guest memory behind resources and queued buffers */
    g_hash_table_remove_all(sc->backing_idx);
    g_ptr_array_set_size(sc->backings, 0);
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        GHashTableIter it;
        gpointer b;

        g_hash_table_iter_init(&it, s->resources[q]);
        while (g_hash_table_iter_next(&it, NULL, &b)) {
            collect_backing(sc, b);
        }
    }
    collect_jobs(sc, &s->inputs);
    collect_jobs(sc, &s->outputs);
    vv_put_u32(out, sc->backings->len);
    for (i = 0; i < sc->backings->len; i++) {
        save_backing(out, g_ptr_array_index(sc->backings, i));
    }
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        save_resources(sc, s->resources[q]);
    }

    save_jobs(sc, &s->inputs);
    save_jobs(sc, &s->outputs);
    save_jobs(sc, &s->ctrl);
    vv_put_u8(out, s->drain != NULL);
    if (s->drain) {
        save_job(sc, s->drain);
    }

    /* the codec */
    if (!s->mode->save(s, out, err)) {
        return false;
    }
    return true;
}

void *vv_engine_save(VvEngine *e, size_t *len,
                     void (*put_token)(void *opaque, void *token),
                     void *opaque, char **err)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GHashTable) idx = g_hash_table_new(NULL, NULL);
    g_autoptr(GPtrArray) backings = g_ptr_array_new();
    g_autoptr(GList) streams = NULL;
    SaveCtx sc = {
        .e = e, .out = out, .put_token = put_token, .opaque = opaque,
        .backing_idx = idx, .backings = backings,
    };
    GList *l;

    *err = NULL;
    if (!e->paused || e->dying || !g_queue_is_empty(&e->completions)) {
        *err = g_strdup("the device is not quiescent (streams still "
                        "running, being destroyed, or completions not "
                        "delivered)");
        return NULL;
    }
    vv_put_u32(out, VV_MIG_MAGIC);
    vv_put_u32(out, VV_MIG_VERSION);
    vv_put_u64(out, e->seq);
    vv_put_u32(out, g_queue_get_length(&e->events));
    for (l = e->events.head; l; l = l->next) {
        VvEventMsg *m = l->data;

        vv_put_u64(out, m->seq);
        vv_put_blob(out, m->ev, sizeof(m->ev));
    }

    streams = g_hash_table_get_values(e->streams);
    vv_put_u32(out, g_list_length(streams));
    for (l = streams; l; l = l->next) {
        VvStream *s = l->data;
        g_autofree char *why = NULL;

        if (!save_stream(&sc, s, &why)) {
            *err = g_strdup_printf("stream %u: %s", s->id, why);
            return NULL;
        }
    }
    *len = out->len;
    return g_byte_array_free(g_steal_pointer(&out), false);
}

/* ---- load ---- */

typedef struct LoadCtx {
    VvEngine *e;
    VvReader *r;
    void *(*get_token)(void *opaque, uint32_t index);
    void *opaque;
    GPtrArray *backings;            /* of the stream being loaded */
    const char *why;
} LoadCtx;

static bool load_fail(LoadCtx *lc, const char *why)
{
    if (!lc->why) {
        lc->why = why;
    }
    return false;
}

static bool load_params(LoadCtx *lc, VvParams *p)
{
    size_t len;
    const uint8_t *buf = vv_get_blob(lc->r, &len);

    if (!buf || len != VV_PARAMS_EXT_SIZE) {
        return load_fail(lc, "bad params");
    }
    vv_parse_params(buf, true, p);
    return true;
}

static VvBacking *load_backing(LoadCtx *lc)
{
    VvReader *r = lc->r;
    bool write = vv_get_u8(r);
    uint32_t num_planes = vv_get_u32(r), total, i;
    uint32_t counts[VIRTIO_VIDEO_MAX_PLANES] = { 0 };
    g_autofree uint8_t *entries = NULL;
    uint32_t code;
    const char *why = NULL;
    VvBacking *b;

    if (num_planes < 1 || num_planes > VIRTIO_VIDEO_MAX_PLANES) {
        load_fail(lc, "bad backing");
        return NULL;
    }
    for (i = 0; i < num_planes; i++) {
        counts[i] = vv_get_u32(r);
    }
    total = vv_get_u32(r);
    if (r->bad || total > lc->e->cfg.max_entries || total > r->left / 12) {
        load_fail(lc, "bad backing");
        return NULL;
    }
    entries = g_malloc0((size_t)total * 16 + 1);
    for (i = 0; i < total; i++) {
        vv_st64(entries + 16 * i, vv_get_u64(r));
        vv_st32(entries + 16 * i + 8, vv_get_u32(r));
    }
    b = vv_map_entries(lc->e, write, num_planes, counts, entries, total,
                       &code, &why);
    if (!b) {
        load_fail(lc, why);
    }
    return b;
}

static VvBacking *backing_at(LoadCtx *lc, uint32_t i)
{
    if (i == VV_NO_INDEX) {
        return NULL;
    }
    if (i >= lc->backings->len) {
        load_fail(lc, "bad backing index");
        return NULL;
    }
    return vv_backing_ref(g_ptr_array_index(lc->backings, i));
}

static VvJob *load_job(LoadCtx *lc, VvStream *s)
{
    VvReader *r = lc->r;
    VvJob *job = g_new0(VvJob, 1);
    uint32_t token, bidx;
    const uint8_t *data;
    size_t size;

    job->e = lc->e;
    job->stream_id = s->id;
    job->type = vv_get_u32(r);
    token = vv_get_u32(r);
    job->queue = vv_get_u32(r);
    job->resource_id = vv_get_u32(r);
    bidx = vv_get_u32(r);
    job->timestamp = vv_get_u64(r);
    job->index = vv_get_u64(r);
    job->epoch = vv_get_u64(r);
    data = vv_get_blob(r, &size);
    if (r->bad || job->type > VV_JOB_DESTROY || job->queue >= VV_QUEUE_COUNT) {
        load_fail(lc, "bad job");
        g_free(job);
        return NULL;
    }
    job->token = token == VV_NO_INDEX ? NULL
                                      : lc->get_token(lc->opaque, token);
    job->backing = backing_at(lc, bidx);
    if ((token != VV_NO_INDEX && !job->token) ||
        (bidx != VV_NO_INDEX && !job->backing)) {
        load_fail(lc, "bad job token or backing");
        vv_job_free(job);
        return NULL;
    }
    if (size) {
        if (!vv_bitstream_reserve(lc->e, size + VV_BITSTREAM_PADDING)) {
            load_fail(lc, "queued bitstream above max-bitstream-mb");
            vv_job_free(job);
            return NULL;
        }
        job->size = size;
        job->data = g_malloc(size + VV_BITSTREAM_PADDING);
        memcpy(job->data, data, size);
        memset(job->data + size, 0, VV_BITSTREAM_PADDING);
    }
    if (job->type == VV_JOB_INPUT || job->type == VV_JOB_OUTPUT) {
        g_hash_table_insert(s->queued[job->queue],
                            GUINT_TO_POINTER(job->resource_id), job);
    }
    return job;
}

static bool load_jobs(LoadCtx *lc, VvStream *s, GQueue *q)
{
    uint32_t n = vv_get_u32(lc->r), i;

    if (n > lc->r->left) {
        return load_fail(lc, "bad job count");
    }
    for (i = 0; i < n; i++) {
        VvJob *job = load_job(lc, s);

        if (!job) {
            return false;
        }
        g_queue_push_tail(q, job);
    }
    return true;
}

static bool load_stream(LoadCtx *lc)
{
    VvEngine *e = lc->e;
    VvReader *r = lc->r;
    uint32_t id = vv_get_u32(r), mem[VV_QUEUE_COUNT], n, i;
    VvParams params[VV_QUEUE_COUNT];
    unsigned coded_q = e->cfg.mode == VV_MODE_DECODER ? VV_QUEUE_INPUT
                                                      : VV_QUEUE_OUTPUT;
    g_autoptr(GPtrArray) backings = NULL;
    const char *why;
    unsigned q;
    VvStream *s;

    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        mem[q] = vv_get_u32(r);
        if (!load_params(lc, &params[q])) {
            return false;
        }
    }
    if (r->bad || g_hash_table_contains(e->streams, GUINT_TO_POINTER(id))) {
        return load_fail(lc, "bad stream");
    }
    s = vv_stream_new(e, id, params[coded_q].format, mem[VV_QUEUE_INPUT],
                      mem[VV_QUEUE_OUTPUT]);
    g_hash_table_insert(e->streams, GUINT_TO_POINTER(id), s);
    memcpy(s->params, params, sizeof(params));
    s->profile = vv_get_u32(r);
    s->level = vv_get_u32(r);
    s->draining = vv_get_u8(r);
    s->decoding = vv_get_u8(r);
    s->failed = vv_get_u8(r);
    s->eos_pending = vv_get_u8(r);
    s->have_format = vv_get_u8(r);
    s->out_epoch = vv_get_u64(r);
    s->seen_epoch = vv_get_u64(r);
    s->seen_out_size = vv_get_u64(r);
    s->inputs_queued = vv_get_u64(r);
    s->seq = vv_get_u64(r);
    s->cur_w = vv_get_u32(r);
    s->cur_h = vv_get_u32(r);
    s->cur_pix_fmt = (int)vv_get_u32(r);
    s->bitrate = vv_get_u32(r);
    s->bitrate_peak = vv_get_u32(r);
    s->bitrate_mode = vv_get_u32(r);
    for (i = 0; i < VV_COOKIE_RING; i++) {
        s->cookies[i] = vv_get_u64(r);
    }

    n = vv_get_u32(r);
    if (r->bad || n > r->left) {
        return load_fail(lc, "bad backing count");
    }
    backings = g_ptr_array_new_with_free_func((GDestroyNotify)
                                              vv_backing_unref);
    lc->backings = backings;
    for (i = 0; i < n; i++) {
        VvBacking *b = load_backing(lc);

        if (!b) {
            return false;
        }
        g_ptr_array_add(backings, b);
    }
    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        uint32_t count = vv_get_u32(r);

        if (count > e->cfg.max_resources) {
            return load_fail(lc, "too many resources");
        }
        for (i = 0; i < count; i++) {
            uint32_t rid = vv_get_u32(r);
            VvBacking *b = backing_at(lc, vv_get_u32(r));

            if (!b) {
                return load_fail(lc, "resource without backing");
            }
            g_hash_table_replace(s->resources[q], GUINT_TO_POINTER(rid), b);
        }
    }
    if (!load_jobs(lc, s, &s->inputs) || !load_jobs(lc, s, &s->outputs) ||
        !load_jobs(lc, s, &s->ctrl)) {
        return false;
    }
    if (vv_get_u8(r)) {
        s->drain = load_job(lc, s);
        if (!s->drain) {
            return false;
        }
    }

    if (!s->mode->load(s, r, &why)) {
        return load_fail(lc, why);
    }
    return !r->bad || load_fail(lc, "truncated stream state");
}

bool vv_engine_load(VvEngine *e, const void *buf, size_t len,
                    void *(*get_token)(void *opaque, uint32_t index),
                    void *opaque, char **err)
{
    VvReader r = { .p = buf, .left = len };
    LoadCtx lc = {
        .e = e, .r = &r, .get_token = get_token, .opaque = opaque,
    };
    uint32_t n, i;

    *err = NULL;
    g_assert(e->paused && !g_hash_table_size(e->streams) && !e->dying);
    if (vv_get_u32(&r) != VV_MIG_MAGIC || vv_get_u32(&r) != VV_MIG_VERSION) {
        *err = g_strdup("not virtio-video stream state of a known version");
        return false;
    }
    e->seq = vv_get_u64(&r);
    n = vv_get_u32(&r);
    for (i = 0; i < n && !r.bad; i++) {
        VvEventMsg *m = g_new0(VvEventMsg, 1);
        size_t size;
        const uint8_t *ev;

        m->seq = vv_get_u64(&r);
        ev = vv_get_blob(&r, &size);
        if (!ev || size != sizeof(m->ev)) {
            g_free(m);
            r.bad = true;
            break;
        }
        memcpy(m->ev, ev, size);
        g_queue_push_tail(&e->events, m);
    }
    n = vv_get_u32(&r);
    if (r.bad || n > e->cfg.max_streams) {
        *err = g_strdup("bad stream count");
        return false;
    }
    for (i = 0; i < n; i++) {
        if (!load_stream(&lc)) {
            *err = g_strdup(lc.why ? lc.why : "truncated");
            return false;
        }
    }
    if (r.left) {
        *err = g_strdup("trailing bytes");
        return false;
    }
    return true;
}
