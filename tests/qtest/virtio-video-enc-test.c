/*
 * QTest testcases for virtio-video-pci in encoder mode, through the
 * virtqueues: encode ffmpeg's testsrc2 and check the bitstream with
 * libavcodec's own decoders (tests/qtest/virtio-video-encode.c).
 *
 * The same checks run faster, on more frames, through the engine alone in
 * tests/unit/test-vv-encode.c; these prove the device path end to end.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-video.h"
#include "virtio-video-client.h"
#include "virtio-video-encode.h"

static bool skip_decoder(QVirtioVideo *v)
{
    if (!v->encoder) {
        g_test_skip("encoder test");
        return true;
    }
    return false;
}

/*
 * With another backend than the default (make check-hw, BACKEND=): a GPU
 * encodes what it encodes; the default backend must offer every format.
 */
static bool skip_unoffered(QVirtioVideo *v, uint32_t format)
{
    const char *opts = g_getenv("VIRTIO_VIDEO_DEVICE_OPTS");
    QVVCaps caps;

    if (!opts || !*opts) {
        return false;
    }
    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &caps);
    if (qvv_caps_find(&caps, format) >= 0) {
        return false;
    }
    g_test_skip("the device's backend does not encode this format");
    return true;
}

static bool run(QVirtioVideo *v, const VvcEncodeCase *t, VvcEncodeResult *r)
{
    g_autofree char *err = NULL;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    bool ok;

    vvc_set_timeout(c, 120000);
    ok = vvc_encode_run(c, 1, t, r, &err);
    vvc_free(c);
    if (!ok) {
        g_test_message("%s", err);
        g_test_fail();
        g_array_free(r->keyframes, true);
        return false;
    }
    g_test_message("%u packets, %" PRIu64 " bytes, PSNR min %.2f avg %.2f",
                   r->packets, r->bytes, r->psnr_min, r->psnr_avg);
    return true;
}

static VvcEncodeCase base(uint32_t format)
{
    return (VvcEncodeCase) {
        .format = format,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 30,
        .bitrate = 1000000,
        .force_keyframe_at = -1,
        .bitrate_change_at = -1,
    };
}

/*
 * Each coded format: PSNR >= 35 dB, one packet per frame, keyframe 17
 * exactly where it was forced, timestamps and flags per packet.
 */
static void test_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    VvcEncodeCase t = base(GPOINTER_TO_UINT(data));
    VvcEncodeResult r;

    if (skip_decoder(obj) || skip_unoffered(obj, t.format)) {
        return;
    }
    t.force_keyframe_at = 17;
    if (!run(obj, &t, &r)) {
        return;
    }
    g_assert_cmpuint(r.packets, ==, t.frames);
    g_assert_cmpfloat(r.psnr_min, >=, 35.0);
    g_assert_cmpuint(r.keyframes->len, ==, 2);
    g_assert_cmpuint(g_array_index(r.keyframes, unsigned, 0), ==, 0);
    g_assert_cmpuint(g_array_index(r.keyframes, unsigned, 1), ==, 17);
    g_array_free(r.keyframes, true);
}

/* 1280x720 H.264 from scattered I420 buffers. */
static void test_encode_720p(void *obj, void *data, QGuestAllocator *alloc)
{
    VvcEncodeCase t = base(VIRTIO_VIDEO_FORMAT_H264);
    VvcEncodeResult r;

    if (skip_decoder(obj)) {
        return;
    }
    t.width = 1280;
    t.height = 720;
    t.frames = 8;
    t.bitrate = 4000000;
    t.raw_format = VIRTIO_VIDEO_FORMAT_YUV420;
    t.sg = true;
    if (!run(obj, &t, &r)) {
        return;
    }
    g_assert_cmpuint(r.packets, ==, t.frames);
    g_assert_cmpfloat(r.psnr_min, >=, 35.0);
    g_array_free(r.keyframes, true);
}

/* CBR within 15% of the target; profile and level in the SPS. */
static void test_encode_cbr_profile(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    VvcEncodeCase t = base(VIRTIO_VIDEO_FORMAT_H264);
    VvcEncodeResult r;
    double rate;

    if (skip_decoder(obj)) {
        return;
    }
    t.frames = 90;
    t.bitrate = 500000;
    t.bitrate_mode = VIRTIO_VIDEO_BITRATE_MODE_CBR;
    t.profile = VIRTIO_VIDEO_PROFILE_H264_HIGH;
    t.level = VIRTIO_VIDEO_LEVEL_H264_3_1;
    if (!run(obj, &t, &r)) {
        return;
    }
    rate = r.bytes * 8.0 * t.fps / t.frames;
    g_test_message("CBR target %u, got %.0f bit/s", t.bitrate, rate);
    g_assert_cmpfloat(rate, >=, t.bitrate * 0.85);
    g_assert_cmpfloat(rate, <=, t.bitrate * 1.15);
    g_assert_cmpint(r.h264_profile_idc, ==, 100);
    g_assert_cmpint(r.h264_level_idc, ==, 31);
    g_array_free(r.keyframes, true);
}

/* Bad control values and params get their errors and change nothing. */
static void test_encode_bad_input(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    g_autofree char *err = NULL;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, obj);
    bool ok = vvc_encode_bad_input(c, 3, &err);

    vvc_free(c);
    if (!ok) {
        g_test_message("%s", err);
        g_test_fail();
    }
}

/*
 * The picture sizes a guest's driver means, however it says them (issue
 * #20): the sequences of VvcEncodeSizes, at sizes that are and are not
 * multiples of 16, each decoded on the host at the source's size (checked
 * for every picture by vvc_encode_run()) with PSNR above 30 dB.
 */
typedef struct SizesCase {
    uint32_t format;
    VvcEncodeSizes sizes;
} SizesCase;

static void test_encode_sizes(void *obj, void *data, QGuestAllocator *alloc)
{
    static const struct {
        uint32_t w, h, frames;
    } sizes[] = {
        { 640, 360, 8 },
        { 854, 480, 5 },
        { 1920, 1080, 3 },
    };
    const SizesCase *sc = data;
    QVirtioVideo *v = obj;
    size_t i;

    if (skip_decoder(v)) {
        return;
    }
    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        VvcEncodeCase t = base(sc->format);
        VvcEncodeResult r;

        t.width = sizes[i].w;
        t.height = sizes[i].h;
        t.frames = sizes[i].frames;
        t.bitrate = t.width * t.height * 4;
        t.out_size = 4 * 1024 * 1024;
        t.sizes = sc->sizes;
        if (t.sizes == VVC_SIZES_RAW_CROP) {
            /* the picture inside a larger frame */
            t.crop_left = 16;
            t.crop_top = 8;
        }
        if (!run(v, &t, &r)) {
            return;
        }
        g_test_message("%ux%u: decoded at the source's size", t.width,
                       t.height);
        g_assert_cmpuint(r.packets, ==, t.frames);
        g_assert_cmpfloat(r.psnr_min, >, 30.0);
        g_array_free(r.keyframes, true);
    }
}

/* Params the device reported, sent back, change nothing. */
static void test_encode_echo(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree char *err = NULL;
    VvcClient *c;
    bool ok;

    if (skip_decoder(obj)) {
        return;
    }
    c = vvc_new(&qvirtio_video_vvc_ops, obj);
    ok = vvc_encode_echo(c, 1, &err);
    vvc_free(c);
    if (!ok) {
        g_test_message("%s", err);
        g_test_fail();
    }
}

/* Bad sizes and crop rectangles, before and after encoding started. */
static void test_encode_bad_params(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    g_autofree char *err = NULL;
    VvcClient *c;
    bool ok;

    if (skip_decoder(obj)) {
        return;
    }
    c = vvc_new(&qvirtio_video_vvc_ops, obj);
    vvc_set_timeout(c, 60000);
    ok = vvc_encode_bad_params(c, 1, &err);
    vvc_free(c);
    if (!ok) {
        g_test_message("%s", err);
        g_test_fail();
    }
}

static void register_virtio_video_enc_test(void)
{
    static const char *const how[] = {
        [VVC_SIZES_CACHED] = "cached",
        [VVC_SIZES_RAW_CROP] = "raw-crop",
    };
    static SizesCase sizes_cases[4 * 2];
    static const struct {
        const char *name;
        uint32_t format;
    } formats[] = {
        { "encode-h264", VIRTIO_VIDEO_FORMAT_H264 },
        { "encode-hevc", VIRTIO_VIDEO_FORMAT_HEVC },
        { "encode-vp8", VIRTIO_VIDEO_FORMAT_VP8 },
        { "encode-vp9", VIRTIO_VIDEO_FORMAT_VP9 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(formats); i++) {
        QOSGraphTestOptions opts = {
            .arg = GUINT_TO_POINTER(formats[i].format),
        };
        VvcEncodeSizes k;

        qos_add_test(formats[i].name, "virtio-video-encoder", test_encode,
                     &opts);
        for (k = VVC_SIZES_CACHED; k <= VVC_SIZES_RAW_CROP; k++) {
            SizesCase *sc = &sizes_cases[2 * i + k - VVC_SIZES_CACHED];
            g_autofree char *name = g_strdup_printf("encode-sizes/%s/%s",
                                                    formats[i].name + 7,
                                                    how[k]);
            QOSGraphTestOptions sopts = { .arg = sc };

            sc->format = formats[i].format;
            sc->sizes = k;
            qos_add_test(name, "virtio-video-encoder", test_encode_sizes,
                         &sopts);
        }
    }
    qos_add_test("encode-echo", "virtio-video-encoder", test_encode_echo,
                 NULL);
    qos_add_test("encode-bad-params", "virtio-video-encoder",
                 test_encode_bad_params, NULL);
    qos_add_test("encode-720p", "virtio-video-encoder", test_encode_720p,
                 NULL);
    qos_add_test("encode-bad-input", "virtio-video-encoder",
                 test_encode_bad_input, NULL);
    qos_add_test("encode-cbr-profile", "virtio-video-encoder",
                 test_encode_cbr_profile, NULL);
}

libqos_init(register_virtio_video_enc_test);
