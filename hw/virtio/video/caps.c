/*
 * virtio-video engine: capability model and its wire encoding.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-caps.h"
#include "vv-protocol.h"

VvFormatCaps *vv_caps_add_format(VvQueueCaps *q, uint32_t format,
                                 uint32_t planes_layout, uint32_t plane_align)
{
    VvFormatCaps *f;

    if (q->num_formats >= VV_CAPS_MAX_FORMATS) {
        return NULL;
    }
    f = &q->formats[q->num_formats++];
    memset(f, 0, sizeof(*f));
    f->format = format;
    f->planes_layout = planes_layout;
    f->plane_align = plane_align;
    return f;
}

VvFrameCaps *vv_caps_add_frame(VvFormatCaps *f, VvRange width, VvRange height)
{
    VvFrameCaps *fr;

    if (f->num_frames >= VV_CAPS_MAX_FRAMES) {
        return NULL;
    }
    fr = &f->frames[f->num_frames++];
    memset(fr, 0, sizeof(*fr));
    fr->width = width;
    fr->height = height;
    return fr;
}

bool vv_caps_add_rate(VvFrameCaps *fr, VvRange rate)
{
    if (fr->num_rates >= VV_CAPS_MAX_RATES) {
        return false;
    }
    fr->rates[fr->num_rates++] = rate;
    return true;
}

static void clamp_range(VvRange *r, uint32_t max)
{
    uint32_t step = r->step ? r->step : 1;

    if (r->max > max) {
        r->max = max < r->min ? r->min : max - (max - r->min) % step;
    }
}

void vv_caps_clamp_frames(VvCaps *caps, uint32_t max_w, uint32_t max_h)
{
    unsigned q, i, j;

    for (q = 0; q < VV_QUEUE_COUNT; q++) {
        for (i = 0; i < caps->queue[q].num_formats; i++) {
            VvFormatCaps *f = &caps->queue[q].formats[i];

            for (j = 0; j < f->num_frames; j++) {
                clamp_range(&f->frames[j].width, max_w);
                clamp_range(&f->frames[j].height, max_h);
            }
        }
    }
}

int vv_caps_find(const VvQueueCaps *q, uint32_t format)
{
    unsigned i;

    for (i = 0; i < q->num_formats; i++) {
        if (q->formats[i].format == format) {
            return i;
        }
    }
    return -1;
}

void vv_caps_pair(VvCaps *caps, unsigned in_idx, unsigned out_idx)
{
    g_assert(in_idx < caps->queue[VV_QUEUE_INPUT].num_formats);
    g_assert(out_idx < caps->queue[VV_QUEUE_OUTPUT].num_formats);
    caps->queue[VV_QUEUE_INPUT].formats[in_idx].mask |= 1ULL << out_idx;
    caps->queue[VV_QUEUE_OUTPUT].formats[out_idx].mask |= 1ULL << in_idx;
}

/* Remove format @idx of queue @qi and renumber the other queue's masks. */
static void remove_format(VvCaps *caps, unsigned qi, unsigned idx)
{
    VvQueueCaps *q = &caps->queue[qi];
    VvQueueCaps *other = &caps->queue[!qi];
    uint64_t low = (1ULL << idx) - 1;
    unsigned i;

    memmove(&q->formats[idx], &q->formats[idx + 1],
            (q->num_formats - idx - 1) * sizeof(q->formats[0]));
    q->num_formats--;
    for (i = 0; i < other->num_formats; i++) {
        uint64_t m = other->formats[i].mask;

        other->formats[i].mask = (m & low) | ((m >> 1) & ~low);
    }
}

void vv_caps_prune(VvCaps *caps)
{
    unsigned qi, i;

    for (qi = 0; qi < VV_QUEUE_COUNT; qi++) {
        for (i = caps->queue[qi].num_formats; i-- > 0;) {
            if (!caps->queue[qi].formats[i].mask) {
                remove_format(caps, qi, i);
            }
        }
    }
}

size_t vv_caps_encoded_size(const VvQueueCaps *q)
{
    size_t size = sizeof(struct virtio_video_query_capability_resp);
    unsigned i, j;

    for (i = 0; i < q->num_formats; i++) {
        size += sizeof(struct virtio_video_format_desc);
        for (j = 0; j < q->formats[i].num_frames; j++) {
            size += sizeof(struct virtio_video_format_frame) +
                    q->formats[i].frames[j].num_rates *
                    sizeof(struct virtio_video_format_range);
        }
    }
    return size;
}

static uint8_t *put_range(uint8_t *p, const VvRange *r)
{
    vv_st32(p, r->min);
    vv_st32(p + 4, r->max);
    vv_st32(p + 8, r->step);
    memset(p + 12, 0, 4);
    return p + sizeof(struct virtio_video_format_range);
}

size_t vv_caps_encode(const VvQueueCaps *q, uint32_t stream_id,
                      uint8_t *buf, size_t size)
{
    size_t need = vv_caps_encoded_size(q);
    uint8_t *p = buf;
    unsigned i, j, k;

    if (need > size) {
        return 0;
    }
    p += vv_write_hdr(p, VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY, stream_id);
    vv_st32(p, q->num_formats);
    memset(p + 4, 0, 4);
    p += 8;
    for (i = 0; i < q->num_formats; i++) {
        const VvFormatCaps *f = &q->formats[i];

        vv_st64(p, f->mask);
        vv_st32(p + 8, f->format);
        vv_st32(p + 12, f->planes_layout);
        vv_st32(p + 16, f->plane_align);
        vv_st32(p + 20, f->num_frames);
        p += sizeof(struct virtio_video_format_desc);
        for (j = 0; j < f->num_frames; j++) {
            const VvFrameCaps *fr = &f->frames[j];

            p = put_range(p, &fr->width);
            p = put_range(p, &fr->height);
            vv_st32(p, fr->num_rates);
            memset(p + 4, 0, 4);
            p += 8;
            for (k = 0; k < fr->num_rates; k++) {
                p = put_range(p, &fr->rates[k]);
            }
        }
    }
    g_assert((size_t)(p - buf) == need);
    return need;
}
