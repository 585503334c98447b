/*
 * virtio-video unit tests: an in-process "guest" for the engine.
 *
 * Guest RAM is one host allocation at a fixed guest-physical base; the
 * engine maps it through its transport ops like QEMU's device does, and
 * completions and events are collected the way the virtqueues would
 * deliver them.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_UNIT_VV_FAKE_GUEST_H
#define TESTS_UNIT_VV_FAKE_GUEST_H

#include <stdio.h>
#include <glib.h>
#include "vv-engine.h"

#define FG_RAM_BASE     0x100000ull

typedef struct FgCompletion {
    uint32_t tag;
    size_t len;
    uint8_t resp[4096];
} FgCompletion;

typedef struct FakeGuest {
    VvEngine *engine;
    VvEngineConfig cfg;
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t brk;               /* bump allocator */
    GMutex lock;
    GCond cond;
    bool kicked;
    uint32_t next_tag;
    GQueue done;                /* FgCompletion, in completion order */
    GQueue events;              /* uint8_t[8] */
    unsigned guest_errors;
    char *last_error;           /* the latest guest error (under lock) */
    int mapped;                 /* live mappings */
    FILE *seed;                 /* VIRTIO_VIDEO_SEED_DIR: fuzzer seed */
    size_t seed_size;
} FakeGuest;

/* The engine's bitstream allowance for the next fg_new() (0: default). */
extern uint64_t fg_max_bitstream;
/* Codec threads for the next fg_new() (0: 1). */
extern uint32_t fg_codec_threads;
/* Largest frame width and height for the next fg_new() (0: default). */
extern uint32_t fg_max_dim;

FakeGuest *fg_new(VvMode mode, uint64_t ram_size);
void fg_free(FakeGuest *g);
uint64_t fg_alloc(FakeGuest *g, size_t size);
void *fg_host(FakeGuest *g, uint64_t addr);

/*
 * Send a command.  Returns its tag; an immediate response is queued like a
 * completion (so callers wait the same way for both).
 */
uint32_t fg_submit(FakeGuest *g, const void *req, size_t len,
                   size_t resp_size);
/* Wait for the completion of @tag; copies it.  Fails the test on timeout. */
void fg_wait(FakeGuest *g, uint32_t tag, FgCompletion *out);
/*
 * Next completion or event, whichever comes: 1 completion, 2 event, 0 none
 * within @timeout_ms.
 */
int fg_wait_any(FakeGuest *g, FgCompletion *c, uint8_t ev[8],
                int timeout_ms);

/*
 * Live-migrate the engine, as QEMU does: pause it, deliver what it
 * finished, save its state, load that into a new engine, drop the old one
 * (as the source QEMU exits) and resume.  Returns the state's size.
 */
size_t fg_migrate(FakeGuest *g);

/* The test client's transport over this guest (opaque: the FakeGuest). */
struct VvcOps;
extern const struct VvcOps fg_vvc_ops;

#endif
