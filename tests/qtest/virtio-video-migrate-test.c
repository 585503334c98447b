/*
 * QTest testcases for virtio-video-pci: live migration between two QEMU
 * processes, with streams idle and in the middle of decoding and encoding.
 *
 * The test drives the source through libqos, starts a destination with the
 * same machine, migrates, and from then on talks to the destination with
 * the same virtqueue and client state (it is all in guest memory, which
 * migrated).  Every decoded frame is compared with ffmpeg's own decode
 * across the cut.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-video.h"
#include "virtio-video-client.h"
#include "virtio-video-encode.h"

#define Q_IN    VIRTIO_VIDEO_QUEUE_TYPE_INPUT
#define Q_OUT   VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT

typedef struct Migration {
    QVirtioVideo *v;
    const char *device;         /* -device arguments of the source */
    QTestState *src, *dst;
    char *dir;                  /* holds the migration socket */
    char *uri;
    unsigned done;
} Migration;

static void mig_setup(Migration *m, QVirtioVideo *v, const char *device)
{
    m->dir = g_dir_make_tmp("virtio-video-mig-XXXXXX", NULL);
    g_assert_nonnull(m->dir);
    m->v = v;
    m->device = device;
    m->uri = g_strdup_printf("unix:%s/mig.sock", m->dir);
}

static const char *mig_status(QTestState *qts)
{
    static char status[32];
    QDict *resp = qtest_qmp_assert_success_ref(qts,
                                               "{'execute': 'query-migrate'}");

    g_strlcpy(status, qdict_get_try_str(resp, "status") ?: "", sizeof(status));
    qobject_unref(resp);
    return status;
}

/* Migrate to a new QEMU and carry on there. */
static void migrate_now(void *opaque)
{
    Migration *m = opaque;
    const char *st;

    m->src = qvirtio_video_qts(m->v);
    m->dst = qtest_initf("-M pc -device %s -incoming defer", m->device);
    qtest_qmp_assert_success(m->dst, "{'execute': 'migrate-incoming',"
                             " 'arguments': {'uri': %s}}", m->uri);
    qtest_qmp_assert_success(m->src, "{'execute': 'migrate',"
                             " 'arguments': {'uri': %s}}", m->uri);
    do {
        g_usleep(20 * 1000);
        st = mig_status(m->src);
    } while (strcmp(st, "completed") && strcmp(st, "failed"));
    g_assert_cmpstr(st, ==, "completed");
    qtest_qmp_eventwait(m->dst, "RESUME");
    qvirtio_video_set_qts(m->v, m->dst);
    m->done++;
}

/* Migration must be refused, with the reason, and the guest go on. */
static void migrate_refused(void *opaque)
{
    Migration *m = opaque;
    QDict *resp;
    const char *desc;

    resp = qtest_qmp(qvirtio_video_qts(m->v), "{'execute': 'migrate',"
                     " 'arguments': {'uri': %s}}", m->uri);
    g_assert_true(qdict_haskey(resp, "error"));
    desc = qdict_get_str(qdict_get_qdict(resp, "error"), "desc");
    g_test_message("migrate refused: %s", desc);
    g_assert_nonnull(strstr(desc, "migrate-history-mb"));
    qobject_unref(resp);
    m->done++;
}

/* Back to the source for libqos' teardown; the destination goes away. */
static void mig_finish(Migration *m)
{
    if (m->dst) {
        qvirtio_video_set_qts(m->v, m->src);
        qtest_quit(m->dst);
        /*
         * The source is stopped (postmigrate) and its rings are behind
         * the driver's: the next test needs a QEMU of its own.
         */
        qos_invalidate_command_line();
    }
    unlink(m->uri + strlen("unix:"));
    rmdir(m->dir);
    g_free(m->uri);
    g_free(m->dir);
}

/* An ffmpeg-made clip, its access units and ffmpeg's own checksums. */
typedef struct Clip {
    char *dir, *path, *ref;
    GPtrArray *units;           /* VvcUnit */
    GPtrArray *md5;             /* per frame, output order */
    uint32_t format;
} Clip;

static void clip_make(Clip *cl, const char *name, const char *size,
                      unsigned frames, const char *const *enc)
{
    g_autofree char *src = g_strdup_printf("testsrc2=size=%s:rate=25", size);
    g_autofree char *count = g_strdup_printf("%u", frames);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autofree char *err = NULL;
    int depth = 8;

    cl->dir = g_dir_make_tmp("virtio-video-clip-XXXXXX", NULL);
    g_assert_nonnull(cl->dir);
    cl->path = g_build_filename(cl->dir, name, NULL);
    g_ptr_array_add(args, (gpointer)"-f");
    g_ptr_array_add(args, (gpointer)"lavfi");
    g_ptr_array_add(args, (gpointer)"-i");
    g_ptr_array_add(args, src);
    g_ptr_array_add(args, (gpointer)"-frames:v");
    g_ptr_array_add(args, count);
    for (; *enc; enc++) {
        g_ptr_array_add(args, (gpointer)*enc);
    }
    g_ptr_array_add(args, cl->path);
    g_ptr_array_add(args, NULL);
    if (!vvc_run_ffmpeg((const char *const *)args->pdata, &err)) {
        g_error("%s: %s", name, err);
    }
    cl->ref = vvc_ffmpeg_framemd5(cl->path, "nv12", &err);
    cl->md5 = cl->ref ? vvc_read_framemd5(cl->ref, &err) : NULL;
    cl->units = cl->md5 ? vvc_demux(cl->path, &cl->format, &depth, &err)
                        : NULL;
    if (!cl->units) {
        g_error("%s: %s", name, err);
    }
}

static void clip_free(Clip *cl)
{
    unlink(cl->ref);
    unlink(cl->path);
    rmdir(cl->dir);
    g_ptr_array_unref(cl->units);
    g_ptr_array_unref(cl->md5);
    g_free(cl->ref);
    g_free(cl->path);
    g_free(cl->dir);
}

typedef struct DecodeCase {
    const char *name, *file, *size;
    unsigned frames, cut;
    const char *const *enc;
} DecodeCase;

static const char *const enc_h264[] = {
    "-c:v", "libx264", "-bf", "3", "-g", "250", "-pix_fmt", "yuv420p",
    "-f", "h264", NULL
};
static const char *const enc_vp9[] = {
    "-c:v", "libvpx-vp9", "-b:v", "400k", "-g", "8", "-f", "ivf", NULL
};
static const char *const enc_hevc[] = {
    "-c:v", "libx265", "-x265-params", "log-level=error:bframes=3",
    "-pix_fmt", "yuv420p", "-f", "hevc", NULL
};

/*
 * H.264 and HEVC with B-frames: the destination replays the stream from its
 * start; VP9 with a keyframe every 8 frames: from the last keyframe out.
 */
static const DecodeCase decode_cases[] = {
    { "h264", "m.h264", "352x288", 48, 20, enc_h264 },
    { "hevc", "m.hevc", "320x240", 40, 15, enc_hevc },
    { "vp9", "m.ivf", "352x288", 48, 29, enc_vp9 },
};

static void test_migrate_decode(void *obj, void *data, QGuestAllocator *alloc)
{
    const DecodeCase *dc = data;
    QVirtioVideo *v = obj;
    g_autofree char *err = NULL, *diff = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autoptr(GArray) order = NULL;
    VvcDecodeStats st = { 0 };
    VvcDecodeOpts o = { .stats = &st, .hook = migrate_now };
    Migration m = { 0 };
    Clip cl = { 0 };
    VvcClient *c;

    clip_make(&cl, dc->file, dc->size, dc->frames, dc->enc);
    order = vvc_reference_order(cl.units, cl.format, &err);
    g_assert_nonnull(order);

    mig_setup(&m, v, "virtio-video-pci,addr=04.0");
    o.coded_format = cl.format;
    o.hook_after = dc->cut;
    o.hook_opaque = &m;
    c = vvc_new(&qvirtio_video_vvc_ops, v);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_units(c, cl.units, &o, frames, &err)) {
        g_error("%s: %s (%u frames)", dc->name, err, frames->len);
    }
    vvc_free(c);
    g_assert_cmpuint(m.done, ==, 1);
    g_test_message("%s: migrated after %u frames; %u frames in all",
                   dc->name, dc->cut, frames->len);
    g_assert_cmpuint(frames->len, ==, cl.md5->len);
    diff = vvc_check_frames(frames, cl.md5, order);
    if (diff) {
        g_error("%s: %s", dc->name, diff);
    }
    mig_finish(&m);
    clip_free(&cl);
}

/*
 * With migrate-history-mb=1 a long H.264 stream outgrows what the
 * destination could replay: migration is refused while it decodes (and
 * every frame still comes out right), and allowed again once it is gone.
 */
static void test_migrate_blocked(void *obj, void *data, QGuestAllocator *alloc)
{
    static const char *const enc[] = {
        "-vf", "noise=alls=8:allf=t", "-c:v", "libx264", "-qp", "20",
        "-g", "250", "-f", "h264", NULL
    };
    QVirtioVideo *v = obj;
    g_autofree char *err = NULL, *diff = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    VvcDecodeOpts o = { .hook = migrate_refused, .hook_after = 24 };
    Migration m = { 0 };
    size_t bytes = 0;
    Clip cl = { 0 };
    VvcClient *c;
    guint i;

    clip_make(&cl, "big.h264", "640x480", 30, enc);
    for (i = 0; i < 24; i++) {
        bytes += ((VvcUnit *)g_ptr_array_index(cl.units, i))->len;
    }
    g_test_message("%zu bytes of bitstream before the attempt", bytes);
    g_assert_cmpuint(bytes, >, 1024 * 1024);

    mig_setup(&m, v, "virtio-video-pci,addr=04.0,migrate-history-mb=1");
    o.coded_format = cl.format;
    o.hook_opaque = &m;
    c = vvc_new(&qvirtio_video_vvc_ops, v);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_units(c, cl.units, &o, frames, &err)) {
        g_error("%s (%u frames)", err, frames->len);
    }
    g_assert_cmpuint(m.done, ==, 1);
    g_assert_cmpuint(frames->len, ==, cl.md5->len);
    diff = vvc_check_frames(frames, cl.md5, NULL);
    if (diff) {
        g_error("%s", diff);
    }
    /* the stream is gone: nothing blocks migration any more */
    migrate_now(&m);
    g_assert_cmpuint(m.done, ==, 2);
    vvc_free(c);
    mig_finish(&m);
    clip_free(&cl);
}

/*
 * A stream's configuration on an idle device: params, resources and the
 * device's answers survive the trip, and the stream decodes afterwards.
 */
static void test_migrate_idle(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    VvcParams in, out, in2, out2;
    Migration m = { 0 };
    g_autofree char *err = NULL;
    g_autoptr(GPtrArray) units = vvc_gen_h264(176, 144, 6, &err);
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    VvcDecodeOpts o = {
        .stream_id = 7, .coded_format = VIRTIO_VIDEO_FORMAT_H264,
    };

    g_assert_nonnull(units);
    g_assert_cmphex(vvc_stream_create(c, 3, 0, 0, VIRTIO_VIDEO_FORMAT_VP9,
                                      "idle"), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, 3, Q_IN, true, &in), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    in.plane_size[0] = 256 * 1024;
    g_assert_cmphex(vvc_set_params(c, 3, &in, true), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, 3, Q_OUT, true, &out), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    out.format = VIRTIO_VIDEO_FORMAT_YUV420;
    g_assert_cmphex(vvc_set_params(c, 3, &out, true), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, 3, Q_IN, true, &in), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmphex(vvc_get_params(c, 3, Q_OUT, true, &out), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);

    mig_setup(&m, v, "virtio-video-pci,addr=04.0");
    migrate_now(&m);

    g_assert_cmphex(vvc_get_params(c, 3, Q_IN, true, &in2), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmphex(vvc_get_params(c, 3, Q_OUT, true, &out2), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmpmem(&in, sizeof(in), &in2, sizeof(in2));
    g_assert_cmpmem(&out, sizeof(out), &out2, sizeof(out2));
    /* the id is taken on the destination too */
    g_assert_cmphex(vvc_stream_create(c, 3, 0, 0, VIRTIO_VIDEO_FORMAT_VP9,
                                      NULL), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    g_assert_cmphex(vvc_stream_destroy(c, 3), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    if (!vvc_decode_units(c, units, &o, frames, &err)) {
        g_error("decode after migration: %s", err);
    }
    g_assert_cmpuint(frames->len, ==, units->len);
    vvc_free(c);
    mig_finish(&m);
}

/* An encoder in the middle of a clip: no frame lost, a keyframe at the cut. */
static void test_migrate_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    VvcClient *c = vvc_new(&qvirtio_video_vvc_ops, v);
    Migration m = { 0 };
    VvcEncodeCase t = {
        .format = GPOINTER_TO_UINT(data),
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 30,
        .force_keyframe_at = -1, .bitrate_change_at = -1,
        .hook_at = 12, .hook = migrate_now, .hook_opaque = &m,
    };
    g_autofree char *err = NULL;
    VvcEncodeResult r = { 0 };
    bool cut_key = false;
    guint i;

    mig_setup(&m, v, "virtio-video-pci,addr=04.0,mode=encoder");
    vvc_set_timeout(c, 60000);
    if (!vvc_encode_run(c, 1, &t, &r, &err)) {
        g_error("encode across migration: %s", err);
    }
    g_assert_cmpuint(m.done, ==, 1);
    g_assert_cmpuint(r.packets, ==, t.frames);
    /* the first frame the destination encoded: up to 8 were queued */
    for (i = 0; i < r.keyframes->len; i++) {
        unsigned k = g_array_index(r.keyframes, unsigned, i);

        cut_key |= k > 0 && k <= t.hook_at && k + 8 >= t.hook_at;
    }
    g_test_message("PSNR min %.1f dB, %u keyframes", r.psnr_min,
                   r.keyframes->len);
    g_assert_true(cut_key);
    g_assert_cmpfloat(r.psnr_min, >=, 35.0);
    g_array_free(r.keyframes, true);
    vvc_free(c);
    mig_finish(&m);
}

static void register_virtio_video_migrate_test(void)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(decode_cases); i++) {
        g_autofree char *name = g_strdup_printf("migrate-decode/%s",
                                                decode_cases[i].name);
        QOSGraphTestOptions opts = { .arg = (void *)&decode_cases[i] };

        qos_add_test(name, "virtio-video-decoder", test_migrate_decode,
                     &opts);
    }
    qos_add_test("migrate-idle", "virtio-video-decoder", test_migrate_idle,
                 NULL);
    qos_add_test("migrate-blocked", "virtio-video-mig-small",
                 test_migrate_blocked, NULL);
    {
        QOSGraphTestOptions h264 = {
            .arg = GUINT_TO_POINTER(VIRTIO_VIDEO_FORMAT_H264),
        };
        QOSGraphTestOptions vp8 = {
            .arg = GUINT_TO_POINTER(VIRTIO_VIDEO_FORMAT_VP8),
        };

        qos_add_test("migrate-encode/h264", "virtio-video-encoder",
                     test_migrate_encode, &h264);
        qos_add_test("migrate-encode/vp8", "virtio-video-encoder",
                     test_migrate_encode, &vp8);
    }
}

libqos_init(register_virtio_video_migrate_test);
