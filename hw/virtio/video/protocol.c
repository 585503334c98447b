/*
 * virtio-video engine: request parsing and response encoding.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include <string.h>
#include <glib.h>

#include "vv-protocol.h"

#define HDR_SIZE sizeof(struct virtio_video_cmd_hdr)

size_t vv_request_size(uint32_t type)
{
    switch (type) {
    case VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
        return sizeof(struct virtio_video_query_capability);
    case VIRTIO_VIDEO_CMD_STREAM_CREATE:
        return sizeof(struct virtio_video_stream_create);
    case VIRTIO_VIDEO_CMD_STREAM_DESTROY:
    case VIRTIO_VIDEO_CMD_STREAM_DRAIN:
        return HDR_SIZE;
    case VIRTIO_VIDEO_CMD_RESOURCE_CREATE:
        return sizeof(struct virtio_video_resource_create);
    case VIRTIO_VIDEO_CMD_RESOURCE_QUEUE:
        return sizeof(struct virtio_video_resource_queue);
    case VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL:
        return sizeof(struct virtio_video_resource_destroy_all);
    case VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
        return sizeof(struct virtio_video_queue_clear);
    case VIRTIO_VIDEO_CMD_GET_PARAMS:
    case VIRTIO_VIDEO_CMD_GET_PARAMS_EXT:
        return sizeof(struct virtio_video_get_params);
    case VIRTIO_VIDEO_CMD_SET_PARAMS:
        return sizeof(struct virtio_video_set_params);
    case VIRTIO_VIDEO_CMD_SET_PARAMS_EXT:
        return sizeof(struct virtio_video_set_params_ext);
    case VIRTIO_VIDEO_CMD_QUERY_CONTROL:
        return sizeof(struct virtio_video_query_control) +
               sizeof(struct virtio_video_query_control_format);
    case VIRTIO_VIDEO_CMD_GET_CONTROL:
        return sizeof(struct virtio_video_get_control);
    case VIRTIO_VIDEO_CMD_SET_CONTROL:
        /* FORCE_KEYFRAME comes without the value record */
        return offsetof(struct virtio_video_set_control, value);
    default:
        return 0;
    }
}

const char *vv_cmd_name(uint32_t type)
{
    static const char *const names[] = {
        "QUERY_CAPABILITY", "STREAM_CREATE", "STREAM_DESTROY",
        "STREAM_DRAIN", "RESOURCE_CREATE", "RESOURCE_QUEUE",
        "RESOURCE_DESTROY_ALL", "QUEUE_CLEAR", "GET_PARAMS", "SET_PARAMS",
        "QUERY_CONTROL", "GET_CONTROL", "SET_CONTROL", "GET_PARAMS_EXT",
        "SET_PARAMS_EXT",
    };

    if (type >= VIRTIO_VIDEO_CMD_QUERY_CAPABILITY &&
        type - VIRTIO_VIDEO_CMD_QUERY_CAPABILITY < G_N_ELEMENTS(names)) {
        return names[type - VIRTIO_VIDEO_CMD_QUERY_CAPABILITY];
    }
    return "unknown";
}

void vv_parse_params(const uint8_t *p, bool ext, VvParams *out)
{
    size_t i;

    memset(out, 0, sizeof(*out));
    out->queue_type = vv_ld32(p + offsetof(struct virtio_video_params,
                                           queue_type));
    out->format = vv_ld32(p + offsetof(struct virtio_video_params, format));
    out->frame_width = vv_ld32(p + offsetof(struct virtio_video_params,
                                            frame_width));
    out->frame_height = vv_ld32(p + offsetof(struct virtio_video_params,
                                             frame_height));
    out->min_buffers = vv_ld32(p + offsetof(struct virtio_video_params,
                                            min_buffers));
    out->max_buffers = vv_ld32(p + offsetof(struct virtio_video_params,
                                            max_buffers));
    p += offsetof(struct virtio_video_params, crop);
    out->crop.left = vv_ld32(p);
    out->crop.top = vv_ld32(p + 4);
    out->crop.width = vv_ld32(p + 8);
    out->crop.height = vv_ld32(p + 12);
    p += sizeof(struct virtio_video_crop);
    out->frame_rate = vv_ld32(p);
    out->num_planes = vv_ld32(p + 4);
    p += 8;
    for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        out->plane_formats[i].plane_size = vv_ld32(p + 8 * i);
        out->plane_formats[i].stride = vv_ld32(p + 8 * i + 4);
    }
    if (ext) {
        p += sizeof(out->plane_formats);
        out->resource_type = vv_ld32(p);
    }
}

static void ld32_array(uint32_t *dst, const uint8_t *src, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        dst[i] = vv_ld32(src + 4 * i);
    }
}

#define FAIL(code, msg) do { *why = (msg); return (code); } while (0)

uint32_t vv_parse_request(const uint8_t *buf, size_t len, uint32_t max_entries,
                          VvRequest *req, const char **why)
{
    size_t need;
    uint32_t qt;

    memset(req, 0, sizeof(*req));
    *why = NULL;
    if (len < HDR_SIZE) {
        FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
             "request shorter than its header");
    }
    req->type = vv_ld32(buf);
    req->stream_id = vv_ld32(buf + 4);

    need = vv_request_size(req->type);
    if (!need) {
        FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, "unknown command type");
    }
    if (len < need) {
        FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
             "request shorter than its command structure");
    }

    /* queue_type (or control) sits at offset 8 where a command has one */
    qt = need >= HDR_SIZE + 4 ? vv_ld32(buf + HDR_SIZE) : 0;

    switch (req->type) {
    case VIRTIO_VIDEO_CMD_QUERY_CAPABILITY:
    case VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL:
    case VIRTIO_VIDEO_CMD_QUEUE_CLEAR:
    case VIRTIO_VIDEO_CMD_GET_PARAMS:
    case VIRTIO_VIDEO_CMD_GET_PARAMS_EXT:
        if (!vv_queue_type_valid(qt)) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "bad queue_type");
        }
        req->u.queue.queue_type = qt;
        break;

    case VIRTIO_VIDEO_CMD_STREAM_CREATE:
        req->u.stream_create.in_mem_type = vv_ld32(buf + 8);
        req->u.stream_create.out_mem_type = vv_ld32(buf + 12);
        req->u.stream_create.coded_format = vv_ld32(buf + 16);
        /* the guest's tag need not be terminated; ours always is */
        memcpy(req->u.stream_create.tag,
               buf + offsetof(struct virtio_video_stream_create, tag),
               VIRTIO_VIDEO_TAG_LEN);
        break;

    case VIRTIO_VIDEO_CMD_STREAM_DESTROY:
    case VIRTIO_VIDEO_CMD_STREAM_DRAIN:
        break;

    case VIRTIO_VIDEO_CMD_RESOURCE_CREATE: {
        uint64_t total = 0;
        uint32_t i;

        if (!vv_queue_type_valid(qt)) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "bad queue_type");
        }
        req->u.resource_create.queue_type = qt;
        req->u.resource_create.resource_id = vv_ld32(buf + 12);
        req->u.resource_create.planes_layout = vv_ld32(buf + 16);
        req->u.resource_create.num_planes = vv_ld32(buf + 20);
        ld32_array(req->u.resource_create.plane_offsets,
                   buf + offsetof(struct virtio_video_resource_create,
                                  plane_offsets),
                   VIRTIO_VIDEO_MAX_PLANES);
        ld32_array(req->u.resource_create.num_entries,
                   buf + offsetof(struct virtio_video_resource_create,
                                  num_entries),
                   VIRTIO_VIDEO_MAX_PLANES);
        if (req->u.resource_create.num_planes == 0 ||
            req->u.resource_create.num_planes > VIRTIO_VIDEO_MAX_PLANES) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "bad num_planes");
        }
        for (i = 0; i < req->u.resource_create.num_planes; i++) {
            total += req->u.resource_create.num_entries[i];
        }
        if (total == 0 || total > max_entries) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "entry count is zero or above the device's limit");
        }
        /* total <= max_entries <= UINT32_MAX: no overflow below */
        if (len - need < total * sizeof(struct virtio_video_mem_entry)) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "request shorter than its entries");
        }
        req->u.resource_create.total_entries = total;
        req->u.resource_create.entries = buf + need;
        break;
    }

    case VIRTIO_VIDEO_CMD_RESOURCE_QUEUE:
        if (!vv_queue_type_valid(qt)) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER, "bad queue_type");
        }
        req->u.resource_queue.queue_type = qt;
        req->u.resource_queue.resource_id = vv_ld32(buf + 12);
        req->u.resource_queue.timestamp = vv_ld64(buf + 16);
        req->u.resource_queue.num_data_sizes = vv_ld32(buf + 24);
        ld32_array(req->u.resource_queue.data_sizes,
                   buf + offsetof(struct virtio_video_resource_queue,
                                  data_sizes),
                   VIRTIO_VIDEO_MAX_PLANES);
        if (req->u.resource_queue.num_data_sizes > VIRTIO_VIDEO_MAX_PLANES) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "num_data_sizes above 8");
        }
        break;

    case VIRTIO_VIDEO_CMD_SET_PARAMS:
    case VIRTIO_VIDEO_CMD_SET_PARAMS_EXT:
        vv_parse_params(buf + HDR_SIZE,
                     req->type == VIRTIO_VIDEO_CMD_SET_PARAMS_EXT,
                     &req->u.set_params);
        if (!vv_queue_type_valid(req->u.set_params.queue_type)) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "bad params.queue_type");
        }
        if (req->u.set_params.num_planes > VIRTIO_VIDEO_MAX_PLANES) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "params.num_planes above 8");
        }
        break;

    case VIRTIO_VIDEO_CMD_QUERY_CONTROL:
        req->u.query_control.control = qt;
        req->u.query_control.format =
            vv_ld32(buf + sizeof(struct virtio_video_query_control));
        break;

    case VIRTIO_VIDEO_CMD_GET_CONTROL:
        req->u.get_control.control = qt;
        break;

    case VIRTIO_VIDEO_CMD_SET_CONTROL:
        req->u.set_control.control = qt;
        if (len >= sizeof(struct virtio_video_set_control)) {
            req->u.set_control.has_value = true;
            req->u.set_control.value =
                vv_ld32(buf + offsetof(struct virtio_video_set_control,
                                       value));
        } else if (qt != VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME) {
            FAIL(VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "SET_CONTROL without a value");
        }
        break;

    default:
        g_assert_not_reached();
    }
    return 0;
}

size_t vv_write_hdr(uint8_t *buf, uint32_t type, uint32_t stream_id)
{
    vv_st32(buf, type);
    vv_st32(buf + 4, stream_id);
    return HDR_SIZE;
}

size_t vv_write_params(uint8_t *buf, const VvParams *p, bool ext)
{
    uint8_t *q = buf;
    size_t i;

    vv_st32(q, p->queue_type);
    vv_st32(q + 4, p->format);
    vv_st32(q + 8, p->frame_width);
    vv_st32(q + 12, p->frame_height);
    vv_st32(q + 16, p->min_buffers);
    vv_st32(q + 20, p->max_buffers);
    vv_st32(q + 24, p->crop.left);
    vv_st32(q + 28, p->crop.top);
    vv_st32(q + 32, p->crop.width);
    vv_st32(q + 36, p->crop.height);
    vv_st32(q + 40, p->frame_rate);
    vv_st32(q + 44, p->num_planes);
    q += offsetof(struct virtio_video_params, plane_formats);
    for (i = 0; i < VIRTIO_VIDEO_MAX_PLANES; i++) {
        vv_st32(q + 8 * i, p->plane_formats[i].plane_size);
        vv_st32(q + 8 * i + 4, p->plane_formats[i].stride);
    }
    if (!ext) {
        return sizeof(struct virtio_video_params);
    }
    q = buf + sizeof(struct virtio_video_params);
    vv_st32(q, p->resource_type);
    memset(q + 4, 0, 4);
    return sizeof(struct virtio_video_params_ext);
}

/* The profile a stream of @coded_format starts with (0: none). */
uint32_t vv_default_profile(uint32_t coded_format)
{
    switch (coded_format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        return VIRTIO_VIDEO_PROFILE_H264_BASELINE;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return VIRTIO_VIDEO_PROFILE_HEVC_MAIN;
    case VIRTIO_VIDEO_FORMAT_VP8:
        return VIRTIO_VIDEO_PROFILE_VP8_PROFILE0;
    case VIRTIO_VIDEO_FORMAT_VP9:
        return VIRTIO_VIDEO_PROFILE_VP9_PROFILE0;
    default:
        return VIRTIO_VIDEO_PROFILE_UNDEFINED;   /* no profile values */
    }
}
