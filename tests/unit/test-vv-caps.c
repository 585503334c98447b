/*
 * virtio-video engine: capability model and encoding tests.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>

#include "vv-caps.h"
#include "vv-protocol.h"
#include "../qtest/libqos/virtio-video-caps.h"

/* A hand-built two-format list encodes to exactly these bytes. */
static void test_encode_bytes(void)
{
    static const uint8_t expect[] = {
        /* hdr: OK_QUERY_CAPABILITY, stream 9; num_descs 1, padding */
        0x01, 0x02, 0, 0,  9, 0, 0, 0,  1, 0, 0, 0,  0, 0, 0, 0,
        /* desc: mask 0x8000000000000001, format H264, layout 1, align 1 */
        0x01, 0, 0, 0, 0, 0, 0, 0x80,  0x02, 0x10, 0, 0,
        1, 0, 0, 0,  1, 0, 0, 0,  1, 0, 0, 0,
        /* frame: width 16..4096 step 1, height 16..2160 step 2 */
        16, 0, 0, 0,  0, 0x10, 0, 0,  1, 0, 0, 0,  0, 0, 0, 0,
        16, 0, 0, 0,  0x70, 0x08, 0, 0,  2, 0, 0, 0,  0, 0, 0, 0,
        /* num_rates 1, padding; rate 1..60 step 1 */
        1, 0, 0, 0,  0, 0, 0, 0,
        1, 0, 0, 0,  60, 0, 0, 0,  1, 0, 0, 0,  0, 0, 0, 0,
    };
    VvQueueCaps q = { 0 };
    VvFormatCaps *f;
    VvFrameCaps *fr;
    uint8_t buf[256];

    f = vv_caps_add_format(&q, VIRTIO_VIDEO_FORMAT_H264, 1, 1);
    f->mask = 0x8000000000000001ULL;
    fr = vv_caps_add_frame(f, (VvRange){ 16, 4096, 1 },
                           (VvRange){ 16, 2160, 2 });
    g_assert_true(vv_caps_add_rate(fr, (VvRange){ 1, 60, 1 }));

    g_assert_cmpuint(vv_caps_encoded_size(&q), ==, sizeof(expect));
    memset(buf, 0xee, sizeof(buf));
    g_assert_cmpuint(vv_caps_encode(&q, 9, buf, sizeof(buf)), ==,
                     sizeof(expect));
    g_assert_cmpmem(buf, sizeof(expect), expect, sizeof(expect));

    /* one byte short: refused, never truncated */
    g_assert_cmpuint(vv_caps_encode(&q, 9, buf, sizeof(expect) - 1), ==, 0);
}

static void test_limits(void)
{
    VvQueueCaps q = { 0 };
    VvFormatCaps *f = NULL;
    VvFrameCaps *fr = NULL;
    unsigned i;

    for (i = 0; i < VV_CAPS_MAX_FORMATS; i++) {
        f = vv_caps_add_format(&q, VIRTIO_VIDEO_FORMAT_NV12, 1, 1);
        g_assert_nonnull(f);
    }
    g_assert_null(vv_caps_add_format(&q, VIRTIO_VIDEO_FORMAT_NV12, 1, 1));
    for (i = 0; i < VV_CAPS_MAX_FRAMES; i++) {
        fr = vv_caps_add_frame(f, (VvRange){ 2, 2, 0 }, (VvRange){ 2, 2, 0 });
        g_assert_nonnull(fr);
    }
    g_assert_null(vv_caps_add_frame(f, (VvRange){ 2, 2, 0 },
                                    (VvRange){ 2, 2, 0 }));
    for (i = 0; i < VV_CAPS_MAX_RATES; i++) {
        g_assert_true(vv_caps_add_rate(fr, (VvRange){ 30, 30, 0 }));
    }
    g_assert_false(vv_caps_add_rate(fr, (VvRange){ 30, 30, 0 }));
}

static void add(VvCaps *c, unsigned qi, uint32_t format)
{
    VvFormatCaps *f = vv_caps_add_format(&c->queue[qi], format, 1, 1);

    vv_caps_add_frame(f, (VvRange){ 16, 64, 1 }, (VvRange){ 16, 64, 1 });
}

/* Pairing, then pruning formats that pair with nothing, keeps masks right. */
static void test_pair_prune(void)
{
    VvCaps c = { 0 };
    QVVCaps in, out;
    uint8_t bin[1024], bout[1024];

    add(&c, VV_QUEUE_INPUT, VIRTIO_VIDEO_FORMAT_H264);     /* 0 */
    add(&c, VV_QUEUE_INPUT, VIRTIO_VIDEO_FORMAT_HEVC);     /* 1: unpaired */
    add(&c, VV_QUEUE_INPUT, VIRTIO_VIDEO_FORMAT_VP9);      /* 2 */
    add(&c, VV_QUEUE_OUTPUT, VIRTIO_VIDEO_FORMAT_ARGB8888); /* 0: unpaired */
    add(&c, VV_QUEUE_OUTPUT, VIRTIO_VIDEO_FORMAT_NV12);    /* 1 */
    add(&c, VV_QUEUE_OUTPUT, VIRTIO_VIDEO_FORMAT_YUV420);  /* 2 */
    vv_caps_pair(&c, 0, 1);
    vv_caps_pair(&c, 2, 1);
    vv_caps_pair(&c, 2, 2);
    vv_caps_prune(&c);

    g_assert_cmpuint(c.queue[VV_QUEUE_INPUT].num_formats, ==, 2);
    g_assert_cmpuint(c.queue[VV_QUEUE_OUTPUT].num_formats, ==, 2);

    g_assert_cmpuint(vv_caps_encode(&c.queue[VV_QUEUE_INPUT], 0, bin,
                                    sizeof(bin)), >, 0);
    g_assert_cmpuint(vv_caps_encode(&c.queue[VV_QUEUE_OUTPUT], 0, bout,
                                    sizeof(bout)), >, 0);
    g_assert_null(qvv_caps_parse(bin, sizeof(bin), &in));
    g_assert_null(qvv_caps_parse(bout, sizeof(bout), &out));
    g_assert_null(qvv_caps_check_masks(&in, &out));
    /* H264 -> NV12 only; VP9 -> NV12 and YUV420 */
    g_assert_cmphex(in.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    g_assert_cmphex(in.descs[0].mask, ==, 0x1);
    g_assert_cmphex(in.descs[1].format, ==, VIRTIO_VIDEO_FORMAT_VP9);
    g_assert_cmphex(in.descs[1].mask, ==, 0x3);
    g_assert_cmphex(out.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_NV12);
    g_assert_cmphex(out.descs[0].mask, ==, 0x3);
    g_assert_cmphex(out.descs[1].format, ==, VIRTIO_VIDEO_FORMAT_YUV420);
    g_assert_cmphex(out.descs[1].mask, ==, 0x2);
}

/* The test reader itself rejects what it must (it guards the qtests). */
static void test_reader_rejects(void)
{
    VvQueueCaps q = { 0 };
    VvFormatCaps *f = vv_caps_add_format(&q, VIRTIO_VIDEO_FORMAT_VP8, 1, 1);
    uint8_t buf[256];
    QVVCaps c;
    size_t len;

    f->mask = 1;
    vv_caps_add_frame(f, (VvRange){ 16, 64, 1 }, (VvRange){ 16, 64, 1 });
    len = vv_caps_encode(&q, 0, buf, sizeof(buf));
    g_assert_null(qvv_caps_parse(buf, len, &c));
    g_assert_cmpuint(c.len, ==, len);
    g_assert_nonnull(qvv_caps_parse(buf, len - 1, &c));
    vv_st32(buf + 16 + 24, 65);         /* width.min > width.max */
    g_assert_nonnull(qvv_caps_parse(buf, len, &c));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vv/caps/encode-bytes", test_encode_bytes);
    g_test_add_func("/vv/caps/limits", test_limits);
    g_test_add_func("/vv/caps/pair-prune", test_pair_prune);
    g_test_add_func("/vv/caps/reader-rejects", test_reader_rejects);
    return g_test_run();
}
