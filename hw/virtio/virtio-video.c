/*
 * Virtio video device (decoder and encoder)
 *
 * The transport half of the device: virtqueues, config space, properties
 * and QOM glue.  Requests are copied out of the guest's descriptors and
 * handed to the engine (hw/virtio/video/), which owns the protocol.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "system/dma.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-dmabuf.h"
#include "hw/virtio/virtio-video.h"
#include "exec/memory.h"
#include "migration/blocker.h"
#include "migration/misc.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "system/runstate.h"
#include "standard-headers/linux/virtio_ids.h"
#include "trace.h"
#include "video/vv-engine.h"

#define VIRTIO_VIDEO_DEFAULT_CMDQ_SIZE      1024
#define VIRTIO_VIDEO_DEFAULT_EVENTQ_SIZE    256
#define VIRTIO_VIDEO_DEFAULT_MAX_STREAMS    256
/* Largest stream state a migration may bring (history, queued bitstream) */
#define VIRTIO_VIDEO_MAX_STATE              ((uint64_t)256 << 30)

/* Ranges of the numeric properties, checked at realize. */
typedef struct VirtIOVideoLimit {
    const char *name;
    size_t offset;              /* of a uint32_t in VirtIOVideo */
    uint32_t min, max;
} VirtIOVideoLimit;

#define VIRTIO_VIDEO_LIMIT(name, field, min, max) \
    { name, offsetof(VirtIOVideo, field), min, max }

static const VirtIOVideoLimit virtio_video_limits[] = {
    VIRTIO_VIDEO_LIMIT("codec-threads", codec_threads, 0, 64),
    VIRTIO_VIDEO_LIMIT("max-streams", max_streams, 1, 1024),
    VIRTIO_VIDEO_LIMIT("max-bitstream-mb", max_bitstream_mb, 1, 65536),
    VIRTIO_VIDEO_LIMIT("max-resources", max_resources, 1, 4096),
    VIRTIO_VIDEO_LIMIT("max-queued", max_queued, 1, 4096),
    VIRTIO_VIDEO_LIMIT("max-sg-entries", max_sg_entries, 1,
                       VV_ENGINE_MAX_SG_ENTRIES),
    VIRTIO_VIDEO_LIMIT("max-mapped-mb", max_mapped_mb, 1, 1024 * 1024),
    VIRTIO_VIDEO_LIMIT("max-width", max_width, 16, VV_ENGINE_MAX_DIM),
    VIRTIO_VIDEO_LIMIT("max-height", max_height, 16, VV_ENGINE_MAX_DIM),
    VIRTIO_VIDEO_LIMIT("migrate-history-mb", migrate_history_mb, 1, 65536),
};

static void virtio_video_guest_error(void *opaque, const char *msg)
{
    qemu_log_mask(LOG_GUEST_ERROR, "%s\n", msg);
}

/*
 * Guest memory for resources.  Only plain RAM is accepted: a range that
 * dma_memory_map() can only bounce (MMIO, or a partial mapping) is refused,
 * so the engine always holds direct, long-lived mappings.
 */
static void *virtio_video_map(void *opaque, uint64_t addr, uint64_t len,
                              bool write)
{
    VirtIOVideo *v = opaque;
    VirtIODevice *vdev = VIRTIO_DEVICE(v);
    DMADirection dir = write ? DMA_DIRECTION_FROM_DEVICE
                             : DMA_DIRECTION_TO_DEVICE;
    dma_addr_t mapped = len;
    ram_addr_t offset;
    void *host;

    host = dma_memory_map(vdev->dma_as, addr, &mapped, dir,
                          MEMTXATTRS_UNSPECIFIED);
    if (!host) {
        trace_virtio_video_map_fail(v, addr, len);
        return NULL;
    }
    if (mapped != len || !memory_region_from_host(host, &offset)) {
        dma_memory_unmap(vdev->dma_as, host, mapped, dir, 0);
        trace_virtio_video_map_fail(v, addr, len);
        return NULL;
    }
    return host;
}

static void virtio_video_unmap(void *opaque, void *host, uint64_t len,
                               bool write)
{
    VirtIOVideo *v = opaque;

    dma_memory_unmap(VIRTIO_DEVICE(v)->dma_as, host, len,
                     write ? DMA_DIRECTION_FROM_DEVICE
                           : DMA_DIRECTION_TO_DEVICE,
                     write ? len : 0);
}

/* A worker wrote guest memory through a mapping: migration must resend it. */
static void virtio_video_dirty(void *opaque, void *host, uint64_t len)
{
    ram_addr_t offset;
    MemoryRegion *mr = memory_region_from_host(host, &offset);

    if (mr) {
        memory_region_set_dirty(mr, offset, len);
    }
}

static void virtio_video_kick(void *opaque)
{
    VirtIOVideo *v = opaque;

    qemu_bh_schedule(v->bh);
}

/*
 * Virtio objects: buffers another device exported under a UUID into QEMU's
 * shared-object table (virtio-gpu with resource_uuid=on).  The device maps
 * the object's guest memory itself, through the exporter's address space,
 * and holds the mapping until the engine lets go of the resource.  When the
 * exporter takes the memory back first (the GPU resource is destroyed, its
 * backing detached, the GPU reset) the object is only marked
 * revoked: a worker may still be writing it, into guest RAM this device
 * still maps, and the engine refuses to queue it again.
 */
typedef struct VirtIOVideoObject {
    VvObject obj;               /* what the engine sees */
    VirtIOVideo *dev;
    Notifier release;           /* on the exporter's list until revoked */
    QemuUUID uuid;
    bool write;
    VvObjectSeg *segs;
} VirtIOVideoObject;

static void virtio_video_object_released(Notifier *n, void *data)
{
    VirtIOVideoObject *o = container_of(n, VirtIOVideoObject, release);
    char *uuid = qemu_uuid_unparse_strdup(&o->uuid);

    trace_virtio_video_object_revoke(o->dev, uuid);
    g_free(uuid);
    g_atomic_int_set(&o->obj.revoked, 1);
    notifier_remove(&o->release);
}

static void virtio_video_object_unmap(VirtIOVideoObject *o)
{
    unsigned i;

    /*
     * Every segment is plain RAM (see below), for which unmapping needs no
     * address space: the exporter's may be gone by now.
     */
    for (i = 0; i < o->obj.num_segs; i++) {
        address_space_unmap(&address_space_memory, o->segs[i].host,
                            o->segs[i].len, o->write,
                            o->write ? o->segs[i].len : 0);
    }
}

static void virtio_video_object_free(void *opaque)
{
    VirtIOVideoObject *o = opaque;

    if (!o->obj.revoked) {
        notifier_remove(&o->release);
    }
    virtio_video_object_unmap(o);
    g_free(o->segs);
    g_free(o);
}

/* Blocks migration while any virtio object is imported (main thread). */
static void virtio_video_update_object_blocker(VirtIOVideo *v)
{
    unsigned objects = qatomic_read(&v->objects);

    if (objects && !v->object_blocker) {
        error_setg(&v->object_blocker, "virtio-video: a stream uses buffers "
                   "of another device (virtio objects), which do not migrate");
        if (migrate_add_blocker_internal(&v->object_blocker, NULL) < 0) {
            g_assert(!v->object_blocker);
        }
    } else if (!objects && v->object_blocker) {
        migrate_del_blocker(&v->object_blocker);
    }
}

static VvObject *virtio_video_object_get(void *opaque, uint32_t stream_id,
                                         uint32_t resource_id,
                                         const uint8_t *uuid_bytes,
                                         bool write, const char **why)
{
    VirtIOVideo *v = opaque;
    DMADirection dir = write ? DMA_DIRECTION_FROM_DEVICE
                             : DMA_DIRECTION_TO_DEVICE;
    VirtioSharedMemory *mem;
    VirtIOVideoObject *o;
    g_autofree char *uuid = NULL;
    unsigned i;

    o = g_new0(VirtIOVideoObject, 1);
    o->dev = v;
    o->write = write;
    memcpy(o->uuid.data, uuid_bytes, sizeof(o->uuid.data));
    uuid = qemu_uuid_unparse_strdup(&o->uuid);

    mem = virtio_lookup_shared_memory(&o->uuid);
    if (!mem) {
        *why = "unknown virtio object UUID";
        goto fail;
    }
    if (!mem->nr_entries) {
        *why = "virtio object without backing";
        goto fail;
    }
    if (!v->object_blocker && migration_is_running()) {
        *why = "virtio objects cannot be imported while migrating";
        goto fail;
    }
    o->segs = g_new0(VvObjectSeg, mem->nr_entries);
    for (i = 0; i < mem->nr_entries; i++) {
        dma_addr_t len = mem->iov[i].iov_len;
        ram_addr_t offset;
        void *host;

        host = dma_memory_map(mem->as, mem->addrs[i], &len, dir,
                              MEMTXATTRS_UNSPECIFIED);
        if (host && (len != mem->iov[i].iov_len ||
                     !memory_region_from_host(host, &offset))) {
            dma_memory_unmap(mem->as, host, len, dir, 0);
            host = NULL;
        }
        if (!host) {
            trace_virtio_video_map_fail(v, mem->addrs[i], mem->iov[i].iov_len);
            *why = "virtio object memory is not guest RAM";
            goto fail;
        }
        o->segs[i].host = host;
        o->segs[i].len = len;
        o->segs[i].addr = mem->addrs[i];
        o->obj.num_segs = i + 1;
        o->obj.size += len;
    }
    o->obj.segs = o->segs;
    o->release.notify = virtio_video_object_released;
    notifier_list_add(&mem->release_notifiers, &o->release);
    qatomic_inc(&v->objects);
    virtio_video_update_object_blocker(v);
    trace_virtio_video_object_import(v, stream_id, resource_id, uuid,
                                     o->obj.size, o->obj.num_segs, write);
    return &o->obj;

fail:
    trace_virtio_video_object_fail(v, stream_id, resource_id, uuid, *why);
    virtio_video_object_unmap(o);
    g_free(o->segs);
    g_free(o);
    return NULL;
}

static void virtio_video_object_put(void *opaque, VvObject *obj)
{
    VirtIOVideoObject *o = container_of(obj, VirtIOVideoObject, obj);
    VirtIOVideo *v = opaque;

    /* the exporter's notifier list and the blocker belong to the BQL */
    qatomic_dec(&v->objects);
    if (bql_locked()) {
        virtio_video_update_object_blocker(v);
        virtio_video_object_free(o);
    } else {
        /* the blocker follows at the next flush */
        aio_bh_schedule_oneshot(qemu_get_aio_context(),
                                virtio_video_object_free, o);
        virtio_video_kick(v);
    }
}

/* From any thread: which backend serves a stream (trace only). */
static void virtio_video_stream_backend(void *opaque, uint32_t stream_id,
                                        const char *backend)
{
    trace_virtio_video_stream_backend(opaque, stream_id, backend);
}

static const VvEngineOps virtio_video_engine_ops = {
    .map = virtio_video_map,
    .unmap = virtio_video_unmap,
    .dirty = virtio_video_dirty,
    .kick = virtio_video_kick,
    .guest_error = virtio_video_guest_error,
    .object_get = virtio_video_object_get,
    .object_put = virtio_video_object_put,
    .stream_backend = virtio_video_stream_backend,
};

/* A pending command finished: its element is the token. */
static void virtio_video_complete(void *opaque, void *token,
                                  const void *resp, size_t len)
{
    VirtIOVideo *v = opaque;
    VirtQueueElement *elem = token;
    size_t written = iov_from_buf(elem->in_sg, elem->in_num, 0, resp, len);

    trace_virtio_video_complete(v, ldl_le_p(resp), written);
    virtqueue_push(v->cmd_vq, elem, written);
    g_free(elem);
    v->cmd_pushed = true;
}

/* Events wait for a buffer on the eventq; false leaves them queued. */
static bool virtio_video_deliver_event(void *opaque, const void *event,
                                       size_t len)
{
    VirtIOVideo *v = opaque;
    VirtQueueElement *elem = virtqueue_pop(v->event_vq,
                                           sizeof(VirtQueueElement));
    size_t written;

    if (!elem) {
        return false;
    }
    written = iov_from_buf(elem->in_sg, elem->in_num, 0, event, len);
    trace_virtio_video_event(v, ldl_le_p(event), ldl_le_p(event + 4));
    virtqueue_push(v->event_vq, elem, written);
    g_free(elem);
    v->event_pushed = true;
    return true;
}

/*
 * A decoder stream that outgrew migrate-history-mb cannot migrate until its
 * codec is fresh again: say so with a migration blocker meanwhile.
 */
static void virtio_video_update_blocker(VirtIOVideo *v)
{
    bool block = vv_engine_unmigratable(v->engine) > 0;

    if (block && !v->migration_blocker) {
        error_setg(&v->migration_blocker, "virtio-video: a decoder stream "
                   "has more bitstream since its last drain, seek or "
                   "VP8/VP9 keyframe than migrate-history-mb allows to "
                   "replay on the destination");
        if (migrate_add_blocker_internal(&v->migration_blocker, NULL) < 0) {
            /* migrating already: saving the stream will fail instead */
            g_assert(!v->migration_blocker);
        }
    } else if (!block && v->migration_blocker) {
        migrate_del_blocker(&v->migration_blocker);
    }
}

static void virtio_video_flush(VirtIOVideo *v)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(v);

    vv_engine_poll(v->engine, virtio_video_complete,
                   virtio_video_deliver_event, v);
    virtio_video_update_blocker(v);
    virtio_video_update_object_blocker(v);
    if (v->cmd_pushed) {
        v->cmd_pushed = false;
        virtio_notify(vdev, v->cmd_vq);
    }
    if (v->event_pushed) {
        v->event_pushed = false;
        virtio_notify(vdev, v->event_vq);
    }
}

static void virtio_video_bh(void *opaque)
{
    VirtIOVideo *v = opaque;

    if (!VIRTIO_DEVICE(v)->broken) {
        virtio_video_flush(v);
    }
}

static void virtio_video_handle_cmd(VirtIODevice *vdev, VirtQueue *vq)
{
    VirtIOVideo *v = VIRTIO_VIDEO(vdev);
    VirtQueueElement *elem;

    for (;;) {
        g_autofree uint8_t *req = NULL;
        size_t out_len, in_len, req_len, resp_len = 0;
        VvCmdStatus st;

        elem = virtqueue_pop(vq, sizeof(VirtQueueElement));
        if (!elem) {
            break;
        }
        out_len = iov_size(elem->out_sg, elem->out_num);
        in_len = iov_size(elem->in_sg, elem->in_num);

        if (in_len < sizeof(struct virtio_video_cmd_hdr)) {
            /* nowhere to put even an error header */
            qemu_log_mask(LOG_GUEST_ERROR,
                          "virtio-video: command with a %zu-byte response "
                          "buffer dropped\n", in_len);
            trace_virtio_video_cmd_dropped(v, out_len, in_len);
            virtqueue_push(vq, elem, 0);
            g_free(elem);
            v->cmd_pushed = true;
            continue;
        }

        /*
         * Copy the request out of guest memory whatever the descriptor
         * split; the engine never reads past what it could need.
         */
        req_len = MIN(out_len, vv_engine_max_request_size(v->engine));
        req = g_malloc(req_len ?: 1);
        iov_to_buf(elem->out_sg, elem->out_num, 0, req, req_len);

        st = vv_engine_handle_command(v->engine, req, req_len, elem,
                                      v->resp_buf,
                                      MIN(in_len, v->resp_buf_size),
                                      &resp_len);
        trace_virtio_video_cmd(v, req_len >= 4 ? ldl_le_p(req) : 0,
                               req_len >= 8 ? ldl_le_p(req + 4) : 0,
                               req_len, st == VV_CMD_DONE ?
                               ldl_le_p(v->resp_buf) : 0, resp_len);
        if (st == VV_CMD_PENDING) {
            continue;       /* the engine owns elem now */
        }
        /* earlier completions go first */
        vv_engine_poll(v->engine, virtio_video_complete,
                       virtio_video_deliver_event, v);
        iov_from_buf(elem->in_sg, elem->in_num, 0, v->resp_buf, resp_len);
        virtqueue_push(vq, elem, resp_len);
        g_free(elem);
        v->cmd_pushed = true;
    }
    virtio_video_flush(v);
}

static void virtio_video_handle_event(VirtIODevice *vdev, VirtQueue *vq)
{
    /* new event buffers: deliver what waited for one */
    trace_virtio_video_event_kick(vdev);
    virtio_video_flush(VIRTIO_VIDEO(vdev));
}

static void virtio_video_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIOVideo *v = VIRTIO_VIDEO(vdev);

    memcpy(config, &v->config, sizeof(v->config));
}

static uint64_t virtio_video_get_features(VirtIODevice *vdev,
                                          uint64_t features, Error **errp)
{
    VirtIOVideo *v = VIRTIO_VIDEO(vdev);

    virtio_add_feature(&features, VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES);
    virtio_add_feature(&features, VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG);
    if (v->virtio_objects) {
        virtio_add_feature(&features, VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT);
    }
    return features;
}

static void virtio_video_set_features(VirtIODevice *vdev, uint64_t features)
{
    VirtIOVideo *v = VIRTIO_VIDEO(vdev);

    vv_engine_set_objects(v->engine, virtio_has_feature(features,
                          VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT));
}

static void virtio_video_set_status(VirtIODevice *vdev, uint8_t status)
{
    /*
     * There is no legacy virtio-video.  QEMU's core only validates the
     * features of drivers that accepted VERSION_1, so refuse the others
     * here: the device stops working until it is reset.
     */
    if (status & VIRTIO_CONFIG_S_FEATURES_OK &&
        !(vdev->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !virtio_vdev_has_feature(vdev, VIRTIO_F_VERSION_1)) {
        virtio_error(vdev, "virtio-video: the driver did not accept "
                     "VIRTIO_F_VERSION_1");
    }
}

static bool queue_size_valid(uint16_t size)
{
    return size && size <= VIRTQUEUE_MAX_SIZE && is_power_of_2(size);
}

/* The engine gives back elements it held when the device is reset. */
static void virtio_video_drop(void *opaque, void *token)
{
    g_free(token);
}

/*
 * The VM stops (migration, snapshot, pause): stop the stream workers
 * between two steps and deliver what they finished, so that nothing
 * touches guest memory or the rings while it is stopped and the streams'
 * state holds still for migration.
 */
static void virtio_video_vm_state_change(void *opaque, bool running,
                                         RunState state)
{
    VirtIOVideo *v = opaque;

    if (running) {
        vv_engine_resume(v->engine);
        return;
    }
    vv_engine_pause(v->engine);
    if (!VIRTIO_DEVICE(v)->broken) {
        virtio_video_flush(v);
    }
}

static void virtio_video_put_token(void *opaque, void *token)
{
    g_ptr_array_add(opaque, token);
}

/*
 * After the virtio core's state: the engine's description of the streams,
 * then the command queue elements its pending commands hold.
 */
static int virtio_video_save_streams(QEMUFile *f, void *opaque, size_t size,
                                     const VMStateField *field,
                                     JSONWriter *vmdesc)
{
    VirtIOVideo *v = opaque;
    g_autoptr(GPtrArray) elems = g_ptr_array_new();
    g_autofree char *err = NULL;
    g_autofree void *state = NULL;
    size_t len = 0;
    guint i;

    vv_engine_pause(v->engine);
    virtio_video_flush(v);
    state = vv_engine_save(v->engine, &len, virtio_video_put_token, elems,
                           &err);
    if (!state) {
        error_report("virtio-video: cannot migrate: %s", err);
        return -EINVAL;
    }
    trace_virtio_video_save(v, vv_engine_num_streams(v->engine), len,
                            elems->len);
    qemu_put_be64(f, len);
    qemu_put_buffer(f, state, len);
    qemu_put_be32(f, elems->len);
    for (i = 0; i < elems->len; i++) {
        qemu_put_virtqueue_element(VIRTIO_DEVICE(v), f,
                                   g_ptr_array_index(elems, i));
    }
    return 0;
}

/* Elements in order; each is taken once. */
static void *virtio_video_get_token(void *opaque, uint32_t index)
{
    GPtrArray *elems = opaque;
    void *elem;

    if (index >= elems->len) {
        return NULL;
    }
    elem = g_ptr_array_index(elems, index);
    g_ptr_array_index(elems, index) = NULL;
    return elem;
}

static int virtio_video_load_streams(QEMUFile *f, void *opaque, size_t size,
                                     const VMStateField *field)
{
    VirtIOVideo *v = opaque;
    VirtIODevice *vdev = VIRTIO_DEVICE(v);
    g_autoptr(GPtrArray) elems = g_ptr_array_new_with_free_func(g_free);
    g_autofree uint8_t *state = NULL;
    g_autofree char *err = NULL;
    uint64_t len = qemu_get_be64(f);
    uint32_t n, i;

    if (len > VIRTIO_VIDEO_MAX_STATE) {
        error_report("virtio-video: %" PRIu64 " bytes of stream state", len);
        return -EINVAL;
    }
    state = g_malloc(len ?: 1);
    qemu_get_buffer(f, state, len);
    n = qemu_get_be32(f);
    if (n > virtio_queue_get_num(vdev, 0)) {
        error_report("virtio-video: %u commands in flight", n);
        return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        g_ptr_array_add(elems, qemu_get_virtqueue_element(vdev, f,
                                                  sizeof(VirtQueueElement)));
    }

    /* whatever this device did before is replaced */
    vv_engine_reset(v->engine, virtio_video_drop, v);
    vv_engine_pause(v->engine);
    if (!vv_engine_load(v->engine, state, len, virtio_video_get_token, elems,
                        &err)) {
        error_report("virtio-video: bad stream state: %s", err);
        vv_engine_reset(v->engine, virtio_video_drop, v);
        return -EINVAL;
    }
    for (i = 0; i < elems->len; i++) {
        if (g_ptr_array_index(elems, i)) {
            error_report("virtio-video: command %u of the stream state has "
                         "no owner", i);
            vv_engine_reset(v->engine, virtio_video_drop, v);
            return -EINVAL;
        }
    }
    trace_virtio_video_load(v, vv_engine_num_streams(v->engine), len, n);
    if (runstate_is_running()) {
        vv_engine_resume(v->engine);
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_video = {
    .name = "virtio-video",
    .minimum_version_id = 2,
    .version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        {
            .name = "virtio-video-streams",
            .info = &(const VMStateInfo) {
                .name = "virtio-video-streams",
                .get = virtio_video_load_streams,
                .put = virtio_video_save_streams,
            },
            .flags = VMS_SINGLE,
        },
        VMSTATE_END_OF_LIST()
    },
};

static void virtio_video_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVideo *v = VIRTIO_VIDEO(dev);
    VvEngineConfig cfg = {
        .backend = v->backend ?: "auto",
        .render_node = v->render_node,
        .codec_threads = v->codec_threads,
        .max_streams = v->max_streams,
        .av1 = v->av1,
        .max_bitstream_bytes = (uint64_t)v->max_bitstream_mb << 20,
        .max_resources = v->max_resources,
        .max_queued = v->max_queued,
        .max_entries = v->max_sg_entries,
        .max_mapped_bytes = (uint64_t)v->max_mapped_mb << 20,
        .max_width = v->max_width,
        .max_height = v->max_height,
        .max_history_bytes = (uint64_t)v->migrate_history_mb << 20,
        .ops = &virtio_video_engine_ops,
        .opaque = v,
    };
    g_autofree char *errmsg = NULL;
    size_t i;

    if (!v->mode || !strcmp(v->mode, "decoder")) {
        cfg.mode = VV_MODE_DECODER;
    } else if (!strcmp(v->mode, "encoder")) {
        cfg.mode = VV_MODE_ENCODER;
    } else {
        error_setg(errp, "virtio-video: mode must be 'decoder' or 'encoder', "
                   "not '%s'", v->mode);
        return;
    }
    if (!queue_size_valid(v->cmdq_size) || !queue_size_valid(v->eventq_size)) {
        error_setg(errp, "virtio-video: cmdq-size and eventq-size must be "
                   "powers of 2 between 1 and %d", VIRTQUEUE_MAX_SIZE);
        return;
    }
    for (i = 0; i < ARRAY_SIZE(virtio_video_limits); i++) {
        const VirtIOVideoLimit *l = &virtio_video_limits[i];
        uint32_t val = *(uint32_t *)((uint8_t *)v + l->offset);

        if (val < l->min || val > l->max) {
            error_setg(errp, "virtio-video: %s must be between %u and %u",
                       l->name, l->min, l->max);
            return;
        }
    }

    v->engine = vv_engine_new(&cfg, &errmsg);
    if (!v->engine) {
        error_setg(errp, "virtio-video: %s", errmsg);
        return;
    }

    v->config.version = cpu_to_le32(0);
    v->config.max_caps_length =
        cpu_to_le32(vv_engine_max_caps_length(v->engine));
    v->config.max_resp_length =
        cpu_to_le32(vv_engine_max_resp_length(v->engine));
    strpadcpy((char *)v->config.device_name, sizeof(v->config.device_name),
              vv_engine_device_name(v->engine), '\0');
    v->resp_buf_size = vv_engine_max_response_size(v->engine);
    v->resp_buf = g_malloc0(v->resp_buf_size);
    v->bh = qemu_bh_new_guarded(virtio_video_bh, v,
                                &DEVICE(v)->mem_reentrancy_guard);
    v->vmstate = qemu_add_vm_change_state_handler(
        virtio_video_vm_state_change, v);

    virtio_init(vdev, vv_engine_virtio_id(v->engine),
                sizeof(struct virtio_video_config));
    v->cmd_vq = virtio_add_queue(vdev, v->cmdq_size, virtio_video_handle_cmd);
    v->event_vq = virtio_add_queue(vdev, v->eventq_size,
                                   virtio_video_handle_event);
    trace_virtio_video_realize(v, cfg.mode == VV_MODE_DECODER ? "decoder"
                                                              : "encoder",
                               vv_engine_device_name(v->engine),
                               vv_engine_hw_description(v->engine) ?: "none",
                               vv_engine_max_caps_length(v->engine));
}

static void virtio_video_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIOVideo *v = VIRTIO_VIDEO(dev);

    qemu_del_vm_change_state_handler(v->vmstate);
    vv_engine_free(v->engine, virtio_video_drop, v);
    if (v->migration_blocker) {
        migrate_del_blocker(&v->migration_blocker);
    }
    if (v->object_blocker) {
        migrate_del_blocker(&v->object_blocker);
    }
    v->engine = NULL;
    qemu_bh_delete(v->bh);
    virtio_delete_queue(v->cmd_vq);
    virtio_delete_queue(v->event_vq);
    virtio_cleanup(vdev);
    g_free(v->resp_buf);
    v->resp_buf = NULL;
}

static void virtio_video_reset(VirtIODevice *vdev)
{
    VirtIOVideo *v = VIRTIO_VIDEO(vdev);

    trace_virtio_video_reset(vdev);
    /* stops every worker: nothing is written to the guest after this */
    vv_engine_reset(v->engine, virtio_video_drop, v);
    vv_engine_set_objects(v->engine, false);
    v->cmd_pushed = v->event_pushed = false;
    virtio_video_update_blocker(v);
    virtio_video_update_object_blocker(v);
}

static const Property virtio_video_properties[] = {
    DEFINE_PROP_STRING("mode", VirtIOVideo, mode),
    DEFINE_PROP_STRING("backend", VirtIOVideo, backend),
    DEFINE_PROP_STRING("render-node", VirtIOVideo, render_node),
    DEFINE_PROP_UINT32("codec-threads", VirtIOVideo, codec_threads, 0),
    DEFINE_PROP_UINT32("max-streams", VirtIOVideo, max_streams,
                       VIRTIO_VIDEO_DEFAULT_MAX_STREAMS),
    DEFINE_PROP_UINT16("cmdq-size", VirtIOVideo, cmdq_size,
                       VIRTIO_VIDEO_DEFAULT_CMDQ_SIZE),
    DEFINE_PROP_UINT16("eventq-size", VirtIOVideo, eventq_size,
                       VIRTIO_VIDEO_DEFAULT_EVENTQ_SIZE),
    DEFINE_PROP_BOOL("av1", VirtIOVideo, av1, false),
    DEFINE_PROP_BOOL("virtio-objects", VirtIOVideo, virtio_objects, true),
    DEFINE_PROP_UINT32("max-bitstream-mb", VirtIOVideo, max_bitstream_mb, 256),
    DEFINE_PROP_UINT32("max-resources", VirtIOVideo, max_resources, 256),
    DEFINE_PROP_UINT32("max-queued", VirtIOVideo, max_queued, 256),
    DEFINE_PROP_UINT32("max-sg-entries", VirtIOVideo, max_sg_entries,
                       VV_ENGINE_MAX_SG_ENTRIES),
    DEFINE_PROP_UINT32("max-mapped-mb", VirtIOVideo, max_mapped_mb, 8192),
    DEFINE_PROP_UINT32("max-width", VirtIOVideo, max_width, VV_ENGINE_MAX_DIM),
    DEFINE_PROP_UINT32("max-height", VirtIOVideo, max_height,
                       VV_ENGINE_MAX_DIM),
    DEFINE_PROP_UINT32("migrate-history-mb", VirtIOVideo, migrate_history_mb,
                       256),
};

/*
 * x-stats: what the engine did, for benchmarks ("buffers=N copies=N
 * bytes=N latency_p50_us=N latency_p99_us=N write_p50_us=N write_p99_us=N
 * deliver_p50_us=N deliver_p99_us=N").  Writing it resets it.
 */
static char *virtio_video_get_stats(Object *obj, Error **errp)
{
    VirtIOVideo *v = VIRTIO_VIDEO(obj);
    VvEngineStats st = { 0 };

    if (v->engine) {
        vv_engine_get_stats(v->engine, &st);
    }
    return g_strdup_printf("buffers=%" PRIu64 " copies=%" PRIu64
                           " bytes=%" PRIu64 " latency_p50_us=%.0f"
                           " latency_p99_us=%.0f write_p50_us=%.0f"
                           " write_p99_us=%.0f deliver_p50_us=%.0f"
                           " deliver_p99_us=%.0f", st.buffers, st.copies,
                           st.bytes, st.latency_p50_us, st.latency_p99_us,
                           st.write_p50_us, st.write_p99_us,
                           st.deliver_p50_us, st.deliver_p99_us);
}

static void virtio_video_set_stats(Object *obj, const char *value,
                                   Error **errp)
{
    VirtIOVideo *v = VIRTIO_VIDEO(obj);

    if (v->engine) {
        vv_engine_reset_stats(v->engine);
    }
}

static void virtio_video_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    device_class_set_props(dc, virtio_video_properties);
    object_class_property_set_description(klass, "mode",
        "'decoder' (virtio device 31, the default) or 'encoder' (30)");
    object_class_property_set_description(klass, "backend",
        "'auto' (the default: per coded format, VA-API or CUDA hardware "
        "where it serves the format, else software), 'libavcodec' "
        "(software), 'vaapi' or 'cuda' (hardware only); the config "
        "space's device_name says which serve");
    object_class_property_set_description(klass, "render-node",
        "VA-API: the DRM render node (default: the first "
        "/dev/dri/renderD* whose driver initialises)");
    object_class_property_set_description(klass, "codec-threads",
        "threads each codec instance may use (0: the codec library decides)");
    object_class_property_set_description(klass, "max-streams",
        "streams the guest may have open at once (1-1024)");
    object_class_property_set_description(klass, "cmdq-size",
        "command virtqueue size; each queued buffer holds one entry "
        "(power of 2, at most 1024)");
    object_class_property_set_description(klass, "eventq-size",
        "event virtqueue size (power of 2, at most 1024)");
    object_class_property_set_description(klass, "max-bitstream-mb",
        "MiB of queued bitstream the device copies out of guest memory, all "
        "streams together; beyond it RESOURCE_QUEUE is refused (1-65536)");
    object_class_property_set_description(klass, "max-resources",
        "resources each queue of a stream may have (1-4096); RESOURCE_CREATE "
        "beyond it gets ERR_OUT_OF_MEMORY");
    object_class_property_set_description(klass, "max-queued",
        "buffers each queue of a stream may have queued at once (1-4096)");
    object_class_property_set_description(klass, "max-sg-entries",
        "scatter-gather entries one resource may have (1-65544)");
    object_class_property_set_description(klass, "max-mapped-mb",
        "MiB of guest memory all resources together may map (1-1048576)");
    object_class_property_set_description(klass, "max-width",
        "widest frame the device decodes or encodes (16-8192)");
    object_class_property_set_description(klass, "max-height",
        "tallest frame the device decodes or encodes (16-8192)");
    object_class_property_set_description(klass, "migrate-history-mb",
        "MiB of bitstream all decoder streams together keep to re-prime "
        "their decoder after live migration (1-65536); a stream past it "
        "cannot migrate until its next keyframe (VP8/VP9) or drain");
    object_class_property_set_description(klass, "virtio-objects",
        "Offer RESOURCE_VIRTIO_OBJECT: buffers of other devices, such as "
        "virtio-gpu-pci,resource_uuid=on, named by UUID");
    object_class_property_set_description(klass, "av1",
        "decoder: also offer AV1 as format 0x1007, a project extension "
        "that existing guest drivers do not know (default off)");

    object_class_property_add_str(klass, "x-stats", virtio_video_get_stats,
                                  virtio_video_set_stats);
    object_class_property_set_description(klass, "x-stats",
        "engine statistics for benchmarks (read); any write resets them");
    dc->vmsd = &vmstate_virtio_video;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    vdc->realize = virtio_video_realize;
    vdc->unrealize = virtio_video_unrealize;
    vdc->get_config = virtio_video_get_config;
    vdc->get_features = virtio_video_get_features;
    vdc->set_features = virtio_video_set_features;
    vdc->set_status = virtio_video_set_status;
    vdc->reset = virtio_video_reset;
}

static const TypeInfo virtio_video_info = {
    .name = TYPE_VIRTIO_VIDEO,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(VirtIOVideo),
    .class_init = virtio_video_class_init,
};

static void virtio_video_register_types(void)
{
    type_register_static(&virtio_video_info);
}

type_init(virtio_video_register_types)
