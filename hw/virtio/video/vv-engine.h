/*
 * virtio-video engine: the transport-independent part of the device.
 *
 * The engine parses and validates guest requests, owns streams, resources
 * and the capability model, and runs the codec backends on worker threads.
 * It includes no QEMU header (C11, GLib and FFmpeg only) so it can be unit
 * tested and fuzzed on its own and reused by other transports.  The QEMU
 * device (hw/virtio/virtio-video.c) moves bytes between virtqueues and the
 * engine and maps guest memory for it.
 *
 * Threading: every vv_engine_* function is called from one thread (QEMU's
 * main loop).  Worker threads only call the transport's map/unmap/kick.
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

/*
 * A virtio object (RESOURCE_VIRTIO_OBJECT: a buffer another virtio device,
 * e.g. virtio-gpu, exported under a UUID), mapped by the transport.
 */
typedef struct VvObjectSeg {
    uint8_t *host;
    uint64_t len;
    uint64_t addr;              /* in the exporter's address space */
} VvObjectSeg;

typedef struct VvObject {
    /*
     * Becomes non-zero (g_atomic_int_set, from the main thread) when the
     * exporter takes the memory back: RESOURCE_QUEUE of the resource is
     * refused from then on.  The mapping stays valid until object_put(),
     * so a buffer the device is filling meanwhile does no harm and
     * completes as usual (a guest that frees a buffer it queued gets what
     * it asked for; QEMU's memory is never at stake).
     */
    int revoked;
    uint64_t size;              /* sum of the segments */
    unsigned num_segs;
    const VvObjectSeg *segs;
} VvObject;

/* What the engine needs from its transport. */
typedef struct VvEngineOps {
    /*
     * Map [addr, addr + len) of guest memory for the device to read
     * (@write false) or write.  Returns NULL unless the whole range is
     * plain guest RAM.  Called from the main thread only; the mapping may
     * then be used from any thread until it is unmapped.
     */
    void *(*map)(void *opaque, uint64_t addr, uint64_t len, bool write);
    /* Undo map().  May be called from a worker thread. */
    void (*unmap)(void *opaque, void *host, uint64_t len, bool write);
    /*
     * The device wrote [host, host + len) of a mapping (dirty tracking for
     * migration); called from the main thread before the completion that
     * hands the buffer back is delivered.  May be NULL.
     */
    void (*dirty)(void *opaque, void *host, uint64_t len);
    /*
     * Completions or events are waiting: call vv_engine_poll() from the
     * main thread soon.  Called from any thread.
     */
    void (*kick)(void *opaque);
    /* A request the guest got wrong (QEMU: LOG_GUEST_ERROR). */
    void (*guest_error)(void *opaque, const char *msg);
    /*
     * Virtio objects; both NULL if the transport cannot resolve them.
     * object_get() looks up the 16 bytes at @uuid and maps all of the
     * object's memory for the device to read (@write false) or write, for
     * resource @resource_id of stream @stream_id (for tracing).  NULL and
     * *why if the UUID is unknown or its memory cannot be mapped.  Main
     * thread only.  object_put() unmaps it; it may be called from a worker
     * thread.
     */
    VvObject *(*object_get)(void *opaque, uint32_t stream_id,
                            uint32_t resource_id, const uint8_t *uuid,
                            bool write, const char **why);
    void (*object_put)(void *opaque, VvObject *obj);
    /*
     * Stream @stream_id is served by @backend ("libavcodec", "vaapi",
     * "cuda") from now on (for tracing).  Called from any thread; may be
     * NULL.
     */
    void (*stream_backend)(void *opaque, uint32_t stream_id,
                           const char *backend);
} VvEngineOps;

/*
 * Most scatter-gather entries one resource may have: one per 4 KiB page of
 * an 8192x8192 ARGB frame, plus one per plane.
 */
#define VV_ENGINE_MAX_SG_ENTRIES    (8192 * 8192 * 4 / 4096 + 8)
/* Largest frame width and height, both modes. */
#define VV_ENGINE_MAX_DIM           8192

typedef struct VvEngineConfig {
    VvMode mode;
    /*
     * "libavcodec" (software), "vaapi", "cuda", or "auto" (NULL too): per
     * coded format, the first hardware device that serves it, else
     * software
     */
    const char *backend;
    const char *render_node;    /* VA-API: DRM node; NULL: the first */
    uint32_t codec_threads;     /* 0: the codec library decides */
    uint32_t max_streams;
    bool av1;                   /* offer AV1 (project extension 0x1007) */
    /* bitstream bytes copied out of queued buffers, all streams (0: 256M) */
    uint64_t max_bitstream_bytes;
    /*
     * Resource caps; 0 picks the default in parentheses.  A guest that
     * would pass one gets an error response.
     */
    uint32_t max_resources;     /* resources per queue of a stream (256) */
    uint32_t max_queued;        /* buffers queued per queue of a stream (256) */
    uint32_t max_entries;       /* SG entries per resource (all) */
    uint64_t max_mapped_bytes;  /* guest memory mapped, all streams (8G) */
    uint32_t max_width;         /* frame size, both modes (8192) */
    uint32_t max_height;
    /* decoders' input kept for migration, all streams (256M) */
    uint64_t max_history_bytes;
    const VvEngineOps *ops;
    void *opaque;               /* passed to every op */
} VvEngineConfig;

typedef struct VvEngine VvEngine;

/*
 * Create an engine: probes the backend's capabilities.  Returns NULL and a
 * newly allocated message in @errmsg on failure.
 */
VvEngine *vv_engine_new(const VvEngineConfig *cfg, char **errmsg);
/* Stops every stream; outstanding tokens are dropped as by reset. */
void vv_engine_free(VvEngine *e, void (*drop)(void *opaque, void *token),
                    void *opaque);

VvMode vv_engine_mode(const VvEngine *e);
/* virtio device ID: 31 (decoder) or 30 (encoder) */
uint16_t vv_engine_virtio_id(const VvEngine *e);
/*
 * Which backends serve the streams, as reported in the config space's
 * device_name: "libavcodec", "vaapi", "cuda", or for auto "vaapi+libavcodec"
 * (hardware where it serves the format, software the rest).
 */
const char *vv_engine_device_name(const VvEngine *e);
/* The hardware device in use (driver, node), or NULL. */
const char *vv_engine_hw_description(const VvEngine *e);
/* Config space values; every response fits in these. */
uint32_t vv_engine_max_caps_length(const VvEngine *e);
uint32_t vv_engine_max_resp_length(const VvEngine *e);
/* Largest response any command can produce (sizes the transport buffer). */
size_t vv_engine_max_response_size(const VvEngine *e);
/* Longest request the engine reads; bytes beyond it are never looked at. */
size_t vv_engine_max_request_size(const VvEngine *e);

/* What the device did, for benchmarks and debugging. */
typedef struct VvEngineStats {
    uint64_t buffers;           /* output buffers returned with data */
    uint64_t copies;            /* full-frame copies made for them */
    uint64_t bytes;             /* bytes written into guest buffers */
    /*
     * Latency the device adds to a picture or packet: from the codec
     * handing it over, or from the guest queuing the buffer it goes into
     * if that came later, to its completion reaching the transport, over
     * the last VV_STATS_LATENCY_SAMPLES buffers.
     */
    double latency_p50_us, latency_p99_us;
    /*
     * The same in two hops: from there until the buffer is written and its
     * completion posted (the worker or the copier: waiting for it, then
     * the copy), and from then until it reaches the transport (waking the
     * main thread, the bottom half, completions before it).
     */
    double write_p50_us, write_p99_us;
    double deliver_p50_us, deliver_p99_us;
} VvEngineStats;

#define VV_STATS_LATENCY_SAMPLES 4096

void vv_engine_get_stats(VvEngine *e, VvEngineStats *st);
void vv_engine_reset_stats(VvEngine *e);

/* Streams the guest has open (not yet destroyed). */
unsigned vv_engine_num_streams(const VvEngine *e);

typedef enum VvCmdStatus {
    VV_CMD_DONE,        /* the response is in resp */
    VV_CMD_PENDING,     /* completed later through vv_engine_poll() */
} VvCmdStatus;

/*
 * Handle one command.  @req holds the bytes the guest sent (the request and,
 * for RESOURCE_CREATE, its entries), @resp has room for @resp_size >= 8
 * bytes.  Either writes the response (*resp_len bytes, never more than
 * @resp_size) and returns VV_CMD_DONE, or keeps @token and returns
 * VV_CMD_PENDING.
 *
 * Completions already queued must reach the guest before a DONE response:
 * call vv_engine_poll() before pushing it.
 */
VvCmdStatus vv_engine_handle_command(VvEngine *e, const void *req,
                                     size_t req_len, void *token,
                                     void *resp, size_t resp_size,
                                     size_t *resp_len);

/*
 * Deliver what is ready, in order: @complete for each finished pending
 * command (its token and response), @event for each event (8 bytes).
 * @event returns false when it has no buffer for it: the event stays queued
 * and is offered again by the next poll.
 */
typedef void VvCompleteFn(void *opaque, void *token, const void *resp,
                          size_t len);
typedef bool VvEventFn(void *opaque, const void *event, size_t len);
void vv_engine_poll(VvEngine *e, VvCompleteFn *complete, VvEventFn *event,
                    void *opaque);

/*
 * VM stopped / running: stop every stream's worker between two steps, and
 * start them again.  Completions already made are still delivered by
 * vv_engine_poll(); commands keep being accepted and wait for resume.
 */
void vv_engine_pause(VvEngine *e);
void vv_engine_resume(VvEngine *e);

/*
 * Migration.  vv_engine_save() describes every stream of a paused engine
 * whose completions have all been polled, in a new buffer of *len bytes
 * (g_free() it); each token the engine holds is handed to @put_token, in
 * order.  NULL and *err when a stream cannot be migrated.
 *
 * vv_engine_load() restores that into a paused engine with no streams,
 * getting token number i back from @get_token (NULL: no such token).  On
 * failure (false, *err) reset the engine.
 */
/*
 * Decoder streams that cannot migrate now: their input since the codec was
 * last fresh is over max_history_bytes.  Any thread.
 */
unsigned vv_engine_unmigratable(VvEngine *e);
void *vv_engine_save(VvEngine *e, size_t *len,
                     void (*put_token)(void *opaque, void *token),
                     void *opaque, char **err);
bool vv_engine_load(VvEngine *e, const void *buf, size_t len,
                    void *(*get_token)(void *opaque, uint32_t index),
                    void *opaque, char **err);

/*
 * Device reset: stop every stream and forget everything.  Each token the
 * engine still holds is handed to @drop (no response is to be written).
 */
/*
 * Whether the driver negotiated RESOURCE_VIRTIO_OBJECT: then queues whose
 * memory type is VIRTIO_OBJECT take object entries in RESOURCE_CREATE.
 * Without it (or without object ops) every entry is guest pages.
 */
void vv_engine_set_objects(VvEngine *e, bool enabled);

void vv_engine_reset(VvEngine *e, void (*drop)(void *opaque, void *token),
                     void *opaque);

#endif
