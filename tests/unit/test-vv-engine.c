/*
 * virtio-video engine: command handling tests (no QEMU, no virtqueues).
 *
 * The expected format lists are worked out here from libavcodec by codec
 * name, independently of the backend's probing code.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <malloc.h>
#include <string.h>
#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>

#include "vv-engine.h"
#include "vv-protocol.h"
#include "../qtest/libqos/virtio-video-caps.h"

static unsigned guest_errors;

static void count_guest_error(void *opaque, const char *msg)
{
    g_assert_nonnull(msg);
    guest_errors++;
}

static const VvEngineOps test_ops = {
    .guest_error = count_guest_error,
};

static VvEngine *engine_new_streams(VvMode mode, uint32_t max_streams)
{
    VvEngineConfig cfg = {
        .mode = mode,
        .backend = "libavcodec",
        .max_streams = max_streams,
        .ops = &test_ops,
    };
    char *err = NULL;
    VvEngine *e = vv_engine_new(&cfg, &err);

    g_assert_null(err);
    g_assert_nonnull(e);
    return e;
}

static VvEngine *engine_new(VvMode mode)
{
    return engine_new_streams(mode, 4);
}

/* Send @len request bytes; returns the response length. */
static size_t cmd(VvEngine *e, const uint8_t *req, size_t len,
                  uint8_t *resp, size_t resp_size)
{
    size_t n;

    memset(resp, 0xcc, resp_size);
    g_assert_cmpint(vv_engine_handle_command(e, req, len, NULL, resp,
                                             resp_size, &n),
                    ==, VV_CMD_DONE);
    g_assert_cmpuint(n, >=, 8);
    g_assert_cmpuint(n, <=, resp_size);
    return n;
}

static void query_caps(VvEngine *e, uint32_t queue_type, QVVCaps *caps)
{
    size_t size = vv_engine_max_caps_length(e);
    g_autofree uint8_t *resp = g_malloc(size);
    uint8_t req[16] = { 0 };
    const char *err;
    size_t n;

    vv_st32(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    vv_st32(req + 8, queue_type);
    n = cmd(e, req, sizeof(req), resp, size);
    err = qvv_caps_parse(resp, n, caps);
    if (err) {
        g_error("QUERY_CAPABILITY(0x%x): %s", queue_type, err);
    }
    g_assert_cmpuint(caps->len, ==, n);
}

typedef struct {
    const char *codec;
    uint32_t format;
} CodecFormat;

static const CodecFormat dec_formats[] = {
    { "h264", VIRTIO_VIDEO_FORMAT_H264 },
    { "hevc", VIRTIO_VIDEO_FORMAT_HEVC },
    { "vp8", VIRTIO_VIDEO_FORMAT_VP8 },
    { "vp9", VIRTIO_VIDEO_FORMAT_VP9 },
    { "mpeg2video", VIRTIO_VIDEO_FORMAT_MPEG2 },
    { "mpeg4", VIRTIO_VIDEO_FORMAT_MPEG4 },
};

static const CodecFormat enc_formats[] = {
    { "libx264", VIRTIO_VIDEO_FORMAT_H264 },
    { "libx265", VIRTIO_VIDEO_FORMAT_HEVC },
    { "libvpx", VIRTIO_VIDEO_FORMAT_VP8 },
    { "libvpx-vp9", VIRTIO_VIDEO_FORMAT_VP9 },
};

static void check_coded(const QVVCaps *c, const CodecFormat *cf, size_t n,
                        bool encoder)
{
    size_t i, listed = 0;

    for (i = 0; i < n; i++) {
        bool have = encoder ? avcodec_find_encoder_by_name(cf[i].codec) != NULL
                            : avcodec_find_decoder_by_name(cf[i].codec) != NULL;
        int idx = qvv_caps_find(c, cf[i].format);

        if (g_test_verbose()) {
            g_test_message("%s: %s, format 0x%x %s", cf[i].codec,
                           have ? "present" : "absent", cf[i].format,
                           idx >= 0 ? "listed" : "not listed");
        }
        g_assert_cmpint(idx >= 0, ==, have);
        listed += idx >= 0;
    }
    /* nothing else is listed */
    g_assert_cmpuint(c->num_descs, ==, listed);
    g_assert_cmpuint(listed, >, 0);
    /* the driver opens every stream with the first one: H.264 on Debian */
    if (avcodec_find_decoder_by_name("h264") &&
        avcodec_find_encoder_by_name("libx264")) {
        g_assert_cmphex(c->descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    }
}

static void test_decoder_caps(void)
{
    VvEngine *e = engine_new(VV_MODE_DECODER);
    QVVCaps in, out;
    uint32_t i;

    g_assert_cmpuint(vv_engine_virtio_id(e), ==, 31);
    g_assert_cmpstr(vv_engine_device_name(e), ==, "libavcodec");
    query_caps(e, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
    query_caps(e, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);
    g_assert_cmpuint(in.len, <=, vv_engine_max_caps_length(e));
    g_assert_cmpuint(out.len, <=, vv_engine_max_caps_length(e));

    check_coded(&in, dec_formats, G_N_ELEMENTS(dec_formats), false);
    for (i = 0; i < in.num_descs; i++) {
        g_assert_true(qvv_format_is_coded(in.descs[i].format));
        /* decoders take no frame rate */
        g_assert_cmpuint(in.descs[i].frames[0].num_rates, ==, 0);
    }

    /* plane copies of our own: always there */
    g_assert_cmpint(qvv_caps_find(&out, VIRTIO_VIDEO_FORMAT_NV12), >=, 0);
    g_assert_cmpint(qvv_caps_find(&out, VIRTIO_VIDEO_FORMAT_YUV420), >=, 0);
    g_assert_cmpint(qvv_caps_find(&out, VIRTIO_VIDEO_FORMAT_YVU420), >=, 0);
    /* RGB through libswscale */
    g_assert_cmpint(qvv_caps_find(&out, VIRTIO_VIDEO_FORMAT_BGRA8888) >= 0,
                    ==, sws_isSupportedOutput(AV_PIX_FMT_BGRA) > 0);
    g_assert_cmpint(qvv_caps_find(&out, VIRTIO_VIDEO_FORMAT_ARGB8888) >= 0,
                    ==, sws_isSupportedOutput(AV_PIX_FMT_ARGB) > 0);
    for (i = 0; i < out.num_descs; i++) {
        g_assert_true(qvv_format_is_raw(out.descs[i].format));
        g_assert_cmphex(out.descs[i].planes_layout, ==,
                        VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
    }
    g_assert_null(qvv_caps_check_masks(&in, &out));
    vv_engine_free(e, NULL, NULL);
}

static void test_encoder_caps(void)
{
    VvEngine *e = engine_new(VV_MODE_ENCODER);
    QVVCaps in, out;
    uint32_t i;

    g_assert_cmpuint(vv_engine_virtio_id(e), ==, 30);
    query_caps(e, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
    query_caps(e, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);

    check_coded(&out, enc_formats, G_N_ELEMENTS(enc_formats), true);
    /* 4:2:0 layouts, taken by plane copies; no RGB input */
    g_assert_cmpuint(in.num_descs, ==, 3);
    g_assert_cmpint(qvv_caps_find(&in, VIRTIO_VIDEO_FORMAT_NV12), >=, 0);
    g_assert_cmpint(qvv_caps_find(&in, VIRTIO_VIDEO_FORMAT_YUV420), >=, 0);
    g_assert_cmpint(qvv_caps_find(&in, VIRTIO_VIDEO_FORMAT_YVU420), >=, 0);
    /* V4L2 S_PARM needs frame-rate ranges on the encoder */
    for (i = 0; i < in.num_descs; i++) {
        g_assert_cmpuint(in.descs[i].frames[0].num_rates, >, 0);
    }
    for (i = 0; i < out.num_descs; i++) {
        g_assert_cmpuint(out.descs[i].frames[0].num_rates, >, 0);
    }
    g_assert_null(qvv_caps_check_masks(&in, &out));
    vv_engine_free(e, NULL, NULL);
}

static uint32_t resp_type(const uint8_t *resp)
{
    return vv_ld32(resp);
}

static void test_bad_requests(void)
{
    VvEngine *e = engine_new(VV_MODE_DECODER);
    uint8_t req[256] = { 0 }, resp[2048];
    unsigned before;
    size_t n;

    /* short header */
    before = guest_errors;
    n = cmd(e, req, 5, resp, sizeof(resp));
    g_assert_cmpuint(n, ==, 8);
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmpuint(guest_errors, ==, before + 1);

    /* unknown type: the header echoes the stream id */
    vv_st32(req, 0x1234);
    vv_st32(req + 4, 77);
    n = cmd(e, req, 16, resp, sizeof(resp));
    g_assert_cmpuint(n, ==, 8);
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    g_assert_cmpuint(vv_ld32(resp + 4), ==, 77);

    /* bad queue type */
    vv_st32(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    vv_st32(req + 8, 0x102);
    n = cmd(e, req, 16, resp, sizeof(resp));
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* short QUERY_CAPABILITY */
    vv_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    n = cmd(e, req, 15, resp, sizeof(resp));
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* response buffer too small for the capabilities: error, no truncation */
    n = cmd(e, req, 16, resp, 40);
    g_assert_cmpuint(n, ==, 8);
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* and a good one still works */
    n = cmd(e, req, 16, resp, sizeof(resp));
    g_assert_cmphex(resp_type(resp), ==,
                    VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY);
    vv_engine_free(e, NULL, NULL);
}

/* Stream commands on a stream that does not exist. */
static void test_unknown_stream(void)
{
    VvEngine *e = engine_new(VV_MODE_DECODER);
    uint8_t req[256] = { 0 }, resp[64];
    uint32_t type;

    for (type = VIRTIO_VIDEO_CMD_STREAM_DESTROY;
         type <= VIRTIO_VIDEO_CMD_SET_PARAMS_EXT; type++) {
        if (type == VIRTIO_VIDEO_CMD_QUERY_CONTROL) {
            continue;           /* not about a stream */
        }
        memset(req, 0, sizeof(req));
        vv_st32(req, type);
        vv_st32(req + 4, 1);
        vv_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
        vv_st32(req + 20, 1);           /* RESOURCE_CREATE: 1 plane */
        vv_st32(req + 56, 1);           /* ... 1 entry */
        g_assert_cmpuint(cmd(e, req, sizeof(req), resp, sizeof(resp)),
                         ==, 8);
        g_assert_cmphex(resp_type(resp), ==,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    }
    vv_engine_free(e, NULL, NULL);
}

static void test_bad_backend(void)
{
    VvEngineConfig cfg = { .mode = VV_MODE_DECODER, .backend = "nope" };
    char *err = NULL;

    g_assert_null(vv_engine_new(&cfg, &err));
    g_assert_nonnull(strstr(err, "nope"));
    g_free(err);
}

static void test_config_values(void)
{
    VvEngine *e = engine_new(VV_MODE_ENCODER);

    g_assert_cmpuint(vv_engine_max_caps_length(e), >=, 1024);
    g_assert_cmpuint(vv_engine_max_resp_length(e), >=, 16 + 4 * 16);
    g_assert_cmpuint(vv_engine_max_response_size(e), >=,
                     vv_engine_max_caps_length(e));
    g_assert_cmpuint(vv_engine_max_request_size(e), >=, 88 + 16);
    vv_engine_free(e, NULL, NULL);
}

/*
 * This process's heap in use (bytes, all malloc arenas), resident memory
 * (KiB) and thread count.
 */
static void proc_status(uint64_t *heap, uint64_t *rss_kib, unsigned *threads)
{
    struct mallinfo2 mi = mallinfo2();
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents("/proc/self/status", &text, NULL,
                                      NULL));
    p = strstr(text, "VmRSS:");
    g_assert_nonnull(p);
    *rss_kib = g_ascii_strtoull(p + 6, NULL, 10);
    p = strstr(text, "Threads:");
    g_assert_nonnull(p);
    *threads = g_ascii_strtoull(p + 8, NULL, 10);
    *heap = mi.uordblks + mi.hblkhd;
}

#define IDLE_STREAMS    500

/*
 * What v4l2-compliance's "unlimited opens" does to a stateful codec: many
 * open()s, each a STREAM_CREATE, the params and a control read, nothing
 * else.  An idle stream has no worker thread and costs a few KiB; the
 * figure is printed (docs/system/devices/virtio-video.rst quotes it).
 */
static void test_idle_streams(gconstpointer data)
{
    VvMode mode = GPOINTER_TO_INT(data);
    VvEngine *e = engine_new_streams(mode, IDLE_STREAMS + 1);
    uint8_t req[88] = { 0 }, resp[256];
    uint64_t heap0, heap1, rss0, rss1;
    unsigned threads0, threads1;
    uint32_t id, q;

    for (id = 1; id <= IDLE_STREAMS + 1; id++) {
        if (id == 2) {
            /* the first stream warmed up the allocator */
            proc_status(&heap0, &rss0, &threads0);
        }
        memset(req, 0, sizeof(req));
        vv_st32(req, VIRTIO_VIDEO_CMD_STREAM_CREATE);
        vv_st32(req + 4, id);
        vv_st32(req + 16, VIRTIO_VIDEO_FORMAT_H264);
        cmd(e, req, sizeof(req), resp, sizeof(resp));
        g_assert_cmphex(resp_type(resp), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
        for (q = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
             q <= VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT; q++) {
            memset(req, 0, 16);
            vv_st32(req, VIRTIO_VIDEO_CMD_GET_PARAMS_EXT);
            vv_st32(req + 4, id);
            vv_st32(req + 8, q);
            cmd(e, req, 16, resp, sizeof(resp));
            g_assert_cmphex(resp_type(resp), ==,
                            VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
        }
        memset(req, 0, 16);
        vv_st32(req, VIRTIO_VIDEO_CMD_GET_CONTROL);
        vv_st32(req + 4, id);
        vv_st32(req + 8, VIRTIO_VIDEO_CONTROL_PROFILE);
        cmd(e, req, 16, resp, sizeof(resp));
        g_assert_cmphex(resp_type(resp), ==,
                        VIRTIO_VIDEO_RESP_OK_GET_CONTROL);
    }
    proc_status(&heap1, &rss1, &threads1);
    g_test_message("%s: %u idle streams: heap +%" PRIu64 " KiB (%.1f KiB "
                   "each), resident +%" PRIu64 " KiB, threads %u -> %u",
                   mode == VV_MODE_DECODER ? "decoder" : "encoder",
                   IDLE_STREAMS, (heap1 - heap0) / 1024,
                   (heap1 - heap0) / 1024.0 / IDLE_STREAMS, rss1 - rss0,
                   threads0, threads1);
    /* no worker thread, no timestamp ring, no codec */
    g_assert_cmpuint(threads1, ==, threads0);
    g_assert_cmpuint(heap1 - heap0, <, IDLE_STREAMS * 8 * 1024);
    vv_engine_free(e, NULL, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vv/engine/decoder-caps", test_decoder_caps);
    g_test_add_func("/vv/engine/encoder-caps", test_encoder_caps);
    g_test_add_func("/vv/engine/bad-requests", test_bad_requests);
    g_test_add_func("/vv/engine/unknown-stream", test_unknown_stream);
    g_test_add_func("/vv/engine/bad-backend", test_bad_backend);
    g_test_add_func("/vv/engine/config-values", test_config_values);
    g_test_add_data_func("/vv/engine/idle-streams/decoder",
                         GINT_TO_POINTER(VV_MODE_DECODER), test_idle_streams);
    g_test_add_data_func("/vv/engine/idle-streams/encoder",
                         GINT_TO_POINTER(VV_MODE_ENCODER), test_idle_streams);
    return g_test_run();
}
