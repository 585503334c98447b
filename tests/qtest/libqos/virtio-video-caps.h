/*
 * virtio-video test helpers: an independent reader of QUERY_CAPABILITY
 * responses, written from protocol.md section 5.2 and shared by the qtests
 * and the engine's unit tests.  Plain C, no QEMU or engine headers.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_VIDEO_CAPS_H
#define TESTS_LIBQOS_VIRTIO_VIDEO_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QVV_MAX_DESCS   64
#define QVV_MAX_FRAMES  8
#define QVV_MAX_RATES   8

typedef struct QVVRange {
    uint32_t min, max, step;
} QVVRange;

typedef struct QVVFrame {
    QVVRange width, height;
    uint32_t num_rates;
    QVVRange rates[QVV_MAX_RATES];
} QVVFrame;

typedef struct QVVFormat {
    uint64_t mask;
    uint32_t format;
    uint32_t planes_layout;
    uint32_t plane_align;
    uint32_t num_frames;
    QVVFrame frames[QVV_MAX_FRAMES];
} QVVFormat;

typedef struct QVVCaps {
    uint32_t type;              /* response type */
    uint32_t num_descs;
    size_t len;                 /* bytes the response really takes */
    QVVFormat descs[QVV_MAX_DESCS];
} QVVCaps;

static inline uint32_t qvv_rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline bool qvv_take(size_t *off, size_t n, size_t len)
{
    if (len - *off < n) {
        return false;
    }
    *off += n;
    return true;
}

static inline QVVRange qvv_range(const uint8_t *p)
{
    return (QVVRange){ qvv_rd32(p), qvv_rd32(p + 4), qvv_rd32(p + 8) };
}

static inline bool qvv_range_ok(QVVRange r)
{
    return r.min && r.min <= r.max && (r.min == r.max || r.step);
}

/*
 * Parse @len bytes of a QUERY_CAPABILITY response.  Returns NULL, or a
 * message saying what is wrong with it.
 */
static inline const char *qvv_caps_parse(const uint8_t *buf, size_t len,
                                         QVVCaps *caps)
{
    size_t off = 0;
    uint32_t i, j, k;

    if (!qvv_take(&off, 16, len)) {
        return "shorter than the 16-byte head";
    }
    caps->type = qvv_rd32(buf);
    caps->num_descs = qvv_rd32(buf + 8);
    if (caps->type != 0x201) {
        return "response type is not OK_QUERY_CAPABILITY";
    }
    if (caps->num_descs == 0 || caps->num_descs > QVV_MAX_DESCS) {
        return "num_descs is 0 or above 64";
    }
    for (i = 0; i < caps->num_descs; i++) {
        QVVFormat *f = &caps->descs[i];
        const uint8_t *p = buf + off;

        if (!qvv_take(&off, 24, len)) {
            return "format_desc cut short";
        }
        f->mask = qvv_rd32(p) | (uint64_t)qvv_rd32(p + 4) << 32;
        f->format = qvv_rd32(p + 8);
        f->planes_layout = qvv_rd32(p + 12);
        f->plane_align = qvv_rd32(p + 16);
        f->num_frames = qvv_rd32(p + 20);
        if (f->num_frames == 0 || f->num_frames > QVV_MAX_FRAMES) {
            return "num_frames is 0 or implausibly large";
        }
        for (j = 0; j < f->num_frames; j++) {
            QVVFrame *fr = &f->frames[j];

            p = buf + off;
            if (!qvv_take(&off, 40, len)) {
                return "format_frame cut short";
            }
            fr->width = qvv_range(p);
            fr->height = qvv_range(p + 16);
            fr->num_rates = qvv_rd32(p + 32);
            if (!qvv_range_ok(fr->width) || !qvv_range_ok(fr->height)) {
                return "bad frame size range";
            }
            if (fr->num_rates > QVV_MAX_RATES) {
                return "num_rates implausibly large";
            }
            for (k = 0; k < fr->num_rates; k++) {
                p = buf + off;
                if (!qvv_take(&off, 16, len)) {
                    return "frame rate range cut short";
                }
                fr->rates[k] = qvv_range(p);
                if (!qvv_range_ok(fr->rates[k])) {
                    return "bad frame rate range";
                }
            }
        }
    }
    caps->len = off;
    return NULL;
}

/* Raw formats 1..5, coded 0x1000..0x1005 (protocol.md section 7). */
static inline bool qvv_format_is_raw(uint32_t f)
{
    return f >= 1 && f <= 5;
}

static inline bool qvv_format_is_coded(uint32_t f)
{
    return f >= 0x1000 && f <= 0x1005;
}

static inline int qvv_caps_find(const QVVCaps *c, uint32_t format)
{
    uint32_t i;

    for (i = 0; i < c->num_descs; i++) {
        if (c->descs[i].format == format) {
            return i;
        }
    }
    return -1;
}

/*
 * Check the pairing masks of the two lists against each other: every mask
 * non-zero, no bit beyond the other list, and pairing symmetric.
 */
static inline const char *qvv_caps_check_masks(const QVVCaps *in,
                                               const QVVCaps *out)
{
    uint32_t i, j;

    for (i = 0; i < in->num_descs; i++) {
        if (!in->descs[i].mask ||
            (out->num_descs < 64 && in->descs[i].mask >> out->num_descs)) {
            return "INPUT mask empty or naming a missing OUTPUT format";
        }
        for (j = 0; j < out->num_descs; j++) {
            if (!!(in->descs[i].mask & (1ULL << j)) !=
                !!(out->descs[j].mask & (1ULL << i))) {
                return "INPUT and OUTPUT masks disagree";
            }
        }
    }
    for (j = 0; j < out->num_descs; j++) {
        if (!out->descs[j].mask ||
            (in->num_descs < 64 && out->descs[j].mask >> in->num_descs)) {
            return "OUTPUT mask empty or naming a missing INPUT format";
        }
    }
    return NULL;
}

#endif
