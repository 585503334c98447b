/*
 * QTest testcases for virtio-video-pci, driven through its virtqueues
 *
 * Every test runs for both graph nodes: the decoder (default) and the
 * encoder (mode=encoder).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qlist.h"
#include "qobject/qstring.h"
#include "qemu/module.h"
#include "hw/pci/pci_regs.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_pci.h"
#include "libqos/qgraph.h"
#include "libqos/qgraph_internal.h"
#include "libqos/virtio-video.h"
#include "virtio-video-encode.h"
#include "virtio-video-vadriver.h"
#include "standard-headers/linux/virtio_gpu.h"

#define VIDEO_DECODER_ID    31
#define VIDEO_ENCODER_ID    30

static uint32_t hdr_type(const void *resp)
{
    return ldl_le_p(resp);
}

/* The request the malformed-input tests follow with: it must still work. */
static void assert_device_alive(QVirtioVideo *v)
{
    QVVCaps caps;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
    g_assert_cmpuint(caps.num_descs, >, 0);
}

static void test_pci_ids(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint16_t want_id = v->encoder ? VIDEO_ENCODER_ID : VIDEO_DECODER_ID;

    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_VENDOR_ID), ==, 0x1af4);
    /* modern-only virtio: 0x1040 + device ID */
    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_DEVICE_ID), ==,
                    0x1040 + want_id);
    g_assert_cmphex(qpci_config_readw(v->pdev, PCI_CLASS_DEVICE), ==,
                    0x0400);
    g_assert_cmpuint(v->vdev->device_type, ==, want_id);
}

/*
 * The backend names the config space may give: @data's, else what the
 * default backend (auto) gives on this host, or what the backend in
 * VIRTIO_VIDEO_DEVICE_OPTS gives (tests/backend-env.sh).
 */
static bool device_name_ok(const char *name, const char *want)
{
    static const char *const names[] = {
        "libavcodec", "vaapi+libavcodec", "cuda+libavcodec",
    };
    const char *opts = g_getenv("VIRTIO_VIDEO_DEVICE_OPTS");
    const char *b = opts ? strstr(opts, "backend=") : NULL;
    size_t i;

    if (want) {
        return !strcmp(name, want);
    }
    if (b && !g_str_has_prefix(b + 8, "auto")) {
        return !strncmp(name, b + 8, strcspn(b + 8, ","));
    }
    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!strcmp(name, names[i])) {
            return true;
        }
    }
    return false;
}

static void test_config(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    char name[33] = { 0 };
    size_t i;

    g_assert_cmpuint(qvirtio_config_readl(v->vdev, 0), ==, 0);  /* version */
    g_assert_cmpuint(qvirtio_video_max_caps_length(v), >=, 1024);
    g_assert_cmpuint(qvirtio_config_readl(v->vdev,
                         offsetof(struct virtio_video_config,
                                  max_resp_length)), >=, 1024);
    for (i = 0; i < 32; i++) {
        name[i] = qvirtio_config_readb(v->vdev, 12 + i);
    }
    /* the backend name, NUL padded */
    if (!device_name_ok(name, data)) {
        g_test_message("config device_name '%s', expected %s", name,
                       data ? (const char *)data : "libavcodec, "
                       "vaapi+libavcodec or cuda+libavcodec");
        g_test_fail();
        return;
    }
    for (i = strlen(name); i < 32; i++) {
        g_assert_cmpint(name[i], ==, 0);
    }
}

static void set_status(QVirtioPCIDevice *dev, uint8_t bits)
{
    uint64_t off = dev->common_cfg_offset +
                   offsetof(struct virtio_pci_common_cfg, device_status);

    qpci_io_writeb(dev->pdev, dev->bar, off,
                   qpci_io_readb(dev->pdev, dev->bar, off) | bits);
}

/* Set both queues up again after a reset. */
static void setup_queues(QVirtioVideo *v, QGuestAllocator *alloc)
{
    qvirtqueue_cleanup(v->vdev->bus, v->cmdq, alloc);
    qvirtqueue_cleanup(v->vdev->bus, v->eventq, alloc);
    v->cmdq = qvirtqueue_setup(v->vdev, alloc, VIRTIO_VIDEO_QUEUE_COMMAND);
    v->eventq = qvirtqueue_setup(v->vdev, alloc, VIRTIO_VIDEO_QUEUE_EVENT);
}

static void test_features(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QVirtioPCIDevice *dev = container_of(v->vdev, QVirtioPCIDevice, vdev);
    uint64_t offered = qvirtio_get_features(v->vdev);
    uint64_t common = dev->common_cfg_offset;
    uint8_t status;

    g_assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
    g_assert_true(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES));
    g_assert_true(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG));
    /* virtio objects (UUIDs of virtio-gpu resources): virtio-objects=on */
    g_assert_true(offered & (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT));

    /* start_hw negotiated the driver's set and the device accepted it */
    g_assert_cmphex(dev->vdev.features, ==,
                    offered & QVIRTIO_VIDEO_DRIVER_FEATURES);
    status = qpci_io_readb(dev->pdev, dev->bar, common +
                           offsetof(struct virtio_pci_common_cfg,
                                    device_status));
    g_assert_true(status & VIRTIO_CONFIG_S_FEATURES_OK);
    g_assert_true(status & VIRTIO_CONFIG_S_DRIVER_OK);

    /*
     * A driver that does not accept VERSION_1 gets a device that does
     * nothing until reset.  libqos refuses to negotiate that, so write the
     * common config by hand.
     */
    qvirtio_start_device(v->vdev);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg,
                            guest_feature_select), 0);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg, guest_feature),
                   1u << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg,
                            guest_feature_select), 1);
    qpci_io_writel(dev->pdev, dev->bar, common +
                   offsetof(struct virtio_pci_common_cfg, guest_feature), 0);
    set_status(dev, VIRTIO_CONFIG_S_FEATURES_OK);
    dev->vdev.features = 1u << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES;
    dev->vdev.features_negotiated = true;
    setup_queues(v, alloc);
    set_status(dev, VIRTIO_CONFIG_S_DRIVER_OK);
    qvirtio_video_queues_init(v);
    /* qtest runs the device synchronously: no completion means none */
    g_assert_false(qvirtio_video_cmd_completes(v));

    /* after a reset, a proper driver gets a working device again */
    qvirtio_start_device(v->vdev);
    qvirtio_set_features(v->vdev, offered & QVIRTIO_VIDEO_DRIVER_FEATURES);
    setup_queues(v, alloc);
    qvirtio_set_driver_ok(v->vdev);
    qvirtio_video_queues_init(v);
    assert_device_alive(v);
}

/* What the product promises (README status table), per queue and mode. */
static const uint32_t dec_coded[] = {
    VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_HEVC,
    VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_VP9,
    VIRTIO_VIDEO_FORMAT_MPEG2, VIRTIO_VIDEO_FORMAT_MPEG4,
};
static const uint32_t dec_raw[] = {
    VIRTIO_VIDEO_FORMAT_NV12, VIRTIO_VIDEO_FORMAT_YUV420,
    VIRTIO_VIDEO_FORMAT_YVU420, VIRTIO_VIDEO_FORMAT_ARGB8888,
    VIRTIO_VIDEO_FORMAT_BGRA8888,
};
static const uint32_t enc_coded[] = {
    VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_HEVC,
    VIRTIO_VIDEO_FORMAT_VP8, VIRTIO_VIDEO_FORMAT_VP9,
};
static const uint32_t enc_raw[] = {
    VIRTIO_VIDEO_FORMAT_NV12, VIRTIO_VIDEO_FORMAT_YUV420,
};

static void check_list(const QVVCaps *c, bool coded, const uint32_t *must,
                       size_t n_must, bool want_rates)
{
    uint32_t i, j;
    size_t k;

    for (k = 0; k < n_must; k++) {
        if (qvv_caps_find(c, must[k]) < 0) {
            g_error("format 0x%x missing", must[k]);
        }
    }
    for (i = 0; i < c->num_descs; i++) {
        const QVVFormat *f = &c->descs[i];

        g_test_message("format 0x%x mask 0x%" PRIx64 " frames %u", f->format,
                       f->mask, f->num_frames);
        g_assert_true(coded ? qvv_format_is_coded(f->format)
                            : qvv_format_is_raw(f->format));
        /* listed once */
        g_assert_cmpint(qvv_caps_find(c, f->format), ==, i);
        if (!coded) {
            g_assert_true(f->planes_layout &
                          VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
        }
        for (j = 0; j < f->num_frames; j++) {
            const QVVFrame *fr = &f->frames[j];

            /* at least CIF up to 1080p, and nothing absurd */
            g_assert_cmpuint(fr->width.min, <=, 320);
            g_assert_cmpuint(fr->height.min, <=, 240);
            g_assert_cmpuint(fr->width.max, >=, 1920);
            g_assert_cmpuint(fr->height.max, >=, 1080);
            g_assert_cmpuint(fr->width.max, <=, 16384);
            g_assert_cmpuint(fr->height.max, <=, 16384);
            /* V4L2 S_PARM on the encoder needs a rate range */
            g_assert_cmpuint(fr->num_rates > 0, ==, want_rates);
        }
    }
}

static void test_query_capability(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint32_t max = qvirtio_video_max_caps_length(v);
    QVVCaps in, out;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &in);
    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &out);
    g_assert_cmpuint(in.len, <=, max);
    g_assert_cmpuint(out.len, <=, max);

    if (v->encoder) {
        check_list(&in, false, enc_raw, G_N_ELEMENTS(enc_raw), true);
        check_list(&out, true, enc_coded, G_N_ELEMENTS(enc_coded), true);
        g_assert_cmphex(out.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    } else {
        check_list(&in, true, dec_coded, G_N_ELEMENTS(dec_coded), false);
        check_list(&out, false, dec_raw, G_N_ELEMENTS(dec_raw), false);
        /* the driver opens every stream with the first coded format */
        g_assert_cmphex(in.descs[0].format, ==, VIRTIO_VIDEO_FORMAT_H264);
    }
    g_assert_null(qvv_caps_check_masks(&in, &out));
}

/* The request split into 1-, 3- and 5-byte descriptors reads the same. */
static void test_descriptor_split(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    struct virtio_video_query_capability req = {
        .hdr.type = cpu_to_le32(VIRTIO_VIDEO_CMD_QUERY_CAPABILITY),
        .queue_type = cpu_to_le32(VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
    };
    uint32_t size = qvirtio_video_max_caps_length(v);
    g_autofree uint8_t *whole = g_malloc(size);
    g_autofree uint8_t *split = g_malloc(size);
    static const size_t splits[] = { 1, 3, 5 };
    uint32_t len;
    size_t i;

    len = qvirtio_video_cmd(v, &req, sizeof(req), whole, size);
    g_assert_cmphex(hdr_type(whole), ==, VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY);
    for (i = 0; i < G_N_ELEMENTS(splits); i++) {
        g_assert_cmpuint(qvirtio_video_cmd_split(v, &req, sizeof(req),
                                                 splits[i], split, size),
                         ==, len);
        g_assert_cmpmem(split, len, whole, len);
    }
}

static void expect_error(QVirtioVideo *v, const void *req, size_t len,
                         uint32_t code)
{
    uint8_t resp[64];

    g_assert_cmpuint(qvirtio_video_cmd(v, req, len, resp, sizeof(resp)), ==,
                     sizeof(struct virtio_video_cmd_hdr));
    g_assert_cmphex(hdr_type(resp), ==, code);
    assert_device_alive(v);
}

static void test_bad_requests(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint8_t req[128] = { 0 };
    uint8_t resp[64];
    uint32_t type;

    /* shorter than the header */
    stl_le_p(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    expect_error(v, req, 4, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* shorter than QUERY_CAPABILITY */
    stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    expect_error(v, req, 12, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* bad queue_type */
    stl_le_p(req + 8, 0x1234);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* unknown command types */
    stl_le_p(req, 0x10f);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    stl_le_p(req, 0);
    expect_error(v, req, 16, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    stl_le_p(req, 0xdeadbeef);
    expect_error(v, req, sizeof(req), VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);

    /* a response buffer too small for the capabilities: error, not a cut */
    stl_le_p(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, resp, 40), ==, 8);
    g_assert_cmphex(hdr_type(resp), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* no response buffer at all: completed empty, queue keeps going */
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, NULL, 0), ==, 0);
    assert_device_alive(v);
    /* a response buffer shorter than a header: the same */
    g_assert_cmpuint(qvirtio_video_cmd(v, req, 16, resp, 7), ==, 0);
    assert_device_alive(v);

    /*
     * No stream 1 exists, no format 0 is valid and control 0x100 is
     * unknown: every other command answers an error at once, the one of
     * the first row of the devel docs' table that applies ("Requests and
     * errors": the checks run in the table's order).
     */
    for (type = VIRTIO_VIDEO_CMD_STREAM_CREATE;
         type <= VIRTIO_VIDEO_CMD_SET_PARAMS_EXT; type++) {
        uint32_t want;

        switch (type) {
        case VIRTIO_VIDEO_CMD_STREAM_CREATE:
            want = VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER; /* format 0 */
            break;
        case VIRTIO_VIDEO_CMD_QUERY_CONTROL:
            /* the device's controls: no stream involved */
            want = VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL;
            break;
        default:
            want = VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID;
            break;
        }
        memset(req, 0, sizeof(req));
        stl_le_p(req, type);
        stl_le_p(req + 4, 1);
        stl_le_p(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
        stl_le_p(req + 20, 1);          /* RESOURCE_CREATE: one plane... */
        stl_le_p(req + 56, 1);          /* ...with one entry */
        g_assert_cmpuint(qvirtio_video_cmd(v, req, sizeof(req), resp,
                                           sizeof(resp)), ==, 8);
        if (hdr_type(resp) != want) {
            g_error("command 0x%x on an unknown stream: 0x%x, not 0x%x",
                    type, hdr_type(resp), want);
        }
    }
    assert_device_alive(v);
}

static uint64_t qemu_rss_kib(QVirtioVideo *v);

/*
 * Many commands in a row: the ring wraps (1500 > the queue's 1024) and
 * nothing stalls or leaks.  Each answer is a few KiB of capabilities, so a
 * leak of one per command would be megabytes: QEMU's resident memory may
 * not grow by more than 1 MiB over 1400 commands after the first 100
 * (without ASan, whose quarantine keeps freed memory resident).
 */
static void test_many_commands(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    uint64_t rss0 = 0, rss1;
    int i;

    for (i = 0; i < 1500; i++) {
        QVVCaps caps;

        if (i == 100) {
            rss0 = qemu_rss_kib(v);
        }
        qvirtio_video_query_caps(v, i & 1 ? VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
                                          : VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                 &caps);
        g_assert_cmpuint(caps.len, >, 0);
    }
    rss1 = qemu_rss_kib(v);
    g_test_message("QEMU's RSS %" PRIu64 " -> %" PRIu64 " KiB over 1400 "
                   "commands", rss0, rss1);
#ifdef QEMU_SANITIZE_ADDRESS
    /* 15-17 MiB: what it frees stays resident in ASan's quarantine */
    g_test_message("the RSS bound is make check's: not checked under ASan");
#else
    g_assert_cmpint((int64_t)(rss1 - rss0), <, 1024);
#endif
}

/*
 * Decoder tests: a guest application and driver (virtio-video-client.c)
 * decodes real streams through the virtqueues and compares every picture
 * with FFmpeg's reference checksums.
 */

#define MEDIA_ENV       "VIRTIO_VIDEO_MEDIA"

#define CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            g_test_message(__VA_ARGS__); \
            g_test_fail(); \
            return; \
        } \
    } while (0)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VvcClient, vvc_free)

static bool skip_encoder(QVirtioVideo *v)
{
    if (v->encoder) {
        g_test_skip("decoder test");
        return true;
    }
    return false;
}

static VvcClient *client_new(QVirtioVideo *v)
{
    return vvc_new(&qvirtio_video_vvc_ops, v);
}

static GArray *frames_new(void)
{
    return g_array_new(false, true, sizeof(VvcFrame));
}

/* QUERY_CAPABILITY through the client: the device still answers. */
static bool client_alive(QVirtioVideo *v, VvcClient *c)
{
    uint8_t req[16] = { 0 };
    uint32_t size = qvirtio_video_max_caps_length(v);
    g_autofree uint8_t *resp = g_malloc0(size);
    QVVCaps caps;

    vvc_st32(req, VIRTIO_VIDEO_CMD_QUERY_CAPABILITY);
    vvc_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    if (vvc_cmd(c, req, sizeof(req), resp, size) !=
        VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY) {
        return false;
    }
    return !qvv_caps_parse(resp, size, &caps) && caps.num_descs > 0;
}

static bool device_decodes(QVirtioVideo *v, uint32_t format)
{
    QVVCaps caps;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
    return qvv_caps_find(&caps, format) >= 0;
}

/* ---- media directory ---- */

static char *media_file(const char *name)
{
    g_autofree char *dir = vvc_media_dir();

    return dir ? g_build_filename(dir, name, NULL) : NULL;
}

/*
 * Skip (VIRTIO_VIDEO_MEDIA="") or fail (missing directory) when a media
 * file is not there.  Returns the path, or NULL after skip/fail.
 */
static char *need_media(const char *name)
{
    g_autofree char *path = media_file(name);

    if (!path) {
        g_test_skip("VIRTIO_VIDEO_MEDIA is empty: no media clips, "
                    "decoder coverage is REDUCED");
        return NULL;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_test_message("MEDIA CLIP MISSING: %s (set " MEDIA_ENV " to the "
                       "media directory, or to \"\" to skip)", path);
        g_test_fail();
        return NULL;
    }
    return g_steal_pointer(&path);
}

/* ---- generated streams ---- */

static char *gen_dir;

static void gen_cleanup(void)
{
    GDir *d;
    const char *name;

    if (!gen_dir) {
        return;
    }
    d = g_dir_open(gen_dir, 0, NULL);
    if (!d) {
        return;
    }
    while ((name = g_dir_read_name(d))) {
        g_autofree char *f = g_build_filename(gen_dir, name, NULL);

        unlink(f);
    }
    g_dir_close(d);
    rmdir(gen_dir);
}

static bool run_ffmpeg(const char *const *args)
{
    g_autofree char *err = NULL;

    if (!vvc_run_ffmpeg(args, &err)) {
        g_test_message("%s", err);
        return false;
    }
    return true;
}

/* Reference checksums of @path for ffmpeg pixel format @pix_fmt. */
static char *gen_reference(const char *path, const char *pix_fmt)
{
    g_autofree char *err = NULL;
    char *ref = vvc_ffmpeg_framemd5(path, pix_fmt, &err);

    if (!ref) {
        g_test_message("%s", err);
    }
    return ref;
}

typedef struct GenCodec {
    const char *name;
    const char *file;
    const char *const *enc;     /* encoder arguments */
} GenCodec;

static const char *const enc_h264[] = {
    "-c:v", "libx264", "-bf", "2", "-g", "12", "-pix_fmt", "yuv420p",
    "-f", "h264", NULL
};
static const char *const enc_hevc[] = {
    "-c:v", "libx265", "-x265-params", "log-level=error:bframes=2",
    "-pix_fmt", "yuv420p", "-f", "hevc", NULL
};
static const char *const enc_vp8[] = {
    "-c:v", "libvpx", "-b:v", "500k", "-f", "ivf", NULL
};
static const char *const enc_vp9[] = {
    "-c:v", "libvpx-vp9", "-b:v", "500k", "-f", "ivf", NULL
};
static const char *const enc_mpeg2[] = {
    "-c:v", "mpeg2video", "-bf", "2", "-f", "mpeg2video", NULL
};
static const char *const enc_mpeg4[] = {
    "-c:v", "mpeg4", "-bf", "2", "-f", "m4v", NULL
};

static const GenCodec gen_codecs[] = {
    { "h264", "gen.h264", enc_h264 },
    { "hevc", "gen.hevc", enc_hevc },
    { "vp8", "gen.vp8.ivf", enc_vp8 },
    { "vp9", "gen.vp9.ivf", enc_vp9 },
    { "mpeg2", "gen.m2v", enc_mpeg2 },
    { "mpeg4", "gen.m4v", enc_mpeg4 },
};

static const GenCodec *gen_codec(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(gen_codecs); i++) {
        if (!strcmp(gen_codecs[i].name, name)) {
            return &gen_codecs[i];
        }
    }
    g_assert_not_reached();
}

/*
 * The folder of the streams this process makes with the ffmpeg command
 * (removed at exit); NULL after g_test_fail() without that command.
 */
static const char *gen_folder(void)
{
    if (!g_find_program_in_path("ffmpeg")) {
        g_test_message("the ffmpeg command is missing (Debian package "
                       "ffmpeg): cannot generate test streams");
        g_test_fail();
        return NULL;
    }
    if (!gen_dir) {
        gen_dir = g_dir_make_tmp("virtio-video-qtest-XXXXXX", NULL);
        g_assert(gen_dir);
        atexit(gen_cleanup);
    }
    return gen_dir;
}

/* 30 frames of CIF test pattern, encoded once per process. */
static char *gen_clip(const GenCodec *g)
{
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) args = NULL;
    const char *const *a;

    if (!gen_folder()) {
        return NULL;
    }
    path = g_build_filename(gen_dir, g->file, NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS)) {
        return g_steal_pointer(&path);
    }
    args = g_ptr_array_new();
    g_ptr_array_add(args, (gpointer)"-f");
    g_ptr_array_add(args, (gpointer)"lavfi");
    g_ptr_array_add(args, (gpointer)"-i");
    g_ptr_array_add(args, (gpointer)"testsrc2=size=352x288:rate=25");
    g_ptr_array_add(args, (gpointer)"-frames:v");
    g_ptr_array_add(args, (gpointer)"30");
    for (a = g->enc; *a; a++) {
        g_ptr_array_add(args, (gpointer)*a);
    }
    g_ptr_array_add(args, path);
    g_ptr_array_add(args, NULL);
    if (!run_ffmpeg((const char *const *)args->pdata)) {
        g_test_fail();
        return NULL;
    }
    return g_steal_pointer(&path);
}

/* ---- decode and compare ---- */

typedef struct DecodeCheck {
    const char *path;
    const char *ref;            /* framemd5 */
    VvcDecodeOpts o;
    bool check_ts;              /* AU mode: against an independent decode */
} DecodeCheck;

/* Decode @dc->path and compare with @dc->ref.  false after g_test_fail. */
static bool decode_check(VvcClient *c, DecodeCheck *dc, VvcDecodeStats *st)
{
    g_autoptr(GArray) frames = frames_new();
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GArray) order = NULL;
    g_autofree char *err = NULL;
    g_autofree char *diff = NULL;
    uint32_t format = 0;
    int depth;

    dc->o.stats = st;
    ref = vvc_read_framemd5(dc->ref, &err);
    if (!ref) {
        g_test_message("%s", err);
        g_test_fail();
        return false;
    }
    if (dc->check_ts && !dc->o.chunked) {
        units = vvc_demux(dc->path, &format, &depth, &err);
        order = units ? vvc_reference_order(units, format, &err) : NULL;
        if (!order) {
            g_test_message("%s", err);
            g_test_fail();
            return false;
        }
    }
    if (!vvc_decode_file(c, dc->path, &dc->o, frames, &err)) {
        g_test_message("%s (%s): %s", dc->path,
                       vvc_format_name(dc->o.out_format ? dc->o.out_format
                                       : VIRTIO_VIDEO_FORMAT_NV12), err);
        g_test_fail();
        return false;
    }
    diff = vvc_check_frames(frames, ref, order);
    if (diff) {
        g_test_message("%s (%s%s%s): %s", dc->path,
                       vvc_format_name(dc->o.out_format ? dc->o.out_format
                                       : VIRTIO_VIDEO_FORMAT_NV12),
                       dc->o.chunked ? ", chunked" : "",
                       dc->o.sg_entries ? ", SG entries" : "", diff);
        g_test_fail();
        return false;
    }
    /* the end of the stream: one empty EOS buffer, then the drain's OK */
    if (st->eos != 1 || !st->drained || !st->destroyed) {
        g_test_message("%s: EOS %u drained %d destroyed %d", dc->path,
                       st->eos, st->drained, st->destroyed);
        g_test_fail();
        return false;
    }
    g_test_message("%s: %u frames OK, %u resolution change event(s)",
                   dc->path, frames->len, st->res_changes);
    return true;
}

/* A small H.264 decode: the device works after whatever came before. */
static void check_still_decodes(QVirtioVideo *v, VvcClient *c,
                                uint32_t stream_id)
{
    g_autofree char *path = gen_clip(gen_codec("h264"));
    g_autofree char *ref = path ? gen_reference(path, "nv12") : NULL;
    DecodeCheck dc = { .path = path, .ref = ref, .check_ts = true };
    VvcDecodeStats st;

    CHECK(client_alive(v, c), "the device does not answer "
          "QUERY_CAPABILITY any more");
    if (!ref) {
        g_test_fail();
        return;
    }
    dc.o.stream_id = stream_id;
    decode_check(c, &dc, &st);
}

/* decode-media/<file>: one clip of the media directory */
static void test_decode_media(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const VvcMediaFile *m = data;
    g_autoptr(VvcClient) c = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GArray) frames = frames_new();
    g_autofree char *err = NULL;
    uint32_t format = 0;
    int depth = 8;
    VvcDecodeStats st;

    if (skip_encoder(v)) {
        return;
    }
    units = vvc_demux(m->path, &format, &depth, &err);
    CHECK(units, "%s", err);
    if (!format) {
        g_test_skip("the codec has no virtio-video format");
        return;
    }
    if (!device_decodes(v, format)) {
        g_autofree char *why = g_strdup_printf("the device does not offer "
                                               "%s", vvc_format_name(format));

        g_test_skip(why);
        return;
    }
    c = client_new(v);
    if (m->ten_bit) {
        /*
         * The device outputs 8-bit formats only: a 10-bit stream must end
         * in EVENT_ERROR, the stream must still be destroyable and the
         * device keep working.
         */
        VvcDecodeOpts o = { .stats = &st };

        CHECK(!vvc_decode_file(c, m->path, &o, frames, &err),
              "%s: 10-bit stream decoded (%u frames) instead of failing",
              m->path, frames->len);
        CHECK(st.error_event, "%s: failed without EVENT_ERROR: %s", m->path,
              err);
        CHECK(st.destroyed, "%s: stream not destroyed after EVENT_ERROR",
              m->path);
        check_still_decodes(v, c, 2);
        return;
    } else {
        DecodeCheck dc = {
            .path = m->path, .ref = m->ref_path, .check_ts = true,
        };

        decode_check(c, &dc, &st);
    }
}

/* decode-generated/<codec>: a stream the ffmpeg command made */
static void test_decode_generated(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const GenCodec *g = data;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autofree char *ref = NULL;
    DecodeCheck dc = { .check_ts = true };
    VvcDecodeStats st;

    if (skip_encoder(v)) {
        return;
    }
    path = gen_clip(g);
    ref = path ? gen_reference(path, "nv12") : NULL;
    CHECK(ref, "no reference for %s", g->name);
    c = client_new(v);
    dc.path = path;
    dc.ref = ref;
    decode_check(c, &dc, &st);
}

/*
 * decode-formats: every raw output format.  References come from ffmpeg
 * with the matching pixel format: nv12, yuv420p, argb, bgra.  For YVU420
 * the client hashes the device's planes in Y, U, V order (plane 2 before
 * plane 1), so the yuv420p reference applies.
 */
static void test_decode_formats(void *obj, void *data, QGuestAllocator *alloc)
{
    static const struct {
        uint32_t format;
        const char *pix_fmt;
    } fmts[] = {
        { VIRTIO_VIDEO_FORMAT_NV12, "nv12" },
        { VIRTIO_VIDEO_FORMAT_YUV420, "yuv420p" },
        { VIRTIO_VIDEO_FORMAT_YVU420, "yuv420p" },
        { VIRTIO_VIDEO_FORMAT_ARGB8888, "argb" },
        { VIRTIO_VIDEO_FORMAT_BGRA8888, "bgra" },
    };
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    size_t i;

    if (skip_encoder(v)) {
        return;
    }
    path = gen_clip(gen_codec("h264"));
    CHECK(path, "no stream");
    c = client_new(v);
    for (i = 0; i < G_N_ELEMENTS(fmts); i++) {
        g_autofree char *ref = gen_reference(path, fmts[i].pix_fmt);
        DecodeCheck dc = { .path = path, .ref = ref, .check_ts = true };
        VvcDecodeStats st;

        CHECK(ref, "no %s reference", fmts[i].pix_fmt);
        dc.o.out_format = fmts[i].format;
        dc.o.stream_id = i + 1;
        if (!decode_check(c, &dc, &st)) {
            return;
        }
        CHECK(st.out.format == fmts[i].format, "output format 0x%x",
              st.out.format);
    }
}

/*
 * decode-layouts: guest pages as one entry, as many 4 KiB entries in
 * descending address order, with guard pages around (and between) them
 * that must stay untouched, and through GET/SET_PARAMS 0x108/0x109.
 */
static void test_decode_layouts(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autofree char *ref = NULL;
    int i;

    if (skip_encoder(v)) {
        return;
    }
    path = gen_clip(gen_codec("h264"));
    ref = path ? gen_reference(path, "nv12") : NULL;
    CHECK(ref, "no stream");
    c = client_new(v);
    for (i = 0; i < 5; i++) {
        DecodeCheck dc = { .path = path, .ref = ref, .check_ts = true };
        VvcDecodeStats st;

        dc.o.stream_id = i + 1;
        dc.o.sg_entries = i == 1 || i == 3;
        dc.o.guard = i == 2 || i == 3;
        dc.o.plain_params = i == 4;
        g_test_message("layout: %s entries%s%s",
                       dc.o.sg_entries ? "4 KiB" : "whole-buffer",
                       dc.o.guard ? ", guard pages" : "",
                       dc.o.plain_params ? ", GET/SET_PARAMS" : "");
        if (!decode_check(c, &dc, &st)) {
            return;
        }
    }
}

/* decode-chunked: byte-stream formats fed in 4093-byte chunks */
static void test_decode_chunked(void *obj, void *data, QGuestAllocator *alloc)
{
    static const char *const codecs[] = { "h264", "hevc", "mpeg2", "mpeg4" };
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    size_t i;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);
    for (i = 0; i <= G_N_ELEMENTS(codecs); i++) {
        g_autofree char *path = NULL;
        g_autofree char *ref = NULL;
        DecodeCheck dc = { 0 };
        VvcDecodeStats st;

        if (i < G_N_ELEMENTS(codecs)) {
            path = gen_clip(gen_codec(codecs[i]));
            ref = path ? gen_reference(path, "nv12") : NULL;
        } else {
            /* and a real clip, with small chunks */
            path = need_media("test-25fps.h264");
            if (!path) {
                return;
            }
            ref = g_strdup_printf("%s.nv12.framemd5", path);
            dc.o.chunk_size = 1021;
        }
        CHECK(ref, "no stream");
        dc.path = path;
        dc.ref = ref;
        dc.o.chunked = true;
        dc.o.stream_id = i + 1;
        if (!decode_check(c, &dc, &st)) {
            return;
        }
    }
}

/*
 * The resolution-change clips, each decoded with every picture's MD5 and
 * every resolution change counted.  @pipelined: at each new size
 * QUEUE_CLEAR(OUTPUT), RESOURCE_DESTROY_ALL(OUTPUT), and the new buffers'
 * RESOURCE_CREATE and RESOURCE_QUEUE (with the old ids) go out back to
 * back, without waiting for any answer, as the ChromeOS driver does them:
 * the new buffers must not be destroyed by the DESTROY_ALL before them.
 */
static void decode_reschange_clips(QVirtioVideo *v, bool pipelined)
{
    static const struct {
        const char *file;
        unsigned sizes;         /* runs of one resolution */
    } clips[] = {
        { "DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264", 3 },
        { "resolution_change_500frames-vp9.ivf", 5 },
    };
    g_autoptr(VvcClient) c = NULL;
    size_t i;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);
    for (i = 0; i < G_N_ELEMENTS(clips); i++) {
        g_autofree char *path = need_media(clips[i].file);
        g_autofree char *ref = NULL;
        DecodeCheck dc = { .check_ts = true };
        VvcDecodeStats st;

        if (!path) {
            return;
        }
        ref = g_strdup_printf("%s.nv12.framemd5", path);
        dc.path = path;
        dc.ref = ref;
        dc.o.stream_id = i + 1;
        dc.o.pipelined = pipelined;
        dc.o.sg_entries = pipelined && i == 1;
        if (!decode_check(c, &dc, &st)) {
            return;
        }
        CHECK(st.res_changes >= clips[i].sizes,
              "%s: %u DECODER_RESOLUTION_CHANGED events for %u sizes",
              clips[i].file, st.res_changes, clips[i].sizes);
        if (pipelined) {
            CHECK(st.outputs_err > 0, "%s: no output buffer cancelled",
                  clips[i].file);
        }
    }
}

/* decode-resolution-change: protocol.md 10.2 on H.264 and VP9 */
static void test_decode_reschange(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    decode_reschange_clips(obj, false);
}

/* decode-pipelined-resolution-change: the same without waiting */
static void test_decode_pipelined_reschange(void *obj, void *data,
                                            QGuestAllocator *alloc)
{
    decode_reschange_clips(obj, true);
}

/*
 * decode-reorder-switch: H.264 without VUI bitstream_restriction (as many
 * encoders write it) that goes from 176x144 Baseline to 640x320 with
 * B-frames, then to 320x240 with a B-pyramid: the decoder learns only from
 * the stream how far pictures are reordered, and must lose none of them.
 * Reference: ffmpeg's decode of each part on its own.
 */
static void test_decode_reorder_switch(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = frames_new();
    g_autofree char *path = NULL;
    g_autofree char *err = NULL;
    g_autofree char *diff = NULL;
    VvcDecodeStats st;
    VvcDecodeOpts o = { .stats = &st };
    uint32_t format = 0;
    int depth;

    if (skip_encoder(v)) {
        return;
    }
    if (!gen_folder()) {
        return;
    }
    CHECK(vvc_gen_reorder_switch(gen_dir, &path, &ref, &err), "%s", err);
    units = vvc_demux(path, &format, &depth, &err);
    order = units ? vvc_reference_order(units, format, &err) : NULL;
    CHECK(order, "%s", err);
    c = client_new(v);
    CHECK(vvc_decode_file(c, path, &o, frames, &err), "%s", err);
    g_test_message("%u of %u pictures, %u sizes", frames->len, ref->len,
                   st.res_changes);
    diff = vvc_check_frames(frames, ref, order);
    CHECK(!diff, "%s", diff);
    CHECK(st.res_changes == 3, "%u DECODER_RESOLUTION_CHANGED events for 3 "
          "sizes", st.res_changes);
}

/* Load a media clip, its reference and its presentation order. */
static bool load_clip(const char *name, char **path, GPtrArray **units,
                      uint32_t *format, GPtrArray **ref, GArray **order)
{
    g_autofree char *refpath = NULL;
    g_autofree char *err = NULL;
    int depth;

    *path = need_media(name);
    if (!*path) {
        return false;
    }
    refpath = g_strdup_printf("%s.nv12.framemd5", *path);
    *units = vvc_demux(*path, format, &depth, &err);
    *ref = *units ? vvc_read_framemd5(refpath, &err) : NULL;
    *order = *ref ? vvc_reference_order(*units, *format, &err) : NULL;
    if (!*order) {
        g_test_message("%s", err);
        g_test_fail();
        return false;
    }
    return true;
}

static bool frame_is(const VvcFrame *f, GPtrArray *ref, GArray *order,
                     guint k)
{
    return k < ref->len && k < order->len &&
           !strcmp(f->md5, g_ptr_array_index(ref, k)) &&
           f->timestamp == vvc_cookie(f->pass,
                                      g_array_index(order, int64_t, k));
}

/* Run one decoder over @units with @o. */
static bool run_one(VvcClient *c, GPtrArray *units, VvcDecodeOpts *o,
                    GArray *frames)
{
    g_autofree char *err = NULL;
    VvcDecoder *d = vvc_decoder_new(c, units, o, frames, &err);
    bool ok = d && vvc_decoders_run(c, &d, 1, &err);

    vvc_decoder_free(d);
    if (!ok) {
        g_test_message("%s", err);
        g_test_fail();
    }
    return ok;
}

/*
 * decode-clear-input: a seek.  After some pictures QUEUE_CLEAR(INPUT)
 * (pending input completes with FLAG_ERR before the clear's OK), then the
 * stream is queued again from its start: pictures of the first pass are a
 * prefix of the reference, those after the clear the whole reference.
 */
static void test_decode_clear_input(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = frames_new();
    VvcDecodeOpts o = { .coded_format = 0 };
    VvcDecodeStats st;
    guint k, first = 0;

    if (skip_encoder(v) ||
        !load_clip("test-25fps.h264", &path, &units, &o.coded_format, &ref,
                   &order)) {
        return;
    }
    c = client_new(v);
    o.clear_input_after = 20;
    o.stats = &st;
    if (!run_one(c, units, &o, frames)) {
        return;
    }
    CHECK(st.cleared_inputs == 1, "QUEUE_CLEAR(INPUT) not done");
    for (k = 0; k < frames->len; k++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        if (f->pass == 0) {
            CHECK(k == first, "frame %u of before the clear came after "
                  "frames of after it", k);
            CHECK(frame_is(f, ref, order, k), "frame %u before the clear: "
                  "md5 %s ts 0x%" PRIx64 " differs from the reference", k,
                  f->md5, f->timestamp);
            first++;
        } else {
            CHECK(frame_is(f, ref, order, k - first), "frame %u after the "
                  "clear (%u of the rerun): md5 %s ts 0x%" PRIx64
                  " differs from the reference", k, k - first, f->md5,
                  f->timestamp);
        }
    }
    CHECK(first >= 20, "%u pictures before the clear", first);
    CHECK(frames->len - first == ref->len, "%u pictures after the clear, "
          "expected %u", frames->len - first, ref->len);
    CHECK(st.eos == 1 && st.drained, "no clean drain");
}

/*
 * decode-pipelined-clear-input: the same seek, with the stream queued again
 * right after QUEUE_CLEAR(INPUT), in the same buffers, before its answer.
 */
static void test_decode_pipelined_clear_input(void *obj, void *data,
                                              QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = frames_new();
    VvcDecodeOpts o = { .pipelined = true, .clear_input_after = 20 };
    VvcDecodeStats st;
    guint k, first = 0;

    if (skip_encoder(v) ||
        !load_clip("test-25fps.h264", &path, &units, &o.coded_format, &ref,
                   &order)) {
        return;
    }
    c = client_new(v);
    o.stats = &st;
    if (!run_one(c, units, &o, frames)) {
        return;
    }
    CHECK(st.cleared_inputs == 1, "QUEUE_CLEAR(INPUT) not answered");
    for (k = 0; k < frames->len; k++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        if (f->pass == 0) {
            CHECK(k == first, "frame %u of before the clear came after "
                  "frames of after it", k);
            CHECK(frame_is(f, ref, order, k), "frame %u before the clear "
                  "differs from the reference", k);
            first++;
        } else {
            CHECK(frame_is(f, ref, order, k - first), "frame %u after the "
                  "clear (%u of the rerun): md5 %s ts 0x%" PRIx64
                  " differs from the reference", k, k - first, f->md5,
                  f->timestamp);
        }
    }
    CHECK(first >= 20, "%u pictures before the clear", first);
    CHECK(frames->len - first == ref->len, "%u pictures after the clear, "
          "expected %u", frames->len - first, ref->len);
    CHECK(st.eos == 1 && st.drained, "no clean drain");
}

/*
 * decode-clear-output: QUEUE_CLEAR(OUTPUT) mid-stream returns every queued
 * output buffer (FLAG_ERR) before its OK; the buffers are queued again and
 * decoding goes on.  Pictures the device held may be dropped, so the
 * output must be an in-order subsequence of the reference ending with its
 * last picture.
 */
static void test_decode_clear_output(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = frames_new();
    VvcDecodeOpts o = { 0 };
    VvcDecodeStats st;
    guint k, j = 0;

    if (skip_encoder(v) ||
        !load_clip("test-25fps.h264", &path, &units, &o.coded_format, &ref,
                   &order)) {
        return;
    }
    c = client_new(v);
    o.clear_output_after = 20;
    o.stats = &st;
    if (!run_one(c, units, &o, frames)) {
        return;
    }
    CHECK(st.cleared_outputs == 1, "QUEUE_CLEAR(OUTPUT) not done");
    CHECK(st.outputs_err > 0, "no output buffer cancelled by the clear");
    for (k = 0; k < frames->len; k++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        while (j < ref->len && !frame_is(f, ref, order, j)) {
            j++;
        }
        if (j == ref->len) {
            guint x;

            for (x = 0; x < ref->len; x++) {
                if (!strcmp(f->md5, g_ptr_array_index(ref, x))) {
                    break;
                }
            }
            CHECK(false, "frame %u (md5 %s, ts 0x%" PRIx64 ") is not in "
                  "the reference after the previous frame; it is picture "
                  "%d of the reference; %u pictures came back during the "
                  "clear", k, f->md5, f->timestamp,
                  x < ref->len ? (int)x : -1, st.cancel_pictures);
        }
        j++;
    }
    CHECK(j == ref->len, "the last picture is missing");
    g_test_message("%u of %u pictures after the clear", frames->len,
                   ref->len);
}

/*
 * decode-destroy-in-flight: STREAM_DESTROY with input and output buffers
 * queued: all of them complete before the destroy's OK; the device then
 * works, with the same stream id too.
 */
static void test_decode_destroy(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = frames_new();
    VvcDecodeOpts o = { 0 };
    VvcDecodeStats st;
    guint k;

    if (skip_encoder(v) ||
        !load_clip("test-25fps.h264", &path, &units, &o.coded_format, &ref,
                   &order)) {
        return;
    }
    c = client_new(v);
    o.destroy_after = 10;
    o.stats = &st;
    if (!run_one(c, units, &o, frames)) {
        return;
    }
    CHECK(st.destroyed, "not destroyed");
    CHECK(st.inputs_completed == st.inputs_queued, "%u of %u inputs "
          "completed", st.inputs_completed, st.inputs_queued);
    for (k = 0; k < frames->len; k++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        CHECK(frame_is(f, ref, order, k), "frame %u of %u (%u came back "
              "during the destroy): md5 %s ts 0x%" PRIx64 ", expected md5 %s "
              "ts 0x%" PRIx64, k, frames->len, st.cancel_pictures, f->md5,
              f->timestamp, (char *)g_ptr_array_index(ref, k),
              vvc_cookie(0, g_array_index(order, int64_t, k)));
    }
    check_still_decodes(v, c, 1);
}

/* decode-two-streams: H.264 and VP9 at once, commands interleaved */
static void test_decode_two_streams(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *p1 = NULL, *p2 = NULL;
    g_autoptr(GPtrArray) u1 = NULL, u2 = NULL, r1 = NULL, r2 = NULL;
    g_autoptr(GArray) o1 = NULL, o2 = NULL;
    g_autoptr(GArray) f1 = frames_new(), f2 = frames_new();
    g_autofree char *err = NULL;
    g_autofree char *d1 = NULL, *d2 = NULL;
    VvcDecodeOpts a = { .stream_id = 1 }, b = { .stream_id = 2 };
    VvcDecoder *d[2];
    bool ok;

    if (skip_encoder(v) ||
        !load_clip("test-25fps.h264", &p1, &u1, &a.coded_format, &r1, &o1) ||
        !load_clip("test-25fps.vp9.ivf", &p2, &u2, &b.coded_format, &r2,
                   &o2)) {
        return;
    }
    c = client_new(v);
    b.sg_entries = true;
    d[0] = vvc_decoder_new(c, u1, &a, f1, &err);
    CHECK(d[0], "%s", err);
    d[1] = vvc_decoder_new(c, u2, &b, f2, &err);
    if (!d[1]) {
        vvc_decoder_free(d[0]);
        CHECK(false, "%s", err);
    }
    ok = vvc_decoders_run(c, d, 2, &err);
    vvc_decoder_free(d[0]);
    vvc_decoder_free(d[1]);
    CHECK(ok, "%s", err);
    d1 = vvc_check_frames(f1, r1, o1);
    d2 = vvc_check_frames(f2, r2, o2);
    CHECK(!d1, "H.264 stream: %s", d1);
    CHECK(!d2, "VP9 stream: %s", d2);
}

/* ---- bad input ---- */

static uint32_t wait_type_of(VvcClient *c, uint32_t tag)
{
    g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

    return m ? m->type : 0;
}

/* A raw command; the response type (0: no answer). */
static uint32_t raw_cmd(VvcClient *c, const uint8_t *req, size_t len)
{
    uint8_t resp[128];

    return vvc_cmd(c, req, len, resp, sizeof(resp));
}

#define EXPECT(what, got, want) \
    CHECK((got) == (want), "%s: answered 0x%x, expected 0x%x", (what), \
          (got), (want))

/* One input resource with its own id: OK expected. */
static VvcResource *make_input(VvcClient *c, uint32_t sid, size_t size)
{
    VvcResource *r = vvc_resource_alloc(c, sid,
                                        VIRTIO_VIDEO_QUEUE_TYPE_INPUT, size,
                                        false, false);

    g_assert_cmphex(vvc_resource_create(c, r), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    return r;
}

/* decode-defaults: the parameters of a fresh decoder stream */
static void test_decode_defaults(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    VvcParams in, out, plain;
    uint32_t t, value = 0;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);
    t = vvc_stream_create(c, 1, VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
                          VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
                          VIRTIO_VIDEO_FORMAT_H264, "defaults");
    EXPECT("STREAM_CREATE", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    t = vvc_get_params(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &in);
    EXPECT("GET_PARAMS_EXT(INPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    CHECK(in.queue_type == VIRTIO_VIDEO_QUEUE_TYPE_INPUT &&
          in.format == VIRTIO_VIDEO_FORMAT_H264 && in.num_planes == 1 &&
          in.plane_size[0] == 1024 * 1024,
          "INPUT defaults: queue 0x%x format 0x%x planes %u size %u",
          in.queue_type, in.format, in.num_planes, in.plane_size[0]);
    /* STREAM_CREATE's memory type until a SET changes it */
    CHECK(in.resource_type == VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
          "INPUT resource_type %u", in.resource_type);
    t = vvc_get_params(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true, &out);
    EXPECT("GET_PARAMS_EXT(OUTPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    CHECK(out.queue_type == VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT &&
          out.format == VIRTIO_VIDEO_FORMAT_NV12 &&
          out.frame_width == 640 && out.frame_height == 480 &&
          out.min_buffers == 2 && out.max_buffers == 32 &&
          out.num_planes == 2,
          "OUTPUT defaults: queue 0x%x format 0x%x %ux%u buffers %u..%u "
          "planes %u", out.queue_type, out.format, out.frame_width,
          out.frame_height, out.min_buffers, out.max_buffers,
          out.num_planes);
    /* 0x108 answers the same params in the 120-byte form */
    t = vvc_get_params(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, false, &plain);
    EXPECT("GET_PARAMS(OUTPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    out.resource_type = 0;
    CHECK(!memcmp(&plain, &out, sizeof(out)), "GET_PARAMS differs from "
          "GET_PARAMS_EXT");
    /* SET_PARAMS_EXT changes the memory type */
    in.resource_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    t = vvc_set_params(c, 1, &in, true);
    EXPECT("SET_PARAMS_EXT(INPUT)", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    t = vvc_get_params(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &in);
    CHECK(in.resource_type == VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
          "resource_type %u after SET", in.resource_type);
    /* controls of a decoder */
    t = vvc_get_control(c, 1, VIRTIO_VIDEO_CONTROL_PROFILE, &value);
    EXPECT("GET_CONTROL(PROFILE)", t, VIRTIO_VIDEO_RESP_OK_GET_CONTROL);
    t = vvc_set_control(c, 1, VIRTIO_VIDEO_CONTROL_BITRATE, 1000);
    EXPECT("SET_CONTROL on a decoder", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    t = vvc_stream_destroy(c, 1);
    EXPECT("STREAM_DESTROY", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    t = vvc_stream_destroy(c, 1);
    EXPECT("STREAM_DESTROY twice", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
}

/*
 * decode-echo-params: the params the device reported, sent back as drivers
 * do (as read, in V4L2's one-plane view, without crop, and the previous
 * size's), change nothing; on a fresh stream and at each resolution change
 * of a 320x180 clip (a crop in a 16-aligned layout) and of a clip that
 * changes size twice.  Every picture's MD5 still matches.
 */
static void test_decode_echo_params(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    static const char *const clips[] = {
        "bear.hevc",
        "DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264",
    };
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autofree char *err = NULL;
    uint32_t t;
    size_t i;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);
    t = vvc_stream_create(c, 1, 0, 0, VIRTIO_VIDEO_FORMAT_H264, "echo");
    EXPECT("STREAM_CREATE", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    CHECK(vvc_check_echo(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, NULL,
                         &err) &&
          vvc_check_echo(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true, NULL,
                         &err) &&
          vvc_check_echo(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, false, NULL,
                         &err), "%s", err);
    t = vvc_stream_destroy(c, 1);
    EXPECT("STREAM_DESTROY", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    for (i = 0; i < G_N_ELEMENTS(clips); i++) {
        g_autofree char *path = need_media(clips[i]);
        g_autofree char *ref = NULL;
        DecodeCheck dc = { .check_ts = true };
        VvcDecodeStats st;

        if (!path) {
            return;
        }
        ref = g_strdup_printf("%s.nv12.framemd5", path);
        dc.path = path;
        dc.ref = ref;
        dc.o.echo_params = true;
        dc.o.stream_id = 2 + i;
        if (!decode_check(c, &dc, &st)) {
            return;
        }
    }
}

/* QEMU's resident memory, in KiB. */
static uint64_t qemu_rss_kib(QVirtioVideo *v)
{
    g_autofree char *path = g_strdup_printf(
        "/proc/%d/status", (int)qtest_pid(qvirtio_video_qts(v)));
    g_autofree char *text = NULL;
    const char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "VmRSS:");
    g_assert_nonnull(p);
    return g_ascii_strtoull(p + 6, NULL, 10);
}

#define DEFAULT_MAX_STREAMS 256

/*
 * Resident KiB an idle stream may cost QEMU.  ASan's allocator adds
 * redzones and shadow memory to every allocation (make check-asan
 * measured 23 KiB each against 0.6-1.1 KiB without it).
 */
#ifdef QEMU_SANITIZE_ADDRESS
#define IDLE_STREAM_MAX_KIB 48
#else
#define IDLE_STREAM_MAX_KIB 16
#endif

/*
 * idle-streams: as many streams as max-streams allows by default, each
 * opened as a V4L2 driver's open() does (STREAM_CREATE, GET_PARAMS of both
 * queues), one more refused, all closed.  They cost QEMU little memory.
 */
static void test_idle_streams(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = client_new(v);
    uint32_t format = v->encoder ? VIRTIO_VIDEO_FORMAT_H264 : 0;
    uint64_t rss0, rss1;
    VvcParams p;
    uint32_t id, t;

    if (!format) {
        QVVCaps caps;

        qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
        format = caps.descs[0].format;
    }
    /* the first one warms up whatever QEMU allocates once */
    t = vvc_stream_create(c, 1, 0, 0, format, "idle");
    EXPECT("STREAM_CREATE 1", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    rss0 = qemu_rss_kib(v);
    for (id = 2; id <= DEFAULT_MAX_STREAMS; id++) {
        t = vvc_stream_create(c, id, 0, 0, format, "idle");
        CHECK(t == VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_CREATE %u: 0x%x", id,
              t);
        t = vvc_get_params(c, id, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &p);
        EXPECT("GET_PARAMS_EXT(INPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
        t = vvc_get_params(c, id, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true, &p);
        EXPECT("GET_PARAMS_EXT(OUTPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    }
    rss1 = qemu_rss_kib(v);
    g_test_message("%u idle streams: QEMU resident memory +%" PRIu64
                   " KiB (%.1f KiB each)", DEFAULT_MAX_STREAMS - 1,
                   rss1 - rss0, (double)(rss1 - rss0) /
                   (DEFAULT_MAX_STREAMS - 1));
    t = vvc_stream_create(c, id, 0, 0, format, "idle");
    EXPECT("STREAM_CREATE past max-streams", t,
           VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
    for (id = 1; id <= DEFAULT_MAX_STREAMS; id++) {
        t = vvc_stream_destroy(c, id);
        CHECK(t == VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_DESTROY %u: 0x%x",
              id, t);
    }
    /* a few KiB each (no worker thread until a stream has work) */
    CHECK(rss1 - rss0 < IDLE_STREAM_MAX_KIB * DEFAULT_MAX_STREAMS,
          "%" PRIu64 " KiB for %u idle streams", rss1 - rss0,
          DEFAULT_MAX_STREAMS - 1);
}

/* decode-bad-commands: each answered with its error; the stream lives on */
static void test_decode_bad_commands(void *obj, void *data,
                                     QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    QTestState *qts = qvirtio_video_qts(v);
    g_autoptr(VvcClient) c = NULL;
    VvcResource *in = NULL, *small = NULL, *out = NULL;
    VvcParams p;
    uint8_t req[128];
    uint32_t t, sz, tag, ne[8] = { 0 };
    uint64_t addr;
    uint32_t len;
    uint64_t ram_end;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);

    /* unknown stream */
    memset(req, 0, sizeof(req));
    vvc_st32(req, VIRTIO_VIDEO_CMD_RESOURCE_QUEUE);
    vvc_st32(req + 4, 99);
    vvc_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_INPUT);
    vvc_st32(req + 12, 1);
    vvc_st32(req + 24, 1);
    EXPECT("RESOURCE_QUEUE, no such stream", raw_cmd(c, req, 64),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    ne[0] = 1;
    addr = 0x100000;
    len = 4096;
    EXPECT("RESOURCE_CREATE, no such stream",
           vvc_resource_create_raw(c, 99, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1000,
                                   1, ne, &addr, &len, 1),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    EXPECT("GET_PARAMS_EXT, no such stream",
           vvc_get_params(c, 99, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &p),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    EXPECT("STREAM_DRAIN, no such stream",
           raw_cmd(c, (uint8_t[8]) { 0x03, 0x01, 0, 0, 99, 0, 0, 0 }, 8),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    EXPECT("QUEUE_CLEAR, no such stream",
           vvc_queue_clear(c, 99, VIRTIO_VIDEO_QUEUE_TYPE_INPUT),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    EXPECT("STREAM_DESTROY, no such stream", vvc_stream_destroy(c, 99),
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);

    /* a stream, then the same id again */
    t = vvc_stream_create(c, 1, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_FORMAT_H264, "bad");
    EXPECT("STREAM_CREATE", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    t = vvc_stream_create(c, 1, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_FORMAT_VP9, "dup");
    EXPECT("STREAM_CREATE, duplicate id", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID);
    t = vvc_stream_create(c, 2, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, 0x1234, "fmt");
    EXPECT("STREAM_CREATE, unknown format", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);

    /* unknown resource */
    vvc_st32(req + 4, 1);
    vvc_st32(req + 12, 777);
    EXPECT("RESOURCE_QUEUE, no such resource", raw_cmd(c, req, 64),
           VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);

    /* RESOURCE_CREATE with bad entries */
    ne[0] = 0;
    EXPECT("RESOURCE_CREATE, 0 entries",
           vvc_resource_create_raw(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1001,
                                   1, ne, NULL, NULL, 0),
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    ne[0] = 0x10000000;
    EXPECT("RESOURCE_CREATE, 2^28 entries announced, 1 sent",
           vvc_resource_create_raw(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1002,
                                   1, ne, &addr, &len, 1),
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    ne[0] = 1;
    addr = 0xfffffffff000ull;
    EXPECT("RESOURCE_CREATE, entry outside guest RAM",
           vvc_resource_create_raw(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1003,
                                   1, ne, &addr, &len, 1),
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    addr = 0xfee00000;
    EXPECT("RESOURCE_CREATE, entry in the APIC's MMIO",
           vvc_resource_create_raw(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1004,
                                   1, ne, &addr, &len, 1),
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* straddling the end of RAM (128 MiB under qtest by default) */
    ram_end = 128 * 1024 * 1024;
    addr = ram_end - 4096;
    len = 8192;
    EXPECT("RESOURCE_CREATE, entry across the end of RAM",
           vvc_resource_create_raw(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1005,
                                   1, ne, &addr, &len, 1),
           VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    (void)qts;

    /* data larger than the input resource */
    in = make_input(c, 1, 64 * 1024);
    sz = 128 * 1024;
    tag = vvc_resource_queue_async(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                   in->id, vvc_cookie(0, 0), 1, &sz);
    {
        g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

        CHECK(m, "no answer");
        EXPECT("RESOURCE_QUEUE, data_sizes[0] > resource", m->type,
               VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    }

    /* INPUT params cannot change the coded format once resources exist */
    t = vvc_get_params(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &p);
    EXPECT("GET_PARAMS_EXT(INPUT)", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    p.format = VIRTIO_VIDEO_FORMAT_VP9;
    EXPECT("SET_PARAMS_EXT(INPUT), format change after RESOURCE_CREATE",
           vvc_set_params(c, 1, &p, true),
           VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);

    /* an output buffer smaller than the (default 640x480 NV12) frame */
    small = vvc_resource_alloc(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 4096,
                               false, false);
    EXPECT("RESOURCE_CREATE(OUTPUT)", vvc_resource_create(c, small),
           VIRTIO_VIDEO_RESP_OK_NODATA);
    sz = 0;
    tag = vvc_resource_queue_async(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   small->id, 0, 1, &sz);
    {
        g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

        CHECK(m, "no answer");
        EXPECT("RESOURCE_QUEUE(OUTPUT), buffer smaller than the frame",
               m->type, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    }

    /* the same output buffer queued twice */
    out = vvc_resource_alloc(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                             640 * 480 * 3 / 2, false, false);
    EXPECT("RESOURCE_CREATE(OUTPUT)", vvc_resource_create(c, out),
           VIRTIO_VIDEO_RESP_OK_NODATA);
    tag = vvc_resource_queue_async(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   out->id, 0, 1, &sz);
    {
        uint32_t tag2 = vvc_resource_queue_async(c, 1,
                                                 VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                                 out->id, 0, 1, &sz);
        g_autoptr(VvcMsg) m2 = vvc_wait_tag(c, tag2);
        g_autoptr(VvcMsg) m1 = NULL;
        uint32_t ctag;
        g_autoptr(VvcMsg) cm = NULL;

        CHECK(m2, "no answer");
        EXPECT("RESOURCE_QUEUE(OUTPUT) of a queued buffer", m2->type,
               VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
        CHECK(!vvc_stashed(c, tag), "the first queueing completed early");
        /* QUEUE_CLEAR(OUTPUT) gives it back, cancelled, before its OK */
        ctag = vvc_queue_clear_async(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
        cm = vvc_wait_tag(c, ctag);
        CHECK(cm, "no answer");
        EXPECT("QUEUE_CLEAR(OUTPUT)", cm->type, VIRTIO_VIDEO_RESP_OK_NODATA);
        CHECK(vvc_stashed(c, tag), "the queued output buffer did not "
              "complete before the QUEUE_CLEAR response");
        m1 = vvc_wait_tag(c, tag);
        EXPECT("cancelled RESOURCE_QUEUE(OUTPUT)", m1->type,
               VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
        CHECK(m1->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR, "flags 0x%x",
              m1->flags);
    }

    EXPECT("RESOURCE_DESTROY_ALL(OUTPUT)",
           vvc_destroy_all(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT),
           VIRTIO_VIDEO_RESP_OK_NODATA);
    EXPECT("STREAM_DESTROY", vvc_stream_destroy(c, 1),
           VIRTIO_VIDEO_RESP_OK_NODATA);
    vvc_resource_release(c, in);
    vvc_resource_release(c, small);
    vvc_resource_release(c, out);
    check_still_decodes(v, c, 1);
}

/*
 * decode-drain-rules: while a drain runs, RESOURCE_QUEUE(INPUT) and a
 * second drain are refused (0x300); STREAM_DESTROY then completes the
 * drain (and everything else) before its OK.
 */
static void test_decode_drain_rules(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autofree char *path = NULL;
    g_autofree char *err = NULL;
    VvcResource *in[3];
    VvcParams p;
    uint32_t format = 0, sz, dtag, tag, t, in_tags[2];
    int depth, i;

    if (skip_encoder(v)) {
        return;
    }
    path = gen_clip(gen_codec("h264"));
    CHECK(path, "no stream");
    units = vvc_demux(path, &format, &depth, &err);
    CHECK(units, "%s", err);
    c = client_new(v);
    t = vvc_stream_create(c, 5, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, format, "drain");
    EXPECT("STREAM_CREATE", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    t = vvc_get_params(c, 5, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &p);
    EXPECT("GET_PARAMS_EXT", t, VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    for (i = 0; i < 3; i++) {
        in[i] = make_input(c, 5, p.plane_size[0]);
    }
    for (i = 0; i < 2; i++) {
        VvcUnit *u = g_ptr_array_index(units, i);

        vvc_resource_write(c, in[i], u->data, u->len);
        sz = u->len;
        in_tags[i] = vvc_resource_queue_async(c, 5,
                                              VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                              in[i]->id, vvc_cookie(0, i), 1,
                                              &sz);
    }
    /* no output buffer: the drain cannot finish */
    dtag = vvc_stream_drain_async(c, 5);
    t = wait_type_of(c, vvc_stream_drain_async(c, 5));
    EXPECT("second STREAM_DRAIN", t, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    sz = 16;
    tag = vvc_resource_queue_async(c, 5, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                   in[2]->id, vvc_cookie(0, 2), 1, &sz);
    t = wait_type_of(c, tag);
    EXPECT("RESOURCE_QUEUE(INPUT) while draining", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    CHECK(!vvc_stashed(c, dtag), "the drain finished without any output "
          "buffer");

    tag = vvc_stream_destroy_async(c, 5);
    t = wait_type_of(c, tag);
    EXPECT("STREAM_DESTROY", t, VIRTIO_VIDEO_RESP_OK_NODATA);
    CHECK(vvc_stashed(c, dtag), "the drain did not complete before the "
          "STREAM_DESTROY response");
    t = wait_type_of(c, dtag);
    EXPECT("cancelled STREAM_DRAIN", t,
           VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION);
    for (i = 0; i < 2; i++) {
        g_autoptr(VvcMsg) m = NULL;

        CHECK(vvc_stashed(c, in_tags[i]), "input %d did not complete before "
              "the STREAM_DESTROY response", i);
        m = vvc_wait_tag(c, in_tags[i]);
        EXPECT("RESOURCE_QUEUE(INPUT)", m->type,
               VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
    }
    for (i = 0; i < 3; i++) {
        vvc_resource_release(c, in[i]);
    }
    check_still_decodes(v, c, 5);
}

static void corrupt_units(GPtrArray *units, bool truncate, GRand *rnd)
{
    guint i;
    size_t j;

    for (i = 0; i < units->len; i++) {
        VvcUnit *u = g_ptr_array_index(units, i);

        if (truncate) {
            /* keep the first unit (parameter sets) whole */
            if (i && u->len > 8) {
                u->len = 4 + g_rand_int_range(rnd, 0, u->len - 4);
            }
        } else {
            for (j = 0; j < u->len; j++) {
                u->data[j] = g_rand_int(rnd);
            }
        }
    }
}

/*
 * decode-corrupt: random bytes and truncated NAL units for every codec
 * must neither crash nor hang the device: every queued buffer completes,
 * the stream ends (EOS or EVENT_ERROR), guard pages stay untouched, and
 * the device answers afterwards.
 */
static void test_decode_corrupt(void *obj, void *data, QGuestAllocator *alloc)
{
    static const char *const codecs[] = {
        "h264", "hevc", "vp8", "vp9", "mpeg2", "mpeg4",
    };
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = NULL;
    g_autoptr(GRand) rnd = g_rand_new_with_seed(31);
    uint32_t sid = 1;
    size_t i;
    int mode;

    if (skip_encoder(v)) {
        return;
    }
    c = client_new(v);
    for (i = 0; i < G_N_ELEMENTS(codecs); i++) {
        g_autofree char *path = gen_clip(gen_codec(codecs[i]));
        g_autofree char *err = NULL;
        uint32_t format = 0;
        int depth;

        CHECK(path, "no stream");
        for (mode = 0; mode < 2; mode++) {
            g_autoptr(GPtrArray) units = vvc_demux(path, &format, &depth,
                                                   &err);
            g_autoptr(GArray) frames = frames_new();
            g_autofree char *rerr = NULL;
            VvcDecodeOpts o = { 0 };
            VvcDecodeStats st;
            VvcDecoder *d;
            bool ok;

            CHECK(units, "%s", err);
            corrupt_units(units, mode == 1, rnd);
            o.coded_format = format;
            o.stream_id = sid++;
            o.guard = true;
            /* random bytes may never yield headers: no drain then */
            o.no_drain = mode == 0;
            o.stats = &st;
            d = vvc_decoder_new(c, units, &o, frames, &rerr);
            CHECK(d, "%s: %s", codecs[i], rerr);
            ok = vvc_decoders_run(c, &d, 1, &rerr);
            vvc_decoder_free(d);
            g_test_message("%s, %s: %s, %u pictures, %u inputs (%u failed), "
                           "%s", codecs[i], mode ? "truncated" : "random",
                           ok ? "done" : rerr, frames->len,
                           st.inputs_completed, st.inputs_err,
                           st.error_event ? "EVENT_ERROR" : "no error event");
            CHECK(ok, "%s: %s", codecs[i], rerr);
            CHECK(st.destroyed, "%s: not destroyed", codecs[i]);
            CHECK(st.inputs_completed == st.inputs_queued,
                  "%s: %u of %u inputs completed", codecs[i],
                  st.inputs_completed, st.inputs_queued);
            CHECK(client_alive(v, c), "no answer after %s", codecs[i]);
        }
    }
    check_still_decodes(v, c, sid);
}

static void test_media_missing(void *obj, void *data, QGuestAllocator *alloc)
{
    g_autofree char *dir = vvc_media_dir();

    g_test_message("MEDIA DIRECTORY MISSING: %s.  Set " MEDIA_ENV " to the "
                   "directory of the media clips (shared/media), or to the "
                   "empty string to skip the clips", dir);
    g_test_fail();
}

/* ---- decoding into virtio-gpu resources (virtio objects) ---- */

/*
 * A minimal virtio-gpu driver for the "virtio-video-gpu" node: the GPU is
 * virtio-gpu-pci,resource_uuid=on at slot 5.  2D resources get the pages
 * of a client resource as backing, and a UUID the decoder is given.
 */
typedef struct TestGpu {
    QTestState *qts;
    QGuestAllocator *alloc;
    QVirtioPCIDevice *dev;
    QVirtQueue *ctrlq;
    uint32_t next_id;
    GHashTable *ids;            /* VvcResource id -> GPU resource id */
} TestGpu;

static void gpu_start(TestGpu *g)
{
    uint64_t features = qvirtio_get_features(&g->dev->vdev);

    g_assert_true(features & (1ull << VIRTIO_GPU_F_RESOURCE_UUID));
    qvirtio_set_features(&g->dev->vdev,
                         features & ((1ull << VIRTIO_F_VERSION_1) |
                                     (1ull << VIRTIO_GPU_F_RESOURCE_UUID)));
    g->ctrlq = qvirtqueue_setup(&g->dev->vdev, g->alloc, 0);
    qvirtio_set_driver_ok(&g->dev->vdev);
}

static void gpu_init(TestGpu *g, QVirtioVideo *v, QGuestAllocator *alloc)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(5, 0) };

    memset(g, 0, sizeof(*g));
    g->qts = qvirtio_video_qts(v);
    g->alloc = alloc;
    g->next_id = 1;
    g->ids = g_hash_table_new(NULL, NULL);
    g->dev = virtio_pci_new(v->pdev->bus, &addr);
    g_assert_nonnull(g->dev);
    g_assert_cmphex(g->dev->pdev->devfn, ==, addr.devfn);
    qvirtio_pci_device_enable(g->dev);
    qvirtio_start_device(&g->dev->vdev);
    gpu_start(g);
}

/* Device reset, then the same driver again: every resource is gone. */
static void gpu_reset(TestGpu *g)
{
    qvirtqueue_cleanup(g->dev->vdev.bus, g->ctrlq, g->alloc);
    qvirtio_start_device(&g->dev->vdev);
    gpu_start(g);
    g_hash_table_remove_all(g->ids);
}

static void gpu_free(TestGpu *g)
{
    qvirtqueue_cleanup(g->dev->vdev.bus, g->ctrlq, g->alloc);
    qvirtio_pci_device_disable(g->dev);
    g_free(g->dev);
    g_hash_table_destroy(g->ids);
}

/* One control command; the response type (and @resp_len bytes of it). */
static uint32_t gpu_cmd(TestGpu *g, const void *req, size_t req_len,
                        void *resp, size_t resp_len)
{
    uint8_t hdr[sizeof(struct virtio_gpu_ctrl_hdr)];
    size_t rlen = MAX(resp_len, sizeof(hdr));
    uint64_t rq = guest_alloc(g->alloc, req_len);
    uint64_t rs = guest_alloc(g->alloc, rlen);
    uint32_t head;

    qtest_memwrite(g->qts, rq, req, req_len);
    qtest_memset(g->qts, rs, 0, rlen);
    head = qvirtqueue_add(g->qts, g->ctrlq, rq, req_len, false, true);
    qvirtqueue_add(g->qts, g->ctrlq, rs, rlen, true, false);
    qvirtqueue_kick(g->qts, &g->dev->vdev, g->ctrlq, head);
    qvirtio_wait_used_elem(g->qts, &g->dev->vdev, g->ctrlq, head, NULL,
                           10 * 1000 * 1000);
    qtest_memread(g->qts, rs, hdr, sizeof(hdr));
    if (resp) {
        qtest_memread(g->qts, rs, resp, resp_len);
    }
    guest_free(g->alloc, rq);
    guest_free(g->alloc, rs);
    return le32_to_cpu(((struct virtio_gpu_ctrl_hdr *)hdr)->type);
}

static uint32_t gpu_simple(TestGpu *g, uint32_t type, uint32_t resource_id)
{
    struct virtio_gpu_resource_unref req = {
        .hdr.type = cpu_to_le32(type),
        .resource_id = cpu_to_le32(resource_id),
    };

    return gpu_cmd(g, &req, sizeof(req), NULL, 0);
}

static uint32_t gpu_assign_uuid(TestGpu *g, uint32_t resource_id,
                                uint8_t *uuid)
{
    struct virtio_gpu_resp_resource_uuid resp;
    uint32_t type = gpu_cmd(g, &(struct virtio_gpu_resource_assign_uuid) {
                                .hdr.type = cpu_to_le32(
                                    VIRTIO_GPU_CMD_RESOURCE_ASSIGN_UUID),
                                .resource_id = cpu_to_le32(resource_id),
                            }, sizeof(struct virtio_gpu_resource_assign_uuid),
                            &resp, sizeof(resp));

    memcpy(uuid, resp.uuid, 16);
    return type;
}

/*
 * A B8G8R8X8 2D resource whose guest backing is @r's pages, in @r's entry
 * order, sized to hold the picture (rows of 4-byte pixels; the decoder
 * sees bytes), and its UUID.  The GPU resource id, 0 on failure.
 */
static uint32_t gpu_export(TestGpu *g, VvcResource *r, uint8_t *uuid)
{
    uint32_t id = g->next_id++;
    uint32_t width = 256;       /* 1 KiB rows */
    uint32_t height = (r->size + width * 4 - 1) / (width * 4);
    size_t len = sizeof(struct virtio_gpu_resource_attach_backing) +
                 r->num_entries * sizeof(struct virtio_gpu_mem_entry);
    g_autofree uint8_t *ab = g_malloc0(len);
    struct virtio_gpu_resource_attach_backing *hdr = (void *)ab;
    struct virtio_gpu_mem_entry *ent = (void *)(hdr + 1);
    uint32_t i, type;

    type = gpu_cmd(g, &(struct virtio_gpu_resource_create_2d) {
                       .hdr.type = cpu_to_le32(
                           VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
                       .resource_id = cpu_to_le32(id),
                       .format = cpu_to_le32(VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM),
                       .width = cpu_to_le32(width),
                       .height = cpu_to_le32(height),
                   }, sizeof(struct virtio_gpu_resource_create_2d), NULL, 0);
    if (type != VIRTIO_GPU_RESP_OK_NODATA) {
        g_test_message("RESOURCE_CREATE_2D answered 0x%x", type);
        return 0;
    }
    hdr->hdr.type = cpu_to_le32(VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING);
    hdr->resource_id = cpu_to_le32(id);
    hdr->nr_entries = cpu_to_le32(r->num_entries);
    for (i = 0; i < r->num_entries; i++) {
        ent[i].addr = cpu_to_le64(r->entry_addr[i]);
        ent[i].length = cpu_to_le32(r->entry_len[i]);
    }
    type = gpu_cmd(g, ab, len, NULL, 0);
    if (type != VIRTIO_GPU_RESP_OK_NODATA) {
        g_test_message("RESOURCE_ATTACH_BACKING answered 0x%x", type);
        return 0;
    }
    type = gpu_assign_uuid(g, id, uuid);
    if (type != VIRTIO_GPU_RESP_OK_RESOURCE_UUID) {
        g_test_message("RESOURCE_ASSIGN_UUID answered 0x%x", type);
        return 0;
    }
    g_hash_table_insert(g->ids, GUINT_TO_POINTER(r->id), GUINT_TO_POINTER(id));
    return id;
}

static bool gpu_out_object(void *opaque, VvcResource *r, uint8_t *uuid)
{
    return gpu_export(opaque, r, uuid) != 0;
}

/* @hook for destroy-while-in-use: the GPU destroys every resource. */
static void gpu_unref_all(void *opaque)
{
    TestGpu *g = opaque;
    GHashTableIter it;
    gpointer id;

    g_hash_table_iter_init(&it, g->ids);
    while (g_hash_table_iter_next(&it, NULL, &id)) {
        g_assert_cmphex(gpu_simple(g, VIRTIO_GPU_CMD_RESOURCE_UNREF,
                                   GPOINTER_TO_UINT(id)),
                        ==, VIRTIO_GPU_RESP_OK_NODATA);
    }
}

/* Decode @clip into GPU resources and compare every frame. */
static void gpu_decode_check(QVirtioVideo *v, TestGpu *g, VvcClient *c,
                             const char *clip, uint32_t sid, bool sg)
{
    g_autofree char *path = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    VvcDecodeStats st = { 0 };
    VvcDecodeOpts o = {
        .stream_id = sid, .sg_entries = sg, .guard = true, .stats = &st,
        .out_object = gpu_out_object, .out_object_opaque = g,
    };
    uint32_t format;
    guint k;

    if (!load_clip(clip, &path, &units, &format, &ref, &order)) {
        return;
    }
    o.coded_format = format;
    if (!run_one(c, units, &o, frames)) {
        return;
    }
    CHECK(frames->len == ref->len, "%s into virtio-gpu resources: %u "
          "frames, reference %u", clip, frames->len, ref->len);
    for (k = 0; k < frames->len; k++) {
        CHECK(frame_is(&g_array_index(frames, VvcFrame, k), ref, order, k),
              "%s into virtio-gpu resources: frame %u differs", clip, k);
    }
    g_test_message("%s: %u frames decoded into virtio-gpu resources "
                   "(%s backing), every MD5 matches", clip, frames->len,
                   sg ? "4 KiB scattered" : "contiguous");
}

/*
 * gpu-decode: the decoder writes frames into virtio-gpu 2D resources it
 * knows by UUID; every frame's MD5 is checked through the resources'
 * backing pages, for contiguous and scattered backing.
 */
static void test_gpu_decode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    TestGpu g;

    g_assert_true(v->vdev->features &
                  (1ull << VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT));
    gpu_init(&g, v, alloc);
    gpu_decode_check(v, &g, c, "test-25fps.h264", 1, false);
    gpu_decode_check(v, &g, c, "test-25fps.vp9.ivf", 2, true);
    gpu_free(&g);
}

/* Does query-migrate list a blocker whose reason contains @what? */
static bool migration_blocked(QVirtioVideo *v, const char *what)
{
    QDict *resp = qtest_qmp_assert_success_ref(qvirtio_video_qts(v),
                                               "{'execute': 'query-migrate'}");
    QList *reasons = qdict_haskey(resp, "blocked-reasons") ?
                     qdict_get_qlist(resp, "blocked-reasons") : NULL;
    const QListEntry *e;
    bool found = false;

    for (e = reasons ? qlist_first(reasons) : NULL; e; e = qlist_next(e)) {
        const char *reason = qstring_get_str(qobject_to(QString, e->value));

        found |= strstr(reason, what) != NULL;
    }
    qobject_unref(resp);
    return found;
}

/*
 * gpu-encode: the encoder reads its input frames from virtio-gpu 2D
 * resources it knows by UUID (scattered 4 KiB backing); the packets decode
 * on the host to the source within 35 dB.
 */
static void test_gpu_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autofree char *err = NULL;
    VvcEncodeCase t = {
        .format = VIRTIO_VIDEO_FORMAT_H264,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 30,
        .bitrate = 1000000, .force_keyframe_at = -1,
        .bitrate_change_at = -1, .sg = true,
        .in_object = gpu_out_object,
    };
    VvcEncodeResult r;
    TestGpu g;
    bool ok;

    gpu_init(&g, v, alloc);
    t.in_object_opaque = &g;
    vvc_set_timeout(c, 120000);
    ok = vvc_encode_run(c, 1, &t, &r, &err);
    gpu_free(&g);
    CHECK(ok, "%s", err);
    g_test_message("encoded from virtio-gpu resources: %u packets, PSNR min "
                   "%.2f avg %.2f", r.packets, r.psnr_min, r.psnr_avg);
    g_array_free(r.keyframes, true);
    CHECK(r.packets == t.frames, "%u packets for %u frames", r.packets,
          t.frames);
    CHECK(r.psnr_min >= 35.0, "PSNR %.2f dB", r.psnr_min);
}

static uint32_t new_id(VvcClient *c)
{
    return vvc_alloc_resource_id(c);
}

/* RESOURCE_CREATE(OUTPUT) of @uuid on a fresh decoder stream. */
static uint32_t create_object_output(VvcClient *c, uint32_t sid,
                                     uint32_t id, const uint8_t *uuid)
{
    VvcParams p;

    g_assert_cmphex(vvc_stream_create(c, sid,
                                      VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                                      VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
                                      VIRTIO_VIDEO_FORMAT_H264, "gpu"), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   true, &p), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    p.resource_type = VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT;
    g_assert_cmphex(vvc_set_params(c, sid, &p, true), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    return vvc_resource_create_object(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                      id, 1, NULL, uuid);
}

/*
 * gpu-bad-objects: an unknown UUID, the UUID of a resource without
 * backing, a plane offset past the object's end and planes in two
 * objects are refused; so is the UUID of a resource the GPU lost in a
 * device reset.  The decoder works on afterwards.
 */
static void test_gpu_bad_objects(void *obj, void *data,
                                 QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    VvcResource *r = vvc_resource_alloc(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                        64 * 1024, false, false);
    uint8_t uuid[16], bare[16], none[16], junk[16] = { 0x42, 0x17 };
    uint32_t off[2] = { 0, 0 };
    uint8_t req[88 + 32] = { 0 };
    TestGpu g;

    gpu_init(&g, v, alloc);
    g_assert_cmpuint(gpu_export(&g, r, uuid), !=, 0);
    /* a resource with no backing has a UUID, but nothing to write into */
    g_assert_cmphex(gpu_cmd(&g, &(struct virtio_gpu_resource_create_2d) {
                                .hdr.type = cpu_to_le32(
                                    VIRTIO_GPU_CMD_RESOURCE_CREATE_2D),
                                .resource_id = cpu_to_le32(100),
                                .format = cpu_to_le32(
                                    VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM),
                                .width = cpu_to_le32(64),
                                .height = cpu_to_le32(64),
                            }, sizeof(struct virtio_gpu_resource_create_2d),
                            NULL, 0), ==, VIRTIO_GPU_RESP_OK_NODATA);
    g_assert_cmphex(gpu_assign_uuid(&g, 100, bare), ==,
                    VIRTIO_GPU_RESP_OK_RESOURCE_UUID);

    /* the GPU refuses a UUID for a resource it does not have */
    g_assert_cmphex(gpu_assign_uuid(&g, 0xdead, none), ==,
                    VIRTIO_GPU_RESP_ERR_INVALID_RESOURCE_ID);
    /* the same resource keeps its UUID */
    {
        uint8_t again[16];

        g_assert_cmphex(gpu_assign_uuid(&g, g.next_id - 1, again), ==,
                        VIRTIO_GPU_RESP_OK_RESOURCE_UUID);
        g_assert_cmpmem(again, 16, uuid, 16);
    }
    g_assert_cmphex(create_object_output(c, 1, new_id(c), junk), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(create_object_output(c, 2, new_id(c), bare), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    off[0] = 64 * 1024;
    g_assert_cmphex(vvc_resource_create_object(c, 2,
                        VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                        vvc_alloc_resource_id(c), 1, off, uuid), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* two planes, two different objects */
    vvc_st32(req, VIRTIO_VIDEO_CMD_RESOURCE_CREATE);
    vvc_st32(req + 4, 2);
    vvc_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
    vvc_st32(req + 12, vvc_alloc_resource_id(c));
    vvc_st32(req + 16, VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE);
    vvc_st32(req + 20, 2);
    vvc_st32(req + 56, 1);
    vvc_st32(req + 60, 1);
    memcpy(req + 88, uuid, 16);
    memcpy(req + 104, bare, 16);
    g_assert_cmphex(vvc_cmd(c, req, sizeof(req), NULL, 0), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* the good one works, and blocks migration while it lives */
    g_assert_false(migration_blocked(v, "virtio objects"));
    g_assert_cmphex(vvc_resource_create_object(c, 2,
                        VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                        vvc_alloc_resource_id(c), 1, NULL, uuid), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_true(migration_blocked(v, "virtio objects"));
    g_assert_cmphex(vvc_stream_destroy(c, 2), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_false(migration_blocked(v, "virtio objects"));

    /* after a GPU reset its old UUIDs name nothing */
    gpu_reset(&g);
    g_assert_cmphex(create_object_output(c, 3, new_id(c), uuid), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(vvc_stream_destroy(c, 1), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_stream_destroy(c, 3), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    vvc_resource_release(c, r);

    /* and the GPU and the decoder still work together */
    gpu_decode_check(v, &g, c, "test-25fps.h264", 4, false);
    gpu_free(&g);
}

/*
 * gpu-destroy-in-use: the GPU destroys the resources the decoder is
 * writing into, mid-stream.  QEMU neither crashes nor writes freed memory
 * (ASan in make check-asan); the decoder refuses to take those resources
 * again and the stream fails cleanly; a new stream into new resources then
 * decodes every frame right.
 */
static void test_gpu_destroy_in_use(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autofree char *path = NULL, *err = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    VvcDecodeStats st = { 0 };
    uint32_t format;
    TestGpu g;
    VvcDecoder *d;
    bool ok;

    gpu_init(&g, v, alloc);
    if (!load_clip("test-25fps.h264", &path, &units, &format, &ref,
                   &order)) {
        gpu_free(&g);
        return;
    }
    {
        VvcDecodeOpts o = {
            .stream_id = 1, .stats = &st, .coded_format = format,
            .out_object = gpu_out_object, .out_object_opaque = &g,
            .hook_after = 5, .hook = gpu_unref_all, .hook_opaque = &g,
        };

        d = vvc_decoder_new(c, units, &o, frames, &err);
        g_assert_nonnull(d);
        ok = vvc_decoders_run(c, &d, 1, &err);
        vvc_decoder_free(d);
    }
    g_test_message("stream into destroyed resources: %u frames, %u outputs "
                   "with FLAG_ERR, then: %s", frames->len, st.outputs_err,
                   ok ? "finished" : err);
    CHECK(!ok && strstr(err, "0x303"), "re-queueing an output whose GPU "
          "resource is gone was not refused with INVALID_RESOURCE_ID");
    CHECK(frames->len < ref->len, "every frame came out of destroyed "
          "resources");
    g_hash_table_remove_all(g.ids);
    /* stream 1 failed; what the device does next is all that matters */
    vvc_stream_destroy(c, 1);
    vvc_flush_stash(c);
    gpu_decode_check(v, &g, c, "test-25fps.h264", 2, true);
    gpu_free(&g);
}

/*
 * gpu-detach-in-use: the GPU detaches the backing of a resource a decoder
 * stream has queued (virtio-gpu cannot be hot-unplugged; this and unref
 * are how its memory goes away under a user).  QEMU neither crashes nor
 * writes freed memory (ASan in make check-asan); the resource cannot be
 * queued again; the UUID, still the resource's, names nothing to write
 * into until the backing is back; the migration blocker goes with the
 * stream; the decoder works on.
 */
static void test_gpu_detach_in_use(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    VvcResource *r = vvc_resource_alloc(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                        1024 * 1024, true, false);
    g_autoptr(VvcMsg) m = NULL;
    uint32_t tag, zero = 0, gpu_id;
    uint8_t uuid[16];
    TestGpu g;

    gpu_init(&g, v, alloc);
    gpu_id = gpu_export(&g, r, uuid);
    g_assert_cmpuint(gpu_id, !=, 0);
    g_assert_cmphex(create_object_output(c, 1, r->id, uuid), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    /* an output buffer waits in the device for a picture */
    tag = vvc_resource_queue_async(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                   r->id, 0, 1, &zero);
    g_assert_cmphex(gpu_simple(&g, VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING,
                               gpu_id), ==, VIRTIO_GPU_RESP_OK_NODATA);

    g_assert_cmphex(create_object_output(c, 3, new_id(c), uuid), ==,
                    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER);
    /* QUEUE_CLEAR hands the queued buffer back, then it is refused */
    g_assert_cmphex(vvc_queue_clear(c, 1, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    m = vvc_wait_tag(c, tag);
    g_assert_nonnull(m);
    g_clear_pointer(&m, vvc_msg_free);
    m = vvc_wait_tag(c, vvc_resource_queue_async(c, 1,
                         VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, r->id, 0, 1, &zero));
    g_assert_nonnull(m);
    g_assert_cmphex(m->type, ==, VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_true(migration_blocked(v, "virtio objects"));
    g_assert_cmphex(vvc_stream_destroy(c, 1), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_cmphex(vvc_stream_destroy(c, 3), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_false(migration_blocked(v, "virtio objects"));
    vvc_resource_release(c, r);

    /* new resources, new UUIDs: every frame right */
    gpu_decode_check(v, &g, c, "test-25fps.h264", 4, true);
    gpu_free(&g);
}

/*
 * The decode-media tests of a folder of any size.  QOS finds its tests
 * with a depth-first walk whose stack holds 128 nodes
 * (QOS_PATH_MAX_ELEMENT_SIZE) and takes every child of a node at once:
 * some 60 clips next to the other tests of "virtio-video-decoder"
 * overflowed it ("QOSStack: full stack, cannot push"), and qos-test
 * aborted before listing a single test.  So the clips hang off a tree with
 * at most MEDIA_FANOUT children per node: a node of this file consumes the
 * decoder (it adds no device: no command line) and produces interfaces
 * "<node>-<first>-<last>" for runs of clips, nested as deep as the folder
 * needs.  The walk then holds at most MEDIA_FANOUT nodes per level.
 */
#define MEDIA_FANOUT    16

typedef struct MediaNode {
    QOSGraphObject obj;
    QVirtioVideo *v;
} MediaNode;

static void *media_node_get_driver(void *object, const char *interface)
{
    return ((MediaNode *)object)->v;
}

static void *media_node_create(void *parent, QGuestAllocator *alloc,
                               void *addr)
{
    MediaNode *m = g_new0(MediaNode, 1);

    m->v = parent;
    m->obj.get_driver = media_node_get_driver;
    m->obj.free = g_free;
    return &m->obj;
}

/*
 * Clips @first .. @first + @n - 1 of @media under graph node @parent; the
 * interfaces for runs of them are named after @node.
 */
static void register_media_range(const char *node, const char *parent,
                                 GPtrArray *media, guint first, guint n)
{
    guint span = 1, i;

    while (span * MEDIA_FANOUT < n) {
        span *= MEDIA_FANOUT;
    }
    for (i = 0; i < n; i += span) {
        guint len = MIN(span, n - i);

        if (n <= MEDIA_FANOUT) {
            VvcMediaFile *m = g_ptr_array_index(media, first + i);
            g_autofree char *base = g_path_get_basename(m->path);
            g_autofree char *name = g_strdup_printf("decode-media/%s", base);
            QOSGraphTestOptions opts = { .arg = m };

            qos_add_test(name, parent, test_decode_media, &opts);
        } else {
            g_autofree char *iface = g_strdup_printf("%s-%u-%u", node,
                                                     first + i + 1,
                                                     first + i + len);

            qos_node_produces(parent, iface);
            register_media_range(node, iface, media, first + i, len);
        }
    }
}

/* The clips of @media under a node @node that consumes @device. */
static void register_media(const char *node, const char *device,
                           GPtrArray *media)
{
    g_autofree char *all = NULL;

    if (!media->len) {
        return;
    }
    qos_node_create_driver(node, media_node_create);
    qos_node_consumes(node, device, NULL);
    /* no device of its own, and nothing in QEMU to find it by */
    qos_delete_cmd_line(node);
    /* tests take an interface: it gives them the device's QVirtioVideo */
    all = g_strdup_printf("%s-1-%u", node, media->len);
    qos_node_produces(node, all);
    register_media_range(node, all, media, 0, media->len);
    /* with the interfaces it produces */
    qos_graph_node_set_availability(node, true);
}

static void register_decode_tests(void)
{
    g_autofree char *dir = vvc_media_dir();
    g_autofree char *err = NULL;
    GPtrArray *media = dir ? vvc_media_scan(dir, &err) : NULL;
    size_t i;

    if (media) {
        /* the entries stay alive for the tests */
        g_autoptr(GPtrArray) dec = g_ptr_array_new();
        g_autoptr(GPtrArray) av1 = g_ptr_array_new();

        for (i = 0; i < media->len; i++) {
            VvcMediaFile *m = g_ptr_array_index(media, i);

            g_ptr_array_add(m->format == VIRTIO_VIDEO_FORMAT_AV1 ? av1 : dec,
                            m);
        }
        register_media("virtio-video-media", "virtio-video-decoder", dec);
        /* AV1 is an opt-in extension: a decoder with av1=on */
        register_media("virtio-video-media-av1", "virtio-video-av1", av1);
        g_ptr_array_set_free_func(media, NULL);
        g_ptr_array_unref(media);
    } else if (dir) {
        /* fails loudly: the media directory is part of the test setup */
        qos_add_test("decode-media/MISSING", "virtio-video-decoder",
                     test_media_missing, NULL);
    }
    for (i = 0; i < G_N_ELEMENTS(gen_codecs); i++) {
        g_autofree char *name = g_strdup_printf("decode-generated/%s",
                                                gen_codecs[i].name);
        QOSGraphTestOptions opts = { .arg = (void *)&gen_codecs[i] };

        qos_add_test(name, "virtio-video-decoder",
                     test_decode_generated, &opts);
    }
    qos_add_test("decode-formats", "virtio-video-decoder",
                 test_decode_formats, NULL);
    qos_add_test("decode-layouts", "virtio-video-decoder",
                 test_decode_layouts, NULL);
    qos_add_test("decode-chunked", "virtio-video-decoder",
                 test_decode_chunked, NULL);
    qos_add_test("decode-resolution-change", "virtio-video-decoder",
                 test_decode_reschange, NULL);
    qos_add_test("decode-clear-input", "virtio-video-decoder",
                 test_decode_clear_input, NULL);
    qos_add_test("decode-pipelined-clear-input", "virtio-video-decoder",
                 test_decode_pipelined_clear_input, NULL);
    qos_add_test("decode-pipelined-resolution-change", "virtio-video-decoder",
                 test_decode_pipelined_reschange, NULL);
    qos_add_test("decode-reorder-switch", "virtio-video-decoder",
                 test_decode_reorder_switch, NULL);
    qos_add_test("decode-clear-output", "virtio-video-decoder",
                 test_decode_clear_output, NULL);
    qos_add_test("decode-destroy-in-flight", "virtio-video-decoder",
                 test_decode_destroy, NULL);
    qos_add_test("decode-two-streams", "virtio-video-decoder",
                 test_decode_two_streams, NULL);
    qos_add_test("decode-defaults", "virtio-video-decoder",
                 test_decode_defaults,
                 NULL);
    qos_add_test("decode-bad-commands", "virtio-video-decoder",
                 test_decode_bad_commands, NULL);
    qos_add_test("decode-echo-params", "virtio-video-decoder",
                 test_decode_echo_params, NULL);
    qos_add_test("decode-drain-rules", "virtio-video-decoder",
                 test_decode_drain_rules, NULL);
    qos_add_test("gpu-decode", "virtio-video-gpu", test_gpu_decode, NULL);
    qos_add_test("gpu-bad-objects", "virtio-video-gpu", test_gpu_bad_objects,
                 NULL);
    qos_add_test("gpu-destroy-in-use", "virtio-video-gpu",
                 test_gpu_destroy_in_use, NULL);
    qos_add_test("gpu-detach-in-use", "virtio-video-gpu",
                 test_gpu_detach_in_use, NULL);
    qos_add_test("gpu-encode", "virtio-video-gpu-enc", test_gpu_encode, NULL);
    qos_add_test("decode-corrupt", "virtio-video-decoder", test_decode_corrupt,
                 NULL);
}

/*
 * The command-level tests that need no coded format beyond VP9 also on
 * backend=vaapi with the project's VA test driver (decoder and encoder),
 * and those that need H.264 on backend=auto with that driver (H.264 then
 * goes to software).
 */
static void register_vadriver_tests(void)
{
    static const QvvDriverEnv vp9 = { .profiles = "vp9-0:vld,vp9-0:enc" };
    static const struct {
        const char *name;
        QOSTestFunc fn;
    } generic[] = {
        { "pci-ids", test_pci_ids },
        { "features", test_features },
        { "descriptor-split", test_descriptor_split },
        { "bad-requests", test_bad_requests },
        { "many-commands", test_many_commands },
    };
    static const char *const ifaces[] = {
        "virtio-video-vaapi", "virtio-video-vaapi-enc",
        "virtio-video-auto-va", "virtio-video-auto-va-enc",
    };
    size_t i, k;

    for (k = 0; k < G_N_ELEMENTS(ifaces); k++) {
        bool vaapi = g_str_has_prefix(ifaces[k], "virtio-video-vaapi");

        qvv_hw_add_test("config", ifaces[k], test_config,
                        (void *)(vaapi ? "vaapi" : "vaapi+libavcodec"), &vp9);
        for (i = 0; vaapi && i < G_N_ELEMENTS(generic); i++) {
            qvv_hw_add_test(generic[i].name, ifaces[k], generic[i].fn, NULL,
                            &vp9);
        }
    }
    /* VP9 streams on the decoder; H.264 ones on auto's encoder */
    qvv_hw_add_test("idle-streams", "virtio-video-vaapi", test_idle_streams,
                    NULL, &vp9);
    qvv_hw_add_test("idle-streams", "virtio-video-auto-va-enc",
                    test_idle_streams, NULL, &vp9);
    qvv_hw_add_test("decode-defaults", "virtio-video-auto-va",
                    test_decode_defaults, NULL, &vp9);
    qvv_hw_add_test("decode-bad-commands", "virtio-video-auto-va",
                    test_decode_bad_commands, NULL, &vp9);
    qvv_hw_add_test("decode-drain-rules", "virtio-video-auto-va",
                    test_decode_drain_rules, NULL, &vp9);
}

static void register_virtio_video_test(void)
{
    qos_add_test("pci-ids", "virtio-video", test_pci_ids, NULL);
    qos_add_test("config", "virtio-video", test_config, NULL);
    qos_add_test("features", "virtio-video", test_features, NULL);
    qos_add_test("query-capability", "virtio-video", test_query_capability,
                 NULL);
    qos_add_test("descriptor-split", "virtio-video", test_descriptor_split,
                 NULL);
    qos_add_test("bad-requests", "virtio-video", test_bad_requests, NULL);
    qos_add_test("many-commands", "virtio-video", test_many_commands, NULL);
    qos_add_test("idle-streams", "virtio-video", test_idle_streams, NULL);
    register_decode_tests();
    register_vadriver_tests();
}

libqos_init(register_virtio_video_test);
