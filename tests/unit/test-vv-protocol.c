/*
 * virtio-video engine: wire layout and request parser tests.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include <string.h>
#include <glib.h>

#include "vv-protocol.h"

/* Sizes and offsets from protocol.md section 5.1a, checked by the compiler. */
#define SZ(t, n) G_STATIC_ASSERT(sizeof(struct t) == (n))
#define OFF(t, f, n) G_STATIC_ASSERT(offsetof(struct t, f) == (n))

SZ(virtio_video_config, 44);
OFF(virtio_video_config, device_name, 12);
SZ(virtio_video_cmd_hdr, 8);
SZ(virtio_video_query_capability, 16);
SZ(virtio_video_query_capability_resp, 16);
SZ(virtio_video_format_desc, 24);
SZ(virtio_video_format_frame, 40);
SZ(virtio_video_format_range, 16);
SZ(virtio_video_stream_create, 88);
OFF(virtio_video_stream_create, tag, 24);
SZ(virtio_video_mem_entry, 16);
SZ(virtio_video_object_entry, 16);
SZ(virtio_video_resource_create, 88);
OFF(virtio_video_resource_create, plane_offsets, 24);
OFF(virtio_video_resource_create, num_entries, 56);
SZ(virtio_video_resource_queue, 64);
OFF(virtio_video_resource_queue, timestamp, 16);
OFF(virtio_video_resource_queue, num_data_sizes, 24);
OFF(virtio_video_resource_queue, data_sizes, 28);
SZ(virtio_video_resource_queue_resp, 24);
OFF(virtio_video_resource_queue_resp, flags, 16);
SZ(virtio_video_resource_destroy_all, 16);
SZ(virtio_video_queue_clear, 16);
SZ(virtio_video_params, 112);
OFF(virtio_video_params, crop, 24);
OFF(virtio_video_params, frame_rate, 40);
OFF(virtio_video_params, num_planes, 44);
OFF(virtio_video_params, plane_formats, 48);
SZ(virtio_video_params_ext, 120);
OFF(virtio_video_params_ext, resource_type, 112);
SZ(virtio_video_get_params, 16);
SZ(virtio_video_get_params_resp, 120);
SZ(virtio_video_get_params_ext_resp, 128);
SZ(virtio_video_set_params, 120);
SZ(virtio_video_set_params_ext, 128);
SZ(virtio_video_query_control_resp, 16);
SZ(virtio_video_get_control, 16);
SZ(virtio_video_get_control_resp, 16);
SZ(virtio_video_set_control, 24);
SZ(virtio_video_event, 8);

/* Request sizes (section 5.1a) as the parser knows them. */
static void test_request_sizes(void)
{
    static const struct {
        uint32_t type;
        size_t size;
    } sizes[] = {
        { VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, 16 },
        { VIRTIO_VIDEO_CMD_STREAM_CREATE, 88 },
        { VIRTIO_VIDEO_CMD_STREAM_DESTROY, 8 },
        { VIRTIO_VIDEO_CMD_STREAM_DRAIN, 8 },
        { VIRTIO_VIDEO_CMD_RESOURCE_CREATE, 88 },
        { VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, 64 },
        { VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, 16 },
        { VIRTIO_VIDEO_CMD_QUEUE_CLEAR, 16 },
        { VIRTIO_VIDEO_CMD_GET_PARAMS, 16 },
        { VIRTIO_VIDEO_CMD_SET_PARAMS, 120 },
        { VIRTIO_VIDEO_CMD_QUERY_CONTROL, 24 },
        { VIRTIO_VIDEO_CMD_GET_CONTROL, 16 },
        { VIRTIO_VIDEO_CMD_SET_CONTROL, 16 },
        { VIRTIO_VIDEO_CMD_GET_PARAMS_EXT, 16 },
        { VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, 128 },
        { 0, 0 }, { 0xff, 0 }, { 0x10f, 0 }, { 0x200, 0 }, { 0xffffffff, 0 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_assert_cmpuint(vv_request_size(sizes[i].type), ==, sizes[i].size);
    }
}

static void put32(uint8_t *buf, size_t off, uint32_t v)
{
    vv_st32(buf + off, v);
}

static uint32_t parse(const uint8_t *buf, size_t len, VvRequest *req)
{
    const char *why;
    uint32_t err = vv_parse_request(buf, len, 1000, req, &why);

    /* every rejection explains itself */
    g_assert(err == 0 ? why == NULL : why != NULL);
    return err;
}

static void test_short_requests(void)
{
    uint8_t buf[256] = { 0 };
    VvRequest req;
    uint32_t type;

    /* shorter than a header */
    for (size_t len = 0; len < 8; len++) {
        g_assert_cmphex(parse(buf, len, &req), ==,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    }
    /* every command one byte short of its structure */
    for (type = VIRTIO_VIDEO_CMD_QUERY_CAPABILITY;
         type <= VIRTIO_VIDEO_CMD_SET_PARAMS_EXT; type++) {
        size_t need = vv_request_size(type);

        put32(buf, 0, type);
        put32(buf, 4, 7);
        put32(buf, 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
        if (need > 8) {
            g_assert_cmphex(parse(buf, need - 1, &req), ==,
                            VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
            g_assert_cmphex(req.type, ==, type);
            g_assert_cmpuint(req.stream_id, ==, 7);
        }
    }
}

static void test_unknown_type(void)
{
    static const uint32_t bad[] = {
        0, 0xff, 0x10f, 0x200, 0x202, 0x300, 0x1000, 0xffffffff,
    };
    uint8_t buf[128] = { 0 };
    VvRequest req;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        put32(buf, 0, bad[i]);
        g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
        g_assert_cmphex(req.type, ==, bad[i]);
    }
}

static void test_queue_type(void)
{
    static const uint32_t cmds[] = {
        VIRTIO_VIDEO_CMD_QUERY_CAPABILITY, VIRTIO_VIDEO_CMD_RESOURCE_CREATE,
        VIRTIO_VIDEO_CMD_RESOURCE_QUEUE, VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL,
        VIRTIO_VIDEO_CMD_QUEUE_CLEAR, VIRTIO_VIDEO_CMD_GET_PARAMS,
        VIRTIO_VIDEO_CMD_GET_PARAMS_EXT,
    };
    static const uint32_t bad_qt[] = { 0, 0xff, 0x102, 0x200, 0xffffffff };
    uint8_t buf[256];
    VvRequest req;
    size_t i, j;

    for (i = 0; i < G_N_ELEMENTS(cmds); i++) {
        memset(buf, 0, sizeof(buf));
        put32(buf, 0, cmds[i]);
        /* a valid resource for RESOURCE_CREATE: one plane, one entry */
        put32(buf, 20, 1);
        put32(buf, 56, 1);
        for (j = 0; j < G_N_ELEMENTS(bad_qt); j++) {
            put32(buf, 8, bad_qt[j]);
            g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                            VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
        }
        put32(buf, 8, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
        g_assert_cmphex(parse(buf, sizeof(buf), &req), ==, 0);
    }

    /* SET_PARAMS carries it inside params */
    memset(buf, 0, sizeof(buf));
    put32(buf, 0, VIRTIO_VIDEO_CMD_SET_PARAMS_EXT);
    put32(buf, 8, 0x17);
    g_assert_cmphex(parse(buf, 128, &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    put32(buf, 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    g_assert_cmphex(parse(buf, 128, &req), ==, 0);
}

static void test_resource_create_entries(void)
{
    uint8_t buf[88 + 16 * 4] = { 0 };
    VvRequest req;

    put32(buf, 0, VIRTIO_VIDEO_CMD_RESOURCE_CREATE);
    put32(buf, 8, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
    put32(buf, 12, 5);
    put32(buf, 16, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
    put32(buf, 20, 2);                /* two planes */
    put32(buf, 56, 3);
    put32(buf, 60, 1);
    vv_st64(buf + 88, 0x1000);
    put32(buf, 96, 4096);

    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==, 0);
    g_assert_cmpuint(req.u.resource_create.total_entries, ==, 4);
    g_assert_true(req.u.resource_create.entries == buf + 88);
    g_assert_cmphex(vv_ld64(req.u.resource_create.entries), ==, 0x1000);

    /* entries cut short */
    g_assert_cmphex(parse(buf, sizeof(buf) - 1, &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* counts that wrap 32 bits must not pass as small */
    put32(buf, 56, 0xffffffff);
    put32(buf, 60, 5);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* above the limit */
    put32(buf, 56, 1001);
    put32(buf, 60, 0);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* zero entries */
    put32(buf, 56, 0);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* entries of planes beyond num_planes do not count */
    put32(buf, 56, 1);
    put32(buf, 20, 1);
    put32(buf, 60, 0xffffffff);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==, 0);
    g_assert_cmpuint(req.u.resource_create.total_entries, ==, 1);
    /* zero or more than 8 planes */
    put32(buf, 20, 0);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    put32(buf, 20, 9);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
}

static void test_resource_queue(void)
{
    uint8_t buf[64] = { 0 };
    VvRequest req;

    put32(buf, 0, VIRTIO_VIDEO_CMD_RESOURCE_QUEUE);
    put32(buf, 4, 3);
    put32(buf, 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    put32(buf, 12, 9);
    vv_st64(buf + 16, 0x0123456789abcdefULL);
    put32(buf, 24, 1);
    put32(buf, 28, 4321);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==, 0);
    g_assert_cmpuint(req.stream_id, ==, 3);
    g_assert_cmpuint(req.u.resource_queue.resource_id, ==, 9);
    g_assert_cmphex(req.u.resource_queue.timestamp, ==,
                    0x0123456789abcdefULL);
    g_assert_cmpuint(req.u.resource_queue.data_sizes[0], ==, 4321);

    put32(buf, 24, 9);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
}

/* Header-only commands are parsed from exactly 8 bytes, nothing beyond. */
static void test_header_only(void)
{
    static const uint32_t cmds[] = {
        VIRTIO_VIDEO_CMD_STREAM_DESTROY, VIRTIO_VIDEO_CMD_STREAM_DRAIN,
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cmds); i++) {
        g_autofree uint8_t *buf = g_malloc(8);  /* ASan sees overreads */
        VvRequest req;

        put32(buf, 0, cmds[i]);
        put32(buf, 4, 5);
        g_assert_cmphex(parse(buf, 8, &req), ==, 0);
        g_assert_cmpuint(req.stream_id, ==, 5);
    }
}

static void test_set_control(void)
{
    uint8_t buf[24] = { 0 };
    VvRequest req;

    put32(buf, 0, VIRTIO_VIDEO_CMD_SET_CONTROL);
    put32(buf, 8, VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME);
    g_assert_cmphex(parse(buf, 16, &req), ==, 0);
    g_assert_false(req.u.set_control.has_value);

    put32(buf, 8, VIRTIO_VIDEO_CONTROL_BITRATE);
    g_assert_cmphex(parse(buf, 16, &req), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    put32(buf, 16, 1000000);
    g_assert_cmphex(parse(buf, 24, &req), ==, 0);
    g_assert_true(req.u.set_control.has_value);
    g_assert_cmpuint(req.u.set_control.value, ==, 1000000);
}

static void test_params_roundtrip(void)
{
    uint8_t wire[128] = { 0 }, again[128];
    VvRequest req;
    size_t i;

    put32(wire, 0, VIRTIO_VIDEO_CMD_SET_PARAMS_EXT);
    for (i = 8; i < 8 + 120; i += 4) {
        put32(wire, i, (uint32_t)(i * 0x01010101u));
    }
    put32(wire, 8, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
    put32(wire, 8 + 44, 2);                  /* num_planes */
    memset(wire + 8 + 116, 0, 4);            /* padding */
    g_assert_cmphex(parse(wire, sizeof(wire), &req), ==, 0);
    g_assert_cmpuint(req.u.set_params.num_planes, ==, 2);

    memset(again, 0xaa, sizeof(again));
    g_assert_cmpuint(vv_write_params(again + 8, &req.u.set_params, true),
                     ==, 120);
    g_assert_cmpmem(again + 8, 120, wire + 8, 120);
    g_assert_cmpuint(vv_write_params(again + 8, &req.u.set_params, false),
                     ==, 112);
}

static void test_stream_create_tag(void)
{
    uint8_t buf[88];
    VvRequest req;

    memset(buf, 'x', sizeof(buf));
    put32(buf, 0, VIRTIO_VIDEO_CMD_STREAM_CREATE);
    put32(buf, 16, VIRTIO_VIDEO_FORMAT_H264);
    g_assert_cmphex(parse(buf, sizeof(buf), &req), ==, 0);
    /* an unterminated tag from the guest comes out terminated */
    g_assert_cmpuint(strlen(req.u.stream_create.tag), ==, 64);
    g_assert_cmphex(req.u.stream_create.coded_format, ==,
                    VIRTIO_VIDEO_FORMAT_H264);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vv/protocol/request-sizes", test_request_sizes);
    g_test_add_func("/vv/protocol/short", test_short_requests);
    g_test_add_func("/vv/protocol/unknown-type", test_unknown_type);
    g_test_add_func("/vv/protocol/queue-type", test_queue_type);
    g_test_add_func("/vv/protocol/resource-create-entries",
                    test_resource_create_entries);
    g_test_add_func("/vv/protocol/resource-queue", test_resource_queue);
    g_test_add_func("/vv/protocol/header-only", test_header_only);
    g_test_add_func("/vv/protocol/set-control", test_set_control);
    g_test_add_func("/vv/protocol/params-roundtrip", test_params_roundtrip);
    g_test_add_func("/vv/protocol/stream-create-tag", test_stream_create_tag);
    return g_test_run();
}
