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
#include "standard-headers/linux/virtio_ring.h"
#include "qgraph.h"
#include "virtio-video.h"

#define QVIRTIO_VIDEO_TIMEOUT_US (30 * 1000 * 1000)

QTestState *qvirtio_video_qts(QVirtioVideo *v)
{
    return v->pdev->bus->qts;
}

void qvirtio_video_set_qts(QVirtioVideo *v, QTestState *qts)
{
    v->pdev->bus->qts = qts;
}

/*
 * Split-ring driver.  Descriptors of the command queue come from a free
 * list and go back to it when their chain is used; the event queue holds
 * VV_EVENT_BUFS 8-byte buffers, descriptor i for buffer i, re-posted as
 * soon as they are read.
 */
#define VV_EVENT_BUFS       16
#define VRING_DESC_SIZE     16

typedef struct QVVSlot {
    uint64_t req;
    uint64_t resp;
    uint32_t resp_size;
    uint32_t ndesc;
    bool busy;
} QVVSlot;

struct QVirtioVideoDriver {
    QVirtQueue *cmdq;
    uint32_t size;              /* of cmdq */
    uint16_t *next;             /* free list and chain links, by index */
    uint32_t free_head;
    uint32_t num_free;
    QVVSlot *slot;              /* by chain head */
    uint64_t ev_buf;
    uint32_t n_ev;
};

static void drv_free(QVirtioVideo *v)
{
    QVirtioVideoDriver *drv = v->drv;
    uint32_t i;

    if (!drv) {
        return;
    }
    for (i = 0; i < drv->size; i++) {
        if (drv->slot[i].busy) {
            guest_free(v->alloc, drv->slot[i].req);
            if (drv->slot[i].resp) {
                guest_free(v->alloc, drv->slot[i].resp);
            }
        }
    }
    if (drv->ev_buf) {
        guest_free(v->alloc, drv->ev_buf);
    }
    g_free(drv->next);
    g_free(drv->slot);
    g_free(drv);
    v->drv = NULL;
}

void qvirtio_video_queues_init(QVirtioVideo *v)
{
    QTestState *qts = qvirtio_video_qts(v);
    QVirtioVideoDriver *drv;
    uint32_t i;

    drv_free(v);
    drv = v->drv = g_new0(QVirtioVideoDriver, 1);
    drv->cmdq = v->cmdq;
    drv->size = v->cmdq->size;
    drv->next = g_new0(uint16_t, v->cmdq->size);
    drv->slot = g_new0(QVVSlot, v->cmdq->size);
    for (i = 0; i < v->cmdq->size; i++) {
        drv->next[i] = i + 1;
    }
    drv->free_head = 0;
    drv->num_free = v->cmdq->size;

    drv->n_ev = MIN(VV_EVENT_BUFS, v->eventq->size);
    drv->ev_buf = guest_alloc(v->alloc, 8 * drv->n_ev);
    for (i = 0; i < drv->n_ev; i++) {
        uint64_t d = v->eventq->desc + VRING_DESC_SIZE * i;

        qtest_writeq(qts, d, drv->ev_buf + 8 * i);
        qtest_writel(qts, d + 8, 8);
        qtest_writew(qts, d + 12, VRING_DESC_F_WRITE);
        qtest_writew(qts, d + 14, 0);
        qvirtqueue_kick(qts, v->vdev, v->eventq, i);
    }
}

/* Post a command chain; returns its head. */
static uint32_t drv_submit(QVirtioVideo *v, const void *req, size_t req_len,
                           size_t split, size_t resp_size)
{
    QTestState *qts = qvirtio_video_qts(v);
    QVirtioVideoDriver *drv = v->drv;
    size_t nreq, n, k;
    uint32_t head, prev = 0, idx;
    uint64_t req_addr, resp_addr = 0;

    g_assert(drv && drv->cmdq == v->cmdq);
    g_assert_cmpuint(req_len, >, 0);
    if (!split) {
        split = req_len;
    }
    nreq = (req_len + split - 1) / split;
    n = nreq + (resp_size ? 1 : 0);
    g_assert_cmpuint(n, <=, drv->num_free);

    req_addr = guest_alloc(v->alloc, req_len);
    if (req_len >= 64) {
        qtest_bufwrite(qts, req_addr, req, req_len);
    } else {
        qtest_memwrite(qts, req_addr, req, req_len);
    }
    if (resp_size) {
        resp_addr = guest_alloc(v->alloc, resp_size);
        qtest_memset(qts, resp_addr, 0, resp_size);
    }

    head = drv->free_head;
    for (k = 0; k < n; k++) {
        bool is_resp = k == nreq;
        uint64_t d;

        idx = drv->free_head;
        drv->free_head = drv->next[idx];
        drv->num_free--;
        if (k) {
            drv->next[prev] = idx;
            qtest_writew(qts, v->cmdq->desc + VRING_DESC_SIZE * prev + 14,
                         idx);
        }
        d = v->cmdq->desc + VRING_DESC_SIZE * idx;
        if (is_resp) {
            qtest_writeq(qts, d, resp_addr);
            qtest_writel(qts, d + 8, resp_size);
        } else {
            qtest_writeq(qts, d, req_addr + k * split);
            qtest_writel(qts, d + 8, MIN(split, req_len - k * split));
        }
        qtest_writew(qts, d + 12, (k + 1 < n ? VRING_DESC_F_NEXT : 0) |
                                  (is_resp ? VRING_DESC_F_WRITE : 0));
        prev = idx;
    }
    drv->slot[head] = (QVVSlot) {
        .req = req_addr,
        .resp = resp_addr,
        .resp_size = resp_size,
        .ndesc = n,
        .busy = true,
    };
    qvirtqueue_kick(qts, v->vdev, v->cmdq, head);
    return head;
}

/* The next used element of @vq, if any. */
static bool drv_used(QTestState *qts, QVirtQueue *vq, bool peek,
                     uint32_t *id, uint32_t *len)
{
    uint16_t idx = qtest_readw(qts, vq->used + 2);
    uint64_t elem;

    if (idx == vq->last_used_idx) {
        return false;
    }
    if (peek) {
        return true;
    }
    elem = vq->used + 4 + (vq->last_used_idx % vq->size) * 8;
    *id = qtest_readl(qts, elem);
    *len = qtest_readl(qts, elem + 4);
    vq->last_used_idx++;
    return true;
}

/* A command chain was used: copy the response and free everything. */
static void drv_complete(QVirtioVideo *v, uint32_t head, uint32_t used,
                         void *buf, size_t buf_size)
{
    QTestState *qts = qvirtio_video_qts(v);
    QVirtioVideoDriver *drv = v->drv;
    QVVSlot *s;
    uint32_t i, k;

    g_assert_cmpuint(head, <, v->cmdq->size);
    s = &drv->slot[head];
    g_assert(s->busy);
    if (buf && s->resp_size) {
        size_t n = MIN(MIN(used, s->resp_size), buf_size);

        if (n >= 64) {
            qtest_bufread(qts, s->resp, buf, n);
        } else if (n) {
            qtest_memread(qts, s->resp, buf, n);
        }
    }
    guest_free(v->alloc, s->req);
    if (s->resp) {
        guest_free(v->alloc, s->resp);
    }
    for (i = head, k = 0; k < s->ndesc; k++) {
        uint32_t nx = drv->next[i];

        drv->next[i] = drv->free_head;
        drv->free_head = i;
        drv->num_free++;
        i = nx;
    }
    s->busy = false;
}

uint32_t qvirtio_video_cmd_split(QVirtioVideo *v, const void *req,
                                 size_t req_len, size_t split,
                                 void *resp, size_t resp_size)
{
    QTestState *qts = qvirtio_video_qts(v);
    gint64 deadline = g_get_monotonic_time() + QVIRTIO_VIDEO_TIMEOUT_US;
    uint32_t head = drv_submit(v, req, req_len, split, resp_size);
    uint32_t id, used_len;

    while (!drv_used(qts, v->cmdq, false, &id, &used_len)) {
        g_assert(g_get_monotonic_time() < deadline);
        g_usleep(100);
    }
    /* synchronous: nothing else is in flight */
    g_assert_cmpuint(id, ==, head);
    if (resp_size) {
        g_assert_cmpuint(used_len, <=, resp_size);
        memset(resp, 0, resp_size);
    }
    drv_complete(v, head, used_len, resp, resp_size);
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
    uint32_t id, len;

    drv_submit(v, &req, sizeof(req), 0, qvirtio_video_max_caps_length(v));
    /* the chain stays posted if it is not used: queues_init reclaims it */
    return drv_used(qts, v->cmdq, false, &id, &len);
}

/* VvcOps: the client's view of this device */

static uint64_t vvc_q_alloc(void *opaque, size_t size)
{
    QVirtioVideo *v = opaque;

    return guest_alloc(v->alloc, size);
}

static void vvc_q_free(void *opaque, uint64_t addr)
{
    QVirtioVideo *v = opaque;

    guest_free(v->alloc, addr);
}

static void vvc_q_memwrite(void *opaque, uint64_t addr, const void *buf,
                           size_t len)
{
    QTestState *qts = qvirtio_video_qts(opaque);

    if (len >= 64) {
        qtest_bufwrite(qts, addr, buf, len);
    } else if (len) {
        qtest_memwrite(qts, addr, buf, len);
    }
}

static void vvc_q_memread(void *opaque, uint64_t addr, void *buf, size_t len)
{
    QTestState *qts = qvirtio_video_qts(opaque);

    if (len >= 64) {
        qtest_bufread(qts, addr, buf, len);
    } else if (len) {
        qtest_memread(qts, addr, buf, len);
    }
}

static uint32_t vvc_q_submit(void *opaque, const void *req, size_t req_len,
                             size_t resp_size)
{
    return drv_submit(opaque, req, req_len, 0, resp_size);
}

static int vvc_q_wait(void *opaque, uint32_t *tag, void *buf,
                      size_t buf_size, uint32_t *used_len, int timeout_ms)
{
    QVirtioVideo *v = opaque;
    QTestState *qts = qvirtio_video_qts(v);
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    uint32_t id, len;

    for (;;) {
        if (drv_used(qts, v->cmdq, false, &id, &len)) {
            drv_complete(v, id, len, buf, buf_size);
            *tag = id;
            *used_len = len;
            v->poll_us = 0;
            return VVC_WAIT_COMPLETION;
        }
        if (drv_used(qts, v->eventq, true, NULL, NULL)) {
            /*
             * The device may have completed a command just before it sent
             * the event: deliver that first, keeping their order.
             */
            if (drv_used(qts, v->cmdq, true, NULL, NULL)) {
                continue;
            }
            drv_used(qts, v->eventq, false, &id, &len);
            g_assert_cmpuint(id, <, v->drv->n_ev);
            memset(buf, 0, MIN(buf_size, 8));
            qtest_memread(qts, v->drv->ev_buf + 8 * id, buf,
                          MIN(buf_size, 8));
            *used_len = len;
            /* give the buffer back */
            qvirtqueue_kick(qts, v->vdev, v->eventq, id);
            v->poll_us = 0;
            return VVC_WAIT_EVENT;
        }
        if (g_get_monotonic_time() >= deadline) {
            return VVC_WAIT_TIMEOUT;
        }
        /*
         * Back off while the device is busy: every poll costs this process
         * and QEMU's main loop a qtest round trip, CPU the device's worker
         * threads would otherwise get (make bench).
         */
        v->poll_us = CLAMP(v->poll_us * 2, 50, 2000);
        g_usleep(v->poll_us);
    }
}

const VvcOps qvirtio_video_vvc_ops = {
    .alloc = vvc_q_alloc,
    .free = vvc_q_free,
    .memwrite = vvc_q_memwrite,
    .memread = vvc_q_memread,
    .submit = vvc_q_submit,
    .wait = vvc_q_wait,
};

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

    uint64_t want = QVIRTIO_VIDEO_DRIVER_FEATURES;

    if (v->objects) {
        want |= 1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT;
    }
    qvirtio_set_features(v->vdev, features & want);
    v->cmdq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    v->eventq = qvirtqueue_setup(v->vdev, v->alloc, VIRTIO_VIDEO_QUEUE_EVENT);
    qvirtio_set_driver_ok(v->vdev);
    qvirtio_video_queues_init(v);
}

static void qvirtio_video_cleanup(QVirtioVideo *v)
{
    drv_free(v);
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, v->alloc);
    qvirtqueue_cleanup(v->vdev->bus, v->eventq, v->alloc);
    v->cmdq = v->eventq = NULL;
}

static void *qvirtio_video_pci_get_driver(void *object, const char *interface)
{
    QVirtioVideoPCI *p = object;

    if (!g_strcmp0(interface, "virtio-video") ||
        !g_strcmp0(interface, "virtio-video-decoder") ||
        !g_strcmp0(interface, "virtio-video-encoder") ||
        !g_strcmp0(interface, "virtio-video-av1") ||
        g_str_has_prefix(interface, "virtio-video-caps") ||
        !g_strcmp0(interface, "virtio-video-mig-small") ||
        g_str_has_prefix(interface, "virtio-video-bench") ||
        g_str_has_prefix(interface, "virtio-video-gpu")) {
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

/* A decoder that takes virtio objects, next to a virtio-gpu exporting them */
static void *virtio_video_pci_objects_common(void *pci_bus,
                                             QGuestAllocator *alloc,
                                             void *addr, bool encoder)
{
    QVirtioVideoPCI *p = virtio_video_pci_create_common(pci_bus, alloc, addr,
                                                        encoder);

    p->video.objects = true;
    return p;
}

static void *virtio_video_pci_objects_create(void *pci_bus,
                                             QGuestAllocator *alloc,
                                             void *addr)
{
    return virtio_video_pci_objects_common(pci_bus, alloc, addr, false);
}

static void *virtio_video_pci_objects_encoder_create(void *pci_bus,
                                                     QGuestAllocator *alloc,
                                                     void *addr)
{
    return virtio_video_pci_objects_common(pci_bus, alloc, addr, true);
}

QVirtioVideo *qvirtio_video_pci_attach(QPCIBus *bus, QGuestAllocator *alloc,
                                       int slot, bool encoder)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(slot, 0) };
    QVirtioVideoPCI *p = virtio_video_pci_create_common(bus, alloc, &addr,
                                                        encoder);

    qvirtio_video_pci_start_hw(&p->pci_vdev.obj);
    return &p->video;
}

void qvirtio_video_pci_forget(QVirtioVideo *v)
{
    QVirtioVideoPCI *p = container_of(v, QVirtioVideoPCI, video);

    drv_free(v);
    g_free(v->cmdq);
    g_free(v->eventq);
    g_free(p->pci_vdev.pdev);
    g_free(p);
}

/*
 * One node per configuration.  Tests for every device take "virtio-video";
 * decoder and encoder tests take "virtio-video-decoder"/"-encoder" (so
 * they neither run nor skip on the other mode); AV1 clips take
 * "virtio-video-av1", a decoder with av1=on.
 */
static void register_node_with(const char *name, const char *opts,
                               const char *before, QOSCreateDriverFunc create,
                               const char *iface, bool generic)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(4, 0),
    };
    QOSGraphEdgeOptions edge = {
        .extra_device_opts = opts,
        .before_cmd_line = before,
    };

    add_qpci_address(&edge, &addr);
    qos_node_create_driver_named(name, "virtio-video-pci", create);
    qos_node_consumes(name, "pci-bus", &edge);
    qos_node_produces(name, iface);
    if (generic) {
        qos_node_produces(name, "pci-device");
        qos_node_produces(name, "virtio");
        qos_node_produces(name, "virtio-video");
    }
}

static void register_node(const char *name, const char *opts,
                          QOSCreateDriverFunc create, const char *iface,
                          bool generic)
{
    register_node_with(name, opts, NULL, create, iface, generic);
}

static void virtio_video_register_nodes(void)
{
    register_node("virtio-video-pci", "addr=04.0", virtio_video_pci_create,
                  "virtio-video-decoder", true);
    register_node("virtio-video-pci-encoder", "addr=04.0,mode=encoder",
                  virtio_video_pci_encoder_create, "virtio-video-encoder",
                  true);
    register_node("virtio-video-pci-av1", "addr=04.0,av1=on",
                  virtio_video_pci_create, "virtio-video-av1", false);
    /* virtio-video-caps-test.c: small resource caps */
    register_node("virtio-video-pci-caps",
                  "addr=04.0,max-streams=2,max-resources=4,max-queued=2,"
                  "max-sg-entries=8,max-mapped-mb=16,max-bitstream-mb=2",
                  virtio_video_pci_create, "virtio-video-caps", false);
    register_node("virtio-video-pci-caps-size",
                  "addr=04.0,max-width=352,max-height=288",
                  virtio_video_pci_create, "virtio-video-caps-size", false);
    register_node("virtio-video-pci-caps-enc",
                  "addr=04.0,mode=encoder,max-width=352,max-height=288",
                  virtio_video_pci_encoder_create, "virtio-video-caps-enc",
                  false);
    /* virtio-video-migrate-test.c: a small migration history */
    register_node("virtio-video-pci-mig-small",
                  "addr=04.0,migrate-history-mb=1",
                  virtio_video_pci_create, "virtio-video-mig-small", false);
    /* virtio-video-gpu-test.c: decoding into virtio-gpu resources */
    register_node_with("virtio-video-pci-gpu", "addr=04.0",
                       "-device virtio-gpu-pci,resource_uuid=on,addr=05.0",
                       virtio_video_pci_objects_create, "virtio-video-gpu",
                       false);
    register_node_with("virtio-video-pci-gpu-enc", "addr=04.0,mode=encoder",
                       "-device virtio-gpu-pci,resource_uuid=on,addr=05.0",
                       virtio_video_pci_objects_encoder_create,
                       "virtio-video-gpu-enc", false);
    /* make bench: fixed codec thread counts, an id for x-stats */
    register_node("virtio-video-pci-bench1",
                  "addr=04.0,id=vvbench,codec-threads=1",
                  virtio_video_pci_create, "virtio-video-bench1", false);
    register_node("virtio-video-pci-bench2",
                  "addr=04.0,id=vvbench,codec-threads=2",
                  virtio_video_pci_create, "virtio-video-bench2", false);
    register_node("virtio-video-pci-bench-enc",
                  "addr=04.0,id=vvbench,mode=encoder,codec-threads=1",
                  virtio_video_pci_encoder_create, "virtio-video-bench-enc",
                  false);
}

libqos_init(virtio_video_register_nodes);
