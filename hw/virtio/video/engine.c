/*
 * virtio-video engine: device state and command dispatch.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-engine.h"
#include "vv-caps.h"
#include "vv-codec.h"
#include "vv-protocol.h"

/* Config space values are at least this (what crosvm and drivers expect). */
#define VV_MIN_CAPS_LENGTH      1024
#define VV_MAX_RESP_LENGTH      1024
/*
 * Scatter-gather entries one RESOURCE_CREATE may carry: one per 4 KiB page
 * of an 8192x8192 ARGB frame, plus one per plane.
 */
#define VV_MAX_ENTRIES  (8192 * 8192 * 4 / 4096 + VIRTIO_VIDEO_MAX_PLANES)

const VvBackend *const vv_backends[] = {
    &vv_backend_lavc,
    NULL,
};

struct VvEngine {
    VvEngineConfig cfg;
    const VvBackend *backend;
    VvCaps caps;
    uint32_t max_caps_length;
};

static void G_GNUC_PRINTF(2, 3)
guest_error(VvEngine *e, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!e->cfg.guest_error) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    e->cfg.guest_error(e->cfg.opaque, msg);
    g_free(msg);
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
    e->backend = *b;
    if (!e->backend->probe(cfg->mode, &e->caps, errmsg)) {
        g_free(e);
        return NULL;
    }

    need = MAX(vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_INPUT]),
               vv_caps_encoded_size(&e->caps.queue[VV_QUEUE_OUTPUT]));
    e->max_caps_length = MAX(VV_MIN_CAPS_LENGTH, (need + 255) & ~(size_t)255);
    return e;
}

void vv_engine_free(VvEngine *e)
{
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

size_t vv_engine_max_request_size(const VvEngine *e)
{
    return sizeof(struct virtio_video_resource_create) +
           (size_t)VV_MAX_ENTRIES * sizeof(struct virtio_video_mem_entry);
}

static size_t error_response(VvEngine *e, uint8_t *resp, uint32_t code,
                             const VvRequest *req, const char *why)
{
    guest_error(e, "virtio-video: %s (0x%x) on stream %u: %s",
                vv_cmd_name(req->type), req->type, req->stream_id, why);
    return vv_write_hdr(resp, code, req->stream_id);
}

static size_t cmd_query_capability(VvEngine *e, const VvRequest *req,
                                   uint8_t *resp, size_t resp_size)
{
    const VvQueueCaps *q =
        &e->caps.queue[vv_queue_index(req->u.queue.queue_type)];
    size_t len = vv_caps_encode(q, req->stream_id, resp, resp_size);

    if (!len) {
        return error_response(e, resp, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                              req, "response buffer smaller than "
                              "max_caps_length");
    }
    return len;
}

size_t vv_engine_handle_command(VvEngine *e, const void *req_buf,
                                size_t req_len, void *resp_buf,
                                size_t resp_size)
{
    uint8_t *resp = resp_buf;
    const char *why;
    VvRequest req;
    uint32_t err;

    g_assert(resp_size >= sizeof(struct virtio_video_cmd_hdr));

    err = vv_parse_request(req_buf, req_len, VV_MAX_ENTRIES, &req, &why);
    if (err) {
        return error_response(e, resp, err, &req, why);
    }

    switch (req.type) {
    case VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
        return cmd_query_capability(e, &req, resp, resp_size);
    default:
        return error_response(e, resp, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                              &req, "command not implemented");
    }
}
