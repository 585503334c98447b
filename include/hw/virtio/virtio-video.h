/*
 * Virtio video device (decoder and encoder)
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef QEMU_VIRTIO_VIDEO_H
#define QEMU_VIRTIO_VIDEO_H

#include "hw/virtio/virtio.h"
#include "standard-headers/linux/virtio_video.h"
#include "qom/object.h"

#define TYPE_VIRTIO_VIDEO "virtio-video-device"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIOVideo, VIRTIO_VIDEO)

typedef struct VvEngine VvEngine;

struct VirtIOVideo {
    VirtIODevice parent_obj;

    /* properties */
    char *mode;                 /* "decoder" (default) or "encoder" */
    char *backend;              /* codec backend, default "auto" */
    char *render_node;          /* VA-API DRM node, default: the first */
    uint32_t codec_threads;
    uint32_t max_streams;
    uint32_t max_bitstream_mb;
    uint32_t max_resources;
    uint32_t max_queued;
    uint32_t max_sg_entries;
    uint32_t max_mapped_mb;
    uint32_t max_width;
    uint32_t max_height;
    uint32_t migrate_history_mb;
    uint16_t cmdq_size;
    uint16_t eventq_size;
    bool av1;
    bool virtio_objects;        /* offer RESOURCE_VIRTIO_OBJECT */

    VirtQueue *cmd_vq;
    VirtQueue *event_vq;
    VvEngine *engine;
    QEMUBH *bh;                 /* delivers completions and events */
    VMChangeStateEntry *vmstate;    /* pauses the streams while stopped */
    Error *migration_blocker;       /* a stream cannot migrate now */
    Error *object_blocker;          /* virtio objects are imported */
    unsigned objects;               /* imported, not yet put (atomic) */
    bool cmd_pushed, event_pushed;  /* notify pending */
    struct virtio_video_config config;

    /* response bounce buffer, sized at realize for the largest response */
    uint8_t *resp_buf;
    size_t resp_buf_size;
};

#endif
