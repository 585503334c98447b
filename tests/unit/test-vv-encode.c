/*
 * virtio-video engine: encoding through the engine alone.
 *
 * Each case encodes ffmpeg's testsrc2 through an in-process guest, decodes
 * the packets with libavcodec's own decoder and measures them against the
 * source: PSNR, rate, keyframes, profile and level in the headers.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <string.h>
#include <glib.h>

#include "vv-fake-guest.h"
#include "vv-protocol.h"
#include "../qtest/virtio-video-client.h"
#include "../qtest/virtio-video-encode.h"

typedef struct Env {
    FakeGuest *g;
    VvcClient *c;
} Env;

static void env_init(Env *env, VvMode mode)
{
    env->g = fg_new(mode, 1024 * 1024 * 1024);
    env->c = vvc_new(&fg_vvc_ops, env->g);
    vvc_set_timeout(env->c, 120000);
}

static void env_fini(Env *env)
{
    vvc_free(env->c);
    fg_free(env->g);
}

static void run(const VvcEncodeCase *t, VvcEncodeResult *r)
{
    g_autofree char *err = NULL;
    Env env;

    env_init(&env, VV_MODE_ENCODER);
    if (!vvc_encode_run(env.c, 1, t, r, &err)) {
        g_error("%s", err);
    }
    g_test_message("%u packets, %" PRIu64 " bytes, PSNR min %.2f avg %.2f",
                   r->packets, r->bytes, r->psnr_min, r->psnr_avg);
    env_fini(&env);
}

static VvcEncodeCase base(uint32_t format)
{
    return (VvcEncodeCase) {
        .format = format,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 60,
        .bitrate = 1000000,
        .force_keyframe_at = -1,
        .bitrate_change_at = -1,
    };
}

/* Quality: PSNR >= 35 dB on every frame, one packet per frame. */
static void test_quality(gconstpointer data)
{
    const VvcEncodeCase *t = data;
    VvcEncodeResult r;
    unsigned first;

    run(t, &r);
    g_assert_cmpuint(r.packets, ==, t->frames);
    g_assert_cmpfloat(r.psnr_min, >=, 35.0);
    first = g_array_index(r.keyframes, unsigned, 0);
    g_assert_cmpuint(first, ==, 0);
    g_array_free(r.keyframes, true);
}

/* CBR: the bitrate over the sequence within 15% of the target. */
static void test_cbr(gconstpointer data)
{
    VvcEncodeCase t = base(GPOINTER_TO_UINT(data));
    VvcEncodeResult r;
    double rate;

    t.frames = 90;
    t.bitrate = 500000;
    t.bitrate_mode = VIRTIO_VIDEO_BITRATE_MODE_CBR;
    run(&t, &r);
    rate = r.bytes * 8.0 * t.fps / t.frames;
    g_test_message("CBR target %u, got %.0f bit/s", t.bitrate, rate);
    g_assert_cmpfloat(rate, >=, t.bitrate * 0.85);
    g_assert_cmpfloat(rate, <=, t.bitrate * 1.15);
    g_array_free(r.keyframes, true);
}

static void test_force_keyframe(gconstpointer data)
{
    VvcEncodeCase t = base(GPOINTER_TO_UINT(data));
    VvcEncodeResult r;

    t.force_keyframe_at = 17;
    run(&t, &r);
    /* exactly the first frame and the requested one (GOP is longer) */
    g_assert_cmpuint(r.keyframes->len, ==, 2);
    g_assert_cmpuint(g_array_index(r.keyframes, unsigned, 0), ==, 0);
    g_assert_cmpuint(g_array_index(r.keyframes, unsigned, 1), ==, 17);
    g_array_free(r.keyframes, true);
}

static void migrate_hook(void *opaque)
{
    fg_migrate(opaque);
}

/*
 * Live migration before frame 20 is queued: every frame comes out, the
 * first one the new engine encodes is a keyframe, quality holds.
 */
static void test_migrate(gconstpointer data)
{
    VvcEncodeCase t = base(GPOINTER_TO_UINT(data));
    g_autofree char *err = NULL;
    VvcEncodeResult r;
    bool cut = false;
    Env env;
    guint i;

    env_init(&env, VV_MODE_ENCODER);
    t.frames = 40;
    t.hook_at = 20;
    t.hook = migrate_hook;
    t.hook_opaque = env.g;
    if (!vvc_encode_run(env.c, 1, &t, &r, &err)) {
        g_error("%s", err);
    }
    env_fini(&env);
    g_assert_cmpuint(r.packets, ==, t.frames);
    g_assert_cmpfloat(r.psnr_min, >=, 35.0);
    /* the client keeps up to 8 frames queued: they crossed the cut */
    for (i = 0; i < r.keyframes->len; i++) {
        unsigned k = g_array_index(r.keyframes, unsigned, i);

        cut |= k > 0 && k <= t.hook_at && k + 8 >= t.hook_at;
    }
    g_assert_true(cut);
    g_array_free(r.keyframes, true);
}

/*
 * An open stream that never had a buffer (no worker, no timestamp ring
 * yet) migrates next to a busy one and is usable on the destination.
 */
static void test_migrate_idle(void)
{
    VvcEncodeCase t = base(VIRTIO_VIDEO_FORMAT_VP8);
    g_autofree char *err = NULL;
    VvcEncodeResult r;
    VvcParams p;
    Env env;

    env_init(&env, VV_MODE_ENCODER);
    g_assert_cmphex(vvc_stream_create(env.c, 2, 0, 0,
                                      VIRTIO_VIDEO_FORMAT_H264, "idle"), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    t.frames = 20;
    t.hook_at = 10;
    t.hook = migrate_hook;
    t.hook_opaque = env.g;
    if (!vvc_encode_run(env.c, 1, &t, &r, &err)) {
        g_error("%s", err);
    }
    g_assert_cmpuint(r.packets, ==, t.frames);
    g_array_free(r.keyframes, true);
    g_assert_cmphex(vvc_get_params(env.c, 2, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   true, &p), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmphex(p.format, ==, VIRTIO_VIDEO_FORMAT_H264);
    g_assert_cmphex(vvc_stream_destroy(env.c, 2), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    env_fini(&env);
}

static void test_h264_profile_level(void)
{
    static const struct {
        uint32_t profile, level;
        int profile_idc, level_idc;
    } cases[] = {
        { VIRTIO_VIDEO_PROFILE_H264_BASELINE, VIRTIO_VIDEO_LEVEL_H264_2_1,
          66, 21 },
        { VIRTIO_VIDEO_PROFILE_H264_MAIN, VIRTIO_VIDEO_LEVEL_H264_3_0,
          77, 30 },
        { VIRTIO_VIDEO_PROFILE_H264_HIGH, VIRTIO_VIDEO_LEVEL_H264_3_1,
          100, 31 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        VvcEncodeCase t = base(VIRTIO_VIDEO_FORMAT_H264);
        VvcEncodeResult r;

        t.frames = 10;
        t.profile = cases[i].profile;
        t.level = cases[i].level;
        run(&t, &r);
        g_assert_cmpint(r.h264_profile_idc, ==, cases[i].profile_idc);
        g_assert_cmpint(r.h264_level_idc, ==, cases[i].level_idc);
        g_array_free(r.keyframes, true);
    }
}

/*
 * Lowering the bitrate while streaming lowers the rate, whether the
 * encoder takes the new rate as it goes (libx264) or is restarted for it
 * (libvpx, libx265, the hardware encoders).
 */
static void test_bitrate_change(const void *data)
{
    VvcEncodeCase t = base(GPOINTER_TO_UINT(data));
    VvcEncodeResult r;
    double before, after;

    t.frames = 180;
    t.bitrate = 1000000;
    t.bitrate_mode = VIRTIO_VIDEO_BITRATE_MODE_CBR;
    t.bitrate_change_at = 60;
    t.bitrate2 = 250000;
    run(&t, &r);
    before = (r.bytes - r.bytes_after_change) * 8.0 * t.fps / 60;
    after = r.bytes_after_change * 8.0 * t.fps / 120;
    g_test_message("bitrate before %.0f, after %.0f", before, after);
    g_assert_cmpfloat(after, <, before * 0.5);
    g_array_free(r.keyframes, true);
}

/* A bitstream buffer too small for a packet fails, it is not cut short. */
static void test_small_output(void)
{
    VvcEncodeCase t = base(VIRTIO_VIDEO_FORMAT_H264);
    VvcEncodeResult r;

    t.frames = 10;
    t.bitrate = 4000000;
    t.out_size = 4096;
    run(&t, &r);
    g_assert_cmpuint(r.err_buffers, >=, 1);
    g_assert_cmpuint(r.packets + r.err_buffers, ==, t.frames);
    g_array_free(r.keyframes, true);
}

/*
 * The picture the guest's driver means, however it says it: decoded on
 * the host at the source's size (vvc_encode_run() checks every picture),
 * PSNR >= 30 dB.
 */
static void test_size(gconstpointer data)
{
    const VvcEncodeCase *t = data;
    VvcEncodeResult r;

    run(t, &r);
    g_assert_cmpuint(r.packets, ==, t->frames);
    g_assert_cmpfloat(r.psnr_min, >=, 30.0);
    g_array_free(r.keyframes, true);
}

#define SIZE_CASE(fmt, w, h, how, ...) \
    { VIRTIO_VIDEO_FORMAT_##fmt, VIRTIO_VIDEO_FORMAT_NV12, w, h, 30, 10, \
      (w) * (h) * 4, .force_keyframe_at = -1, .bitrate_change_at = -1, \
      .out_size = 4 * 1024 * 1024, .sizes = VVC_SIZES_##how, __VA_ARGS__ }

static const VvcEncodeCase size_cases[] = {
    /* S_FMT with the size, the aligned size sent back (issue #20) */
    SIZE_CASE(H264, 854, 480, CACHED),
    SIZE_CASE(HEVC, 854, 480, CACHED),
    SIZE_CASE(H264, 1366, 768, CACHED),
    SIZE_CASE(HEVC, 1366, 768, CACHED),
    SIZE_CASE(VP8, 1366, 768, CACHED),
    SIZE_CASE(VP9, 640, 360, CACHED),
    /* S_FMT with the aligned size, the picture in the crop selection */
    SIZE_CASE(H264, 640, 360, CACHED, .sfmt_width = 640, .sfmt_height = 368),
    SIZE_CASE(VP8, 854, 480, CACHED, .sfmt_width = 864, .sfmt_height = 480),
    /* a crop rectangle in the raw queue's params, also at an offset */
    SIZE_CASE(H264, 640, 360, RAW_CROP),
    SIZE_CASE(HEVC, 640, 360, RAW_CROP, .crop_left = 32, .crop_top = 10),
    SIZE_CASE(VP9, 854, 480, RAW_CROP, .crop_left = 6, .crop_top = 4),
    /* odd sizes, which VP8 and VP9 code */
    SIZE_CASE(VP8, 321, 241, PLAIN),
    SIZE_CASE(VP9, 321, 241, PLAIN),
    SIZE_CASE(VP8, 321, 241, CACHED),
    SIZE_CASE(VP9, 321, 241, RAW_CROP, .crop_left = 2, .crop_top = 2),
};

/* Params the device reported, sent back, change nothing. */
static void test_echo(void)
{
    g_autofree char *err = NULL;
    Env env;

    env_init(&env, VV_MODE_ENCODER);
    if (!vvc_encode_echo(env.c, 1, &err)) {
        g_error("%s", err);
    }
    env_fini(&env);

    /* a decoder's params at creation */
    env_init(&env, VV_MODE_DECODER);
    g_assert_cmphex(vvc_stream_create(env.c, 1, 0, 0,
                                      VIRTIO_VIDEO_FORMAT_H264, "x"), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    if (!vvc_check_echo(env.c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, NULL,
                        &err) ||
        !vvc_check_echo(env.c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true,
                        NULL, &err) ||
        !vvc_check_echo(env.c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, false,
                        NULL, &err)) {
        g_error("decoder: %s", err);
    }
    g_assert_cmphex(vvc_stream_destroy(env.c, 1), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    env_fini(&env);
}

/* Bad crop rectangles and sizes, before and after encoding started. */
static void test_bad_params(void)
{
    g_autofree char *err = NULL;
    Env env;

    env_init(&env, VV_MODE_ENCODER);
    if (!vvc_encode_bad_params(env.c, 1, &err)) {
        g_error("%s", err);
    }
    env_fini(&env);
}

static void test_bad_controls(void)
{
    g_autofree char *err = NULL;
    Env env;

    env_init(&env, VV_MODE_ENCODER);
    if (!vvc_encode_bad_input(env.c, 1, &err)) {
        g_error("%s", err);
    }
    env_fini(&env);

    /* a decoder has nothing to set */
    env_init(&env, VV_MODE_DECODER);
    g_assert_cmphex(vvc_stream_create(env.c, 1, 0, 0,
                                      VIRTIO_VIDEO_FORMAT_H264, "x"), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_set_control(env.c, 1, VIRTIO_VIDEO_CONTROL_BITRATE,
                                    1000), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    g_assert_cmphex(vvc_stream_destroy(env.c, 1), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    env_fini(&env);
}

static const VvcEncodeCase quality_cases[] = {
    { VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 30, 60,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
    { VIRTIO_VIDEO_FORMAT_HEVC, VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 30, 60,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
    { VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 30, 60,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
    { VIRTIO_VIDEO_FORMAT_VP9, VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 30, 60,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
    { VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_YUV420, 320, 240, 30, 30,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1, .sg = true },
    { VIRTIO_VIDEO_FORMAT_VP9, VIRTIO_VIDEO_FORMAT_YVU420, 320, 240, 30, 30,
      1000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
    { VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_NV12, 1280, 720, 30, 60,
      4000000, .force_keyframe_at = -1, .bitrate_change_at = -1 },
};

int main(int argc, char **argv)
{
    static const uint32_t formats[] = {
        VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_HEVC,
        VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_VP9,
    };
    size_t i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < G_N_ELEMENTS(quality_cases); i++) {
        const VvcEncodeCase *t = &quality_cases[i];
        g_autofree char *name =
            g_strdup_printf("/vv/encode/quality/%s-%s-%ux%u%s",
                            vvc_format_name(t->format),
                            vvc_format_name(t->raw_format), t->width,
                            t->height, t->sg ? "-sg" : "");

        g_test_add_data_func(name, t, test_quality);
    }
    for (i = 0; i < G_N_ELEMENTS(formats); i++) {
        g_autofree char *cbr = g_strdup_printf("/vv/encode/cbr/%s",
                                               vvc_format_name(formats[i]));
        g_autofree char *kf = g_strdup_printf("/vv/encode/force-keyframe/%s",
                                              vvc_format_name(formats[i]));

        g_test_add_data_func(cbr, GUINT_TO_POINTER(formats[i]), test_cbr);
        g_autofree char *mig = g_strdup_printf("/vv/encode/migrate/%s",
                                               vvc_format_name(formats[i]));

        g_test_add_data_func(kf, GUINT_TO_POINTER(formats[i]),
                             test_force_keyframe);
        g_test_add_data_func(mig, GUINT_TO_POINTER(formats[i]),
                             test_migrate);
    }
    g_test_add_func("/vv/encode/migrate-idle", test_migrate_idle);
    g_test_add_func("/vv/encode/h264-profile-level", test_h264_profile_level);
    g_test_add_data_func("/vv/encode/bitrate-change",
                         GUINT_TO_POINTER(VIRTIO_VIDEO_FORMAT_H264),
                         test_bitrate_change);
    g_test_add_data_func("/vv/encode/bitrate-change-vp9",
                         GUINT_TO_POINTER(VIRTIO_VIDEO_FORMAT_VP9),
                         test_bitrate_change);
    g_test_add_data_func("/vv/encode/bitrate-change-hevc",
                         GUINT_TO_POINTER(VIRTIO_VIDEO_FORMAT_HEVC),
                         test_bitrate_change);
    g_test_add_func("/vv/encode/small-output", test_small_output);
    g_test_add_func("/vv/encode/bad-controls", test_bad_controls);
    g_test_add_func("/vv/encode/echo", test_echo);
    g_test_add_func("/vv/encode/bad-params", test_bad_params);
    for (i = 0; i < G_N_ELEMENTS(size_cases); i++) {
        static const char *const how[] = { "plain", "cached", "raw-crop" };
        const VvcEncodeCase *t = &size_cases[i];
        g_autofree char *name =
            g_strdup_printf("/vv/encode/size/%s-%ux%u-%s%s",
                            vvc_format_name(t->format), t->width, t->height,
                            how[t->sizes],
                            t->crop_left || t->sfmt_width ? "-2" : "");

        g_test_add_data_func(name, t, test_size);
    }
    return g_test_run();
}
