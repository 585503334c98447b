/*
 * virtio-video engine: capability model and its wire encoding.
 *
 * A backend fills a VvCaps from what its codec library can really do; the
 * engine encodes it for QUERY_CAPABILITY.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_CAPS_H
#define HW_VIRTIO_VIDEO_VV_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* v3 limits num_descs to 64: the pairing mask has 64 bits. */
#define VV_CAPS_MAX_FORMATS     64
#define VV_CAPS_MAX_FRAMES      4
#define VV_CAPS_MAX_RATES       4

typedef struct VvRange {
    uint32_t min;
    uint32_t max;
    uint32_t step;
} VvRange;

typedef struct VvFrameCaps {
    VvRange width;
    VvRange height;
    unsigned num_rates;
    VvRange rates[VV_CAPS_MAX_RATES];
} VvFrameCaps;

typedef struct VvFormatCaps {
    uint32_t format;            /* VIRTIO_VIDEO_FORMAT_* */
    /* bit i: pairs with format i of the other queue's list */
    uint64_t mask;
    uint32_t planes_layout;
    uint32_t plane_align;
    unsigned num_frames;
    VvFrameCaps frames[VV_CAPS_MAX_FRAMES];
} VvFormatCaps;

typedef struct VvQueueCaps {
    unsigned num_formats;
    VvFormatCaps formats[VV_CAPS_MAX_FORMATS];
} VvQueueCaps;

enum {
    VV_QUEUE_INPUT,
    VV_QUEUE_OUTPUT,
    VV_QUEUE_COUNT,
};

typedef struct VvCaps {
    VvQueueCaps queue[VV_QUEUE_COUNT];
} VvCaps;

/* Index into VvCaps.queue for a VIRTIO_VIDEO_QUEUE_TYPE_* value. */
static inline unsigned vv_queue_index(uint32_t queue_type)
{
    return queue_type == 0x100 /* INPUT */ ? VV_QUEUE_INPUT : VV_QUEUE_OUTPUT;
}

/* Append a format to a queue list; returns it, or NULL if the list is full. */
VvFormatCaps *vv_caps_add_format(VvQueueCaps *q, uint32_t format,
                                 uint32_t planes_layout, uint32_t plane_align);
/* Append one frame-size entry; returns it, or NULL if full. */
VvFrameCaps *vv_caps_add_frame(VvFormatCaps *f, VvRange width, VvRange height);
bool vv_caps_add_rate(VvFrameCaps *fr, VvRange rate);
/* Find a format in a queue list; returns its index or -1. */
int vv_caps_find(const VvQueueCaps *q, uint32_t format);
/* Mark formats @in_idx (INPUT list) and @out_idx (OUTPUT list) as pairable. */
void vv_caps_pair(VvCaps *caps, unsigned in_idx, unsigned out_idx);
/* Drop every format that pairs with nothing, keeping the masks right. */
void vv_caps_prune(VvCaps *caps);

/*
 * Lower every frame size range of @caps to at most @max_w x @max_h (never
 * below a range's minimum), keeping each range's step.
 */
void vv_caps_clamp_frames(VvCaps *caps, uint32_t max_w, uint32_t max_h);

/* Bytes the QUERY_CAPABILITY response for @q takes, header included. */
size_t vv_caps_encoded_size(const VvQueueCaps *q);
/*
 * Encode the whole QUERY_CAPABILITY response (header with @stream_id, then
 * the descriptors) into @buf.  Returns the size, or 0 if it does not fit in
 * @size bytes (nothing useful is written then).
 */
size_t vv_caps_encode(const VvQueueCaps *q, uint32_t stream_id,
                      uint8_t *buf, size_t size);

#endif
