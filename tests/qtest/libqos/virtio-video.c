/*
 * libqos driver for virtio-video-pci (decoder and encoder)
 *
 * Two graph nodes share this driver: "virtio-video-pci" (the default
 * decoder) and "virtio-video-pci-encoder" (the same device with
 * mode=encoder).  Both produce the "virtio-video" interface.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qgraph.h"
#include "virtio-video.h"

#define QVIRTIO_VIDEO_TIMEOUT_US (30 * 1000 * 1000)

QTestState *qvirtio_video_qts(QVirtioVideo *v)
{
    return v->pdev->bus->qts;
}

uint32_t qvirtio_video_cmd_split(QVirtioVideo *v, const void *req,
                                 size_t req_len, size_t split,
                                 void *resp, size_t resp_size)
{
    QTestState *qts = qvirtio_video_qts(v);
    uint64_t req_addr, resp_addr = 0;
    uint32_t head = 0, used_len = 0;
    size_t off;
    bool first = true;

    g_assert_cmpuint(req_len, >, 0);
    req_addr = guest_alloc(v->alloc, req_len);
    qtest_memwrite(qts, req_addr, req, req_len);
    if (!split) {
        split = req_len;
    }
    for (off = 0; off < req_len; off += split) {
        size_t n = MIN(split, req_len - off);
        bool more = off + n < req_len || resp_size;
        uint32_t idx = qvirtqueue_add(qts, v->cmdq, req_addr + off, n,
                                      false, more);

        if (first) {
            head = idx;
            first = false;
        }
    }
    if (resp_size) {
        resp_addr = guest_alloc(v->alloc, resp_size);
        qtest_memset(qts, resp_addr, 0, resp_size);
        qvirtqueue_add(qts, v->cmdq, resp_addr, resp_size, true, false);
    }
    qvirtqueue_kick(qts, v->vdev, v->cmdq, head);
    qvirtio_wait_used_elem(qts, v->vdev, v->cmdq, head, &used_len,
                           QVIRTIO_VIDEO_TIMEOUT_US);
    if (resp_size) {
        g_assert_cmpuint(used_len, <=, resp_size);
        qtest_memread(qts, resp_addr, resp, resp_size);
        guest_free(v->alloc, resp_addr);
    }
    guest_free(v->alloc, req_addr);
    /* synchronous: nothing else is in flight, every descriptor is free */
    qvirtqueue_reset_pool(v->cmdq);
    return used_len;
}

uint32_t qvirtio_video_cmd(QVirtioVideo *v, const void *req, size_t req_len,
                           void *resp, size_t resp_size)
{
    return qvirtio_video_cmd_split(v, req, req_len, 0, resp, resp_size);
}

bool qvirtio_video_cmd_completes(QVirtioVideo *v)
{
    QTestState *qts = qvirtio_video_qts(v);
    struct virtio_video_query_capability req = {
        .hdr.type = cpu_to_le32(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY),
        .queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT),
    };
    uint32_t size = qvirtio_video_max_caps_length(v);
    uint64_t req_addr = guest_alloc(v->alloc, sizeof(req));
    uint64_t resp_addr = guest_alloc(v->alloc, size);
    uint32_t head, desc, len;
    bool done;

    qtest_memwrite(qts, req_addr, &req, sizeof(req));
    head = qvirtqueue_add(qts, v->cmdq, req_addr, sizeof(req), false, true);
    qvirtqueue_add(qts, v->cmdq, resp_addr, size, true, false);
    qvirtqueue_kick(qts, v->vdev, v->cmdq, head);
    done = qvirtqueue_get_buf(qts, v->cmdq, &desc, &len);
    guest_free(v->alloc, req_addr);
    guest_free(v->alloc, resp_addr);
    return done;
}

uint32_t qvirtio_video_max_caps_length(QVirtioVideo *v)
{
    return qvirtio_config_readl(v->vdev,
                                offsetof(struct virtio_video_config,
                                         max_caps_length));
}

void qvirtio_video_query_caps(QVirtioVideo *v, uint32_t queue_type,
                              QVVCaps *caps)
{
    struct virtio_video_query_capability req = {
        .hdr.type = cpu_to_le32(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY),
        .queue_type = cpu_to_le32(queue_type),
    };
    uint32_t size = qvirtio_video_max_caps_length(v);
    g_autofree uint8_t *resp = g_malloc(size);
    uint32_t used = qvirtio_video_cmd(v, &req, sizeof(req), resp, size);
    const char *err = qvv_caps_parse(resp, used, caps);

    if (err) {
        g_error("QUERY_CAPABILITY(0x%x), %u bytes: %s", queue_type, used, err);
    }
    /* the used length is exactly the response */
    g_assert_cmpuint(caps->len, ==, used);
}

static void qvirtio_video_setup(QVirtioVideo *v)
{
    uint64_t features = qvirtio_get_features(v->vdev);

    qvirtio_set_features(v->vdev, features & QVIRTIO_VIDEO_DRIVER_FEATURES);
    v->cmdq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    v->eventq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_EVENT);
    qvirtio_set_driver_ok(v->vdev);
}

static void qvirtio_video_cleanup(QVirtioVideo *v)
{
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, v->alloc);
    qvirtqueue_cleanup(v->vdev->bus, v->eventq, v->alloc);
    v->cmdq = v->eventq = NULL;
}

static void *qvirtio_video_pci_get_driver(void *object, const char *interface)
{
    QVirtioVideoPCI *p = object;

    if (!g_strcmp0(interface, "virtio-video")) {
        return &p->video;
    }
    if (!g_strcmp0(interface, "pci-device")) {
        return p->pci_vdev.pdev;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return p->video.vdev;
    }
    fprintf(stderr, "%s not present in virtio-video-pci\n", interface);
    g_assert_not_reached();
}

static void qvirtio_video_pci_start_hw(QOSGraphObject *obj)
{
    QVirtioVideoPCI *p = (QVirtioVideoPCI *)obj;

    qvirtio_pci_start_hw(&p->pci_vdev.obj);
    qvirtio_video_setup(&p->video);
}

static void qvirtio_video_pci_destructor(QOSGraphObject *obj)
{
    QVirtioVideoPCI *p = (QVirtioVideoPCI *)obj;

    qvirtio_video_cleanup(&p->video);
    qvirtio_pci_destructor(&p->pci_vdev.obj);
}

static void *virtio_video_pci_create_common(void *pci_bus,
                                            QGuestAllocator *alloc,
                                            void *addr, bool encoder)
{
    QVirtioVideoPCI *p = g_new0(QVirtioVideoPCI, 1);
    QOSGraphObject *obj = &p->pci_vdev.obj;

    virtio_pci_init(&p->pci_vdev, pci_bus, addr);
    p->video.vdev = &p->pci_vdev.vdev;
    p->video.pdev = p->pci_vdev.pdev;
    p->video.alloc = alloc;
    p->video.encoder = encoder;

    obj->get_driver = qvirtio_video_pci_get_driver;
    obj->start_hw = qvirtio_video_pci_start_hw;
    obj->destructor = qvirtio_video_pci_destructor;
    return obj;
}

static void *virtio_video_pci_create(void *pci_bus, QGuestAllocator *alloc,
                                     void *addr)
{
    return virtio_video_pci_create_common(pci_bus, alloc, addr, false);
}

static void *virtio_video_pci_encoder_create(void *pci_bus,
                                             QGuestAllocator *alloc,
                                             void *addr)
{
    return virtio_video_pci_create_common(pci_bus, alloc, addr, true);
}

static void virtio_video_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(4, 0),
    };
    QOSGraphEdgeOptions dec_opts = {
        .extra_device_opts = "addr=04.0",
    };
    QOSGraphEdgeOptions enc_opts = {
        .extra_device_opts = "addr=04.0,mode=encoder",
    };

    add_qpci_address(&dec_opts, &addr);
    qos_node_create_driver("virtio-video-pci", virtio_video_pci_create);
    qos_node_consumes("virtio-video-pci", "pci-bus", &dec_opts);
    qos_node_produces("virtio-video-pci", "pci-device");
    qos_node_produces("virtio-video-pci", "virtio");
    qos_node_produces("virtio-video-pci", "virtio-video");

    add_qpci_address(&enc_opts, &addr);
    qos_node_create_driver_named("virtio-video-pci-encoder",
                                 "virtio-video-pci",
                                 virtio_video_pci_encoder_create);
    qos_node_consumes("virtio-video-pci-encoder", "pci-bus", &enc_opts);
    qos_node_produces("virtio-video-pci-encoder", "pci-device");
    qos_node_produces("virtio-video-pci-encoder", "virtio");
    qos_node_produces("virtio-video-pci-encoder", "virtio-video");
}

libqos_init(virtio_video_register_nodes);
