/*
 * virtio-video engine: backings (guest memory behind resources) and the
 * device's allowances.
 *
 * A backing maps a resource's guest pages, or a slice of a virtio object,
 * for the device; it is refcounted so that queued buffers outlive the
 * resource.  The allowances bound what the guest can make the device hold:
 * mapped guest memory (max-mapped-mb), bitstream copies (max-bitstream-mb)
 * and decoders' migration history (migrate-history-mb).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-internal.h"

/* Largest resource: an 8192x8192 ARGB frame. */
#define VV_MAX_RESOURCE_SIZE    ((size_t)8192 * 8192 * 4)

/* ---- backings ---- */

VvBacking *vv_backing_ref(VvBacking *b)
{
    g_atomic_int_inc(&b->ref);
    return b;
}

static void backing_unmap(VvBacking *b)
{
    unsigned i;

    if (b->object) {
        /* the segments are slices of the object's own mapping */
        b->e->ops.object_put(b->e->cfg.opaque, b->object);
        return;
    }
    for (i = 0; i < b->num_segs; i++) {
        if (b->segs[i].host && b->e->ops.unmap) {
            b->e->ops.unmap(b->e->cfg.opaque, b->segs[i].host,
                            b->segs[i].len, b->write);
        }
    }
}

/*
 * The device's allowances (mapped guest memory, bitstream copies, migration
 * history): take @len > 0 bytes of one, false if that would pass @max, or
 * give @len < 0 bytes back.
 */
static bool allowance(VvEngine *e, uint64_t *held, uint64_t max, int64_t len)
{
    bool ok = true;

    g_mutex_lock(&e->lock);
    if (len > 0 && *held + len > max) {
        ok = false;
    } else {
        g_assert(len >= 0 || *held >= (uint64_t)-len);
        *held += len;
    }
    g_mutex_unlock(&e->lock);
    return ok;
}

static bool mapped_account(VvEngine *e, int64_t len)
{
    return allowance(e, &e->mapped, e->cfg.max_mapped_bytes, len);
}

void vv_backing_unref(VvBacking *b)
{
    if (g_atomic_int_dec_and_test(&b->ref)) {
        backing_unmap(b);
        mapped_account(b->e, -(int64_t)b->reserved);
        g_free(b);
    }
}

VvBacking *vv_map_entries(VvEngine *e, bool write, unsigned num_planes,
                          const uint32_t *counts, const uint8_t *ent,
                          uint32_t n, uint32_t *code, const char **why)
{
    uint64_t total = 0;
    unsigned plane, i = 0;
    VvBacking *b;

    for (i = 0; i < n; i++) {
        uint32_t len = vv_ld32(ent + i * 16 + 8);

        if (!len || len > VV_MAX_RESOURCE_SIZE - total) {
            *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
            *why = "entry of length 0, or resource too large";
            return NULL;
        }
        total += len;
    }
    if (!mapped_account(e, total)) {
        *code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        *why = "too much guest memory mapped (max-mapped-mb)";
        return NULL;
    }

    b = g_malloc0(sizeof(*b) + n * sizeof(VvSeg));
    b->reserved = total;
    i = 0;
    b->ref = 1;
    b->e = e;
    b->write = write;
    b->num_planes = num_planes;
    for (plane = 0; plane < b->num_planes; plane++) {
        uint32_t count = counts[plane];
        unsigned j;

        b->planes[plane].first = i;
        b->planes[plane].count = count;
        for (j = 0; j < count && i < n; j++, i++, ent += 16) {
            uint64_t addr = vv_ld64(ent);
            uint32_t len = vv_ld32(ent + 8);

            b->segs[i].host = e->ops.map ?
                e->ops.map(e->cfg.opaque, addr, len, write) : NULL;
            if (!b->segs[i].host) {
                *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
                *why = "entry is not guest RAM";
                goto fail;
            }
            b->segs[i].len = len;
            b->segs[i].addr = addr;
            b->num_segs = i + 1;
            b->planes[plane].size += len;
            b->size += len;
        }
    }
    if (i != n) {
        *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
        *why = "entry counts do not add up";
        goto fail;
    }
    return b;

fail:
    b->num_segs = i;
    backing_unmap(b);
    mapped_account(e, -(int64_t)b->reserved);
    g_free(b);
    return NULL;
}

bool vv_backing_revoked(const VvBacking *b)
{
    return b->object && g_atomic_int_get(&b->object->revoked);
}

/*
 * A resource in a virtio object: one entry naming the object for all
 * memory planes, or one per plane naming the same object.  Memory plane k
 * starts plane_offsets[k] bytes into the object and runs to its end; the
 * component planes inside it are laid out from the params as for pages.
 */
VvBacking *vv_map_object(VvEngine *e, uint32_t stream_id, bool write,
                         const VvRequest *req, uint32_t *code,
                         const char **why)
{
    const uint8_t *ent = req->u.resource_create.entries;
    uint32_t n = req->u.resource_create.total_entries;
    unsigned np = req->u.resource_create.num_planes;
    unsigned k, j, first[VIRTIO_VIDEO_MAX_PLANES], total = 0;
    VvObject *obj;
    VvBacking *b;

    *code = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER;
    if (n != 1 && n != np) {
        *why = "a virtio object resource needs one entry, or one per plane";
        return NULL;
    }
    for (j = 1; j < n; j++) {
        if (memcmp(ent, ent + j * 16, 16)) {
            *why = "memory planes in different virtio objects";
            return NULL;
        }
    }
    obj = e->ops.object_get(e->cfg.opaque, stream_id,
                            req->u.resource_create.resource_id, ent, write,
                            why);
    if (!obj) {
        return NULL;
    }
    for (k = 0; k < np; k++) {
        uint64_t off = req->u.resource_create.plane_offsets[k];

        if (off >= obj->size) {
            *why = "plane offset beyond the end of the virtio object";
            goto fail;
        }
        for (j = 0; off >= obj->segs[j].len; j++) {
            off -= obj->segs[j].len;
        }
        first[k] = j;
        total += obj->num_segs - j;
    }
    if (!mapped_account(e, obj->size)) {
        *code = VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY;
        *why = "too much guest memory mapped (max-mapped-mb)";
        goto fail;
    }

    b = g_malloc0(sizeof(*b) + total * sizeof(VvSeg));
    b->ref = 1;
    b->e = e;
    b->write = write;
    b->object = obj;
    b->reserved = obj->size;
    b->num_planes = np;
    for (k = 0; k < np; k++) {
        uint64_t skip = req->u.resource_create.plane_offsets[k];

        for (j = 0; j < first[k]; j++) {
            skip -= obj->segs[j].len;
        }
        b->planes[k].first = b->num_segs;
        b->planes[k].count = obj->num_segs - first[k];
        for (j = first[k]; j < obj->num_segs; j++, skip = 0) {
            VvSeg *seg = &b->segs[b->num_segs++];

            seg->host = obj->segs[j].host + skip;
            seg->len = obj->segs[j].len - skip;
            seg->addr = obj->segs[j].addr + skip;
            b->planes[k].size += seg->len;
        }
        b->size += b->planes[k].size;
    }
    return b;

fail:
    e->ops.object_put(e->cfg.opaque, obj);
    return NULL;
}

/*
 * Bitstream copies of queued input (a guest queueing huge buffers must not
 * run QEMU out of memory) and decoders' migration history.
 */
bool vv_bitstream_reserve(VvEngine *e, size_t len)
{
    return allowance(e, &e->bitstream_held, e->cfg.max_bitstream_bytes, len);
}

void vv_bitstream_release(VvEngine *e, size_t len)
{
    allowance(e, &e->bitstream_held, 0, -(int64_t)len);
}

bool vv_history_reserve(VvEngine *e, size_t len)
{
    return allowance(e, &e->history_held, e->cfg.max_history_bytes, len);
}

void vv_history_release(VvEngine *e, size_t len)
{
    allowance(e, &e->history_held, 0, -(int64_t)len);
}
