/*
 * QTest testcases for virtio-video-pci: device reset with streams busy,
 * and hot-plug/unplug.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/pci-pc.h"
#include "libqos/virtio-video.h"
#include "virtio-video-client.h"
#include "virtio-video-encode.h"

#define PCI_SLOT_HP 0x06

/* An ffmpeg-made H.264 stream of @frames 352x288 pictures, as units. */
static GPtrArray *test_units(unsigned frames)
{
    g_autofree char *err = NULL;
    GPtrArray *units = vvc_gen_h264(352, 288, frames, &err);

    if (!units) {
        g_error("%s", err);
    }
    return units;
}

/*
 * After a reset the device may write no guest memory it was given: not
 * the old used ring (virtio_reset() forgets its address right after the
 * device's reset hook, so a push would not land there anyway) and not a
 * buffer (a worker still copying a picture would).  guard_fill() writes a
 * pattern over all of them once the reset is done; guard_check(), a while
 * later, finds it intact.
 */
#define GUARD_BYTE  0xa5

typedef struct Guard {
    uint64_t addr;
    size_t len;
} Guard;

static GArray *guard_fill(QVirtioVideo *v, GPtrArray *res)
{
    QTestState *qts = qvirtio_video_qts(v);
    GArray *g = g_array_new(false, false, sizeof(Guard));
    Guard ring = { v->cmdq->used, 4 + 8 * v->cmdq->size + 2 };
    guint i, k;

    g_array_append_val(g, ring);
    for (i = 0; i < res->len; i++) {
        VvcResource *r = g_ptr_array_index(res, i);

        for (k = 0; k < r->num_entries; k++) {
            Guard e = { r->entry_addr[k], r->entry_len[k] };

            g_array_append_val(g, e);
        }
    }
    for (i = 0; i < g->len; i++) {
        Guard *e = &g_array_index(g, Guard, i);

        qtest_memset(qts, e->addr, GUARD_BYTE, e->len);
    }
    return g;
}

static void guard_check(QVirtioVideo *v, GArray *g)
{
    QTestState *qts = qvirtio_video_qts(v);
    guint i;

    for (i = 0; i < g->len; i++) {
        Guard *e = &g_array_index(g, Guard, i);
        g_autofree uint8_t *buf = g_malloc(e->len);
        size_t k;

        qtest_bufread(qts, e->addr, buf, e->len);
        for (k = 0; k < e->len; k++) {
            if (buf[k] != GUARD_BYTE) {
                g_error("the device wrote guest memory after the reset: "
                        "byte %zu of 0x%" PRIx64 "+%zu (%s)", k, e->addr,
                        e->len, i ? "a buffer" : "the old used ring");
            }
        }
    }
}

/* Bring the device up again after a reset, as a driver would. */
static void restart(QVirtioVideo *v)
{
    uint64_t features = qvirtio_get_features(v->vdev);

    qvirtio_start_device(v->vdev);
    qvirtio_set_features(v->vdev, features & QVIRTIO_VIDEO_DRIVER_FEATURES);
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, v->alloc);
    qvirtqueue_cleanup(v->vdev->bus, v->eventq, v->alloc);
    v->cmdq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    v->eventq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_EVENT);
    qvirtio_set_driver_ok(v->vdev);
    qvirtio_video_queues_init(v);
}

/*
 * Start @n H.264 streams: input queued, and once the first headers are
 * out, output buffers queued too.  Returns without waiting for pictures:
 * the workers are busy.
 */
static void start_streams(VvcClient *c, GPtrArray *units, unsigned n,
                          GPtrArray *res)
{
    unsigned k, i, events = 0;
    size_t in_size = 0;

    for (i = 0; i < units->len; i++) {
        in_size = MAX(in_size, ((VvcUnit *)g_ptr_array_index(units, i))->len);
    }
    for (k = 1; k <= n; k++) {
        VvcParams p = { .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                        .format = VIRTIO_VIDEO_FORMAT_H264, .num_planes = 1,
                        .plane_size = { in_size } };

        g_assert_cmphex(vvc_stream_create(c, k, 1, 1,
                                          VIRTIO_VIDEO_FORMAT_H264, "reset"),
                        ==, VIRTIO_VIDEO_RESP_OK_NODATA);
        g_assert_cmphex(vvc_set_params(c, k, &p, true), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        for (i = 0; i < 8; i++) {
            VvcUnit *u = g_ptr_array_index(units, i);
            VvcResource *r = vvc_resource_alloc(
                c, k, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, in_size, true, false);
            uint32_t len = u->len;

            g_assert_cmphex(vvc_resource_create(c, r), ==,
                            VIRTIO_VIDEO_RESP_OK_NODATA);
            vvc_resource_write(c, r, u->data, u->len);
            vvc_resource_queue_async(c, k, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                     r->id, i, 1, &len);
            g_ptr_array_add(res, r);
        }
    }
    while (events < n) {
        g_autoptr(VvcMsg) m = vvc_next(c, 60000);
        VvcParams p;
        size_t size = 0;

        g_assert_nonnull(m);
        if (!m->is_event) {
            continue;
        }
        g_assert_cmphex(m->type, ==,
                        VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
        events++;
        g_assert_cmphex(vvc_get_params(c, m->stream_id,
                                       VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true,
                                       &p), ==,
                        VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
        for (i = 0; i < p.num_planes; i++) {
            size += p.plane_size[i];
        }
        for (i = 0; i < 4; i++) {
            VvcResource *r = vvc_resource_alloc(
                c, m->stream_id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, size, false,
                false);

            g_assert_cmphex(vvc_resource_create(c, r), ==,
                            VIRTIO_VIDEO_RESP_OK_NODATA);
            vvc_resource_queue_async(c, m->stream_id,
                                     VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, r->id,
                                     0, 1, &(uint32_t){0});
            g_ptr_array_add(res, r);
        }
    }
}

/*
 * Two decode streams busy with buffers queued, then a device reset: no
 * crash, nothing written to the old ring or any buffer afterwards
 * (guard_fill()), and the device decodes again after the driver restarts
 * it.  Repeated with the reset at several points (at once, during
 * decoding, later).
 */
static void test_reset_busy(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(GPtrArray) units = test_units(40);
    unsigned round;

    for (round = 0; round < 3; round++) {
        VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
        g_autoptr(GPtrArray) res = g_ptr_array_new();
        g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
        g_autofree char *err = NULL;
        VvcDecodeOpts o = { .coded_format = VIRTIO_VIDEO_FORMAT_H264 };
        g_autoptr(GArray) guards = NULL;
        VvcDecoder *d;
        guint i;

        vvc_set_timeout(c, 60000);
        start_streams(c, units, 2, res);
        g_usleep(round * 40 * 1000);

        qvirtio_reset(v->vdev);
        guards = guard_fill(v, res);
        g_usleep(300 * 1000);
        guard_check(v, guards);

        for (i = 0; i < res->len; i++) {
            vvc_resource_release(c, g_ptr_array_index(res, i));
        }
        vvc_free(c);
        restart(v);

        /* a whole decode works after the restart, same stream ids */
        c = vvc_new(&qvirtio_video_vvc_ops, v);
        vvc_set_timeout(c, 60000);
        d = vvc_decoder_new(c, units, &o, frames, &err);
        if (!d) {
            g_error("decoder after reset %u: %s", round, err);
        }
        if (!vvc_decoders_run(c, &d, 1, &err)) {
            g_error("decode after reset %u: %s", round, err);
        }
        g_assert_cmpuint(frames->len, ==, units->len);
        vvc_decoder_free(d);
        vvc_free(c);
    }
}

/*
 * system_reset with two decode streams busy: the device is reset with the
 * machine, and nothing is written to the old rings afterwards.
 */
static void test_system_reset_busy(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QTestState *qts = qvirtio_video_qts(v);
    g_autoptr(GPtrArray) units = test_units(40);
    g_autoptr(GPtrArray) res = g_ptr_array_new();
    g_autoptr(GArray) guards = NULL;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    guint i;

    vvc_set_timeout(c, 60000);
    start_streams(c, units, 2, res);
    qtest_qmp_assert_success(qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(qts, "RESET");
    guards = guard_fill(v, res);
    g_usleep(300 * 1000);
    guard_check(v, guards);
    qtest_qmp_assert_success(qts, "{'execute': 'query-status'}");
    for (i = 0; i < res->len; i++) {
        vvc_resource_release(c, g_ptr_array_index(res, i));
    }
    vvc_free(c);
}

/* The same for an encoder busy with frames. */
static void test_reset_busy_encoder(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcEncodeCase t = {
        .format = VIRTIO_VIDEO_FORMAT_H264,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 10,
        .force_keyframe_at = -1, .bitrate_change_at = -1,
    };
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autofree char *err = NULL;
    VvcEncodeResult r;
    g_autoptr(GPtrArray) none = g_ptr_array_new();
    g_autoptr(GArray) guards = NULL;

    /* the runner's timeout cuts it short with frames queued */
    vvc_set_timeout(c, 1);
    vvc_encode_run(c, 1, &t, &r, &err);
    g_array_free(r.keyframes, true);
    vvc_free(c);

    /* the runner freed its buffers: the old used ring is guarded */
    qvirtio_reset(v->vdev);
    guards = guard_fill(v, none);
    g_usleep(300 * 1000);
    guard_check(v, guards);
    restart(v);

    c = vvc_new(&qvirtio_video_vvc_ops, v);
    vvc_set_timeout(c, 60000);
    g_clear_pointer(&err, g_free);
    if (!vvc_encode_run(c, 1, &t, &r, &err)) {
        g_error("encode after reset: %s", err);
    }
    g_assert_cmpuint(r.packets, ==, t.frames);
    g_array_free(r.keyframes, true);
    vvc_free(c);
}

/*
 * device_del of a device whose streams are busy (decoder: two streams with
 * buffers queued; encoder: frames queued): QEMU carries on, and the other
 * device decodes a whole clip afterwards.
 */
static void test_unplug_busy(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QTestState *qts = qvirtio_video_qts(v);
    bool encoder = !strcmp(data, "encoder");
    g_autoptr(GPtrArray) units = test_units(40);
    g_autoptr(GPtrArray) res = g_ptr_array_new();
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autofree char *err = NULL;
    VvcDecodeOpts o = { .coded_format = VIRTIO_VIDEO_FORMAT_H264 };
    QVirtioVideo *hp;
    VvcClient *c;
    guint i;

    if (v->pdev->bus->not_hotpluggable) {
        g_test_skip("pci bus does not support hotplug");
        return;
    }
    qtest_qmp_device_add(qts, "virtio-video-pci", "vv-hp",
                         "{'addr': %s, 'mode': %s}",
                         stringify(PCI_SLOT_HP), (const char *)data);
    hp = qvirtio_video_pci_attach(v->pdev->bus, alloc, PCI_SLOT_HP, encoder);
    c = vvc_new(&qvirtio_video_vvc_ops, hp);
    if (encoder) {
        VvcEncodeCase t = {
            .format = VIRTIO_VIDEO_FORMAT_H264,
            .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
            .width = 320, .height = 240, .fps = 30, .frames = 10,
            .force_keyframe_at = -1, .bitrate_change_at = -1,
        };
        VvcEncodeResult r;

        /* the runner's timeout cuts it short with frames queued */
        vvc_set_timeout(c, 1);
        vvc_encode_run(c, 1, &t, &r, &err);
        g_array_free(r.keyframes, true);
    } else {
        vvc_set_timeout(c, 60000);
        start_streams(c, units, 2, res);
    }

    qpci_unplug_acpi_device_test(qts, "vv-hp", PCI_SLOT_HP);
    /* guest memory goes back to the allocator; the device is gone */
    for (i = 0; i < res->len; i++) {
        vvc_resource_release(c, g_ptr_array_index(res, i));
    }
    vvc_free(c);
    qvirtio_video_pci_forget(hp);

    if (encoder) {
        return;     /* the node's device is an encoder: enough that QEMU runs */
    }
    c = vvc_new(&qvirtio_video_vvc_ops, v);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_units(c, units, &o, frames, &err)) {
        g_error("decode after unplug: %s", err);
    }
    g_assert_cmpuint(frames->len, ==, units->len);
    vvc_free(c);
}

/* Hot-plug a second device of each mode and unplug it again. */
static void test_hotplug(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QTestState *qts = qvirtio_video_qts(v);
    const char *mode = data;

    if (v->pdev->bus->not_hotpluggable) {
        g_test_skip("pci bus does not support hotplug");
        return;
    }
    qtest_qmp_device_add(qts, "virtio-video-pci", "vv-hp",
                         "{'addr': %s, 'mode': %s}",
                         stringify(PCI_SLOT_HP), mode);
    qpci_unplug_acpi_device_test(qts, "vv-hp", PCI_SLOT_HP);
}

static void register_virtio_video_reset_test(void)
{
    QOSGraphTestOptions dec = { .arg = (void *)"decoder" };
    QOSGraphTestOptions enc = { .arg = (void *)"encoder" };

    qos_add_test("reset-busy", "virtio-video-decoder", test_reset_busy,
                 NULL);
    qos_add_test("reset-busy", "virtio-video-encoder",
                 test_reset_busy_encoder, NULL);
    qos_add_test("hotplug-decoder", "virtio-video-decoder", test_hotplug,
                 &dec);
    qos_add_test("hotplug-encoder", "virtio-video-encoder", test_hotplug,
                 &enc);
    qos_add_test("unplug-busy", "virtio-video-decoder", test_unplug_busy,
                 &dec);
    qos_add_test("system-reset-busy", "virtio-video-decoder",
                 test_system_reset_busy, NULL);
    qos_add_test("unplug-busy", "virtio-video-encoder", test_unplug_busy,
                 &enc);
}

libqos_init(register_virtio_video_reset_test);
