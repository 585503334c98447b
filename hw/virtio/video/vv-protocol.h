/*
 * virtio-video engine: request parsing and response encoding.
 *
 * Requests are parsed from raw little-endian bytes into host-endian
 * structures; nothing here trusts a length, count or enum the guest sent.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_PROTOCOL_H
#define HW_VIRTIO_VIDEO_VV_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "standard-headers/linux/virtio_video.h"

/* Host-endian copy of struct virtio_video_params(_ext). */
typedef struct VvParams {
    uint32_t queue_type;
    uint32_t format;
    uint32_t frame_width;
    uint32_t frame_height;
    uint32_t min_buffers;
    uint32_t max_buffers;
    struct virtio_video_crop crop;
    uint32_t frame_rate;
    uint32_t num_planes;
    struct virtio_video_plane_format plane_formats[VIRTIO_VIDEO_MAX_PLANES];
    uint32_t resource_type;     /* _EXT forms only */
} VvParams;

/* A parsed request.  Which member of @u is valid depends on @type. */
typedef struct VvRequest {
    uint32_t type;
    uint32_t stream_id;
    union {
        /* QUERY_CAPABILITY, RESOURCE_DESTROY_ALL, QUEUE_CLEAR, GET_PARAMS* */
        struct {
            uint32_t queue_type;
        } queue;
        struct {
            uint32_t in_mem_type;
            uint32_t out_mem_type;
            uint32_t coded_format;
            char tag[VIRTIO_VIDEO_TAG_LEN + 1];
        } stream_create;
        struct {
            uint32_t queue_type;
            uint32_t resource_id;
            uint32_t planes_layout;
            uint32_t num_planes;
            uint32_t plane_offsets[VIRTIO_VIDEO_MAX_PLANES];
            uint32_t num_entries[VIRTIO_VIDEO_MAX_PLANES];
            uint32_t total_entries;
            /* total_entries x 16 bytes, still little-endian, in the request */
            const uint8_t *entries;
        } resource_create;
        struct {
            uint32_t queue_type;
            uint32_t resource_id;
            uint64_t timestamp;
            uint32_t num_data_sizes;
            uint32_t data_sizes[VIRTIO_VIDEO_MAX_PLANES];
        } resource_queue;
        /* SET_PARAMS, SET_PARAMS_EXT */
        VvParams set_params;
        struct {
            uint32_t control;
            uint32_t format;
        } query_control;
        struct {
            uint32_t control;
        } get_control;
        struct {
            uint32_t control;
            bool has_value;
            uint32_t value;
        } set_control;
    } u;
} VvRequest;

/* Size of the fixed part of each request, 0 for unknown types. */
size_t vv_request_size(uint32_t type);
const char *vv_cmd_name(uint32_t type);

/*
 * Parse @len bytes at @buf.  Returns 0 and fills @req, or returns the
 * VIRTIO_VIDEO_RESP_ERR_* code to answer with; then @why says what was
 * wrong (a static string) and req->type/stream_id are set as far as known.
 * @max_entries bounds RESOURCE_CREATE's entry count.
 */
uint32_t vv_parse_request(const uint8_t *buf, size_t len, uint32_t max_entries,
                          VvRequest *req, const char **why);

static inline bool vv_queue_type_valid(uint32_t queue_type)
{
    return queue_type == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ||
           queue_type == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
}

/* Response helpers: write little-endian wire bytes, return bytes written. */
size_t vv_write_hdr(uint8_t *buf, uint32_t type, uint32_t stream_id);
/* The profile a stream of @coded_format starts with (0: none). */
uint32_t vv_default_profile(uint32_t coded_format);
size_t vv_write_params(uint8_t *buf, const VvParams *p, bool ext);
/* Read virtio_video_params(_ext) from @p. */
void vv_parse_params(const uint8_t *p, bool ext, VvParams *out);
#define VV_PARAMS_EXT_SIZE  sizeof(struct virtio_video_params_ext)

/* Little-endian accessors for unaligned wire bytes. */
static inline uint32_t vv_ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
           (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t vv_ld64(const uint8_t *p)
{
    return (uint64_t)vv_ld32(p) | (uint64_t)vv_ld32(p + 4) << 32;
}

static inline void vv_st32(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static inline void vv_st64(uint8_t *p, uint64_t v)
{
    vv_st32(p, (uint32_t)v);
    vv_st32(p + 4, (uint32_t)(v >> 32));
}

#endif
