/*
 * virtio-video engine: the transport-independent part of the device.
 *
 * The engine parses and validates guest requests, owns the capability
 * model and talks to the codec backends.  It includes no QEMU header (C11,
 * GLib and FFmpeg only) so it can be unit tested and fuzzed on its own and
 * reused by other transports.  The QEMU device (hw/virtio/virtio-video.c)
 * moves bytes between virtqueues and the engine.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_ENGINE_H
#define HW_VIRTIO_VIDEO_VV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum VvMode {
    VV_MODE_DECODER,
    VV_MODE_ENCODER,
} VvMode;

/* Called for every request the guest got wrong (QEMU: LOG_GUEST_ERROR). */
typedef void VvGuestErrorFn(void *opaque, const char *msg);

typedef struct VvEngineConfig {
    VvMode mode;
    const char *backend;        /* backend name, e.g. "libavcodec" */
    uint32_t codec_threads;     /* 0: the codec library decides */
    uint32_t max_streams;
    VvGuestErrorFn *guest_error;
    void *opaque;
} VvEngineConfig;

typedef struct VvEngine VvEngine;

/*
 * Create an engine: probes the backend's capabilities.  Returns NULL and a
 * newly allocated message in @errmsg on failure.
 */
VvEngine *vv_engine_new(const VvEngineConfig *cfg, char **errmsg);
void vv_engine_free(VvEngine *e);

VvMode vv_engine_mode(const VvEngine *e);
/* virtio device ID: 31 (decoder) or 30 (encoder) */
uint16_t vv_engine_virtio_id(const VvEngine *e);
/* Backend name, as reported in the config space's device_name. */
const char *vv_engine_device_name(const VvEngine *e);
/* Config space values; every response fits in these. */
uint32_t vv_engine_max_caps_length(const VvEngine *e);
uint32_t vv_engine_max_resp_length(const VvEngine *e);
/* Largest response any command can produce (sizes the transport buffer). */
size_t vv_engine_max_response_size(const VvEngine *e);
/* Longest request the engine reads; bytes beyond it are never looked at. */
size_t vv_engine_max_request_size(const VvEngine *e);

/*
 * Handle one command.  @req holds the bytes the guest sent (the request and,
 * for RESOURCE_CREATE, its entries), @resp has room for @resp_size >= 8
 * bytes.  Returns the number of response bytes written; never more than
 * @resp_size.
 */
size_t vv_engine_handle_command(VvEngine *e, const void *req, size_t req_len,
                                void *resp, size_t resp_size);

#endif
