/*
 * virtio-video engine fuzzer (libFuzzer).
 *
 * The input is a sequence of guest commands, each a little-endian u16
 * length and that many request bytes, sent to a decoder or encoder engine
 * (first input byte) whose guest RAM is a 64 MiB buffer at 1 MiB.  The
 * engine's worker threads run as in the device; completions are drained
 * after every command and at the end the engine is reset.  Checked beyond
 * the sanitizers: every pending command completes or is dropped exactly
 * once, responses fit their buffers, and no mapping outlives the engine.
 *
 * A record whose bytes start with "RAM!" is not a command: a le32 offset
 * follows, then bytes copied into guest RAM there (bitstreams, frames).
 * tests/unit's fake guest writes such inputs from real test runs with
 * VIRTIO_VIDEO_SEED_DIR set (make fuzz uses them as the seed corpus).
 *
 * With bit 2 of the first byte set the engine takes virtio objects
 * (RESOURCE_VIRTIO_OBJECT): a UUID "OBJ!" + le32 RAM offset + le32 length
 * + u8 segments names that much guest RAM cut into that many segments
 * (any other UUID is unknown), and a record "RVK!" revokes every object
 * mapped so far, as an exporter destroying its buffers would.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "vv-engine.h"

#define RAM_BASE    0x100000ull
#define RAM_SIZE    (64 * 1024 * 1024)
#define MAX_CMDS    64

static uint8_t *ram;
static int mapped;
static uint8_t state[MAX_CMDS + 1];    /* 0 idle, 1 pending, 2 finished */

static void *fz_map(void *opaque, uint64_t addr, uint64_t len, bool write)
{
    if (addr < RAM_BASE || len > RAM_SIZE || addr - RAM_BASE > RAM_SIZE - len) {
        return NULL;
    }
    g_atomic_int_inc(&mapped);
    return ram + (addr - RAM_BASE);
}

static void fz_unmap(void *opaque, void *host, uint64_t len, bool write)
{
    g_assert((uint8_t *)host >= ram && (uint8_t *)host + len <= ram + RAM_SIZE);
    g_atomic_int_add(&mapped, -1);
}

static void fz_kick(void *opaque)
{
}

static GMutex objects_lock;
static GPtrArray *objects;             /* every VvObject not yet put */

static uint32_t ld32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static VvObject *fz_object_get(void *opaque, uint32_t stream_id,
                               uint32_t resource_id, const uint8_t *uuid,
                               bool write, const char **why)
{
    uint32_t off = ld32(uuid + 4), len = ld32(uuid + 8);
    unsigned nsegs = MAX(1, uuid[12]), i;
    VvObjectSeg *segs;
    VvObject *obj;

    if (memcmp(uuid, "OBJ!", 4) || !len || off >= RAM_SIZE ||
        len > RAM_SIZE - off || nsegs > len) {
        *why = "unknown UUID";
        return NULL;
    }
    obj = g_new0(VvObject, 1);
    segs = g_new0(VvObjectSeg, nsegs);
    for (i = 0; i < nsegs; i++) {
        uint64_t start = (uint64_t)i * (len / nsegs);

        /* the last segment takes the rest */
        segs[i].len = i + 1 < nsegs ? len / nsegs : len - start;
        segs[i].addr = RAM_BASE + off + start;
        segs[i].host = ram + off + start;
    }
    obj->segs = segs;
    obj->num_segs = nsegs;
    obj->size = len;
    g_atomic_int_inc(&mapped);
    g_mutex_lock(&objects_lock);
    g_ptr_array_add(objects, obj);
    g_mutex_unlock(&objects_lock);
    return obj;
}

static void fz_object_put(void *opaque, VvObject *obj)
{
    /* workers put objects too */
    g_mutex_lock(&objects_lock);
    g_assert(g_ptr_array_remove(objects, obj));
    g_mutex_unlock(&objects_lock);
    g_free((void *)obj->segs);
    g_free(obj);
    g_atomic_int_add(&mapped, -1);
}

static const VvEngineOps ops = {
    .map = fz_map,
    .unmap = fz_unmap,
    .kick = fz_kick,
    .object_get = fz_object_get,
    .object_put = fz_object_put,
};

static void finish(uintptr_t tag)
{
    g_assert(tag >= 1 && tag <= MAX_CMDS);
    g_assert(state[tag] == 1);      /* exactly once */
    state[tag] = 2;
}

static void on_complete(void *opaque, void *token, const void *resp,
                        size_t len)
{
    g_assert(len >= 8 && len <= 24);
    finish((uintptr_t)token);
}

static bool on_event(void *opaque, const void *event, size_t len)
{
    g_assert(len == 8);
    return true;
}

static void on_drop(void *opaque, void *token)
{
    finish((uintptr_t)token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VvEngineConfig cfg = {
        .backend = "libavcodec",
        .codec_threads = 1,
        .max_streams = 4,
        .ops = &ops,
    };
    char *err = NULL;
    VvEngine *e;
    size_t resp_size;
    uint8_t *resp;
    unsigned n = 0, i;

    if (!ram) {
        ram = g_malloc0(RAM_SIZE);
        objects = g_ptr_array_new();
    }
    if (size < 1) {
        return 0;
    }
    cfg.mode = data[0] & 1 ? VV_MODE_ENCODER : VV_MODE_DECODER;
    cfg.av1 = data[0] & 2;
    data++;
    size--;
    e = vv_engine_new(&cfg, &err);
    g_assert(e);
    vv_engine_set_objects(e, data[-1] & 4);
    resp_size = vv_engine_max_response_size(e);
    resp = g_malloc(resp_size);
    memset(state, 0, sizeof(state));

    while (size >= 2 && n < MAX_CMDS) {
        size_t len = data[0] | data[1] << 8, out = 0;
        uint8_t *req;

        data += 2;
        size -= 2;
        len = MIN(len, size);
        if (len >= 8 && !memcmp(data, "RAM!", 4)) {
            uint32_t off = data[4] | data[5] << 8 | data[6] << 16 |
                           (uint32_t)data[7] << 24;

            if (off < RAM_SIZE) {
                memcpy(ram + off, data + 8, MIN(len - 8, RAM_SIZE - off));
            }
            data += len;
            size -= len;
            continue;
        }
        if (len >= 4 && !memcmp(data, "RVK!", 4)) {
            g_mutex_lock(&objects_lock);
            for (i = 0; i < objects->len; i++) {
                VvObject *obj = g_ptr_array_index(objects, i);

                g_atomic_int_set(&obj->revoked, 1);
            }
            g_mutex_unlock(&objects_lock);
            data += len;
            size -= len;
            continue;
        }
        /* a private copy: ASan sees any read past the request */
        req = g_malloc(len);            /* GLib 2.66: no g_memdup2() */
        if (len) {
            memcpy(req, data, len);     /* g_malloc(0) is NULL */
        }
        n++;
        state[n] = 1;
        if (vv_engine_handle_command(e, req, len, (void *)(uintptr_t)n,
                                     resp, resp_size, &out) == VV_CMD_DONE) {
            g_assert(out >= 8 && out <= resp_size);
            state[n] = 2;
        }
        g_free(req);
        data += len;
        size -= len;
        vv_engine_poll(e, on_complete, on_event, NULL);
        /* let the workers run a little, like a guest thinking */
        g_thread_yield();
    }
    vv_engine_poll(e, on_complete, on_event, NULL);
    vv_engine_free(e, on_drop, NULL);
    for (i = 1; i <= n; i++) {
        g_assert(state[i] == 2);
    }
    g_assert(g_atomic_int_get(&mapped) == 0);
    g_free(resp);
    return 0;
}
