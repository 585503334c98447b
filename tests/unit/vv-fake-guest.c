/*
 * virtio-video unit tests: an in-process "guest" for the engine.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <unistd.h>
#include <glib.h>

#include "vv-fake-guest.h"
#include "../qtest/virtio-video-client.h"

#define FG_TIMEOUT_US (60 * G_USEC_PER_SEC)

static void *fg_map(void *opaque, uint64_t addr, uint64_t len, bool write)
{
    FakeGuest *g = opaque;

    if (addr < FG_RAM_BASE || len > g->ram_size ||
        addr - FG_RAM_BASE > g->ram_size - len) {
        return NULL;
    }
    g_atomic_int_inc(&g->mapped);
    return g->ram + (addr - FG_RAM_BASE);
}

static void fg_unmap(void *opaque, void *host, uint64_t len, bool write)
{
    FakeGuest *g = opaque;

    g_assert((uint8_t *)host >= g->ram &&
             (uint8_t *)host + len <= g->ram + g->ram_size);
    g_atomic_int_add(&g->mapped, -1);
}

static void fg_kick(void *opaque)
{
    FakeGuest *g = opaque;

    g_mutex_lock(&g->lock);
    g->kicked = true;
    g_cond_signal(&g->cond);
    g_mutex_unlock(&g->lock);
}

static void fg_guest_error(void *opaque, const char *msg)
{
    FakeGuest *g = opaque;

    g_mutex_lock(&g->lock);
    g->guest_errors++;
    g_free(g->last_error);
    g->last_error = g_strdup(msg);
    g_mutex_unlock(&g->lock);
    if (g_test_verbose()) {
        g_test_message("guest error: %s", msg);
    }
}

/*
 * Fuzzer seeds (tests/fuzz/fuzz-vv-engine.c's format): a mode byte, then
 * records of a le16 length and the bytes of a command, or of "RAM!", a
 * le32 RAM offset and data.  Kept small: data is cut to 4 KiB a record
 * and a seed to 256 KiB.
 */
#define SEED_MAX_RECORD (4096 - 8)
#define SEED_MAX        (256 * 1024)

static void seed_record(FakeGuest *g, const void *head, size_t head_len,
                        const void *data, size_t len)
{
    uint8_t hdr[2];
    size_t total = head_len + len;

    if (!g->seed || total > 0xffff || g->seed_size + 2 + total > SEED_MAX) {
        return;
    }
    hdr[0] = total;
    hdr[1] = total >> 8;
    fwrite(hdr, 1, 2, g->seed);
    fwrite(head, 1, head_len, g->seed);
    fwrite(data, 1, len, g->seed);
    g->seed_size += 2 + total;
}

static void seed_open(FakeGuest *g, VvMode mode)
{
    static unsigned n;
    const char *dir = g_getenv("VIRTIO_VIDEO_SEED_DIR");
    g_autofree char *path = NULL;
    uint8_t m = mode == VV_MODE_ENCODER;

    if (!dir) {
        return;
    }
    path = g_strdup_printf("%s/seed-%d-%u", dir, (int)getpid(), n++);
    g->seed = fopen(path, "wb");
    if (g->seed) {
        fwrite(&m, 1, 1, g->seed);
        g->seed_size = 1;
    }
}

static const VvEngineOps fg_ops = {
    .map = fg_map,
    .unmap = fg_unmap,
    .kick = fg_kick,
    .guest_error = fg_guest_error,
};

uint64_t fg_max_bitstream;
uint32_t fg_codec_threads;
uint32_t fg_max_dim;

FakeGuest *fg_new(VvMode mode, uint64_t ram_size)
{
    FakeGuest *g = g_new0(FakeGuest, 1);
    VvEngineConfig *cfg = &g->cfg;
    *cfg = (VvEngineConfig) {
        .mode = mode,
        /* VV_TEST_BACKEND: run the engine's tests on another backend */
        .backend = g_getenv("VV_TEST_BACKEND") ?: "libavcodec",
        .render_node = g_getenv("VV_TEST_RENDER_NODE"),
        .codec_threads = fg_codec_threads ? fg_codec_threads : 1,
        .max_streams = 8,
        .av1 = true,
        .max_bitstream_bytes = fg_max_bitstream,
        .max_width = fg_max_dim,
        .max_height = fg_max_dim,
        .ops = &fg_ops,
        .opaque = g,
    };
    char *err = NULL;

    g->ram = g_malloc0(ram_size);
    g->ram_size = ram_size;
    g->brk = FG_RAM_BASE;
    g_mutex_init(&g->lock);
    g_cond_init(&g->cond);
    g_queue_init(&g->done);
    g_queue_init(&g->events);
    g->engine = vv_engine_new(cfg, &err);
    g_assert_null(err);
    seed_open(g, mode);
    return g;
}

static void drop_token(void *opaque, void *token)
{
}

void fg_free(FakeGuest *g)
{
    vv_engine_free(g->engine, drop_token, g);
    if (g->seed) {
        fclose(g->seed);
    }
    /* every mapping the engine made is gone */
    g_assert_cmpint(g_atomic_int_get(&g->mapped), ==, 0);
    g_queue_clear_full(&g->done, g_free);
    g_queue_clear_full(&g->events, g_free);
    g_free(g->last_error);
    g_mutex_clear(&g->lock);
    g_cond_clear(&g->cond);
    g_free(g->ram);
    g_free(g);
}

uint64_t fg_alloc(FakeGuest *g, size_t size)
{
    uint64_t addr = g->brk;

    size = (size + 4095) & ~(size_t)4095;
    g_assert_cmpuint(addr + size - FG_RAM_BASE, <=, g->ram_size);
    g->brk += size;
    return addr;
}

void *fg_host(FakeGuest *g, uint64_t addr)
{
    g_assert(addr >= FG_RAM_BASE && addr - FG_RAM_BASE < g->ram_size);
    return g->ram + (addr - FG_RAM_BASE);
}

static void queue_done(FakeGuest *g, uint32_t tag, const void *resp,
                       size_t len)
{
    FgCompletion *c = g_new0(FgCompletion, 1);

    c->tag = tag;
    c->len = MIN(len, sizeof(c->resp));
    memcpy(c->resp, resp, c->len);
    g_queue_push_tail(&g->done, c);
}

static void on_complete(void *opaque, void *token, const void *resp,
                        size_t len)
{
    queue_done(opaque, GPOINTER_TO_UINT(token), resp, len);
}

static bool on_event(void *opaque, const void *event, size_t len)
{
    FakeGuest *g = opaque;
    uint8_t *copy = g_malloc(8);

    g_assert_cmpuint(len, ==, 8);
    memcpy(copy, event, 8);
    g_queue_push_tail(&g->events, copy);
    return true;
}

uint32_t fg_submit(FakeGuest *g, const void *req, size_t len,
                   size_t resp_size)
{
    uint32_t tag = ++g->next_tag;
    g_autofree uint8_t *resp = g_malloc0(MAX(resp_size, 8));
    size_t resp_len = 0;

    seed_record(g, req, len, NULL, 0);
    /* completions first, as the transport does */
    vv_engine_poll(g->engine, on_complete, on_event, g);
    if (vv_engine_handle_command(g->engine, req, len, GUINT_TO_POINTER(tag),
                                 resp, MAX(resp_size, 8), &resp_len) ==
        VV_CMD_DONE) {
        queue_done(g, tag, resp, resp_len);
    }
    return tag;
}

/* Poll the engine; wait for a kick when nothing came.  False on timeout. */
static bool pump(FakeGuest *g, gint64 deadline)
{
    unsigned before = g->done.length + g->events.length;

    for (;;) {
        g_mutex_lock(&g->lock);
        g->kicked = false;
        g_mutex_unlock(&g->lock);
        vv_engine_poll(g->engine, on_complete, on_event, g);
        if (g->done.length + g->events.length != before) {
            return true;
        }
        g_mutex_lock(&g->lock);
        while (!g->kicked) {
            if (!g_cond_wait_until(&g->cond, &g->lock, deadline)) {
                g_mutex_unlock(&g->lock);
                return false;
            }
        }
        g_mutex_unlock(&g->lock);
    }
}

void fg_wait(FakeGuest *g, uint32_t tag, FgCompletion *out)
{
    gint64 deadline = g_get_monotonic_time() + FG_TIMEOUT_US;

    for (;;) {
        GList *l;

        for (l = g->done.head; l; l = l->next) {
            FgCompletion *c = l->data;

            if (c->tag == tag) {
                *out = *c;
                g_free(c);
                g_queue_delete_link(&g->done, l);
                return;
            }
        }
        if (!pump(g, deadline)) {
            g_error("timed out waiting for command %u", tag);
        }
    }
}

int fg_wait_any(FakeGuest *g, FgCompletion *c, uint8_t ev[8], int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * (gint64)1000;

    for (;;) {
        FgCompletion *d = g_queue_pop_head(&g->done);
        uint8_t *e;

        if (d) {
            *c = *d;
            g_free(d);
            return 1;
        }
        e = g_queue_pop_head(&g->events);
        if (e) {
            memcpy(ev, e, 8);
            g_free(e);
            return 2;
        }
        if (!pump(g, deadline)) {
            return 0;
        }
    }
}

/* ---- the test client's transport ---- */

static void put_token(void *opaque, void *token)
{
    g_ptr_array_add(opaque, token);
}

static void *get_token(void *opaque, uint32_t index)
{
    GPtrArray *tokens = opaque;
    void *token;

    if (index >= tokens->len) {
        return NULL;
    }
    token = g_ptr_array_index(tokens, index);
    g_ptr_array_index(tokens, index) = NULL;
    return token;
}

size_t fg_migrate(FakeGuest *g)
{
    g_autoptr(GPtrArray) tokens = g_ptr_array_new();
    g_autofree void *state = NULL;
    g_autofree char *err = NULL;
    VvEngine *dst;
    size_t len = 0;
    guint i;

    vv_engine_pause(g->engine);
    vv_engine_poll(g->engine, on_complete, on_event, g);
    state = vv_engine_save(g->engine, &len, put_token, tokens, &err);
    g_assert_null(err);
    g_assert_nonnull(state);

    dst = vv_engine_new(&g->cfg, &err);
    g_assert_nonnull(dst);
    vv_engine_pause(dst);
    if (!vv_engine_load(dst, state, len, get_token, tokens, &err)) {
        g_error("load: %s", err);
    }
    for (i = 0; i < tokens->len; i++) {
        g_assert_null(g_ptr_array_index(tokens, i));
    }
    vv_engine_free(g->engine, drop_token, g);
    g->engine = dst;
    vv_engine_resume(dst);
    return len;
}

static uint64_t vvc_alloc(void *opaque, size_t size)
{
    return fg_alloc(opaque, size);
}

static void vvc_free_mem(void *opaque, uint64_t addr)
{
    /* bump allocator: guest RAM is reclaimed with the guest */
}

static void vvc_memwrite(void *opaque, uint64_t addr, const void *buf,
                         size_t len)
{
    FakeGuest *g = opaque;

    g_assert(addr >= FG_RAM_BASE && len <= g->ram_size &&
             addr - FG_RAM_BASE <= g->ram_size - len);
    memcpy(fg_host(g, addr), buf, len);
    if (g->seed) {
        uint8_t head[8] = { 'R', 'A', 'M', '!' };
        uint32_t off = addr - FG_RAM_BASE;

        head[4] = off;
        head[5] = off >> 8;
        head[6] = off >> 16;
        head[7] = off >> 24;
        seed_record(g, head, 8, buf, MIN(len, SEED_MAX_RECORD));
    }
}

static void vvc_memread(void *opaque, uint64_t addr, void *buf, size_t len)
{
    FakeGuest *g = opaque;

    g_assert(addr >= FG_RAM_BASE && len <= g->ram_size &&
             addr - FG_RAM_BASE <= g->ram_size - len);
    memcpy(buf, fg_host(g, addr), len);
}

static uint32_t vvc_submit_cmd(void *opaque, const void *req, size_t len,
                               size_t resp_size)
{
    return fg_submit(opaque, req, len, resp_size);
}

static int vvc_wait(void *opaque, uint32_t *tag, void *buf, size_t buf_size,
                    uint32_t *used_len, int timeout_ms)
{
    FgCompletion c;
    uint8_t ev[8];

    switch (fg_wait_any(opaque, &c, ev, timeout_ms)) {
    case 1:
        *tag = c.tag;
        *used_len = c.len;
        memcpy(buf, c.resp, MIN(c.len, buf_size));
        return VVC_WAIT_COMPLETION;
    case 2:
        memcpy(buf, ev, MIN(sizeof(ev), buf_size));
        return VVC_WAIT_EVENT;
    default:
        return VVC_WAIT_TIMEOUT;
    }
}

const VvcOps fg_vvc_ops = {
    .alloc = vvc_alloc,
    .free = vvc_free_mem,
    .memwrite = vvc_memwrite,
    .memread = vvc_memread,
    .submit = vvc_submit_cmd,
    .wait = vvc_wait,
};
