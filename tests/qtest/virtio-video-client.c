/*
 * virtio-video test client: a guest application plus driver for decoder
 * tests, independent of the transport
 *
 * The decode sequence follows the V4L2 stateful decoder as the ChromeOS
 * driver maps it onto virtio-video (protocol.md section 10): stream
 * creation, input parameters, bitstream buffers, the resolution-change
 * event, output allocation, decoding, drain with an empty EOS buffer, and
 * teardown.  Every completion is matched by tag; ordering rules of
 * protocol.md section 4 are checked on the way.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include "standard-headers/linux/virtio_video.h"
#include "virtio-video-client.h"

/* FFmpeg 6.1 renamed FF_PROFILE_*; FFmpeg 8 dropped the old names */
#ifndef AV_PROFILE_HEVC_MAIN_10
#define AV_PROFILE_HEVC_MAIN_10 FF_PROFILE_HEVC_MAIN_10
#endif

#define VVC_PAGE            4096
#define VVC_HDR             8
#define VVC_QUEUE_RESP      24
#define VVC_PARAMS_SIZE     112
#define VVC_PARAMS_EXT_SIZE 120

#define Q_IN    VIRTIO_VIDEO_QUEUE_TYPE_INPUT
#define Q_OUT   VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT

struct VvcClient {
    const VvcOps *ops;
    void *opaque;
    int timeout_ms;
    uint32_t next_res_id;
    uint32_t next_seq;
    GHashTable *inflight;       /* transport tag -> client sequence */
    GQueue stash;               /* VvcMsg *, in arrival order */
    uint8_t *buf;
};

/* ---- little-endian helpers ---- */

void vvc_st16(void *p, uint16_t v)
{
    uint8_t *b = p;

    b[0] = v;
    b[1] = v >> 8;
}

void vvc_st32(void *p, uint32_t v)
{
    uint8_t *b = p;

    b[0] = v;
    b[1] = v >> 8;
    b[2] = v >> 16;
    b[3] = v >> 24;
}

void vvc_st64(void *p, uint64_t v)
{
    vvc_st32(p, (uint32_t)v);
    vvc_st32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

uint32_t vvc_ld32(const void *p)
{
    const uint8_t *b = p;

    return b[0] | (b[1] << 8) | (b[2] << 16) | ((uint32_t)b[3] << 24);
}

uint64_t vvc_ld64(const void *p)
{
    return vvc_ld32(p) | ((uint64_t)vvc_ld32((const uint8_t *)p + 4) << 32);
}

/* ---- client and messages ---- */

VvcClient *vvc_new(const VvcOps *ops, void *opaque)
{
    VvcClient *c = g_new0(VvcClient, 1);

    c->ops = ops;
    c->opaque = opaque;
    c->timeout_ms = 60000;
    c->next_res_id = 1;
    c->next_seq = 1;
    c->inflight = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_queue_init(&c->stash);
    c->buf = g_malloc(VVC_MAX_RESP);
    return c;
}

void vvc_msg_free(VvcMsg *m)
{
    if (m) {
        g_free(m->data);
        g_free(m);
    }
}

void vvc_flush_stash(VvcClient *c)
{
    VvcMsg *m;

    while ((m = g_queue_pop_head(&c->stash))) {
        vvc_msg_free(m);
    }
}

void vvc_free(VvcClient *c)
{
    if (!c) {
        return;
    }
    vvc_flush_stash(c);
    g_hash_table_destroy(c->inflight);
    g_free(c->buf);
    g_free(c);
}

void vvc_set_timeout(VvcClient *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

int vvc_get_timeout(VvcClient *c)
{
    return c->timeout_ms;
}

uint32_t vvc_alloc_resource_id(VvcClient *c)
{
    return c->next_res_id++;
}

uint32_t vvc_submit(VvcClient *c, const void *req, size_t len,
                    size_t resp_size)
{
    uint32_t ttag = c->ops->submit(c->opaque, req, len, resp_size);
    uint32_t seq = c->next_seq++;

    if (g_hash_table_contains(c->inflight, GUINT_TO_POINTER(ttag))) {
        g_error("virtio-video client: transport reused tag %u in flight",
                ttag);
    }
    g_hash_table_insert(c->inflight, GUINT_TO_POINTER(ttag),
                        GUINT_TO_POINTER(seq));
    return seq;
}

/* One message from the transport, NULL on timeout. */
static VvcMsg *vvc_receive(VvcClient *c, int timeout_ms)
{
    uint32_t ttag = 0, used = 0;
    gpointer seq;
    VvcMsg *m;
    size_t n;
    int r;

    memset(c->buf, 0, 32);
    r = c->ops->wait(c->opaque, &ttag, c->buf, VVC_MAX_RESP, &used,
                     timeout_ms);
    if (r == VVC_WAIT_TIMEOUT) {
        return NULL;
    }
    m = g_new0(VvcMsg, 1);
    if (r == VVC_WAIT_EVENT) {
        m->is_event = true;
        m->type = vvc_ld32(c->buf);
        m->stream_id = vvc_ld32(c->buf + 4);
        m->used_len = 8;
        m->data = g_malloc(8);
        memcpy(m->data, c->buf, 8);
        return m;
    }
    if (!g_hash_table_lookup_extended(c->inflight, GUINT_TO_POINTER(ttag),
                                      NULL, &seq)) {
        g_warning("virtio-video client: completion of unknown tag %u", ttag);
        seq = GUINT_TO_POINTER(UINT32_MAX);
    }
    g_hash_table_remove(c->inflight, GUINT_TO_POINTER(ttag));
    m->tag = GPOINTER_TO_UINT(seq);
    m->used_len = used;
    n = MIN(used, VVC_MAX_RESP);
    m->data = g_malloc0(MAX(n, VVC_QUEUE_RESP));
    memcpy(m->data, c->buf, n);
    if (used >= 4) {
        m->type = vvc_ld32(m->data);
    }
    if (used >= 8) {
        m->stream_id = vvc_ld32(m->data + 4);
    }
    if (m->type == VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE &&
        used >= VVC_QUEUE_RESP) {
        m->timestamp = vvc_ld64(m->data + 8);
        m->flags = vvc_ld32(m->data + 16);
        m->size = vvc_ld32(m->data + 20);
    }
    return m;
}

VvcMsg *vvc_next(VvcClient *c, int timeout_ms)
{
    VvcMsg *m = g_queue_pop_head(&c->stash);

    return m ? m : vvc_receive(c, timeout_ms);
}

void vvc_unget(VvcClient *c, VvcMsg *m)
{
    g_queue_push_head(&c->stash, m);
}

static gint msg_tag_cmp(gconstpointer a, gconstpointer b)
{
    const VvcMsg *m = a;

    return !(!m->is_event && m->tag == GPOINTER_TO_UINT(b));
}

bool vvc_stashed(VvcClient *c, uint32_t tag)
{
    return g_queue_find_custom(&c->stash, GUINT_TO_POINTER(tag),
                               msg_tag_cmp) != NULL;
}

VvcMsg *vvc_wait_tag(VvcClient *c, uint32_t tag)
{
    GList *l = g_queue_find_custom(&c->stash, GUINT_TO_POINTER(tag),
                                   msg_tag_cmp);
    gint64 deadline = g_get_monotonic_time() + c->timeout_ms * 1000ll;

    if (l) {
        VvcMsg *m = l->data;

        g_queue_delete_link(&c->stash, l);
        return m;
    }
    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        VvcMsg *m;

        if (left < 0) {
            return NULL;
        }
        m = vvc_receive(c, (int)left);
        if (!m) {
            return NULL;
        }
        if (!m->is_event && m->tag == tag) {
            return m;
        }
        g_queue_push_tail(&c->stash, m);
    }
}

uint32_t vvc_cmd(VvcClient *c, const void *req, size_t len, void *resp,
                 size_t resp_size)
{
    uint32_t tag = vvc_submit(c, req, len, resp_size ? resp_size : VVC_HDR);
    g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

    if (!m) {
        return 0;
    }
    if (resp && resp_size) {
        memset(resp, 0, resp_size);
        memcpy(resp, m->data, MIN(resp_size, MIN(m->used_len, VVC_MAX_RESP)));
    }
    return m->type;
}

/* ---- commands ---- */

static void hdr(uint8_t *b, uint32_t type, uint32_t stream_id)
{
    vvc_st32(b, type);
    vvc_st32(b + 4, stream_id);
}

uint32_t vvc_stream_create(VvcClient *c, uint32_t stream_id,
                           uint32_t in_mem, uint32_t out_mem,
                           uint32_t coded_format, const char *tag)
{
    uint8_t req[88] = { 0 };

    hdr(req, VIRTIO_VIDEO_CMD_STREAM_CREATE, stream_id);
    vvc_st32(req + 8, in_mem);
    vvc_st32(req + 12, out_mem);
    vvc_st32(req + 16, coded_format);
    if (tag) {
        strncpy((char *)req + 24, tag, VIRTIO_VIDEO_TAG_LEN - 1);
    }
    return vvc_cmd(c, req, sizeof(req), NULL, 0);
}

static uint32_t simple_async(VvcClient *c, uint32_t type, uint32_t stream_id)
{
    uint8_t req[8];

    hdr(req, type, stream_id);
    return vvc_submit(c, req, sizeof(req), VVC_HDR);
}

static uint32_t queue_cmd_async(VvcClient *c, uint32_t type,
                                uint32_t stream_id, uint32_t queue_type)
{
    uint8_t req[16] = { 0 };

    hdr(req, type, stream_id);
    vvc_st32(req + 8, queue_type);
    return vvc_submit(c, req, sizeof(req), VVC_HDR);
}

uint32_t vvc_stream_destroy_async(VvcClient *c, uint32_t stream_id)
{
    return simple_async(c, VIRTIO_VIDEO_CMD_STREAM_DESTROY, stream_id);
}

uint32_t vvc_stream_drain_async(VvcClient *c, uint32_t stream_id)
{
    return simple_async(c, VIRTIO_VIDEO_CMD_STREAM_DRAIN, stream_id);
}

uint32_t vvc_queue_clear_async(VvcClient *c, uint32_t stream_id,
                               uint32_t queue_type)
{
    return queue_cmd_async(c, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, stream_id,
                           queue_type);
}

uint32_t vvc_destroy_all_async(VvcClient *c, uint32_t stream_id,
                               uint32_t queue_type)
{
    return queue_cmd_async(c, VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL,
                           stream_id, queue_type);
}

static uint32_t wait_type(VvcClient *c, uint32_t tag)
{
    g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

    return m ? m->type : 0;
}

uint32_t vvc_stream_destroy(VvcClient *c, uint32_t stream_id)
{
    return wait_type(c, vvc_stream_destroy_async(c, stream_id));
}

uint32_t vvc_queue_clear(VvcClient *c, uint32_t stream_id,
                         uint32_t queue_type)
{
    return wait_type(c, vvc_queue_clear_async(c, stream_id, queue_type));
}

uint32_t vvc_destroy_all(VvcClient *c, uint32_t stream_id,
                         uint32_t queue_type)
{
    return wait_type(c, vvc_destroy_all_async(c, stream_id, queue_type));
}

void vvc_params_decode(const uint8_t *b, bool ext, VvcParams *p)
{
    int i;

    memset(p, 0, sizeof(*p));
    p->queue_type = vvc_ld32(b);
    p->format = vvc_ld32(b + 4);
    p->frame_width = vvc_ld32(b + 8);
    p->frame_height = vvc_ld32(b + 12);
    p->min_buffers = vvc_ld32(b + 16);
    p->max_buffers = vvc_ld32(b + 20);
    p->crop_left = vvc_ld32(b + 24);
    p->crop_top = vvc_ld32(b + 28);
    p->crop_width = vvc_ld32(b + 32);
    p->crop_height = vvc_ld32(b + 36);
    p->frame_rate = vvc_ld32(b + 40);
    p->num_planes = vvc_ld32(b + 44);
    for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        p->plane_size[i] = vvc_ld32(b + 48 + 8 * i);
        p->stride[i] = vvc_ld32(b + 52 + 8 * i);
    }
    if (ext) {
        p->resource_type = vvc_ld32(b + 112);
    }
}

void vvc_params_encode(const VvcParams *p, bool ext, uint8_t *b)
{
    int i;

    memset(b, 0, ext ? VVC_PARAMS_EXT_SIZE : VVC_PARAMS_SIZE);
    vvc_st32(b, p->queue_type);
    vvc_st32(b + 4, p->format);
    vvc_st32(b + 8, p->frame_width);
    vvc_st32(b + 12, p->frame_height);
    vvc_st32(b + 16, p->min_buffers);
    vvc_st32(b + 20, p->max_buffers);
    vvc_st32(b + 24, p->crop_left);
    vvc_st32(b + 28, p->crop_top);
    vvc_st32(b + 32, p->crop_width);
    vvc_st32(b + 36, p->crop_height);
    vvc_st32(b + 40, p->frame_rate);
    vvc_st32(b + 44, p->num_planes);
    for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        vvc_st32(b + 48 + 8 * i, p->plane_size[i]);
        vvc_st32(b + 52 + 8 * i, p->stride[i]);
    }
    if (ext) {
        vvc_st32(b + 112, p->resource_type);
    }
}

uint32_t vvc_get_params(VvcClient *c, uint32_t stream_id, uint32_t queue,
                        bool ext, VvcParams *p)
{
    uint8_t req[16] = { 0 };
    uint8_t resp[8 + VVC_PARAMS_EXT_SIZE];
    uint32_t type;

    hdr(req, ext ? VIRTIO_VIDEO_CMD_GET_PARAMS_EXT
                 : VIRTIO_VIDEO_CMD_GET_PARAMS, stream_id);
    vvc_st32(req + 8, queue);
    type = vvc_cmd(c, req, sizeof(req), resp,
                   8 + (ext ? VVC_PARAMS_EXT_SIZE : VVC_PARAMS_SIZE));
    if (type == VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
        vvc_params_decode(resp + 8, ext, p);
    }
    return type;
}

uint32_t vvc_set_params(VvcClient *c, uint32_t stream_id,
                        const VvcParams *p, bool ext)
{
    uint8_t req[8 + VVC_PARAMS_EXT_SIZE];

    hdr(req, ext ? VIRTIO_VIDEO_CMD_SET_PARAMS_EXT
                 : VIRTIO_VIDEO_CMD_SET_PARAMS, stream_id);
    vvc_params_encode(p, ext, req + 8);
    return vvc_cmd(c, req, 8 + (ext ? VVC_PARAMS_EXT_SIZE : VVC_PARAMS_SIZE),
                   NULL, 0);
}

static char *params_diff(const char *what, const VvcParams *a,
                         const VvcParams *b)
{
    if (!memcmp(a, b, sizeof(*a))) {
        return NULL;
    }
    return g_strdup_printf("%s: format 0x%x %ux%u crop %ux%u+%u+%u "
                           "planes %u (%u/%u) rate %u type %u became "
                           "format 0x%x %ux%u crop %ux%u+%u+%u planes %u "
                           "(%u/%u) rate %u type %u", what, a->format,
                           a->frame_width, a->frame_height, a->crop_width,
                           a->crop_height, a->crop_left, a->crop_top,
                           a->num_planes, a->plane_size[0], a->stride[0],
                           a->frame_rate, a->resource_type, b->format,
                           b->frame_width, b->frame_height, b->crop_width,
                           b->crop_height, b->crop_left, b->crop_top,
                           b->num_planes, b->plane_size[0], b->stride[0],
                           b->frame_rate, b->resource_type);
}

bool vvc_check_echo(VvcClient *c, uint32_t stream_id, uint32_t queue,
                    bool ext, const VvcParams *stale, char **err)
{
    static const char *const how[] = {
        "as read", "as V4L2 sees it (one plane)", "without crop",
        "without buffer counts and frame rate", "stale",
    };
    VvcParams in, out, now_in, now_out, echo;
    uint32_t type;
    unsigned i, k;

    if (vvc_get_params(c, stream_id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, ext,
                       &in) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS ||
        vvc_get_params(c, stream_id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, ext,
                       &out) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
        *err = g_strdup("GET_PARAMS failed");
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(how); i++) {
        g_autofree char *diff = NULL;

        echo = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ? in : out;
        switch (i) {
        case 1:
            for (k = 1; k < echo.num_planes; k++) {
                echo.plane_size[0] += echo.plane_size[k];
                echo.plane_size[k] = echo.stride[k] = 0;
            }
            echo.num_planes = 1;
            break;
        case 2:
            echo.crop_left = echo.crop_top = 0;
            echo.crop_width = echo.crop_height = 0;
            break;
        case 3:
            echo.min_buffers = echo.max_buffers = echo.frame_rate = 0;
            break;
        case 4:
            if (!stale) {
                continue;
            }
            /* a memory type is a request: the cached one is current */
            echo = *stale;
            echo.resource_type = queue == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ?
                                 in.resource_type : out.resource_type;
            break;
        }
        type = vvc_set_params(c, stream_id, &echo, ext);
        if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
            *err = g_strdup_printf("SET_PARAMS(0x%x) %s answered 0x%x",
                                   queue, how[i], type);
            return false;
        }
        if (vvc_get_params(c, stream_id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, ext,
                           &now_in) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS ||
            vvc_get_params(c, stream_id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, ext,
                           &now_out) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
            *err = g_strdup("GET_PARAMS failed");
            return false;
        }
        diff = params_diff("INPUT", &in, &now_in);
        if (!diff) {
            diff = params_diff("OUTPUT", &out, &now_out);
        }
        if (diff) {
            *err = g_strdup_printf("SET_PARAMS(0x%x) %s changed %s", queue,
                                   how[i], diff);
            return false;
        }
    }
    return true;
}

uint32_t vvc_get_control(VvcClient *c, uint32_t stream_id, uint32_t control,
                         uint32_t *value)
{
    uint8_t req[16] = { 0 }, resp[16];
    uint32_t type;

    hdr(req, VIRTIO_VIDEO_CMD_GET_CONTROL, stream_id);
    vvc_st32(req + 8, control);
    type = vvc_cmd(c, req, sizeof(req), resp, sizeof(resp));
    if (value) {
        *value = vvc_ld32(resp + 8);
    }
    return type;
}

uint32_t vvc_set_control(VvcClient *c, uint32_t stream_id, uint32_t control,
                         uint32_t value)
{
    uint8_t req[24] = { 0 };

    hdr(req, VIRTIO_VIDEO_CMD_SET_CONTROL, stream_id);
    vvc_st32(req + 8, control);
    vvc_st32(req + 16, value);
    return vvc_cmd(c, req, sizeof(req), NULL, 0);
}

/* ---- resources ---- */

static uint8_t guard_byte(size_t off)
{
    return (uint8_t)(off * 7 + 0x5a);
}

VvcResource *vvc_resource_alloc(VvcClient *c, uint32_t stream_id,
                                 uint32_t queue_type, size_t size, bool sg,
                                 bool guard)
{
    VvcResource *r = g_new0(VvcResource, 1);
    size_t npages = MAX(1, (size + VVC_PAGE - 1) / VVC_PAGE);
    size_t slots, i;

    r->id = vvc_alloc_resource_id(c);
    r->stream_id = stream_id;
    r->queue_type = queue_type;
    r->size = size;
    r->guard = guard;
    if (!sg) {
        slots = npages + (guard ? 2 : 0);
        r->num_entries = 1;
    } else {
        /* with guards, every used page has an unused one on each side */
        slots = guard ? 2 * npages + 1 : npages;
        r->num_entries = npages;
    }
    r->block_size = slots * VVC_PAGE;
    r->block = c->ops->alloc(c->opaque, r->block_size);
    r->entry_addr = g_new0(uint64_t, r->num_entries);
    r->entry_len = g_new0(uint32_t, r->num_entries);
    if (!sg) {
        r->entry_addr[0] = r->block + (guard ? VVC_PAGE : 0);
        r->entry_len[0] = size;
    } else {
        for (i = 0; i < npages; i++) {
            /* descending guest addresses: page i of the buffer ... */
            size_t slot = npages - 1 - i;

            r->entry_addr[i] = r->block +
                               (guard ? 2 * slot + 1 : slot) * VVC_PAGE;
            r->entry_len[i] = MIN(VVC_PAGE, size - i * VVC_PAGE);
        }
    }
    if (guard) {
        g_autofree uint8_t *pat = g_malloc(r->block_size);

        for (i = 0; i < r->block_size; i++) {
            pat[i] = guard_byte(i);
        }
        c->ops->memwrite(c->opaque, r->block, pat, r->block_size);
    }
    return r;
}

void vvc_resource_release(VvcClient *c, VvcResource *r)
{
    if (!r) {
        return;
    }
    c->ops->free(c->opaque, r->block);
    g_free(r->entry_addr);
    g_free(r->entry_len);
    g_free(r);
}

/* The head every RESOURCE_* command with a queue and a resource id has. */
static void resource_head(uint8_t *req, uint32_t type, uint32_t stream_id,
                          uint32_t queue_type, uint32_t resource_id)
{
    hdr(req, type, stream_id);
    vvc_st32(req + 8, queue_type);
    vvc_st32(req + 12, resource_id);
}

/* RESOURCE_CREATE from explicit entries, posted: the tag. */
static uint32_t resource_create_post(VvcClient *c, uint32_t stream_id,
                                     uint32_t queue_type,
                                     uint32_t resource_id,
                                     uint32_t num_planes,
                                     const uint32_t *num_entries,
                                     const uint64_t *addrs,
                                     const uint32_t *lens,
                                     uint32_t total_entries)
{
    size_t len = 88 + 16 * (size_t)total_entries;
    g_autofree uint8_t *req = g_malloc0(len);
    uint32_t i;

    resource_head(req, VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream_id,
                  queue_type, resource_id);
    vvc_st32(req + 16, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
    vvc_st32(req + 20, num_planes);
    for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES && num_entries; i++) {
        vvc_st32(req + 56 + 4 * i, num_entries[i]);
    }
    for (i = 0; i < total_entries; i++) {
        vvc_st64(req + 88 + 16 * i, addrs[i]);
        vvc_st32(req + 96 + 16 * i, lens[i]);
    }
    return vvc_submit(c, req, len, VVC_HDR);
}

uint32_t vvc_resource_create_raw(VvcClient *c, uint32_t stream_id,
                                 uint32_t queue_type, uint32_t resource_id,
                                 uint32_t num_planes,
                                 const uint32_t *num_entries,
                                 const uint64_t *addrs, const uint32_t *lens,
                                 uint32_t total_entries)
{
    return wait_type(c, resource_create_post(c, stream_id, queue_type,
                                             resource_id, num_planes,
                                             num_entries, addrs, lens,
                                             total_entries));
}

uint32_t vvc_resource_create_object(VvcClient *c, uint32_t stream_id,
                                    uint32_t queue_type, uint32_t resource_id,
                                    uint32_t num_planes,
                                    const uint32_t *plane_offsets,
                                    const uint8_t *uuid)
{
    uint8_t req[88 + 16] = { 0 };
    uint32_t i;

    resource_head(req, VIRTIO_VIDEO_CMD_RESOURCE_CREATE, stream_id,
                  queue_type, resource_id);
    vvc_st32(req + 16, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
    vvc_st32(req + 20, num_planes);
    for (i = 0; i < num_planes && i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        vvc_st32(req + 24 + 4 * i, plane_offsets ? plane_offsets[i] : 0);
    }
    vvc_st32(req + 56, 1);
    memcpy(req + 88, uuid, 16);
    return vvc_cmd(c, req, sizeof(req), NULL, 0);
}

uint32_t vvc_resource_create(VvcClient *c, VvcResource *r)
{
    return wait_type(c, vvc_resource_create_async(c, r));
}

uint32_t vvc_resource_create_async(VvcClient *c, VvcResource *r)
{
    uint32_t ne[VIRTIO_VIDEO_MAX_PLANES] = { r->num_entries };

    return resource_create_post(c, r->stream_id, r->queue_type, r->id, 1,
                                ne, r->entry_addr, r->entry_len,
                                r->num_entries);
}

uint32_t vvc_resource_queue_async(VvcClient *c, uint32_t stream_id,
                                  uint32_t queue_type, uint32_t resource_id,
                                  uint64_t timestamp, uint32_t num_sizes,
                                  const uint32_t *sizes)
{
    uint8_t req[64] = { 0 };
    uint32_t i;

    resource_head(req, VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, stream_id,
                  queue_type, resource_id);
    vvc_st64(req + 16, timestamp);
    vvc_st32(req + 24, num_sizes);
    for (i = 0; i < num_sizes && i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        vvc_st32(req + 28 + 4 * i, sizes[i]);
    }
    return vvc_submit(c, req, sizeof(req), VVC_QUEUE_RESP);
}

void vvc_resource_write(VvcClient *c, VvcResource *r, const void *buf,
                        size_t len)
{
    const uint8_t *b = buf;
    size_t off = 0;
    uint32_t i;

    for (i = 0; i < r->num_entries && off < len; i++) {
        size_t n = MIN(r->entry_len[i], len - off);

        c->ops->memwrite(c->opaque, r->entry_addr[i], b + off, n);
        off += n;
    }
}

void vvc_resource_read(VvcClient *c, VvcResource *r, void *buf, size_t len)
{
    uint8_t *b = buf;
    size_t off = 0;
    uint32_t i;

    if (r->num_entries == 1) {
        c->ops->memread(c->opaque, r->entry_addr[0], buf,
                        MIN(len, r->entry_len[0]));
        return;
    }
    /* one transfer for the whole block, then gather the entries */
    {
        g_autofree uint8_t *blk = g_malloc(r->block_size);

        c->ops->memread(c->opaque, r->block, blk, r->block_size);
        for (i = 0; i < r->num_entries && off < len; i++) {
            size_t n = MIN(r->entry_len[i], len - off);

            memcpy(b + off, blk + (r->entry_addr[i] - r->block), n);
            off += n;
        }
    }
}

bool vvc_resource_guard_ok(VvcClient *c, VvcResource *r)
{
    g_autofree uint8_t *blk = NULL;
    g_autofree bool *used = NULL;
    size_t i, j;

    if (!r->guard) {
        return true;
    }
    blk = g_malloc(r->block_size);
    used = g_new0(bool, r->block_size);
    c->ops->memread(c->opaque, r->block, blk, r->block_size);
    for (i = 0; i < r->num_entries; i++) {
        size_t base = r->entry_addr[i] - r->block;

        for (j = 0; j < r->entry_len[i]; j++) {
            used[base + j] = true;
        }
    }
    for (i = 0; i < r->block_size; i++) {
        if (!used[i] && blk[i] != guard_byte(i)) {
            g_message("resource %u: byte 0x%zx of its block (outside the "
                      "buffer) changed: 0x%02x", r->id, i, blk[i]);
            return false;
        }
    }
    return true;
}

/* ---- pictures ---- */

static bool hash_rows(GChecksum *ck, const VvcParams *p, const uint8_t *buf,
                      size_t len, unsigned plane, size_t x0, size_t bytes,
                      size_t y0, size_t rows)
{
    size_t off = 0, y;
    unsigned k;

    if (plane >= p->num_planes || plane >= VIRTIO_VIDEO_MAX_PLANES) {
        return false;
    }
    for (k = 0; k < plane; k++) {
        off += p->plane_size[k];
    }
    if (rows && ((y0 + rows - 1) * (size_t)p->stride[plane] + x0 + bytes >
                 p->plane_size[plane] ||
                 off + p->plane_size[plane] > len)) {
        return false;
    }
    for (y = y0; y < y0 + rows; y++) {
        g_checksum_update(ck, buf + off + y * p->stride[plane] + x0, bytes);
    }
    return true;
}

char *vvc_frame_md5(const VvcParams *p, const uint8_t *buf, size_t len)
{
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_MD5);
    size_t w = p->crop_width, h = p->crop_height;
    size_t l = p->crop_left, t = p->crop_top;
    size_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    bool ok;

    switch (p->format) {
    case VIRTIO_VIDEO_FORMAT_NV12:
        ok = hash_rows(ck, p, buf, len, 0, l, w, t, h) &&
             hash_rows(ck, p, buf, len, 1, l / 2 * 2, 2 * cw, t / 2, ch);
        break;
    case VIRTIO_VIDEO_FORMAT_YUV420:
        ok = hash_rows(ck, p, buf, len, 0, l, w, t, h) &&
             hash_rows(ck, p, buf, len, 1, l / 2, cw, t / 2, ch) &&
             hash_rows(ck, p, buf, len, 2, l / 2, cw, t / 2, ch);
        break;
    case VIRTIO_VIDEO_FORMAT_YVU420:
        /* plane 1 is V, plane 2 is U: hash Y, U, V like yuv420p */
        ok = hash_rows(ck, p, buf, len, 0, l, w, t, h) &&
             hash_rows(ck, p, buf, len, 2, l / 2, cw, t / 2, ch) &&
             hash_rows(ck, p, buf, len, 1, l / 2, cw, t / 2, ch);
        break;
    case VIRTIO_VIDEO_FORMAT_ARGB8888:
    case VIRTIO_VIDEO_FORMAT_BGRA8888:
        ok = hash_rows(ck, p, buf, len, 0, 4 * l, 4 * w, t, h);
        break;
    default:
        ok = false;
    }
    return ok ? g_strdup(g_checksum_get_string(ck)) : NULL;
}

/* ---- media ---- */

uint32_t vvc_codec_to_format(int id)
{
    switch (id) {
    case AV_CODEC_ID_H264:
        return VIRTIO_VIDEO_FORMAT_H264;
    case AV_CODEC_ID_HEVC:
        return VIRTIO_VIDEO_FORMAT_HEVC;
    case AV_CODEC_ID_VP8:
        return VIRTIO_VIDEO_FORMAT_VP8;
    case AV_CODEC_ID_VP9:
        return VIRTIO_VIDEO_FORMAT_VP9;
    case AV_CODEC_ID_MPEG2VIDEO:
        return VIRTIO_VIDEO_FORMAT_MPEG2;
    case AV_CODEC_ID_MPEG4:
        return VIRTIO_VIDEO_FORMAT_MPEG4;
    case AV_CODEC_ID_AV1:
        return VIRTIO_VIDEO_FORMAT_AV1;
    default:
        return 0;
    }
}

static enum AVCodecID format_to_codec(uint32_t format)
{
    switch (format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        return AV_CODEC_ID_H264;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return AV_CODEC_ID_HEVC;
    case VIRTIO_VIDEO_FORMAT_VP8:
        return AV_CODEC_ID_VP8;
    case VIRTIO_VIDEO_FORMAT_VP9:
        return AV_CODEC_ID_VP9;
    case VIRTIO_VIDEO_FORMAT_MPEG2:
        return AV_CODEC_ID_MPEG2VIDEO;
    case VIRTIO_VIDEO_FORMAT_MPEG4:
        return AV_CODEC_ID_MPEG4;
    case VIRTIO_VIDEO_FORMAT_AV1:
        return AV_CODEC_ID_AV1;
    default:
        return AV_CODEC_ID_NONE;
    }
}

const char *vvc_format_name(uint32_t format)
{
    switch (format) {
    case VIRTIO_VIDEO_FORMAT_ARGB8888:
        return "ARGB8888";
    case VIRTIO_VIDEO_FORMAT_BGRA8888:
        return "BGRA8888";
    case VIRTIO_VIDEO_FORMAT_NV12:
        return "NV12";
    case VIRTIO_VIDEO_FORMAT_YUV420:
        return "YUV420";
    case VIRTIO_VIDEO_FORMAT_YVU420:
        return "YVU420";
    case VIRTIO_VIDEO_FORMAT_MPEG2:
        return "MPEG2";
    case VIRTIO_VIDEO_FORMAT_MPEG4:
        return "MPEG4";
    case VIRTIO_VIDEO_FORMAT_H264:
        return "H264";
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return "HEVC";
    case VIRTIO_VIDEO_FORMAT_VP8:
        return "VP8";
    case VIRTIO_VIDEO_FORMAT_VP9:
        return "VP9";
    case VIRTIO_VIDEO_FORMAT_AV1:
        return "AV1";
    default:
        return "?";
    }
}

bool vvc_format_chunkable(uint32_t format)
{
    return format == VIRTIO_VIDEO_FORMAT_H264 ||
           format == VIRTIO_VIDEO_FORMAT_HEVC ||
           format == VIRTIO_VIDEO_FORMAT_MPEG2 ||
           format == VIRTIO_VIDEO_FORMAT_MPEG4;
}

static void unit_free(gpointer p)
{
    VvcUnit *u = p;

    g_free(u->data);
    g_free(u);
}

static void add_unit(GPtrArray *units, const uint8_t *data, size_t len,
                     const uint8_t *prefix, size_t prefix_len)
{
    VvcUnit *u = g_new0(VvcUnit, 1);

    u->len = prefix_len + len;
    u->data = g_malloc(MAX(u->len, 1));
    if (prefix_len) {
        memcpy(u->data, prefix, prefix_len);
    }
    memcpy(u->data + prefix_len, data, len);
    g_ptr_array_add(units, u);
}

static bool mem_contains(const uint8_t *hay, size_t hlen, const uint8_t *n,
                         size_t nlen)
{
    size_t i;

    for (i = 0; nlen && i + nlen <= hlen; i++) {
        if (!memcmp(hay + i, n, nlen)) {
            return true;
        }
    }
    return false;
}

GPtrArray *vvc_demux(const char *path, uint32_t *format, int *bit_depth,
                     char **err)
{
    AVFormatContext *fmt = NULL;
    AVBSFContext *bsf = NULL;
    AVPacket *pkt = NULL;
    GPtrArray *units = NULL;
    AVCodecParameters *par;
    const AVPixFmtDescriptor *desc;
    const uint8_t *prefix = NULL;
    size_t prefix_len = 0;
    int idx, r;

    r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0) {
        *err = g_strdup_printf("%s: cannot open (%s)", path, av_err2str(r));
        return NULL;
    }
    r = avformat_find_stream_info(fmt, NULL);
    idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (r < 0 || idx < 0) {
        *err = g_strdup_printf("%s: no video stream", path);
        goto out;
    }
    par = fmt->streams[idx]->codecpar;
    *format = vvc_codec_to_format(par->codec_id);
    desc = av_pix_fmt_desc_get(par->format);
    *bit_depth = desc ? desc->comp[0].depth : 8;
    if ((par->codec_id == AV_CODEC_ID_HEVC &&
         par->profile == AV_PROFILE_HEVC_MAIN_10) ||
        (par->codec_id == AV_CODEC_ID_VP9 && par->profile >= 2)) {
        *bit_depth = MAX(*bit_depth, 10);
    }
    if ((par->codec_id == AV_CODEC_ID_H264 ||
         par->codec_id == AV_CODEC_ID_HEVC) &&
        par->extradata_size > 0 && par->extradata[0] == 1) {
        /* avcC / hvcC (MP4, MKV): convert to Annex-B */
        const AVBitStreamFilter *f =
            av_bsf_get_by_name(par->codec_id == AV_CODEC_ID_H264 ?
                               "h264_mp4toannexb" : "hevc_mp4toannexb");

        if (!f || av_bsf_alloc(f, &bsf) < 0 ||
            avcodec_parameters_copy(bsf->par_in, par) < 0) {
            *err = g_strdup_printf("%s: no mp4toannexb filter", path);
            goto out;
        }
        bsf->time_base_in = fmt->streams[idx]->time_base;
        if (av_bsf_init(bsf) < 0) {
            *err = g_strdup_printf("%s: mp4toannexb init failed", path);
            goto out;
        }
    } else if ((par->codec_id == AV_CODEC_ID_MPEG4 ||
                par->codec_id == AV_CODEC_ID_MPEG2VIDEO) &&
               par->extradata_size > 0) {
        /* headers out of band: put them in front of the first unit */
        prefix = par->extradata;
        prefix_len = par->extradata_size;
    }

    units = g_ptr_array_new_with_free_func(unit_free);
    pkt = av_packet_alloc();
    for (;;) {
        bool eof;

        r = av_read_frame(fmt, pkt);
        eof = r < 0;
        if (!eof && pkt->stream_index != idx) {
            av_packet_unref(pkt);
            continue;
        }
        if (!bsf) {
            if (eof) {
                break;
            }
            if (prefix && mem_contains(pkt->data, pkt->size, prefix,
                                       prefix_len)) {
                prefix = NULL;
            }
            add_unit(units, pkt->data, pkt->size, prefix,
                     prefix ? prefix_len : 0);
            prefix = NULL;
            av_packet_unref(pkt);
            continue;
        }
        if (av_bsf_send_packet(bsf, eof ? NULL : pkt) < 0) {
            *err = g_strdup_printf("%s: bitstream filter failed", path);
            g_ptr_array_free(units, true);
            units = NULL;
            goto out;
        }
        while (av_bsf_receive_packet(bsf, pkt) == 0) {
            add_unit(units, pkt->data, pkt->size, NULL, 0);
            av_packet_unref(pkt);
        }
        if (eof) {
            break;
        }
    }
    if (!units->len) {
        *err = g_strdup_printf("%s: no video packets", path);
        g_ptr_array_free(units, true);
        units = NULL;
    }
out:
    av_packet_free(&pkt);
    av_bsf_free(&bsf);
    avformat_close_input(&fmt);
    return units;
}

bool vvc_run_ffmpeg(const char *const *args, char **err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autofree char *out = NULL, *errs = NULL;
    g_autoptr(GError) gerr = NULL;
    int status = 0;

    g_ptr_array_add(argv, (gpointer)"ffmpeg");
    g_ptr_array_add(argv, (gpointer)"-nostdin");
    g_ptr_array_add(argv, (gpointer)"-hide_banner");
    g_ptr_array_add(argv, (gpointer)"-v");
    g_ptr_array_add(argv, (gpointer)"error");
    g_ptr_array_add(argv, (gpointer)"-y");
    for (; *args; args++) {
        g_ptr_array_add(argv, (gpointer)*args);
    }
    g_ptr_array_add(argv, NULL);
    if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH,
                      NULL, NULL, &out, &errs, &status, &gerr) ||
        !WIFEXITED(status) || WEXITSTATUS(status)) {
        *err = g_strdup_printf("ffmpeg failed: %s",
                               gerr ? gerr->message : errs);
        return false;
    }
    return true;
}

char *vvc_ffmpeg_framemd5(const char *path, const char *pix_fmt, char **err)
{
    g_autofree char *ref = g_strdup_printf("%s.%s.framemd5", path, pix_fmt);
    const char *args[] = {
        "-flags", "unaligned", "-i", path, "-map", "0:v:0",
        "-fps_mode", "passthrough", "-noautoscale", "-pix_fmt", pix_fmt,
        "-f", "framemd5", ref, NULL
    };

    if (!g_file_test(ref, G_FILE_TEST_EXISTS) && !vvc_run_ffmpeg(args, err)) {
        return NULL;
    }
    return g_steal_pointer(&ref);
}

GPtrArray *vvc_gen_h264(unsigned width, unsigned height, unsigned frames,
                        char **err)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-video-gen-XXXXXX", NULL);
    g_autofree char *path = NULL;
    g_autofree char *src = g_strdup_printf("testsrc2=size=%ux%u:rate=25",
                                           width, height);
    g_autofree char *count = g_strdup_printf("%u", frames);
    const char *args[] = {
        "-f", "lavfi", "-i", src, "-frames:v", count, "-c:v", "libx264",
        "-bf", "2", "-f", "h264", NULL, NULL
    };
    uint32_t format = 0;
    int depth = 8;
    GPtrArray *units = NULL;

    if (!dir) {
        *err = g_strdup("cannot make a temporary folder");
        return NULL;
    }
    path = g_build_filename(dir, "s.h264", NULL);
    args[G_N_ELEMENTS(args) - 2] = path;
    if (vvc_run_ffmpeg(args, err)) {
        units = vvc_demux(path, &format, &depth, err);
    }
    unlink(path);
    rmdir(dir);
    if (units && format != VIRTIO_VIDEO_FORMAT_H264) {
        *err = g_strdup("ffmpeg did not make H.264");
        g_ptr_array_unref(units);
        return NULL;
    }
    return units;
}

/* ---- H.264 parameter sets ---- */

typedef struct Bits {
    const uint8_t *p;
    size_t len;                 /* bytes */
    size_t pos;                 /* bits read */
} Bits;

static bool bits_over(const Bits *b)
{
    return b->pos > b->len * 8;
}

static uint32_t bits_u(Bits *b, unsigned n)
{
    uint32_t v = 0;

    for (; n; n--, b->pos++) {
        v <<= 1;
        if (b->pos < b->len * 8) {
            v |= b->p[b->pos / 8] >> (7 - b->pos % 8) & 1;
        }
    }
    return v;
}

static uint32_t bits_ue(Bits *b)
{
    unsigned zeros = 0;

    while (!bits_u(b, 1)) {
        if (++zeros > 31 || bits_over(b)) {
            b->pos = b->len * 8 + 1;
            return 0;
        }
    }
    return (1u << zeros) - 1 + bits_u(b, zeros);
}

static void bits_hrd(Bits *b)
{
    uint32_t n = bits_ue(b), i;

    bits_u(b, 8);
    for (i = 0; i <= n && !bits_over(b); i++) {
        bits_ue(b);
        bits_ue(b);
        bits_u(b, 1);
    }
    bits_u(b, 20);
}

/*
 * Bit position of bitstream_restriction_flag in the sequence parameter
 * set @rbsp (after the NAL header byte), 0 if the set has no VUI, -1 if
 * it cannot be read (7.3.2.1.1, E.1.1).
 */
static long sps_restriction_pos(const uint8_t *rbsp, size_t len)
{
    static const uint8_t high[] = {
        100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135,
    };
    Bits b = { .p = rbsp, .len = len };
    uint32_t profile = bits_u(&b, 8), chroma = 1, n, i, j;
    bool nal, vcl;

    bits_u(&b, 16);                     /* constraint flags, level_idc */
    bits_ue(&b);                        /* seq_parameter_set_id */
    if (memchr(high, profile, sizeof(high))) {
        chroma = bits_ue(&b);
        if (chroma == 3) {
            bits_u(&b, 1);
        }
        bits_ue(&b);
        bits_ue(&b);
        bits_u(&b, 1);
        if (bits_u(&b, 1)) {            /* seq_scaling_matrix_present */
            for (i = 0; i < (chroma == 3 ? 12u : 8u); i++) {
                int last = 8, next = 8;

                if (!bits_u(&b, 1)) {   /* seq_scaling_list_present_flag */
                    continue;
                }
                /* scaling_list(): deltas until one makes nextScale 0 */
                for (j = 0; j < (i < 6 ? 16u : 64u) && next &&
                     !bits_over(&b); j++) {
                    uint32_t v = bits_ue(&b);
                    int delta = v & 1 ? (int)(v + 1) / 2 : -(int)(v / 2);

                    next = (last + delta + 256) % 256;
                    last = next ? next : last;
                }
            }
        }
    }
    bits_ue(&b);                        /* log2_max_frame_num_minus4 */
    n = bits_ue(&b);                    /* pic_order_cnt_type */
    if (n == 0) {
        bits_ue(&b);
    } else if (n == 1) {
        bits_u(&b, 1);
        bits_ue(&b);
        bits_ue(&b);
        n = bits_ue(&b);
        for (i = 0; i < n && !bits_over(&b); i++) {
            bits_ue(&b);
        }
    }
    bits_ue(&b);                        /* max_num_ref_frames */
    bits_u(&b, 1);
    bits_ue(&b);                        /* pic_width_in_mbs_minus1 */
    bits_ue(&b);                        /* pic_height_in_map_units_minus1 */
    if (!bits_u(&b, 1)) {               /* frame_mbs_only_flag */
        bits_u(&b, 1);
    }
    bits_u(&b, 1);                      /* direct_8x8_inference_flag */
    if (bits_u(&b, 1)) {                /* frame_cropping_flag */
        for (i = 0; i < 4; i++) {
            bits_ue(&b);
        }
    }
    if (!bits_u(&b, 1)) {               /* vui_parameters_present_flag */
        return bits_over(&b) ? -1 : 0;
    }
    if (bits_u(&b, 1) && bits_u(&b, 8) == 255) {
        bits_u(&b, 32);                 /* sar */
    }
    if (bits_u(&b, 1)) {
        bits_u(&b, 1);                  /* overscan_appropriate_flag */
    }
    if (bits_u(&b, 1)) {                /* video_signal_type_present_flag */
        bits_u(&b, 4);
        if (bits_u(&b, 1)) {
            bits_u(&b, 24);
        }
    }
    if (bits_u(&b, 1)) {                /* chroma_loc_info_present_flag */
        bits_ue(&b);
        bits_ue(&b);
    }
    if (bits_u(&b, 1)) {                /* timing_info_present_flag */
        bits_u(&b, 32);
        bits_u(&b, 32);
        bits_u(&b, 1);
    }
    nal = bits_u(&b, 1);
    if (nal) {
        bits_hrd(&b);
    }
    vcl = bits_u(&b, 1);
    if (vcl) {
        bits_hrd(&b);
    }
    if (nal || vcl) {
        bits_u(&b, 1);                  /* low_delay_hrd_flag */
    }
    bits_u(&b, 1);                      /* pic_struct_present_flag */
    return bits_over(&b) || b.pos >= len * 8 ? -1 : (long)b.pos;
}

/* Append NAL payload bytes @rbsp with emulation prevention. */
static void append_escaped(GByteArray *out, const uint8_t *rbsp, size_t len)
{
    static const uint8_t three = 3;
    size_t i, zeros = 0;

    for (i = 0; i < len; i++) {
        if (zeros >= 2 && rbsp[i] <= 3) {
            g_byte_array_append(out, &three, 1);
            zeros = 0;
        }
        g_byte_array_append(out, rbsp + i, 1);
        zeros = rbsp[i] ? 0 : zeros + 1;
    }
}

GByteArray *vvc_h264_drop_reorder_info(const uint8_t *data, size_t len,
                                       char **err)
{
    GByteArray *out = g_byte_array_sized_new(len);
    size_t i = 0;

    while (i < len) {
        g_autofree uint8_t *rbsp = NULL;
        size_t start, end, n = 0, zeros = 0, k;
        long pos;

        /* copy up to and including the next start code */
        if (i + 3 > len || data[i] || data[i + 1] || data[i + 2] != 1) {
            g_byte_array_append(out, data + i, 1);
            i++;
            continue;
        }
        g_byte_array_append(out, data + i, 3);
        start = i + 3;
        for (end = start; end + 3 <= len; end++) {
            if (!data[end] && !data[end + 1] && data[end + 2] <= 1) {
                break;
            }
        }
        if (end + 3 > len) {
            end = len;
        }
        i = end;
        if (start >= end || (data[start] & 0x1f) != 7) {
            g_byte_array_append(out, data + start, end - start);
            continue;
        }
        rbsp = g_malloc(end - start);
        for (k = start + 1; k < end; k++) {
            if (zeros >= 2 && data[k] == 3) {
                zeros = 0;
                continue;
            }
            zeros = data[k] ? 0 : zeros + 1;
            rbsp[n++] = data[k];
        }
        pos = sps_restriction_pos(rbsp, n);
        if (pos < 0) {
            *err = g_strdup("cannot read an H.264 sequence parameter set");
            g_byte_array_unref(out);
            return NULL;
        }
        if (pos && rbsp[pos / 8] >> (7 - pos % 8) & 1) {
            /* bitstream_restriction_flag 0, then rbsp_trailing_bits() */
            n = (pos + 2 + 7) / 8;
            for (k = pos; k < n * 8; k++) {
                rbsp[k / 8] &= ~(0x80 >> (k % 8));
            }
            rbsp[(pos + 1) / 8] |= 0x80 >> ((pos + 1) % 8);
        }
        g_byte_array_append(out, data + start, 1);
        append_escaped(out, rbsp, n);
    }
    return out;
}

bool vvc_gen_reorder_switch(const char *dir, char **path, GPtrArray **ref,
                            char **err)
{
    static const struct {
        const char *size;
        unsigned frames;
        const char *profile;
        const char *params;
    } parts[] = {
        { "176x144", 10, "baseline", "b-adapt=0" },
        { "640x320", 9, "main", "bframes=2:b-adapt=0:cabac=1" },
        { "320x240", 8, "high", "bframes=3:b-adapt=0:b-pyramid=normal" },
    };
    g_autoptr(GByteArray) all = g_byte_array_new();
    g_autoptr(GPtrArray) md5 = g_ptr_array_new_with_free_func(g_free);
    unsigned total = 0;
    size_t i;

    *path = NULL;
    *ref = NULL;
    for (i = 0; i < G_N_ELEMENTS(parts); i++) {
        g_autofree char *enc = g_strdup_printf("%s/part%zu.h264", dir, i);
        g_autofree char *part = g_strdup_printf("%s/part%zu-norestr.h264",
                                                dir, i);
        g_autofree char *src = g_strdup_printf("testsrc2=size=%s:rate=25",
                                               parts[i].size);
        g_autofree char *frames = g_strdup_printf("%u", parts[i].frames);
        g_autofree char *data = NULL;
        g_autofree char *framemd5 = NULL;
        g_autoptr(GByteArray) out = NULL;
        g_autoptr(GPtrArray) m = NULL;
        guint k;
        const char *args[] = {
            "-f", "lavfi", "-i", src, "-frames:v", frames,
            "-c:v", "libx264", "-profile:v", parts[i].profile,
            "-x264-params", parts[i].params, "-pix_fmt", "yuv420p",
            "-f", "h264", enc, NULL
        };
        gsize len;

        if (!vvc_run_ffmpeg(args, err)) {
            return false;
        }
        if (!g_file_get_contents(enc, &data, &len, NULL)) {
            *err = g_strdup_printf("cannot read %s", enc);
            return false;
        }
        out = vvc_h264_drop_reorder_info((uint8_t *)data, len, err);
        if (!out || !g_file_set_contents(part, (char *)out->data, out->len,
                                         NULL)) {
            if (out) {
                *err = g_strdup_printf("cannot write %s", part);
            }
            return false;
        }
        g_byte_array_append(all, out->data, out->len);
        /* ffmpeg probes each part on its own: it finds the delay */
        framemd5 = vvc_ffmpeg_framemd5(part, "nv12", err);
        m = framemd5 ? vvc_read_framemd5(framemd5, err) : NULL;
        if (!m) {
            return false;
        }
        if (m->len != parts[i].frames) {
            *err = g_strdup_printf("ffmpeg decodes %u pictures of the %u in "
                                   "%s", m->len, parts[i].frames, part);
            return false;
        }
        total += m->len;
        for (k = 0; k < m->len; k++) {
            g_ptr_array_add(md5, g_strdup(g_ptr_array_index(m, k)));
        }
    }
    *path = g_strdup_printf("%s/reorder-switch.h264", dir);
    if (!g_file_set_contents(*path, (char *)all->data, all->len, NULL)) {
        *err = g_strdup_printf("cannot write %s", *path);
        g_clear_pointer(path, g_free);
        return false;
    }
    g_assert(md5->len == total);
    *ref = g_steal_pointer(&md5);
    return true;
}

GPtrArray *vvc_chunk_units(GPtrArray *units, size_t chunk_size)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(unit_free);
    GByteArray *all = g_byte_array_new();
    size_t off;
    guint i;

    for (i = 0; i < units->len; i++) {
        VvcUnit *u = g_ptr_array_index(units, i);

        g_byte_array_append(all, u->data, u->len);
    }
    for (off = 0; off < all->len; off += chunk_size) {
        add_unit(out, all->data + off, MIN(chunk_size, all->len - off),
                 NULL, 0);
    }
    g_byte_array_unref(all);
    return out;
}

GPtrArray *vvc_read_framemd5(const char *path, char **err)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) gerr = NULL;
    GPtrArray *md5 = g_ptr_array_new_with_free_func(g_free);
    int i;

    if (!g_file_get_contents(path, &text, NULL, &gerr)) {
        *err = g_strdup(gerr->message);
        g_ptr_array_free(md5, true);
        return NULL;
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        g_auto(GStrv) f = NULL;
        char *s = g_strstrip(lines[i]);

        if (!*s || *s == '#') {
            continue;
        }
        f = g_strsplit(s, ",", -1);
        if (g_strv_length(f) != 6 || strlen(g_strstrip(f[5])) != 32) {
            *err = g_strdup_printf("%s: bad line '%s'", path, s);
            g_ptr_array_free(md5, true);
            return NULL;
        }
        g_ptr_array_add(md5, g_strdup(g_strstrip(f[5])));
    }
    return md5;
}

GArray *vvc_reference_order(GPtrArray *units, uint32_t format, char **err)
{
    const AVCodec *codec = avcodec_find_decoder(format_to_codec(format));
    AVCodecContext *ctx = NULL;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    GArray *order = NULL;
    guint i;

    if (codec) {
        ctx = avcodec_alloc_context3(codec);
    }
    if (!ctx) {
        *err = g_strdup_printf("no libavcodec decoder for %s",
                               vvc_format_name(format));
        return NULL;
    }
    ctx->thread_count = 1;
    /*
     * Every picture: without VUI bitstream_restriction an H.264 decoder
     * that starts with no reorder delay drops the pictures that show it
     * one is needed.  Hold back as many as libavcodec can (the order of
     * what comes out does not depend on it).
     */
    if (codec->id == AV_CODEC_ID_H264) {
        ctx->has_b_frames = 15;
    }
    if (avcodec_open2(ctx, codec, NULL) < 0) {
        *err = g_strdup_printf("cannot open the %s decoder", codec->name);
        avcodec_free_context(&ctx);
        return NULL;
    }
    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    order = g_array_new(false, false, sizeof(int64_t));
    for (i = 0; i <= units->len; i++) {
        if (i < units->len) {
            VvcUnit *u = g_ptr_array_index(units, i);

            av_new_packet(pkt, u->len);
            memcpy(pkt->data, u->data, u->len);
            pkt->pts = i;
            avcodec_send_packet(ctx, pkt);
            av_packet_unref(pkt);
        } else {
            avcodec_send_packet(ctx, NULL);
        }
        while (avcodec_receive_frame(ctx, frame) == 0) {
            int64_t pts = frame->pts;

            if (pts == AV_NOPTS_VALUE) {
                pts = frame->best_effort_timestamp;
            }

            g_array_append_val(order, pts);
            av_frame_unref(frame);
        }
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&ctx);
    return order;
}

uint64_t vvc_cookie(unsigned pass, unsigned i)
{
    return 0x8000000000000000ull | ((uint64_t)pass << 48) |
           (uint64_t)i * 1000003u;
}

/* The unit index and pass of a cookie, false if it is none. */
static bool cookie_decode(uint64_t ts, unsigned *pass, unsigned *index)
{
    uint64_t low = ts & 0xffffffffffffull;

    if (!(ts & 0x8000000000000000ull) || low % 1000003u) {
        return false;
    }
    *pass = (ts >> 48) & 0x7fff;
    *index = low / 1000003u;
    return true;
}

void vvc_media_file_free(VvcMediaFile *m)
{
    if (m) {
        g_free(m->path);
        g_free(m->ref_path);
        g_free(m->skip_reason);
        g_free(m);
    }
}

static gint media_cmp(gconstpointer a, gconstpointer b)
{
    const VvcMediaFile *x = *(VvcMediaFile * const *)a;
    const VvcMediaFile *y = *(VvcMediaFile * const *)b;

    return strcmp(x->path, y->path);
}

/* The virtio-video format of @path's first video stream, 0 if none. */
static uint32_t probe_format(const char *path)
{
    AVFormatContext *fmt = NULL;
    uint32_t format = 0;
    int idx;

    if (avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        return 0;
    }
    if (avformat_find_stream_info(fmt, NULL) >= 0) {
        idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        if (idx >= 0) {
            format = vvc_codec_to_format(fmt->streams[idx]->codecpar->codec_id);
        }
    }
    avformat_close_input(&fmt);
    return format;
}

char *vvc_project_top(void)
{
    const char *env = g_getenv("VIRTIO_VIDEO_TOP");
    g_autofree char *top = NULL;
    g_autofree char *probe = NULL;
    int i;

    if (env) {
        return g_strdup(env);
    }
    top = g_file_read_link("/proc/self/exe", NULL);
    for (i = 0; top && i < 5; i++) {
        char *up = g_path_get_dirname(top);

        g_free(top);
        top = up;
    }
    if (!top) {
        return NULL;
    }
    probe = g_build_filename(top, "qemu", "scripts", "build.sh", NULL);
    return g_file_test(probe, G_FILE_TEST_EXISTS) ? g_steal_pointer(&top)
                                                   : NULL;
}

char *vvc_media_dir(void)
{
    const char *env = g_getenv("VIRTIO_VIDEO_MEDIA");
    g_autofree char *top = NULL;

    if (env) {
        return *env ? g_strdup(env) : NULL;
    }
    top = vvc_project_top();
    return g_build_filename(top ? top : ".", "..", "shared", "media", NULL);
}

GPtrArray *vvc_media_scan(const char *dir, char **err)
{
    static const char *const suffix[] = { ".nv12.framemd5", ".p010.framemd5" };
    g_autoptr(GError) gerr = NULL;
    GDir *d = g_dir_open(dir, 0, &gerr);
    GPtrArray *out;
    const char *name;

    if (!d) {
        *err = g_strdup(gerr->message);
        return NULL;
    }
    out = g_ptr_array_new_with_free_func((GDestroyNotify)vvc_media_file_free);
    while ((name = g_dir_read_name(d))) {
        int k;

        for (k = 0; k < 2; k++) {
            g_autofree char *base = NULL;
            g_autofree char *media = NULL;
            VvcMediaFile *m;

            if (!g_str_has_suffix(name, suffix[k])) {
                continue;
            }
            base = g_strndup(name, strlen(name) - strlen(suffix[k]));
            media = g_build_filename(dir, base, NULL);
            if (!g_file_test(media, G_FILE_TEST_IS_REGULAR)) {
                continue;
            }
            m = g_new0(VvcMediaFile, 1);
            m->path = g_steal_pointer(&media);
            m->ref_path = g_build_filename(dir, name, NULL);
            m->ten_bit = k == 1;
            m->format = probe_format(m->path);
            if (!m->format) {
                m->skip_reason = g_strdup("no virtio-video format for its "
                                          "codec");
            }
            g_ptr_array_add(out, m);
        }
    }
    g_dir_close(d);
    g_ptr_array_sort(out, media_cmp);
    return out;
}

/* ---- decoder ---- */

enum {
    PK_IN,
    PK_OUT,
    PK_DRAIN,
    /* VvcDecodeOpts.pipelined: commands answered while decoding goes on */
    PK_CREATE,
    PK_CLEAR,
    PK_DESTROY_ALL,
};

typedef struct VvcPend {
    int kind;
    VvcResource *r;
    /*
     * PK_IN, PK_OUT: the pipelined QUEUE_CLEAR (or DESTROY_ALL) numbered
     * so cancelled it, 0: none; PK_CLEAR: its number and queue
     */
    unsigned cleared_by;
    uint32_t queue;
} VvcPend;

enum {
    ST_RUN,         /* decoding */
    ST_DONE,        /* stream destroyed */
};

struct VvcDecoder {
    VvcClient *c;
    VvcDecodeOpts o;
    VvcDecodeStats local_stats;
    VvcDecodeStats *st;
    uint32_t sid;
    GPtrArray *units;
    GArray *frames;
    GPtrArray *inputs;          /* VvcResource */
    GPtrArray *outputs;         /* VvcResource, the current generation */
    GHashTable *pending;        /* tag -> VvcPend */
    VvcParams in_p, out_p;
    size_t max_unit;
    unsigned next_unit;
    unsigned pass;
    int state;
    bool outputs_ready;
    bool stale_outputs;         /* outputs replaced by a resolution change */
    bool drain_sent;
    bool drain_refused;         /* answered 0x300: EVENT_ERROR expected */
    uint32_t drain_tag;
    bool hook_done;
    /* pipelined: clears sent so far; output buffers destroyed, kept */
    unsigned clears;
    GPtrArray *retired;         /* VvcResource, until the answers */
    unsigned destroys_pending;  /* RESOURCE_DESTROY_ALL not answered */
    char *err;
};

static void fail(VvcDecoder *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void fail(VvcDecoder *d, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (d->err) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    d->err = g_strdup_printf("stream %u: %s", d->sid, msg);
}

static VvcPend *pend(VvcDecoder *d, uint32_t tag, int kind, VvcResource *r)
{
    VvcPend *p = g_new0(VvcPend, 1);

    p->kind = kind;
    p->r = r;
    g_hash_table_insert(d->pending, GUINT_TO_POINTER(tag), p);
    return p;
}

static bool check_ok(VvcDecoder *d, uint32_t type, const char *what)
{
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        fail(d, "%s answered 0x%x", what, type);
        return false;
    }
    return true;
}

static bool get_params(VvcDecoder *d, uint32_t queue, VvcParams *p)
{
    bool ext = !d->o.plain_params;
    uint32_t type = vvc_get_params(d->c, d->sid, queue, ext, p);

    if (type != VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
        fail(d, "GET_PARAMS%s(0x%x) answered 0x%x", ext ? "_EXT" : "",
             queue, type);
        return false;
    }
    if (p->queue_type != queue) {
        fail(d, "GET_PARAMS(0x%x) answered for queue 0x%x", queue,
             p->queue_type);
        return false;
    }
    return true;
}

static bool set_params(VvcDecoder *d, VvcParams *p)
{
    bool ext = !d->o.plain_params;

    p->resource_type = p->queue_type == Q_OUT && d->o.out_object ?
                       VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT :
                       VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    return check_ok(d, vvc_set_params(d->c, d->sid, p, ext),
                    ext ? "SET_PARAMS_EXT" : "SET_PARAMS");
}

static void queue_output(VvcDecoder *d, VvcResource *r)
{
    uint32_t zero = 0;

    r->tag = vvc_resource_queue_async(d->c, d->sid, Q_OUT, r->id, 0, 1,
                                      &zero);
    r->queued = true;
    pend(d, r->tag, PK_OUT, r);
}

static void free_outputs(VvcDecoder *d)
{
    guint i;

    for (i = 0; i < d->outputs->len; i++) {
        VvcResource *r = g_ptr_array_index(d->outputs, i);

        if (r->guard && !vvc_resource_guard_ok(d->c, r)) {
            fail(d, "the device wrote outside output resource %u", r->id);
        }
        vvc_resource_release(d->c, r);
    }
    g_ptr_array_set_size(d->outputs, 0);
}

static void free_inputs(VvcDecoder *d)
{
    guint i;

    for (i = 0; i < d->inputs->len; i++) {
        VvcResource *r = g_ptr_array_index(d->inputs, i);

        if (r->guard && !vvc_resource_guard_ok(d->c, r)) {
            fail(d, "the device wrote outside input resource %u", r->id);
        }
        vvc_resource_release(d->c, r);
    }
    g_ptr_array_set_size(d->inputs, 0);
}

/*
 * An input buffer came back.  @cleared: a pipelined clear cancelled it,
 * and the buffer may be queued again already.
 */
static void handle_input(VvcDecoder *d, VvcResource *r, VvcMsg *m,
                         bool cleared)
{
    if (!cleared) {
        r->queued = false;
    }
    if (m->type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE) {
        fail(d, "RESOURCE_QUEUE(INPUT, %u) answered 0x%x", r->id, m->type);
        return;
    }
    d->st->inputs_completed++;
    if (m->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
        d->st->inputs_err++;
    }
}

/*
 * An output buffer came back.  @cancel: inside a clear or destroy, where
 * it is not queued again.  @stale: its generation was replaced by a
 * resolution change, so it must carry no picture.
 */
static void handle_output(VvcDecoder *d, VvcResource *r, VvcMsg *m,
                          bool cancel, bool stale)
{
    g_autofree uint8_t *buf = NULL;
    VvcFrame f = { 0 };
    unsigned pass, index;
    char *md5;

    r->queued = false;
    if (m->type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE) {
        fail(d, "RESOURCE_QUEUE(OUTPUT, %u) answered 0x%x", r->id, m->type);
        return;
    }
    if (m->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
        d->st->outputs_err++;
        if (!cancel && !stale && d->state == ST_RUN && !d->st->error_event) {
            /* a failed picture: give the buffer back */
            queue_output(d, r);
        }
        return;
    }
    if (m->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
        d->st->eos++;
        if (d->st->eos > 1) {
            fail(d, "second EOS buffer");
        } else if (!d->drain_sent) {
            fail(d, "EOS buffer without a drain");
        } else if (m->timestamp || m->size) {
            fail(d, "EOS buffer not empty: timestamp 0x%" G_GINT64_MODIFIER
                 "x size %u", m->timestamp, m->size);
        }
        return;
    }
    if (stale) {
        fail(d, "output resource %u of the old resolution came back with a "
             "picture (flags 0x%x) after DECODER_RESOLUTION_CHANGED", r->id,
             m->flags);
        return;
    }
    if (d->st->eos) {
        fail(d, "picture after the EOS buffer");
        return;
    }
    if (!cookie_decode(m->timestamp, &pass, &index) ||
        index >= d->units->len || pass > d->pass) {
        fail(d, "picture timestamp 0x%" G_GINT64_MODIFIER "x is no input's",
             m->timestamp);
        return;
    }
    buf = g_malloc(r->size);
    vvc_resource_read(d->c, r, buf, r->size);
    md5 = vvc_frame_md5(&r->layout, buf, r->size);
    if (!md5) {
        fail(d, "output layout of format %s does not fit its %zu bytes",
             vvc_format_name(r->layout.format), r->size);
        return;
    }
    if (cancel) {
        /* it raced with a clear or destroy */
        d->st->cancel_pictures++;
    }
    f.timestamp = m->timestamp;
    f.width = r->layout.crop_width;
    f.height = r->layout.crop_height;
    f.pass = pass;
    memcpy(f.md5, md5, 33);
    g_free(md5);
    g_array_append_val(d->frames, f);
    if (!cancel) {
        queue_output(d, r);
    }
}

static void handle_drain(VvcDecoder *d, VvcMsg *m, bool cancel)
{
    d->drain_tag = 0;
    if (cancel && m->type == VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION) {
        /* cancelled by a clear or destroy: send it again later */
        d->drain_sent = false;
        return;
    }
    if (m->type == VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION &&
        !d->st->eos) {
        /*
         * A stream that failed refuses the drain; its EVENT_ERROR may
         * reach us after this answer (the two queues are not ordered).
         * Without one, the run times out and says so.
         */
        d->drain_refused = true;
        return;
    }
    if (m->type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        fail(d, "STREAM_DRAIN answered 0x%x", m->type);
    } else if (d->st->eos != 1) {
        fail(d, "STREAM_DRAIN answered before the EOS buffer");
    } else {
        d->st->drained = true;
    }
}

static void release_retired(VvcDecoder *d)
{
    guint i;

    for (i = 0; i < d->retired->len; i++) {
        VvcResource *r = g_ptr_array_index(d->retired, i);

        if (r->guard && !vvc_resource_guard_ok(d->c, r)) {
            fail(d, "the device wrote outside output resource %u", r->id);
        }
        vvc_resource_release(d->c, r);
    }
    g_ptr_array_set_size(d->retired, 0);
}

/*
 * The answer of a pipelined QUEUE_CLEAR numbered @clear: every buffer it
 * cancelled (and those of the clears before it) must be back.
 */
static void handle_clear(VvcDecoder *d, VvcMsg *m, unsigned clear,
                         uint32_t queue)
{
    const char *what = queue == Q_IN ? "QUEUE_CLEAR(INPUT)"
                                     : "QUEUE_CLEAR(OUTPUT)";
    GHashTableIter it;
    gpointer tag, value;

    if (!check_ok(d, m->type, what)) {
        return;
    }
    g_hash_table_iter_init(&it, d->pending);
    while (g_hash_table_iter_next(&it, &tag, &value)) {
        VvcPend *p = value;

        if (p->cleared_by && p->cleared_by <= clear &&
            (p->kind == PK_IN) == (queue == Q_IN)) {
            fail(d, "RESOURCE_QUEUE(%s, resource %u, tag %u) not completed "
                 "before the %s response", queue == Q_IN ? "INPUT" : "OUTPUT",
                 p->r->id, GPOINTER_TO_UINT(tag), what);
            return;
        }
    }
    if (queue == Q_IN) {
        d->st->cleared_inputs++;
    }
}

/* Dispatch a completion that belongs to @d. */
static void handle_completion(VvcDecoder *d, VvcMsg *m, bool cancel)
{
    VvcPend *p = g_hash_table_lookup(d->pending, GUINT_TO_POINTER(m->tag));
    VvcPend copy = *p;

    g_hash_table_remove(d->pending, GUINT_TO_POINTER(m->tag));
    switch (copy.kind) {
    case PK_IN:
        handle_input(d, copy.r, m, copy.cleared_by);
        break;
    case PK_OUT:
        handle_output(d, copy.r, m, cancel || copy.cleared_by,
                      d->stale_outputs ||
                      !g_ptr_array_find(d->outputs, copy.r, NULL));
        break;
    case PK_DRAIN:
        handle_drain(d, m, cancel);
        break;
    case PK_CREATE:
        check_ok(d, m->type, "RESOURCE_CREATE(OUTPUT)");
        break;
    case PK_CLEAR:
        handle_clear(d, m, copy.cleared_by, copy.queue);
        break;
    case PK_DESTROY_ALL:
        /* the device no longer writes the old buffers: free them */
        if (check_ok(d, m->type, "RESOURCE_DESTROY_ALL(OUTPUT)") &&
            !--d->destroys_pending) {
            release_retired(d);
        }
        break;
    }
}

/*
 * Post QUEUE_CLEAR(@queue) without waiting: the buffers pending on that
 * queue now must complete before its answer.
 */
static void clear_queue_async(VvcDecoder *d, uint32_t queue)
{
    GHashTableIter it;
    gpointer value;
    uint32_t tag;
    VvcPend *p;

    d->clears++;
    g_hash_table_iter_init(&it, d->pending);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        p = value;
        if (!p->cleared_by &&
            p->kind == (queue == Q_IN ? PK_IN : PK_OUT)) {
            p->cleared_by = d->clears;
        }
    }
    tag = vvc_queue_clear_async(d->c, d->sid, queue);
    p = pend(d, tag, PK_CLEAR, NULL);
    p->cleared_by = d->clears;
    p->queue = queue;
}

/*
 * A command @what that cancels work has been answered: every pending
 * command of @kind (-1: all) must have completed before it.  Handle those
 * completions from the stash, in the order they arrived.
 */
static void take_cancelled(VvcDecoder *d, int kind, const char *what)
{
    GList *l = d->c->stash.head;
    g_autofree gpointer *tags = NULL;
    guint n, i;

    while (l && !d->err) {
        GList *next = l->next;
        VvcMsg *m = l->data;
        VvcPend *p = m->is_event ? NULL :
                     g_hash_table_lookup(d->pending, GUINT_TO_POINTER(m->tag));

        if (p && (kind < 0 || p->kind == kind)) {
            /* a picture that raced with the command is kept (unless stale) */
            g_queue_delete_link(&d->c->stash, l);
            handle_completion(d, m, true);
            vvc_msg_free(m);
        }
        l = next;
    }
    tags = g_hash_table_get_keys_as_array(d->pending, &n);
    for (i = 0; i < n && !d->err; i++) {
        VvcPend *p = g_hash_table_lookup(d->pending, tags[i]);

        if (kind >= 0 && p->kind != kind) {
            continue;
        }
        if (p->kind == PK_DRAIN) {
            fail(d, "STREAM_DRAIN still pending after the %s response",
                 what);
        } else if (p->kind != PK_IN && p->kind != PK_OUT) {
            fail(d, "command %u of kind %d still pending after the %s "
                 "response", GPOINTER_TO_UINT(tags[i]), p->kind, what);
        } else {
            fail(d, "RESOURCE_QUEUE(%s, resource %u) not completed before "
                 "the %s response", p->kind == PK_IN ? "INPUT" : "OUTPUT",
                 p->r->id, what);
        }
    }
}

static bool clear_queue(VvcDecoder *d, uint32_t queue)
{
    uint32_t tag = vvc_queue_clear_async(d->c, d->sid, queue);
    g_autoptr(VvcMsg) m = vvc_wait_tag(d->c, tag);
    const char *what = queue == Q_IN ? "QUEUE_CLEAR(INPUT)"
                                     : "QUEUE_CLEAR(OUTPUT)";

    if (!m) {
        fail(d, "%s: no answer", what);
        return false;
    }
    if (!check_ok(d, m->type, what)) {
        return false;
    }
    take_cancelled(d, queue == Q_IN ? PK_IN : PK_OUT, what);
    /* a pending drain may have been cancelled too */
    if (d->drain_tag && vvc_stashed(d->c, d->drain_tag)) {
        g_autoptr(VvcMsg) dm = vvc_wait_tag(d->c, d->drain_tag);

        handle_completion(d, dm, true);
    }
    return !d->err;
}

static unsigned output_count(const VvcDecoder *d)
{
    unsigned n = MAX(d->out_p.min_buffers, 4) + d->o.extra_outputs;

    if (d->out_p.max_buffers && n > d->out_p.max_buffers) {
        n = MAX(d->out_p.max_buffers, d->out_p.min_buffers);
    }
    return n;
}

static bool check_layout(VvcDecoder *d, const VvcParams *p)
{
    uint64_t sum = 0;
    unsigned k;

    if (!p->num_planes || p->num_planes > VIRTIO_VIDEO_MAX_PLANES) {
        fail(d, "OUTPUT params: %u planes", p->num_planes);
        return false;
    }
    if (!p->crop_width || !p->crop_height ||
        (uint64_t)p->crop_left + p->crop_width > p->frame_width ||
        (uint64_t)p->crop_top + p->crop_height > p->frame_height) {
        fail(d, "OUTPUT params: crop %ux%u+%u+%u outside the %ux%u frame",
             p->crop_width, p->crop_height, p->crop_left, p->crop_top,
             p->frame_width, p->frame_height);
        return false;
    }
    for (k = 0; k < p->num_planes; k++) {
        sum += p->plane_size[k];
    }
    if (!sum || sum > 256 * 1024 * 1024) {
        fail(d, "OUTPUT params: %" G_GUINT64_FORMAT " bytes of planes", sum);
        return false;
    }
    return true;
}

/* DECODER_RESOLUTION_CHANGED: protocol.md 10.1 (first) and 10.2 (later) */
static void resolution_changed(VvcDecoder *d)
{
    uint32_t want = d->o.out_format ? d->o.out_format
                                    : VIRTIO_VIDEO_FORMAT_NV12;
    VvcParams p;
    uint64_t size = 0;
    unsigned k, n, nreuse = 0;
    g_autofree uint32_t *reuse = NULL;

    d->st->res_changes++;
    if (!get_params(d, Q_IN, &d->in_p) || !get_params(d, Q_OUT, &p)) {
        return;
    }
    if (d->outputs->len && d->o.pipelined) {
        /*
         * The same without waiting; the new buffers get the old ids.  The
         * old ones stay allocated until the DESTROY_ALL is answered.
         */
        nreuse = d->outputs->len;
        reuse = g_new(uint32_t, nreuse);
        for (k = 0; k < nreuse; k++) {
            VvcResource *r = g_ptr_array_index(d->outputs, k);

            reuse[k] = r->id;
            g_ptr_array_add(d->retired, r);
        }
        g_ptr_array_set_size(d->outputs, 0);
        clear_queue_async(d, Q_OUT);
        pend(d, vvc_destroy_all_async(d->c, d->sid, Q_OUT), PK_DESTROY_ALL,
             NULL);
        d->destroys_pending++;
    } else if (d->outputs->len) {
        /*
         * STREAMOFF(CAPTURE), REQBUFS(CAPTURE, 0).  Every picture of the
         * old resolution came before the event, so these buffers must all
         * come back empty.
         */
        d->stale_outputs = true;
        if (!clear_queue(d, Q_OUT)) {
            return;
        }
        d->stale_outputs = false;
        if (!check_ok(d, vvc_destroy_all(d->c, d->sid, Q_OUT),
                      "RESOURCE_DESTROY_ALL(OUTPUT)")) {
            return;
        }
        free_outputs(d);
    }
    /* optional S_FMT(CAPTURE), then REQBUFS(CAPTURE) */
    p.format = want;
    if (!set_params(d, &p) || !get_params(d, Q_IN, &d->in_p) ||
        !get_params(d, Q_OUT, &p)) {
        return;
    }
    if (p.format != want) {
        fail(d, "device kept output format %s instead of %s",
             vvc_format_name(p.format), vvc_format_name(want));
        return;
    }
    if (!check_layout(d, &p)) {
        return;
    }
    if (d->o.echo_params) {
        g_autofree char *err = NULL;
        bool ext = !d->o.plain_params;

        /* what drivers send back, the old size's params included */
        if (!vvc_check_echo(d->c, d->sid, Q_OUT, ext,
                            d->out_p.frame_width ? &d->out_p : NULL,
                            &err) ||
            !vvc_check_echo(d->c, d->sid, Q_IN, ext, NULL, &err)) {
            fail(d, "%s", err);
            return;
        }
    }
    d->out_p = p;
    d->st->out = p;
    for (k = 0; k < p.num_planes; k++) {
        size += p.plane_size[k];
    }
    n = output_count(d);
    for (k = 0; k < n; k++) {
        VvcResource *r = vvc_resource_alloc(d->c, d->sid, Q_OUT, size,
                                            d->o.sg_entries, d->o.guard);

        r->layout = p;
        g_ptr_array_add(d->outputs, r);
        if (k < nreuse) {
            r->id = reuse[k];
        }
        if (d->o.pipelined && !d->o.out_object) {
            pend(d, vvc_resource_create_async(d->c, r), PK_CREATE, r);
            continue;
        }
        if (d->o.out_object) {
            uint8_t uuid[16];

            if (!d->o.out_object(d->o.out_object_opaque, r, uuid)) {
                fail(d, "cannot export output resource %u", r->id);
                return;
            }
            if (!check_ok(d, vvc_resource_create_object(d->c, d->sid, Q_OUT,
                                                        r->id, 1, NULL, uuid),
                          "RESOURCE_CREATE(OUTPUT, virtio object)")) {
                return;
            }
            continue;
        }
        if (!check_ok(d, vvc_resource_create(d->c, r),
                      "RESOURCE_CREATE(OUTPUT)")) {
            return;
        }
    }
    for (k = 0; k < n; k++) {
        queue_output(d, g_ptr_array_index(d->outputs, k));
    }
    d->outputs_ready = true;
}

/* Events of a stream that is gone (they came before its destroy's OK). */
static void drop_events(VvcClient *c, uint32_t sid)
{
    GList *l = c->stash.head;

    while (l) {
        GList *next = l->next;
        VvcMsg *m = l->data;

        if (m->is_event && m->stream_id == sid) {
            vvc_msg_free(m);
            g_queue_delete_link(&c->stash, l);
        }
        l = next;
    }
}

static void teardown(VvcDecoder *d, bool clean)
{
    uint32_t tag;
    g_autoptr(VvcMsg) m = NULL;
    int saved = vvc_get_timeout(d->c);

    if (d->state == ST_DONE) {
        return;
    }
    d->state = ST_DONE;
    if (clean && !d->err && !d->st->error_event) {
        /* close(): vb2 release clears both queues, then STREAM_DESTROY */
        if (!clear_queue(d, Q_IN) || !clear_queue(d, Q_OUT)) {
            clean = false;
        }
    }
    tag = vvc_stream_destroy_async(d->c, d->sid);
    if (d->err) {
        /* already failed: do not wait long for a broken device */
        vvc_set_timeout(d->c, MIN(saved, 5000));
    }
    m = vvc_wait_tag(d->c, tag);
    vvc_set_timeout(d->c, saved);
    if (!m) {
        fail(d, "STREAM_DESTROY: no answer");
    } else if (check_ok(d, m->type, "STREAM_DESTROY")) {
        d->st->destroyed = true;
    }
    if (m) {
        take_cancelled(d, -1, "STREAM_DESTROY");
        drop_events(d->c, d->sid);
    }
    g_hash_table_remove_all(d->pending);
    free_outputs(d);
    free_inputs(d);
    release_retired(d);
}

static void queue_inputs(VvcDecoder *d)
{
    guint i;

    for (i = 0; i < d->inputs->len && d->next_unit < d->units->len; i++) {
        VvcResource *r = g_ptr_array_index(d->inputs, i);
        VvcUnit *u;
        uint32_t size;

        if (r->queued) {
            continue;
        }
        u = g_ptr_array_index(d->units, d->next_unit);
        size = u->len;
        vvc_resource_write(d->c, r, u->data, u->len);
        r->cookie = vvc_cookie(d->pass, d->next_unit);
        r->tag = vvc_resource_queue_async(d->c, d->sid, Q_IN, r->id,
                                          r->cookie, 1, &size);
        r->queued = true;
        pend(d, r->tag, PK_IN, r);
        d->st->inputs_queued++;
        d->next_unit++;
    }
}

static bool inputs_idle(VvcDecoder *d)
{
    guint i;

    for (i = 0; i < d->inputs->len; i++) {
        if (((VvcResource *)g_ptr_array_index(d->inputs, i))->queued) {
            return false;
        }
    }
    return true;
}

/* Send whatever can be sent now. */
static void pump(VvcDecoder *d)
{
    const VvcDecodeOpts *o = &d->o;

    if (d->state != ST_RUN || d->err) {
        return;
    }
    if (d->st->error_event) {
        /* the stream is dead: close it */
        teardown(d, false);
        return;
    }
    if (d->st->drained) {
        teardown(d, true);
        return;
    }
    if (!d->hook_done && d->frames->len) {
        guint n = d->frames->len;

        if (o->destroy_after && n >= o->destroy_after) {
            d->hook_done = true;
            teardown(d, false);
            return;
        }
        if (o->clear_output_after && n >= o->clear_output_after) {
            guint i;

            d->hook_done = true;
            if (clear_queue(d, Q_OUT)) {
                d->st->cleared_outputs++;
                for (i = 0; i < d->outputs->len; i++) {
                    VvcResource *r = g_ptr_array_index(d->outputs, i);

                    if (!r->queued) {
                        queue_output(d, r);
                    }
                }
            }
        }
        if (o->hook && n >= o->hook_after) {
            d->hook_done = true;
            o->hook(o->hook_opaque);
        }
        if (o->clear_input_after && n >= o->clear_input_after) {
            d->hook_done = true;
            if (d->drain_sent) {
                fail(d, "QUEUE_CLEAR(INPUT) hook reached while draining; "
                     "use a longer stream");
                return;
            }
            if (o->pipelined) {
                guint i;

                /* the guest has every buffer back: the rerun goes now */
                clear_queue_async(d, Q_IN);
                for (i = 0; i < d->inputs->len; i++) {
                    ((VvcResource *)g_ptr_array_index(d->inputs,
                                                      i))->queued = false;
                }
                d->st->frames_before_clear = n;
                d->pass++;
                d->next_unit = 0;
            } else if (clear_queue(d, Q_IN)) {
                /* seek to the start: queue every unit again */
                d->st->cleared_inputs++;
                d->st->frames_before_clear = n;
                d->pass++;
                d->next_unit = 0;
            }
        }
    }
    if (d->err) {
        return;
    }
    if (!d->drain_sent) {
        queue_inputs(d);
    }
    if (d->next_unit == d->units->len && !d->drain_sent &&
        (d->outputs_ready || inputs_idle(d))) {
        if (o->no_drain) {
            if (inputs_idle(d)) {
                teardown(d, false);
            }
            return;
        }
        d->drain_sent = true;
        d->drain_tag = vvc_stream_drain_async(d->c, d->sid);
        pend(d, d->drain_tag, PK_DRAIN, NULL);
    }
}

static void handle_event(VvcDecoder *d, VvcMsg *m)
{
    switch (m->type) {
    case VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED:
        if (!d->st->error_event) {
            resolution_changed(d);
        }
        break;
    case VIRTIO_VIDEO_EVENT_ERROR:
        d->st->error_event = true;
        break;
    default:
        fail(d, "unknown event 0x%x", m->type);
    }
}

VvcDecoder *vvc_decoder_new(VvcClient *c, GPtrArray *units,
                            const VvcDecodeOpts *o, GArray *frames,
                            char **err)
{
    VvcDecoder *d = g_new0(VvcDecoder, 1);
    VvcParams p;
    size_t size;
    unsigned i, n;
    uint32_t type, mem;

    d->c = c;
    d->o = *o;
    d->st = o->stats ? o->stats : &d->local_stats;
    memset(d->st, 0, sizeof(*d->st));
    d->sid = o->stream_id ? o->stream_id : 1;
    d->units = g_ptr_array_ref(units);
    d->frames = g_array_ref(frames);
    d->inputs = g_ptr_array_new();
    d->outputs = g_ptr_array_new();
    d->retired = g_ptr_array_new();
    d->pending = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       g_free);
    d->state = ST_RUN;
    if (!d->o.extra_outputs) {
        d->o.extra_outputs = 2;
    }
    for (i = 0; i < units->len; i++) {
        d->max_unit = MAX(d->max_unit,
                          ((VvcUnit *)g_ptr_array_index(units, i))->len);
    }

    /*
     * open(): Gen B claims virtio objects, then fixes the type per queue
     * with SET_PARAMS_EXT; Gen A (plain params) creates the stream with
     * the type it means.
     */
    mem = o->plain_params ? VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES
                          : VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
    type = vvc_stream_create(c, d->sid, mem, mem, o->coded_format,
                             "vvc-test");
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        *err = g_strdup_printf("STREAM_CREATE(%u, %s) answered 0x%x", d->sid,
                               vvc_format_name(o->coded_format), type);
        d->state = ST_DONE;
        vvc_decoder_free(d);
        return NULL;
    }
    if (!get_params(d, Q_IN, &d->in_p) || !get_params(d, Q_OUT, &d->out_p)) {
        goto fail;
    }
    /* S_FMT(OUTPUT): the coded format and the bitstream buffer size */
    size = MAX(1024 * 1024, (d->max_unit + VVC_PAGE - 1) &
                            ~(size_t)(VVC_PAGE - 1));
    p = d->in_p;
    p.format = o->coded_format;
    p.num_planes = 1;
    p.plane_size[0] = size;
    p.stride[0] = 0;
    if (!set_params(d, &p) || !get_params(d, Q_IN, &d->in_p) ||
        !get_params(d, Q_OUT, &d->out_p)) {
        goto fail;
    }
    if (d->in_p.format != o->coded_format ||
        d->in_p.plane_size[0] < d->max_unit) {
        fail(d, "INPUT params after SET: format 0x%x plane_size %u (asked "
             "0x%x, %zu)", d->in_p.format, d->in_p.plane_size[0],
             o->coded_format, size);
        goto fail;
    }
    /* REQBUFS(OUTPUT): resource type, then the bitstream buffers */
    p = d->in_p;
    if (!set_params(d, &p)) {
        goto fail;
    }
    n = o->num_inputs ? o->num_inputs : 8;
    for (i = 0; i < n; i++) {
        VvcResource *r = vvc_resource_alloc(c, d->sid, Q_IN,
                                            d->in_p.plane_size[0],
                                            o->sg_entries, o->guard);

        g_ptr_array_add(d->inputs, r);
        if (!check_ok(d, vvc_resource_create(c, r),
                      "RESOURCE_CREATE(INPUT)")) {
            goto fail;
        }
    }
    return d;

fail:
    teardown(d, false);
    *err = g_strdup(d->err ? d->err : "setup failed");
    vvc_decoder_free(d);
    return NULL;
}

void vvc_decoder_free(VvcDecoder *d)
{
    if (!d) {
        return;
    }
    if (d->state != ST_DONE) {
        teardown(d, false);
    }
    free_outputs(d);
    free_inputs(d);
    release_retired(d);
    g_ptr_array_unref(d->inputs);
    g_ptr_array_unref(d->outputs);
    g_ptr_array_unref(d->retired);
    g_hash_table_destroy(d->pending);
    g_ptr_array_unref(d->units);
    g_array_unref(d->frames);
    g_free(d->err);
    g_free(d);
}

static const char *state_summary(VvcDecoder *d, char *buf, size_t len)
{
    g_snprintf(buf, len, "stream %u: %u/%u units queued, %u inputs done, "
               "%u frames, %u res changes, outputs %s, drain %s, EOS %u, "
               "%u commands pending", d->sid, d->next_unit, d->units->len,
               d->st->inputs_completed, d->frames->len, d->st->res_changes,
               d->outputs_ready ? "ready" : "not set up",
               d->drain_refused ? "refused (0x300) without EVENT_ERROR" :
               d->drain_sent ? "sent" : "not sent", d->st->eos,
               g_hash_table_size(d->pending));
    return buf;
}

bool vvc_decoders_run(VvcClient *c, VvcDecoder **d, unsigned n, char **err)
{
    unsigned i;

    for (;;) {
        bool all_done = true;
        VvcMsg *m;

        for (i = 0; i < n; i++) {
            pump(d[i]);
            if (d[i]->err) {
                teardown(d[i], false);
                *err = g_strdup(d[i]->err);
                return false;
            }
            all_done &= d[i]->state == ST_DONE;
        }
        if (all_done) {
            break;
        }
        m = vvc_next(c, vvc_get_timeout(c));
        if (!m) {
            GString *s = g_string_new("timeout waiting for the device:");
            char buf[320];

            for (i = 0; i < n; i++) {
                g_string_append_printf(s, " [%s]",
                                       state_summary(d[i], buf, sizeof(buf)));
                teardown(d[i], false);
            }
            *err = g_string_free(s, false);
            return false;
        }
        for (i = 0; i < n; i++) {
            if (d[i]->state == ST_DONE) {
                continue;
            }
            if (m->is_event ? m->stream_id == d[i]->sid
                            : g_hash_table_contains(d[i]->pending,
                                                    GUINT_TO_POINTER(m->tag))) {
                break;
            }
        }
        if (i == n) {
            *err = g_strdup_printf("unexpected %s 0x%x (stream %u, tag %u)",
                                   m->is_event ? "event" : "completion",
                                   m->type, m->stream_id, m->tag);
            vvc_msg_free(m);
            for (i = 0; i < n; i++) {
                teardown(d[i], false);
            }
            return false;
        }
        if (m->is_event) {
            handle_event(d[i], m);
        } else {
            handle_completion(d[i], m, false);
        }
        vvc_msg_free(m);
    }
    for (i = 0; i < n; i++) {
        if (d[i]->err) {
            *err = g_strdup(d[i]->err);
            return false;
        }
    }
    return true;
}

bool vvc_decode_file(VvcClient *c, const char *path, const VvcDecodeOpts *o,
                     GArray *frames, char **err)
{
    g_autoptr(GPtrArray) units = NULL;
    VvcDecodeOpts opts = *o;
    uint32_t format = 0;
    int depth = 8;

    units = vvc_demux(path, &format, &depth, err);
    if (!units) {
        return false;
    }
    if (!opts.coded_format) {
        opts.coded_format = format;
    }
    if (!opts.coded_format) {
        *err = g_strdup_printf("%s: codec without a virtio-video format",
                               path);
        return false;
    }
    if (opts.chunked) {
        GPtrArray *chunks = vvc_chunk_units(units,
                                            opts.chunk_size ? opts.chunk_size
                                                            : 4093);

        g_ptr_array_unref(units);
        units = chunks;
    }
    return vvc_decode_units(c, units, &opts, frames, err);
}

bool vvc_decode_units(VvcClient *c, GPtrArray *units, const VvcDecodeOpts *o,
                      GArray *frames, char **err)
{
    VvcDecoder *d = vvc_decoder_new(c, units, o, frames, err);
    bool ok;

    if (!d) {
        return false;
    }
    ok = vvc_decoders_run(c, &d, 1, err);
    if (ok && d->st->error_event) {
        *err = g_strdup_printf("stream %u: EVENT_ERROR", d->sid);
        ok = false;
    }
    vvc_decoder_free(d);
    return ok;
}

char *vvc_check_frames(GArray *frames, GPtrArray *ref_md5, GArray *order)
{
    guint k;

    for (k = 0; k < frames->len && k < ref_md5->len; k++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        if (strcmp(f->md5, g_ptr_array_index(ref_md5, k))) {
            return g_strdup_printf("frame %u (%ux%u): md5 %s, expected %s", k,
                                   f->width, f->height, f->md5,
                                   (char *)g_ptr_array_index(ref_md5, k));
        }
        if (order && k < order->len &&
            f->timestamp != vvc_cookie(f->pass,
                                       g_array_index(order, int64_t, k))) {
            return g_strdup_printf("frame %u: timestamp 0x%" G_GINT64_MODIFIER
                                   "x, expected 0x%" G_GINT64_MODIFIER "x "
                                   "(input %" G_GINT64_FORMAT ")", k,
                                   f->timestamp,
                                   vvc_cookie(f->pass,
                                              g_array_index(order, int64_t,
                                                            k)),
                                   g_array_index(order, int64_t, k));
        }
    }
    if (frames->len != ref_md5->len) {
        return g_strdup_printf("%u frames, expected %u", frames->len,
                               ref_md5->len);
    }
    if (order && order->len != ref_md5->len) {
        return g_strdup_printf("the in-process decode gave %u frames, the "
                               "reference %u", order->len, ref_md5->len);
    }
    return NULL;
}
