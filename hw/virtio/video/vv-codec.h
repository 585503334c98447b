/*
 * virtio-video engine: codec backend interface.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_CODEC_H
#define HW_VIRTIO_VIDEO_VV_CODEC_H

#include "vv-caps.h"
#include "vv-engine.h"

typedef struct VvBackend {
    /* Name of the "backend" property value and of config.device_name. */
    const char *name;
    /*
     * Fill @caps with what this backend can do on this host for @cfg
     * (mode, extensions), formats paired, masks consistent.  Returns false
     * and sets @errmsg if the backend cannot serve that mode at all.
     */
    bool (*probe)(const VvEngineConfig *cfg, VvCaps *caps, char **errmsg);
} VvBackend;

extern const VvBackend vv_backend_lavc;

#endif
