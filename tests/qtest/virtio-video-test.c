/*
 * QTest testcases for virtio-video-pci, driven through its virtqueues
 *
 * Every test runs for both graph nodes: the decoder (default) and the
 * encoder (mode=encoder).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "hw/pci/pci_regs.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-video.h"

#define VIDEO_DECODER_ID    31
#define VIDEO_ENCODER_ID    30

static uint32_t hdr_type(const void *resp)
{
    return ldl_le_p(resp);
}

/* The request the malformed-input tests follow with: it must still work. */
static void assert_device_alive(QVirtioVideo *v)
{
    QVVCaps caps;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
    g_assert_cmpuint(caps.num_descs, >, 0);
}

static void test_pci_ids(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint16_t want_id = v->encoder ? VIDEO_ENCODER_ID : VIDEO_DECODER_ID;

    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_VENDOR_ID), ==, 0x1af4);
    /* modern-only virtio: 0x1040 + device ID */
    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_DEVICE_ID), ==,
                    0x1040 + want_id);
    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_CLASS_DEVICE), ==,
                    0x0400);
    g_assert_cmpuint(v->vdev->device_type, ==, want_id);
}

static void test_config(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    char name[33] = { 0 };
    size_t i;

    g_assert_cmpuint(qvirtio_config_readl(v->vdev, 0), ==, 0);  /* version */
    g_assert_cmpuint(qvirtio_video_max_caps_length(v), >=, 1024);
    g_assert_cmpuint(qvirtio_config_readl(v->vdev,
                         offsetof(struct virtio_video_config,
                                  max_resp_length)), >=, 1024);
    for (i = 0; i < 32; i++) {
        name[i] = qvirtio_config_readb(v->vdev, 12 + i);
    }
    /* the backend name, NUL padded */
    g_assert_cmpstr(name, ==, "libavcodec");
    for (i = strlen(name); i < 32; i++) {
        g_assert_cmpint(name[i], ==, 0);
    }
}

static void set_status(QVirtioPCIDevice *dev, uint8_t bits)
{
    uint64_t off = dev->common_cfg_offset +
                   offsetof(struct virtio_pci_common_cfg, device_status);

    qpci_io_writeb(dev->pdev, dev->bar, off,
                   qpci_io_readb(dev->pdev, dev->bar, off) | bits);
}

static void test_features(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QVirtioPCIDevice *dev = container_of(v->vdev, QVirtioPCIDevice, vdev);
    uint64_t offered = qvirtio_get_features(v->vdev);
    uint64_t common = dev->common_cfg_offset;
    uint8_t status;

    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES));
    g_assert_true(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG));
    /* no virtio-object (UUID) resources yet */
    g_assert_false(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT));

    /* start_hw negotiated the driver's set and the device accepted it */
    g_assert_cmphex(dev->vdev.features, ==,
                    offered & QVIRTIO_VIDEO_DRIVER_FEATURES);
    status = qpci_io_readb(dev->pdev, dev->bar, common +
                           offsetof(struct virtio_pci_common_cfg,
                                    device_status));
    g_assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_true(status & VIRTIO_CONFIG_S_DRIVER_OK);

    /*
     * A driver that does not accept VERSION_1 gets a device that does
     * nothing until reset.  libqos refuses to negotiate that, so write the
     * common config by hand.
     */
    qvirtio_start_device(v->vdev);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg,
                            guest_feature_select), 0);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg, guest_feature),
                   1u << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg,
                            guest_feature_select), 1);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg, guest_feature), 0);
    set_status(dev, VIRTIO_CONFIG_S_FEATURES_OK);
    dev->vdev.features = 1u << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES;
    dev->vdev.features_negotiated = true;
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, alloc);
    v->cmdq = qvirtqueue_setup(v->vdev, alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    set_status(dev, VIRTIO_CONFIG_S_DRIVER_OK);
    /* qtest runs the device synchronously: no completion means none */
    g_assert_false(qvirtio_video_cmd_completes(v));

    /* after a reset, a proper driver gets a working device again */
    qvirtio_start_device(v->vdev);
    qvirtio_set_features(v->vdev, offered & QVIRTIO_VIDEO_DRIVER_FEATURES);
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, alloc);
    v->cmdq = qvirtqueue_setup(v->vdev, alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    qvirtio_set_driver_ok(v->vdev);
    assert_device_alive(v);
}

/* What the product promises (README status table), per queue and mode. */
static const uint32_t dec_coded[] = {
    VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_HEVC,
    VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_VP9,
    VIRTIO_VIDEO_FORMAT_MPEG2, VIRTIO_VIDEO_FORMAT_MPEG4,
};
static const uint32_t dec_raw[] = {
    VIRTIO_VIDEO_FORMAT_NV12, VIRTIO_VIDEO_FORMAT_YUV420,
    VIRTIO_VIDEO_FORMAT_YVU420, VIRTIO_VIDEO_FORMAT_ARGB8888,
    VIRTIO_VIDEO_FORMAT_BGRA8888,
};
static const uint32_t enc_coded[] = {
    VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_HEVC,
    VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_VP9,
};
static const uint32_t enc_raw[] = {
    VIRTIO_VIDEO_FORMAT_NV12, VIRTIO_VIDEO_FORMAT_YUV420,
};

static void check_list(const QVVCaps *c, bool coded, const uint32_t *must,
                       size_t n_must, bool want_rates)
{
    uint32_t i, j;
    size_t k;

    for (k = 0; k < n_must; k++) {
        if (qvv_caps_find(c, must[k]) < 0) {
            g_error("format 0x%x missing", must[k]);
        }
    }
    for (i = 0; i < c->num_descs; i++) {
        const QVVFormat *f = &c->descs[i];

        g_test_message("format 0x%x mask 0x%" PRIx64 " frames %u", f->format,
                       f->mask, f->num_frames);
        g_assert_true(coded ? qvv_format_is_coded(f->format)
                            : qvv_format_is_raw(f->format));
        /* listed once */
        g_assert_cmpint(qvv_caps_find(c, f->format), ==, i);
        if (!coded) {
            g_assert_true(f->planes_layout &
                          VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
        }
        for (j = 0; j < f->num_frames; j++) {
            const QVVFrame *fr = &f->frames[j];

            /* at least CIF up to 1080p, and nothing absurd */
            g_assert_cmpuint(fr->width.min, <=, 320);
            g_assert_cmpuint(fr->height.min, <=, 240);
            g_assert_cmpuint(fr->width.max, >=, 1920);
            g_assert_cmpuint(fr->height.max, >=, 1080);
            g_assert_cmpuint(fr->width.max, <=, 16384);
            g_assert_cmpuint(fr->height.max, <=, 16384);
            /* V4L2 S_PARM on the encoder needs a rate range */
            g_assert_cmpuint(fr->num_rates > 0, ==, want_rates);
        }
    }
}

static void test_query_capability(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint32_t max = qvirtio_video_max_caps_length(v);
    QVVCaps in, out;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);
    g_assert_cmpuint(in.len, <=, max);
    g_assert_cmpuint(out.len, <=, max);

    if (v->encoder) {
        check_list(&in, false, enc_raw, G_N_ELEMENTS(enc_raw), true);
        check_list(&out, true, enc_coded, G_N_ELEMENTS(enc_coded), true);
        g_assert_cmphex(out.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    } else {
        check_list(&in, true, dec_coded, G_N_ELEMENTS(dec_coded), false);
        check_list(&out, false, dec_raw, G_N_ELEMENTS(dec_raw), false);
        /* the driver opens every stream with the first coded format */
        g_assert_cmphex(in.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    }
    g_assert_null(qvv_caps_check_masks(&in, &out));
}

/* The request split into 1-, 3- and 5-byte descriptors reads the same. */
static void test_descriptor_split(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    struct virtio_video_query_capability req = {
        .hdr.type = cpu_to_le32(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY),
        .queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
    };
    uint32_t size = qvirtio_video_max_caps_length(v);
    g_autofree uint8_t *whole = g_malloc(size);
    g_autofree uint8_t *split = g_malloc(size);
    static const size_t splits[] = { 1, 3, 5 };
    uint32_t len;
    size_t i;

    len = qvirtio_video_cmd(v, &req, sizeof(req), whole, size);
    g_assert_cmphex(hdr_type(whole), ==, VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY);
    for (i = 0; i < G_N_ELEMENTS(splits); i++) {
        g_assert_cmpuint(qvirtio_video_cmd_split(v, &req, sizeof(req),
                                                 splits[i], split, size),
                         ==, len);
        g_assert_cmpmem(split, len, whole, len);
    }
}

static void expect_error(QVirtioVideo *v, const void *req, size_t len,
                         uint32_t code)
{
    uint8_t resp[64];

    g_assert_cmpuint(qvirtio_video_cmd(v, req, len, resp, sizeof(resp)), ==,
                     sizeof(struct virtio_video_cmd_hdr));
    g_assert_cmphex(hdr_type(resp), ==, code);
    assert_device_alive(v);
}

static void test_bad_requests(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint8_t req[128] = { 0 };
    uint8_t resp[64];
    uint32_t type;

    /* shorter than the header */
    stl_le_p(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    expect_error(v, req, 4, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* shorter than QUERY_CAPABILITY */
    stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    expect_error(v, req, 12, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* bad queue_type */
    stl_le_p(req + 8, 0x1234);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* unknown command types */
    stl_le_p(req, 0x10f);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    stl_le_p(req, 0);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    stl_le_p(req, 0xdeadbeef);
    expect_error(v, req, sizeof(req), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);

    /* a response buffer too small for the capabilities: error, not a cut */
    stl_le_p(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, resp, 40), ==, 8);
    g_assert_cmphex(hdr_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* no response buffer at all: completed empty, queue keeps going */
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, NULL, 0), ==, 0);
    assert_device_alive(v);
    /* a response buffer shorter than a header: the same */
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, resp, 7), ==, 0);
    assert_device_alive(v);

    /* commands not implemented yet answer an error at once */
    for (type = VIRTIO_VIDEO_CMD_STREAM_CREATE;
         type <= VIRTIO_VIDEO_CMD_SET_PARAMS_EXT; type++) {
        memset(req, 0, sizeof(req));
        stl_le_p(req, type);
        stl_le_p(req + 4, 1);
        stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
        stl_le_p(req + 20, 1);          /* RESOURCE_CREATE: one plane... */
        stl_le_p(req + 56, 1);          /* ...with one entry */
        g_assert_cmpuint(qvirtio_video_cmd(v, req, sizeof(req), resp,
                                           sizeof(resp)), ==, 8);
        g_assert_cmphex(hdr_type(resp), >=,
                        VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
        g_assert_cmphex(hdr_type(resp), <=,
                        VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL);
    }
    assert_device_alive(v);
}

/* Many commands in a row: the ring wraps and nothing leaks or stalls. */
static void test_many_commands(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    int i;

    for (i = 0; i < 1500; i++) {
        QVVCaps caps;

        qvirtio_video_query_caps(v, i & 1 ? VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
                                          : VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                 &caps);
    }
}

static void register_virtio_video_test(void)
{
    qos_add_test("pci-ids", "virtio-video", test_pci_ids, NULL);
    qos_add_test("config", "virtio-video", test_config, NULL);
    qos_add_test("features", "virtio-video", test_features, NULL);
    qos_add_test("query-capability", "virtio-video", test_query_capability,
                 NULL);
    qos_add_test("descriptor-split", "virtio-video", test_descriptor_split,
                 NULL);
    qos_add_test("bad-requests", "virtio-video", test_bad_requests, NULL);
    qos_add_test("many-commands", "virtio-video", test_many_commands, NULL);
}

libqos_init(register_virtio_video_test);
