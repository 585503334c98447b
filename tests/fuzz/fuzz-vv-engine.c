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

static const VvEngineOps ops = {
    .map = fz_map,
    .unmap = fz_unmap,
    .kick = fz_kick,
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
        /* a private copy: ASan sees any read past the request */
        req = g_memdup2(data, len);
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
