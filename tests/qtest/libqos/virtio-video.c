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
#include "qemu/atomic.h"
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
 * Guest memory.  Normally every access is a qtest round trip; with the
 * guest RAM mapped into this process (qvirtio_video_map_ram(), make bench)
 * it is a plain memory access, as for a real guest driver, and only the
 * queue notifications go through qtest.
 */
static void *ram_at(QVirtioVideo *v, uint64_t addr, size_t len)
{
    g_assert(addr <= v->ram_size && len <= v->ram_size - addr);
    return v->ram + addr;
}

static void mem_write(QVirtioVideo *v, uint64_t addr, const void *buf,
                      size_t len)
{
    QTestState *qts = qvirtio_video_qts(v);

    if (v->ram) {
        memcpy(ram_at(v, addr, len), buf, len);
    } else if (len >= 64) {
        qtest_bufwrite(qts, addr, buf, len);
    } else if (len) {
        qtest_memwrite(qts, addr, buf, len);
    }
}

static void mem_read(QVirtioVideo *v, uint64_t addr, void *buf, size_t len)
{
    QTestState *qts = qvirtio_video_qts(v);

    if (v->ram) {
        memcpy(buf, ram_at(v, addr, len), len);
    } else if (len >= 64) {
        qtest_bufread(qts, addr, buf, len);
    } else if (len) {
        qtest_memread(qts, addr, buf, len);
    }
}

static uint16_t mem_readw(QVirtioVideo *v, uint64_t addr)
{
    uint16_t val;

    if (!v->ram) {
        return qtest_readw(qvirtio_video_qts(v), addr);
    }
    val = lduw_le_p(ram_at(v, addr, 2));
    smp_rmb();              /* what the index covers is read after it */
    return val;
}

static void mem_writew(QVirtioVideo *v, uint64_t addr, uint16_t val)
{
    if (!v->ram) {
        qtest_writew(qvirtio_video_qts(v), addr, val);
        return;
    }
    smp_wmb();              /* what the index covers is written before it */
    stw_le_p(ram_at(v, addr, 2), val);
}

/* Notify the device of the chains drv_kick() deferred. */
static void drv_notify(QVirtioVideo *v)
{
    smp_mb();               /* the rings are written before the kick */
    if (v->cmdq_kick) {
        v->cmdq_kick = false;
        v->vdev->bus->virtqueue_kick(v->vdev, v->cmdq);
    }
    if (v->eventq_kick) {
        v->eventq_kick = false;
        v->vdev->bus->virtqueue_kick(v->vdev, v->eventq);
    }
}

/*
 * Make chain @head available.  Through qtest the device is notified at
 * once; with shared RAM the notification may wait for drv_notify(), so
 * that several chains cost one.
 */
static void drv_kick(QVirtioVideo *v, QVirtQueue *vq, uint32_t head,
                     bool defer)
{
    uint16_t idx;

    if (!v->ram) {
        qvirtqueue_kick(qvirtio_video_qts(v), v->vdev, vq, head);
        return;
    }
    idx = mem_readw(v, vq->avail + 2);
    mem_writew(v, vq->avail + 4 + 2 * (idx % vq->size), head);
    mem_writew(v, vq->avail + 2, idx + 1);
    if (vq == v->cmdq) {
        v->cmdq_kick = true;
    } else {
        v->eventq_kick = true;
    }
    if (!defer) {
        drv_notify(v);
    }
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

/*
 * Post a command chain; returns its head.  Each descriptor is written
 * whole (one round trip through qtest).
 */
static uint32_t drv_submit(QVirtioVideo *v, const void *req, size_t req_len,
                           size_t split, size_t resp_size, bool defer)
{
    QVirtioVideoDriver *drv = v->drv;
    size_t nreq, n, k;
    uint32_t head, idx;
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
    mem_write(v, req_addr, req, req_len);
    if (resp_size) {
        resp_addr = guest_alloc(v->alloc, resp_size);
        if (v->ram) {
            memset(ram_at(v, resp_addr, resp_size), 0, resp_size);
        } else {
            qtest_memset(qvirtio_video_qts(v), resp_addr, 0, resp_size);
        }
    }

    head = idx = drv->free_head;
    for (k = 0; k < n; k++) {
        bool is_resp = k == nreq;
        uint32_t next = drv->next[idx];
        uint8_t d[VRING_DESC_SIZE];

        drv->num_free--;
        stq_le_p(d, is_resp ? resp_addr : req_addr + k * split);
        stl_le_p(d + 8, is_resp ? resp_size : MIN(split, req_len - k * split));
        stw_le_p(d + 12, (k + 1 < n ? VRING_DESC_F_NEXT : 0) |
                         (is_resp ? VRING_DESC_F_WRITE : 0));
        /* the free list already links the chain's descriptors */
        stw_le_p(d + 14, k + 1 < n ? next : 0);
        mem_write(v, v->cmdq->desc + VRING_DESC_SIZE * idx, d, sizeof(d));
        drv->free_head = next;
        idx = next;
    }
    drv->slot[head] = (QVVSlot) {
        .req = req_addr,
        .resp = resp_addr,
        .resp_size = resp_size,
        .ndesc = n,
        .busy = true,
    };
    drv_kick(v, v->cmdq, head, defer);
    return head;
}

/* The next used element of @vq, if any. */
static bool drv_used(QVirtioVideo *v, QVirtQueue *vq, bool peek,
                     uint32_t *id, uint32_t *len)
{
    uint16_t idx = mem_readw(v, vq->used + 2);
    uint8_t elem[8];

    if (idx == vq->last_used_idx) {
        return false;
    }
    if (peek) {
        return true;
    }
    mem_read(v, vq->used + 4 + (vq->last_used_idx % vq->size) * 8, elem,
             sizeof(elem));
    *id = ldl_le_p(elem);
    *len = ldl_le_p(elem + 4);
    vq->last_used_idx++;
    return true;
}

/* A command chain was used: copy the response and free everything. */
static void drv_complete(QVirtioVideo *v, uint32_t head, uint32_t used,
                         void *buf, size_t buf_size)
{
    QVirtioVideoDriver *drv = v->drv;
    QVVSlot *s;
    uint32_t i, k;

    g_assert_cmpuint(head, <, v->cmdq->size);
    s = &drv->slot[head];
    g_assert(s->busy);
    if (buf && s->resp_size) {
        mem_read(v, s->resp, buf, MIN(MIN(used, s->resp_size), buf_size));
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
    gint64 deadline = g_get_monotonic_time() + QVIRTIO_VIDEO_TIMEOUT_US;
    uint32_t head = drv_submit(v, req, req_len, split, resp_size, false);
    uint32_t id, used_len;

    while (!drv_used(v, v->cmdq, false, &id, &used_len)) {
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
    struct virtio_video_query_capability req = {
        .hdr.type = cpu_to_le32(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY),
        .queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_INPUT),
    };
    uint32_t id, len;

    drv_submit(v, &req, sizeof(req), 0, qvirtio_video_max_caps_length(v),
               false);
    /* the chain stays posted if it is not used: queues_init reclaims it */
    return drv_used(v, v->cmdq, false, &id, &len);
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
    mem_write(opaque, addr, buf, len);
}

static void vvc_q_memread(void *opaque, uint64_t addr, void *buf, size_t len)
{
    mem_read(opaque, addr, buf, len);
}

/* Asynchronous: the device hears of it when the client next waits. */
static uint32_t vvc_q_submit(void *opaque, const void *req, size_t req_len,
                             size_t resp_size)
{
    return drv_submit(opaque, req, req_len, 0, resp_size, true);
}

static int vvc_q_wait(void *opaque, uint32_t *tag, void *buf,
                      size_t buf_size, uint32_t *used_len, int timeout_ms)
{
    QVirtioVideo *v = opaque;
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    uint32_t id, len;

    for (;;) {
        if (drv_used(v, v->cmdq, false, &id, &len)) {
            drv_complete(v, id, len, buf, buf_size);
            *tag = id;
            *used_len = len;
            v->poll_us = 0;
            return VVC_WAIT_COMPLETION;
        }
        if (drv_used(v, v->eventq, true, NULL, NULL)) {
            /*
             * The device may have completed a command just before it sent
             * the event: deliver that first, keeping their order.
             */
            if (drv_used(v, v->cmdq, true, NULL, NULL)) {
                continue;
            }
            drv_used(v, v->eventq, false, &id, &len);
            g_assert_cmpuint(id, <, v->drv->n_ev);
            memset(buf, 0, MIN(buf_size, 8));
            mem_read(v, v->drv->ev_buf + 8 * id, buf, MIN(buf_size, 8));
            *used_len = len;
            /* give the buffer back */
            drv_kick(v, v->eventq, id, false);
            v->poll_us = 0;
            return VVC_WAIT_EVENT;
        }
        /*
         * Nothing more to hand over: now the device hears of the chains
         * made available since the last wait, with one notification.
         */
        drv_notify(v);
        if (g_get_monotonic_time() >= deadline) {
            return VVC_WAIT_TIMEOUT;
        }
        /*
         * Back off while the device is busy: through qtest every poll costs
         * this process and QEMU's main loop a round trip, CPU the device's
         * worker threads would otherwise get; with shared RAM a poll is a
         * memory read, and only this process's wake-ups count.
         */
        v->poll_us = v->ram ? CLAMP(v->poll_us * 2, 20, 2000)
                            : CLAMP(v->poll_us * 2, 50, 2000);
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
        g_str_has_prefix(interface, "virtio-video-gpu") ||
        g_str_has_prefix(interface, "virtio-video-vaapi") ||
        g_str_has_prefix(interface, "virtio-video-auto-va")) {
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

    if (p->video.shared_ram) {
        /* as soon as QEMU runs: the file is unlinked once mapped */
        qvirtio_video_map_ram(&p->video);
    }
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
 * make bench: guest RAM in a file this process maps, so that the harness
 * reaches guest memory without qtest round trips (QEMU's main loop would
 * otherwise serve thousands of them per second, on the CPUs the codec
 * needs).  One file per qos-test process; the nodes' start_hw maps it
 * and unlinks it as soon as QEMU runs.
 */
#define BENCH_RAM_MB    256

static char *bench_ram_path(void)
{
    static char *path;

    if (!path) {
        path = g_strdup_printf("%s/qemu-virtio-video-bench-%d.ram",
                               g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ?
                               "/dev/shm" : g_get_tmp_dir(), getpid());
    }
    return path;
}

void qvirtio_video_map_ram(QVirtioVideo *v)
{
    static void *ram;
    static pid_t ram_pid;
    pid_t pid = qtest_pid(qvirtio_video_qts(v));
    size_t size = (size_t)BENCH_RAM_MB << 20;

    /* a QEMU reused for the next test keeps its (already unlinked) file */
    if (!ram || ram_pid != pid) {
        int fd = open(bench_ram_path(), O_RDWR);

        g_assert(fd >= 0);
        if (ram) {
            munmap(ram, size);
        }
        ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        g_assert(ram != MAP_FAILED);
        close(fd);
        unlink(bench_ram_path());
        ram_pid = pid;
    }
    v->ram = ram;
    v->ram_size = size;
}

static void *virtio_video_pci_bench_create(void *pci_bus,
                                           QGuestAllocator *alloc, void *addr)
{
    QVirtioVideoPCI *p = virtio_video_pci_create_common(pci_bus, alloc, addr,
                                                        false);

    p->video.shared_ram = true;
    return p;
}

static void *virtio_video_pci_bench_encoder_create(void *pci_bus,
                                                   QGuestAllocator *alloc,
                                                   void *addr)
{
    QVirtioVideoPCI *p = virtio_video_pci_create_common(pci_bus, alloc, addr,
                                                        true);

    p->video.shared_ram = true;
    return p;
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

/*
 * make check-media / bench / check-hw with BACKEND= (tests/backend-env.sh):
 * VIRTIO_VIDEO_DEVICE_OPTS goes after the default nodes' -device options,
 * and VIRTIO_VIDEO_TRACE_DIR collects which backend served each stream
 * (one log per QEMU).  Kept for the life of the graph.
 */
static const char *with_backend(const char *opts)
{
    const char *extra = g_getenv("VIRTIO_VIDEO_DEVICE_OPTS");

    return extra && *extra ? g_strconcat(opts, extra, NULL) : opts;
}

static const char *backend_trace(void)
{
    const char *dir = g_getenv("VIRTIO_VIDEO_TRACE_DIR");

    return dir && *dir ? g_strdup_printf("-trace virtio_video_stream_backend "
                                         "-D %s/qemu-%%d.log", dir) : NULL;
}

static void register_bench_node(const char *name, const char *opts,
                                QOSCreateDriverFunc create, const char *iface)
{
    g_autofree char *mem = g_strdup_printf(
        "-object memory-backend-file,id=vvbench-ram,size=%uM,mem-path=%s,"
        "share=on,prealloc=on -machine memory-backend=vvbench-ram -m %uM",
        BENCH_RAM_MB, bench_ram_path(), BENCH_RAM_MB);

    register_node_with(name, with_backend(opts), mem, create, iface, false);
}

static void virtio_video_register_nodes(void)
{
    register_node_with("virtio-video-pci", with_backend("addr=04.0"),
                       backend_trace(), virtio_video_pci_create,
                       "virtio-video-decoder", true);
    register_node_with("virtio-video-pci-encoder",
                       with_backend("addr=04.0,mode=encoder"),
                       backend_trace(), virtio_video_pci_encoder_create,
                       "virtio-video-encoder", true);
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
    /* virtio-video-test.c gpu-*: decoding into virtio-gpu resources */
    register_node_with("virtio-video-pci-gpu", "addr=04.0",
                       "-device virtio-gpu-pci,resource_uuid=on,addr=05.0",
                       virtio_video_pci_objects_create, "virtio-video-gpu",
                       false);
    register_node_with("virtio-video-pci-gpu-enc", "addr=04.0,mode=encoder",
                       "-device virtio-gpu-pci,resource_uuid=on,addr=05.0",
                       virtio_video_pci_objects_encoder_create,
                       "virtio-video-gpu-enc", false);
    /*
     * virtio-video-hw-test.c: the VA-API backend alone and with software
     * (auto), on the project's VA test driver, which takes /dev/null (the
     * tests' before hooks load and configure it)
     */
    register_node("virtio-video-pci-vaapi",
                  "addr=04.0,backend=vaapi,render-node=/dev/null",
                  virtio_video_pci_create, "virtio-video-vaapi", false);
    register_node("virtio-video-pci-vaapi-enc",
                  "addr=04.0,mode=encoder,backend=vaapi,render-node=/dev/null",
                  virtio_video_pci_encoder_create, "virtio-video-vaapi-enc",
                  false);
    register_node("virtio-video-pci-auto-va",
                  "addr=04.0,backend=auto,render-node=/dev/null",
                  virtio_video_pci_create, "virtio-video-auto-va", false);
    register_node("virtio-video-pci-auto-va-enc",
                  "addr=04.0,mode=encoder,backend=auto,render-node=/dev/null",
                  virtio_video_pci_encoder_create, "virtio-video-auto-va-enc",
                  false);
    /*
     * make bench: fixed codec thread counts, an id for x-stats, guest RAM
     * shared with the harness
     */
    register_bench_node("virtio-video-pci-bench1",
                        "addr=04.0,id=vvbench,codec-threads=1",
                        virtio_video_pci_bench_create, "virtio-video-bench1");
    register_bench_node("virtio-video-pci-bench2",
                        "addr=04.0,id=vvbench,codec-threads=2",
                        virtio_video_pci_bench_create, "virtio-video-bench2");
    register_bench_node("virtio-video-pci-bench-enc",
                        "addr=04.0,id=vvbench,mode=encoder,codec-threads=1",
                        virtio_video_pci_bench_encoder_create,
                        "virtio-video-bench-enc");
}

libqos_init(virtio_video_register_nodes);
