/*
 * QTest testcases for virtio-video-pci: a guest that tries to pass each of
 * the device's resource caps gets an error response, and QEMU's memory
 * stays bounded while it keeps trying.
 *
 * The "virtio-video-caps" node is a decoder with small caps (see
 * libqos/virtio-video.c):
 *   max-streams=2 max-resources=4 max-queued=2 max-sg-entries=8
 *   max-mapped-mb=16 max-bitstream-mb=2
 * "virtio-video-caps-size" a decoder and "virtio-video-caps-enc" an encoder
 * with max-width=352,max-height=288.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-video.h"
#include "libqos/virtio-video-caps.h"
#include "virtio-video-client.h"

#define Q_IN    VIRTIO_VIDEO_QUEUE_TYPE_INPUT
#define Q_OUT   VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
#define PAGES   VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES
#define H264    VIRTIO_VIDEO_FORMAT_H264
#define MIB     (1024 * 1024)

/* The caps of the node (keep in step with libqos/virtio-video.c). */
#define CAP_STREAMS     2
#define CAP_RESOURCES   4
#define CAP_QUEUED      2
#define CAP_SG          8
#define CAP_MAPPED      (16 * MIB)
#define CAP_BITSTREAM   (2 * MIB)
#define CAP_W           352
#define CAP_H           288

/* RESOURCE_CREATE of one guest range as @n equal entries. */
static uint32_t create_range(VvcClient *c, uint32_t sid, uint32_t queue,
                             uint32_t id, uint64_t addr, uint32_t len,
                             uint32_t n)
{
    g_autofree uint64_t *addrs = g_new(uint64_t, n);
    g_autofree uint32_t *lens = g_new(uint32_t, n);
    uint32_t counts[VIRTIO_VIDEO_MAX_PLANES] = { n };
    uint32_t i;

    for (i = 0; i < n; i++) {
        addrs[i] = addr + (uint64_t)i * (len / n);
        lens[i] = len / n;
    }
    return vvc_resource_create_raw(c, sid, queue, id, 1, counts, addrs, lens,
                                   n);
}

static uint32_t queue_sync(VvcClient *c, uint32_t sid, uint32_t queue,
                           uint32_t id, uint32_t size)
{
    g_autoptr(VvcMsg) m = NULL;

    m = vvc_wait_tag(c, vvc_resource_queue_async(c, sid, queue, id, 0, 1,
                                                 &size));
    g_assert_nonnull(m);
    return m->type;
}

/* Resident memory of the QEMU process, in KiB. */
static uint64_t qemu_rss_kib(QVirtioVideo *v)
{
    g_autofree char *path = g_strdup_printf(
        "/proc/%d/status", (int)qtest_pid(qvirtio_video_qts(v)));
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "VmRSS:");
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + 6, NULL, 10);
}

static void test_cap_streams(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    uint32_t i;

    for (i = 1; i <= CAP_STREAMS; i++) {
        g_assert_cmphex(vvc_stream_create(c, i, PAGES, PAGES, H264, NULL),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    }
    g_assert_cmphex(vvc_stream_create(c, i, PAGES, PAGES, H264, NULL),
                    ==, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(vvc_stream_destroy(c, 1), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    /* a destroyed stream's slot is free again once its worker is gone */
    for (i = 0; i < 100; i++) {
        uint32_t r = vvc_stream_create(c, 9, PAGES, PAGES, H264, NULL);

        if (r == VIRTIO_VIDEO_RESP_OK_NODATA) {
            break;
        }
        g_assert_cmphex(r, ==, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
        g_usleep(10 * 1000);
    }
    g_assert_cmpuint(i, <, 100);
    g_assert_cmphex(vvc_stream_destroy(c, 2), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_stream_destroy(c, 9), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    vvc_free(c);
}

/* max-resources, max-sg-entries and max-mapped-mb. */
static void test_cap_resources(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    uint64_t buf = guest_alloc(alloc, 8 * MIB);
    uint32_t id;

    g_assert_cmphex(vvc_stream_create(c, 1, PAGES, PAGES, H264, NULL),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);

    /* scatter-gather entries per resource */
    g_assert_cmphex(create_range(c, 1, Q_IN, 1, buf, 64 * 1024, CAP_SG + 1),
                    ==, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_range(c, 1, Q_IN, 1, buf, 64 * 1024, CAP_SG),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);

    /* resources per queue; replacing a known id is not a new one */
    for (id = 2; id <= CAP_RESOURCES; id++) {
        g_assert_cmphex(create_range(c, 1, Q_IN, id, buf, 4096, 1),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    }
    g_assert_cmphex(create_range(c, 1, Q_IN, id, buf, 4096, 1),
                    ==, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(create_range(c, 1, Q_IN, 2, buf, 4096, 1),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_destroy_all(c, 1, Q_IN), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);

    /*
     * Mapped guest memory, all streams together: the same 8 MiB of guest
     * pages twice fills the 16 MiB; anything more is refused until a
     * resource goes away.
     */
    g_assert_cmphex(create_range(c, 1, Q_IN, 1, buf, 8 * MIB, 1),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(create_range(c, 1, Q_OUT, 1, buf, 8 * MIB, 1),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(create_range(c, 1, Q_IN, 2, buf, 4096, 1),
                    ==, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(vvc_stream_create(c, 2, PAGES, PAGES, H264, NULL),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(create_range(c, 2, Q_IN, 1, buf, 4096, 1),
                    ==, VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(vvc_destroy_all(c, 1, Q_OUT), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(create_range(c, 2, Q_IN, 1, buf, 4 * MIB, 1),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);

    g_assert_cmphex(vvc_stream_destroy(c, 1), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_stream_destroy(c, 2), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    guest_free(alloc, buf);
    vvc_free(c);
}

/* max-queued and max-bitstream-mb. */
static void test_cap_queue(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    uint64_t buf = guest_alloc(alloc, 4 * MIB);
    uint32_t tags[CAP_QUEUED], i;
    VvcParams out;

    /* a refused buffer is answered at once; an accepted one waits */
    vvc_set_timeout(c, 5000);
    g_assert_cmphex(vvc_stream_create(c, 1, PAGES, PAGES, H264, NULL),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, 1, Q_OUT, true, &out), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmpuint(out.plane_size[0] + out.plane_size[1], <=, 4 * MIB);

    /* output buffers stay queued (no input): the next one is refused */
    for (i = 1; i <= CAP_QUEUED + 1; i++) {
        g_assert_cmphex(create_range(c, 1, Q_OUT, i, buf, 4 * MIB, 1),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    }
    for (i = 0; i < CAP_QUEUED; i++) {
        tags[i] = vvc_resource_queue_async(c, 1, Q_OUT, i + 1, 0, 0, NULL);
    }
    g_assert_cmphex(queue_sync(c, 1, Q_OUT, CAP_QUEUED + 1, 0), ==,
                    VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);

    /* bitstream: one buffer above the whole allowance is refused */
    g_assert_cmphex(create_range(c, 1, Q_IN, 1, buf, 4 * MIB, 1),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(queue_sync(c, 1, Q_IN, 1, CAP_BITSTREAM + 1), ==,
                    VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);

    /* the queued outputs come back when the queue is cleared */
    g_assert_cmphex(vvc_queue_clear(c, 1, Q_OUT), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    for (i = 0; i < CAP_QUEUED; i++) {
        g_autoptr(VvcMsg) m = vvc_wait_tag(c, tags[i]);

        g_assert_nonnull(m);
        g_assert_cmphex(m->type, ==, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
    }
    /* ... and then count again from zero */
    for (i = 0; i < CAP_QUEUED; i++) {
        tags[i] = vvc_resource_queue_async(c, 1, Q_OUT, i + 2, 0, 0, NULL);
    }
    g_assert_cmphex(queue_sync(c, 1, Q_OUT, 1, 0), ==,
                    VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(vvc_stream_destroy(c, 1), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    vvc_flush_stash(c);
    guest_free(alloc, buf);
    vvc_free(c);
}

/*
 * max-width/max-height: QUERY_CAPABILITY says so, a larger stream ends in
 * EVENT_ERROR, one at the limit decodes.
 */
/* Five VP9 frames of @w x @h as units; NULL and *err when ffmpeg fails. */
static GPtrArray *vp9_clip(unsigned w, unsigned h, char **err)
{
    g_autofree char *dir = g_dir_make_tmp("virtio-video-caps-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "c.ivf", NULL);
    g_autofree char *src = g_strdup_printf("testsrc2=size=%ux%u", w, h);
    const char *args[] = {
        "-f", "lavfi", "-i", src, "-frames:v", "5", "-c:v", "libvpx-vp9",
        "-f", "ivf", path, NULL
    };
    GPtrArray *units = NULL;
    uint32_t format = 0;
    int depth = 8;

    if (vvc_run_ffmpeg(args, err)) {
        units = vvc_demux(path, &format, &depth, err);
    }
    unlink(path);
    rmdir(dir);
    return units;
}

static void test_cap_frame_size(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autoptr(GPtrArray) big = NULL, ok = NULL, vp9 = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autofree char *err = NULL;
    VvcDecodeStats st = { 0 };
    VvcDecodeOpts o = { .coded_format = H264, .stats = &st };
    QVVCaps caps;
    uint32_t i, j;

    qvirtio_video_query_caps(v, Q_IN, &caps);
    for (i = 0; i < caps.num_descs; i++) {
        for (j = 0; j < caps.descs[i].num_frames; j++) {
            g_assert_cmpuint(caps.descs[i].frames[j].width.max, <=, CAP_W);
            g_assert_cmpuint(caps.descs[i].frames[j].height.max, <=, CAP_H);
        }
    }

    big = vvc_gen_h264(CAP_W + 16, CAP_H, 5, &err);
    g_assert_nonnull(big);
    vvc_set_timeout(c, 20000);
    g_assert_false(vvc_decode_units(c, big, &o, frames, &err));
    g_assert_true(st.error_event);
    g_assert_cmpuint(frames->len, ==, 0);
    vvc_flush_stash(c);

    /*
     * VP9 is not parsed: its size is only known once the codec asks for a
     * picture buffer, which the device refuses
     */
    g_clear_pointer(&err, g_free);
    vp9 = vp9_clip(CAP_W + 16, CAP_H, &err);
    g_assert_nonnull(vp9);
    memset(&st, 0, sizeof(st));
    o.stream_id = 3;
    o.coded_format = VIRTIO_VIDEO_FORMAT_VP9;
    g_assert_false(vvc_decode_units(c, vp9, &o, frames, &err));
    g_assert_true(st.error_event);
    g_assert_cmpuint(frames->len, ==, 0);
    vvc_flush_stash(c);

    g_clear_pointer(&err, g_free);
    ok = vvc_gen_h264(CAP_W, CAP_H, 5, &err);
    g_assert_nonnull(ok);
    memset(&st, 0, sizeof(st));
    o.stream_id = 2;
    o.coded_format = H264;
    if (!vvc_decode_units(c, ok, &o, frames, &err)) {
        g_error("%s", err);
    }
    g_assert_cmpuint(frames->len, ==, 5);
    vvc_free(c);
}

static void test_cap_frame_size_enc(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    VvcParams in;

    g_assert_cmphex(vvc_stream_create(c, 1, PAGES, PAGES, H264, NULL),
                    ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, 1, Q_IN, true, &in), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    in.frame_width = CAP_W + 2;
    in.frame_height = CAP_H;
    g_assert_cmphex(vvc_set_params(c, 1, &in, true), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    in.frame_width = CAP_W;
    in.frame_height = CAP_H + 2;
    g_assert_cmphex(vvc_set_params(c, 1, &in, true), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    in.frame_height = CAP_H;
    g_assert_cmphex(vvc_set_params(c, 1, &in, true), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_stream_destroy(c, 1), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    vvc_free(c);
}

/*
 * A guest that keeps pushing at every cap, round after round, with
 * bitstream queued up to the allowance: QEMU's resident memory after the
 * rounds is within a few MiB of what it was after the first.
 */
static void test_cap_rss(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    uint64_t buf = guest_alloc(alloc, 8 * MIB);
    g_autofree uint8_t *junk = g_malloc(MIB);
    uint64_t rss_first = 0, rss_last = 0;
    uint32_t tags[CAP_RESOURCES];
    unsigned round, i;

    for (i = 0; i < MIB; i++) {
        junk[i] = (uint8_t)(i * 2654435761u >> 24);
    }
    qtest_memwrite(qvirtio_video_qts(v), buf, junk, MIB);

    for (round = 0; round < 40; round++) {
        uint32_t sid = round % 2 + 1, refused = 0, size = MIB - 4096;

        g_assert_cmphex(vvc_stream_create(c, sid, PAGES, PAGES, H264, NULL),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
        for (i = 1; i <= CAP_RESOURCES + 1; i++) {
            uint32_t r = create_range(c, sid, Q_IN, i, buf, MIB, CAP_SG);

            refused += r != VIRTIO_VIDEO_RESP_OK_NODATA;
        }
        g_assert_cmpuint(refused, ==, 1);
        g_assert_cmphex(create_range(c, sid, Q_OUT, 1, buf, 8 * MIB,
                                     CAP_SG + 1), ==,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
        /*
         * junk bitstream, every input resource queued at once: each
         * completes (the codec rejects junk) or is refused for the
         * allowance or max-queued
         */
        for (i = 0; i < CAP_RESOURCES; i++) {
            tags[i] = vvc_resource_queue_async(c, sid, Q_IN, i + 1, 0, 1,
                                               &size);
        }
        for (i = 0; i < CAP_RESOURCES; i++) {
            g_autoptr(VvcMsg) m = vvc_wait_tag(c, tags[i]);

            g_assert_nonnull(m);
            g_assert_true(m->type == VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE ||
                          m->type == VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
        }
        g_assert_cmphex(vvc_stream_destroy(c, sid), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        vvc_flush_stash(c);
        if (round == 4) {
            rss_first = qemu_rss_kib(v);
        }
    }
    rss_last = qemu_rss_kib(v);
    g_test_message("QEMU RSS after round 5: %" PRIu64 " KiB, after 40: %"
                   PRIu64 " KiB", rss_first, rss_last);
    g_assert_cmpuint(rss_last, <=, rss_first + 16 * 1024);
    guest_free(alloc, buf);
    vvc_free(c);
}

static void register_virtio_video_caps_test(void)
{
    qos_add_test("cap-streams", "virtio-video-caps", test_cap_streams, NULL);
    qos_add_test("cap-resources", "virtio-video-caps", test_cap_resources,
                 NULL);
    qos_add_test("cap-queue", "virtio-video-caps", test_cap_queue, NULL);
    qos_add_test("cap-frame-size", "virtio-video-caps-size",
                 test_cap_frame_size, NULL);
    qos_add_test("cap-frame-size", "virtio-video-caps-enc",
                 test_cap_frame_size_enc, NULL);
    qos_add_test("cap-rss", "virtio-video-caps", test_cap_rss, NULL);
}

libqos_init(register_virtio_video_caps_test);
