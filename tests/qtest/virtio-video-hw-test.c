/*
 * QTest testcases for virtio-video-pci's hardware backends, on the
 * project's VA-API test driver (tests/vadriver: VP9 profile 0 decode and
 * encode in software behind libva, configured by VVTEST_* variables, on
 * render-node=/dev/null).
 *
 * backend=vaapi: capabilities follow what the driver announces; VP9 clips
 * decode frame-exact and VP9 encodes at PSNR >= 35 dB on it; failures the
 * driver injects end the stream with EVENT_ERROR and leave the device
 * working.  backend=auto: hardware for what the driver serves, software
 * for the rest and when the hardware refuses a stream at its start.  The
 * trace event virtio_video_stream_backend says which backend served each
 * stream.  A device that cannot start fails realize with one error line.
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
#include "virtio-video-vadriver.h"

#define VADRIVER_ENV    "VV_VADRIVER_DIR"
#define MEDIA_ENV       "VIRTIO_VIDEO_MEDIA"

#define CHECK(cond, ...) \
    do { \
        if (!(cond)) { \
            g_test_message(__VA_ARGS__); \
            g_test_fail(); \
            return; \
        } \
    } while (0)

#define CHECK_FALSE(cond, ...) \
    do { \
        if (!(cond)) { \
            g_test_message(__VA_ARGS__); \
            g_test_fail(); \
            return false; \
        } \
    } while (0)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VvcClient, vvc_free)

/* ---- where things are ---- */

char *qvv_vadriver_dir(char **why)
{
    const char *env = g_getenv(VADRIVER_ENV);
    g_autofree char *top = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *so = NULL;

    if (env && *env) {
        dir = g_canonicalize_filename(env, NULL);
    } else {
        top = vvc_project_top();
        if (!top) {
            *why = g_strdup("VA-API TEST DRIVER NOT FOUND: " VADRIVER_ENV
                            " is not set and the project's top folder is "
                            "not found from this binary");
            return NULL;
        }
        dir = g_build_filename(top, "build", "unit", "tests", "vadriver",
                               NULL);
    }
    so = g_build_filename(dir, "vvtest_drv_video.so", NULL);
    if (!g_file_test(so, G_FILE_TEST_IS_REGULAR)) {
        *why = g_strdup_printf("VA-API TEST DRIVER MISSING: %s (make unit "
                               "builds it; " VADRIVER_ENV " names its "
                               "folder)", so);
        return NULL;
    }
    return g_steal_pointer(&dir);
}

/* The variables the driver's set-up owns (restored after each test). */
static const char *const driver_vars[] = {
    "LIBVA_DRIVERS_PATH", "LIBVA_DRIVER_NAME", "LD_PRELOAD", "ASAN_OPTIONS",
    "VVTEST_PROFILES", "VVTEST_FAIL", "VVTEST_MAX_WIDTH", "VVTEST_MAX_HEIGHT",
};

static char **environ_set(char **envp, const char *name, const char *value)
{
    return value ? g_environ_setenv(envp, name, value, true)
                 : g_environ_unsetenv(envp, name);
}

char **qvv_vadriver_environ(char **envp, const QvvDriverEnv *env,
                            char **why)
{
    g_autofree char *dir = qvv_vadriver_dir(why);
    g_autofree char *shim = NULL;

    if (!dir) {
        g_strfreev(envp);
        return NULL;
    }
    envp = g_environ_setenv(envp, "LIBVA_DRIVERS_PATH", dir, true);
    envp = g_environ_setenv(envp, "LIBVA_DRIVER_NAME",
                            env->driver ? env->driver : "vvtest", true);
    envp = environ_set(envp, "VVTEST_PROFILES", env->profiles);
    envp = environ_set(envp, "VVTEST_FAIL", env->fail);
    envp = environ_set(envp, "VVTEST_MAX_WIDTH", env->max_width);
    envp = environ_set(envp, "VVTEST_MAX_HEIGHT", env->max_height);
    /* the driver's shim, where it has one, lets libva take /dev/null */
    shim = g_build_filename(dir, "vvtest_drmshim.so", NULL);
    if (g_file_test(shim, G_FILE_TEST_IS_REGULAR)) {
        const char *pre = g_environ_getenv(envp, "LD_PRELOAD");
        g_autofree char *val = pre && *pre ?
                               g_strdup_printf("%s:%s", shim, pre) :
                               g_strdup(shim);

        envp = g_environ_setenv(envp, "LD_PRELOAD", val, true);
#ifdef QEMU_SANITIZE_ADDRESS
        {
            /* ASan insists on coming first otherwise */
            const char *asan = g_environ_getenv(envp, "ASAN_OPTIONS");
            g_autofree char *opts = g_strdup_printf(
                "%s%sverify_asan_link_order=0", asan ? asan : "",
                asan && *asan ? ":" : "");

            envp = g_environ_setenv(envp, "ASAN_OPTIONS", opts, true);
        }
#endif
    }
    return envp;
}

/* @name in the media folder; NULL after skip or fail. */
static char *need_media(const char *name)
{
    g_autofree char *dir = vvc_media_dir();
    g_autofree char *path = NULL;

    if (!dir) {
        g_test_skip(MEDIA_ENV " is empty: no media clips");
        return NULL;
    }
    path = g_build_filename(dir, name, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_test_message("MEDIA CLIP MISSING: %s (set " MEDIA_ENV " to the "
                       "media directory, or to \"\" to skip)", path);
        g_test_fail();
        return NULL;
    }
    return g_steal_pointer(&path);
}

/* ---- tests on the test driver ---- */

typedef struct QvvHwTest {
    QOSTestFunc fn;
    void *arg;
    QvvDriverEnv env;
    char *missing;              /* set by the before hook: no driver */
    char *trace;                /* the QEMU's trace log */
} QvvHwTest;

static QvvHwTest *hw_current;
static char *saved_vars[G_N_ELEMENTS(driver_vars)];
static bool vars_saved;

static void vars_restore(void)
{
    size_t i;

    for (i = 0; vars_saved && i < G_N_ELEMENTS(driver_vars); i++) {
        if (saved_vars[i]) {
            g_setenv(driver_vars[i], saved_vars[i], true);
        } else {
            g_unsetenv(driver_vars[i]);
        }
    }
}

/* Replace the first @from in @s by @to. */
static void replace_once(GString *s, const char *from, const char *to)
{
    const char *p = strstr(s->str, from);

    if (p) {
        gssize pos = p - s->str;

        g_string_erase(s, pos, strlen(from));
        g_string_insert(s, pos, to);
    }
}

/*
 * Before QEMU starts: the driver's variables for it (put back by hw_run()
 * once it runs), and a trace log of its own, which makes the command line
 * unique: qos-test would otherwise keep the previous test's QEMU.
 */
static void *hw_before(GString *cmd_line, void *arg)
{
    static unsigned seq;
    QvvHwTest *t = arg;
    g_auto(GStrv) envp = NULL;
    size_t i;

    if (!vars_saved) {
        for (i = 0; i < G_N_ELEMENTS(driver_vars); i++) {
            saved_vars[i] = g_strdup(g_getenv(driver_vars[i]));
        }
        vars_saved = true;
    }
    hw_current = t;
    g_clear_pointer(&t->missing, g_free);
    envp = qvv_vadriver_environ(g_get_environ(), &t->env, &t->missing);
    if (envp) {
        for (i = 0; i < G_N_ELEMENTS(driver_vars); i++) {
            const char *val = g_environ_getenv(envp, driver_vars[i]);

            if (val) {
                g_setenv(driver_vars[i], val, true);
            } else {
                g_unsetenv(driver_vars[i]);
            }
        }
    } else {
        /* the test fails; QEMU must still start for qos-test to go on */
        replace_once(cmd_line, "backend=vaapi", "backend=libavcodec");
    }
    g_free(t->trace);
    t->trace = g_strdup_printf("%s/qtest-virtio-video-hw-%d-%u.log",
                               g_get_tmp_dir(), (int)getpid(), ++seq);
    g_string_append_printf(cmd_line, " -trace virtio_video_stream_backend "
                           "-D %s", t->trace);
    return t;
}

static void hw_run(void *obj, void *data, QGuestAllocator *alloc)
{
    QvvHwTest *t = data;

    /* QEMU has started: this process's children get the usual ones */
    vars_restore();
    if (t->missing) {
        g_test_message("%s", t->missing);
        g_test_fail();
    } else {
        t->fn(obj, t->arg, alloc);
    }
    unlink(t->trace);
    hw_current = NULL;
}

void qvv_hw_add_test(const char *name, const char *interface,
                     QOSTestFunc fn, void *arg, const QvvDriverEnv *env)
{
    QvvHwTest *t = g_new0(QvvHwTest, 1);
    QOSGraphTestOptions opts = { .arg = t, .before = hw_before };

    t->fn = fn;
    t->arg = arg;
    t->env = *env;
    qos_add_test(name, interface, hw_run, &opts);
}

char *qvv_hw_backends(uint32_t stream_id)
{
    static const char event[] = "virtio_video_stream_backend ";
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GString *out = g_string_new("");
    size_t i;

    if (!hw_current || !g_file_get_contents(hw_current->trace, &text, NULL,
                                            NULL)) {
        return g_string_free(out, false);
    }
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        const char *p = strstr(lines[i], event);
        const char *s, *b;
        char *end;

        if (!p) {
            continue;
        }
        s = strstr(p, " stream=");
        b = strstr(p, " backend=");
        if (!s || !b ||
            g_ascii_strtoull(s + 8, &end, 10) != stream_id || *end != ' ') {
            continue;
        }
        g_string_append_printf(out, "%s%s", out->len ? "," : "", b + 9);
    }
    return g_string_free(out, false);
}

/* The backend(s) that served @stream_id are @want (e.g. "vaapi"). */
static bool check_backends(uint32_t stream_id, const char *want)
{
    g_autofree char *got = qvv_hw_backends(stream_id);

    CHECK_FALSE(!strcmp(got, want), "stream %u: virtio_video_stream_backend "
                "reported '%s', expected '%s'", stream_id, got, want);
    g_test_message("stream %u served by %s", stream_id, got);
    return true;
}

/* The last backend reported for @stream_id is @want. */
static bool check_last_backend(uint32_t stream_id, const char *want)
{
    g_autofree char *got = qvv_hw_backends(stream_id);
    const char *last = strrchr(got, ',');

    last = last ? last + 1 : got;
    CHECK_FALSE(!strcmp(last, want), "stream %u: virtio_video_stream_backend "
                "reported '%s', expected it to end with '%s'", stream_id, got,
                want);
    g_test_message("stream %u served by %s", stream_id, got);
    return true;
}

/* ---- device helpers ---- */

static void device_name(QVirtioVideo *v, char name[33])
{
    size_t i;

    for (i = 0; i < 32; i++) {
        name[i] = qvirtio_config_readb(v->vdev,
                                       offsetof(struct virtio_video_config,
                                                device_name) + i);
    }
    name[32] = 0;
}

static bool check_device_name(QVirtioVideo *v, const char *want)
{
    char name[33];

    device_name(v, name);
    CHECK_FALSE(!strcmp(name, want), "config device_name '%s', expected "
                "'%s'", name, want);
    return true;
}

/* "VP9, H.264" */
static char *format_list(const QVVCaps *caps)
{
    GString *s = g_string_new("");
    uint32_t i;

    for (i = 0; i < caps->num_descs; i++) {
        g_string_append_printf(s, "%s%s", i ? ", " : "",
                               vvc_format_name(caps->descs[i].format));
    }
    return g_string_free(s, false);
}

/* QUERY_CONTROL(PROFILE, @format): the profiles, or NULL and a message. */
static GArray *query_profiles(QVirtioVideo *v, uint32_t format)
{
    uint8_t req[24] = { 0 };
    uint32_t size = qvirtio_config_readl(v->vdev,
                                         offsetof(struct virtio_video_config,
                                                  max_resp_length));
    g_autofree uint8_t *resp = g_malloc0(size);
    GArray *out;
    uint32_t used, num, i;

    vvc_st32(req, VIRTIO_VIDEO_CMD_QUERY_CONTROL);
    vvc_st32(req + 8, VIRTIO_VIDEO_CONTROL_PROFILE);
    vvc_st32(req + 16, format);
    used = qvirtio_video_cmd(v, req, sizeof(req), resp, size);
    if (used < 16 || vvc_ld32(resp) != VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL) {
        g_test_message("QUERY_CONTROL(PROFILE, %s): answered 0x%x (%u "
                       "bytes)", vvc_format_name(format),
                       used >= 4 ? vvc_ld32(resp) : 0, used);
        return NULL;
    }
    num = vvc_ld32(resp + 8);
    if (used < 16 + 4ull * num) {
        g_test_message("QUERY_CONTROL(PROFILE, %s): %u profiles in %u bytes",
                       vvc_format_name(format), num, used);
        return NULL;
    }
    out = g_array_new(false, false, sizeof(uint32_t));
    for (i = 0; i < num; i++) {
        uint32_t p = vvc_ld32(resp + 16 + 4 * i);

        g_array_append_val(out, p);
    }
    return out;
}

static char *value_list(const uint32_t *vals, unsigned n)
{
    GString *s = g_string_new("");
    unsigned i;

    for (i = 0; i < n; i++) {
        g_string_append_printf(s, "%s0x%x", i ? ", " : "", vals[i]);
    }
    return g_string_free(s, false);
}

/* Zero-terminated lists */
#define QVV_LIST_MAX    6

static unsigned list_len(const uint32_t *l)
{
    unsigned n = 0;

    while (n < QVV_LIST_MAX && l[n]) {
        n++;
    }
    return n;
}

/* Are the @n values of @got those of @want, in any order? */
static bool same_set(const uint32_t *got, unsigned n, const uint32_t *want)
{
    unsigned i, k;

    if (n != list_len(want)) {
        return false;
    }
    for (i = 0; i < n; i++) {
        for (k = 0; k < n && want[k] != got[i]; k++) {
            continue;
        }
        if (k == n) {
            return false;
        }
    }
    return true;
}

/* The device still answers, and takes a new stream of @format. */
static bool check_serving(QVirtioVideo *v, VvcClient *c, uint32_t stream_id,
                          uint32_t format)
{
    QVVCaps caps;
    uint32_t t;

    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
    CHECK_FALSE(caps.num_descs > 0, "QUERY_CAPABILITY lists nothing");
    t = vvc_stream_create(c, stream_id, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                          VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, format, "after");
    CHECK_FALSE(t == VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_CREATE of a new "
                "stream answered 0x%x", t);
    t = vvc_stream_destroy(c, stream_id);
    CHECK_FALSE(t == VIRTIO_VIDEO_RESP_OK_NODATA, "STREAM_DESTROY of the new "
                "stream answered 0x%x", t);
    return true;
}

/* ---- capabilities ---- */

typedef struct CapsCase {
    const char *name;
    QvvDriverEnv env;
    uint32_t formats[QVV_LIST_MAX];     /* exactly these coded formats */
    uint32_t max_w, max_h;              /* their largest frame */
    uint32_t profile_format;            /* QUERY_CONTROL(PROFILE) of it... */
    uint32_t profiles[QVV_LIST_MAX];    /* ...answers exactly these */
} CapsCase;

static const CapsCase dec_caps[] = {
    {
        .name = "vp9", .env.profiles = "vp9-0:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_VP9 }, .max_w = 4096, .max_h = 4096,
        .profile_format = VIRTIO_VIDEO_FORMAT_VP9,
        .profiles = { VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 },
    }, {
        .name = "h264-vp9",
        .env.profiles = "vp9-0:vld,h264-main:vld,h264-high:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_H264, VIRTIO_VIDEO_FORMAT_VP9 },
        .max_w = 4096, .max_h = 4096,
        .profile_format = VIRTIO_VIDEO_FORMAT_H264,
        .profiles = { VIRTIO_VIDEO_PROFILE_H264_MAIN,
                      VIRTIO_VIDEO_PROFILE_H264_HIGH },
    }, {
        .name = "h264-cb", .env.profiles = "h264-cb:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_H264 }, .max_w = 4096, .max_h = 4096,
        .profile_format = VIRTIO_VIDEO_FORMAT_H264,
        .profiles = { VIRTIO_VIDEO_PROFILE_H264_BASELINE },
    }, {
        .name = "max-size", .env = {
            .profiles = "vp9-0:vld", .max_width = "1280",
            .max_height = "720",
        },
        .formats = { VIRTIO_VIDEO_FORMAT_VP9 }, .max_w = 1280, .max_h = 720,
    }, {
        /* 10-bit and encode-only entries are not the decoder's */
        .name = "8-bit-decode-only",
        .env.profiles = "vp9-2:vld,hevc-main10:vld,h264-high:enc,vp9-0:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_VP9 }, .max_w = 4096, .max_h = 4096,
    },
};

static const CapsCase enc_caps[] = {
    {
        .name = "vp9", .env.profiles = "vp9-0:enc,h264-main:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_VP9 }, .max_w = 4096, .max_h = 4096,
        .profile_format = VIRTIO_VIDEO_FORMAT_VP9,
        .profiles = { VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 },
    }, {
        .name = "h264",
        .env.profiles = "h264-main:enc,h264-high:enc,vp9-0:vld,vp8:vld",
        .formats = { VIRTIO_VIDEO_FORMAT_H264 }, .max_w = 4096, .max_h = 4096,
        .profile_format = VIRTIO_VIDEO_FORMAT_H264,
        .profiles = { VIRTIO_VIDEO_PROFILE_H264_MAIN,
                      VIRTIO_VIDEO_PROFILE_H264_HIGH },
    },
};

/*
 * vaapi-caps/<case>: the coded formats, frame sizes and profiles of
 * backend=vaapi are exactly what the driver announces, cut to what the
 * protocol carries (8-bit 4:2:0) and to the device's mode.
 */
static void test_caps(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const CapsCase *cc = data;
    uint32_t coded_q = v->encoder ? VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT
                                  : VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    g_autofree char *list = NULL;
    QVVCaps coded, raw;
    uint32_t got[QVV_MAX_DESCS] = { 0 };
    uint32_t i, j;

    if (!check_device_name(v, "vaapi")) {
        return;
    }
    qvirtio_video_query_caps(v, coded_q, &coded);
    qvirtio_video_query_caps(v, coded_q == VIRTIO_VIDEO_QUEUE_TYPE_INPUT ?
                             VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT :
                             VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &raw);
    list = format_list(&coded);
    g_test_message("VVTEST_PROFILES=%s: coded formats %s", cc->env.profiles,
                   list);
    for (i = 0; i < coded.num_descs; i++) {
        got[i] = coded.descs[i].format;
    }
    CHECK(same_set(got, coded.num_descs, cc->formats), "VVTEST_PROFILES=%s: "
          "the %s lists coded formats %s", cc->env.profiles,
          v->encoder ? "encoder" : "decoder", list);
    for (i = 0; i < coded.num_descs; i++) {
        const QVVFormat *f = &coded.descs[i];

        CHECK(f->num_frames > 0, "%s: no frame sizes",
              vvc_format_name(f->format));
        for (j = 0; j < f->num_frames; j++) {
            const QVVFrame *fr = &f->frames[j];

            CHECK(fr->width.max == cc->max_w && fr->height.max == cc->max_h,
                  "%s: frame sizes up to %ux%u, expected %ux%u "
                  "(VVTEST_MAX_WIDTH=%s VVTEST_MAX_HEIGHT=%s)",
                  vvc_format_name(f->format), fr->width.max, fr->height.max,
                  cc->max_w, cc->max_h, cc->env.max_width,
                  cc->env.max_height);
        }
    }
    CHECK(qvv_caps_find(&raw, VIRTIO_VIDEO_FORMAT_NV12) >= 0,
          "no NV12 on the raw queue");
    {
        const char *why = qvv_caps_check_masks(v->encoder ? &raw : &coded,
                                               v->encoder ? &coded : &raw);

        CHECK(!why, "format masks: %s", why);
    }
    if (cc->profile_format) {
        g_autoptr(GArray) prof = query_profiles(v, cc->profile_format);
        g_autofree char *pl = NULL;
        g_autofree char *wl = NULL;

        CHECK(prof, "QUERY_CONTROL(PROFILE) failed");
        pl = value_list((uint32_t *)prof->data, prof->len);
        wl = value_list(cc->profiles, list_len(cc->profiles));
        g_test_message("%s profiles: %s", vvc_format_name(cc->profile_format),
                       pl);
        CHECK(same_set((uint32_t *)prof->data, prof->len, cc->profiles),
              "VVTEST_PROFILES=%s: QUERY_CONTROL(PROFILE, %s) answered {%s}, "
              "expected {%s}", cc->env.profiles,
              vvc_format_name(cc->profile_format), pl, wl);
    }
}

/* ---- decoding ---- */

/*
 * Decode @path on stream @stream_id and compare every picture (MD5 and
 * timestamp) with @ref_path.  false after g_test_fail().
 */
static bool decode_exact(VvcClient *c, const char *path, const char *ref_path,
                         uint32_t stream_id)
{
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GPtrArray) units = NULL;
    g_autoptr(GArray) order = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autofree char *err = NULL;
    g_autofree char *diff = NULL;
    VvcDecodeStats st = { 0 };
    VvcDecodeOpts o = { .stream_id = stream_id, .stats = &st };
    uint32_t format = 0;
    int depth = 8;

    ref = vvc_read_framemd5(ref_path, &err);
    units = ref ? vvc_demux(path, &format, &depth, &err) : NULL;
    order = units ? vvc_reference_order(units, format, &err) : NULL;
    CHECK_FALSE(order, "%s: %s", path, err);
    o.coded_format = format;
    CHECK_FALSE(vvc_decode_units(c, units, &o, frames, &err), "%s: %s "
                "(%u pictures out, EVENT_ERROR %s)", path, err, frames->len,
                st.error_event ? "yes" : "no");
    diff = vvc_check_frames(frames, ref, order);
    CHECK_FALSE(!diff, "%s: %s", path, diff);
    CHECK_FALSE(st.eos == 1 && st.drained && st.destroyed, "%s: EOS %u "
                "drained %d destroyed %d", path, st.eos, st.drained,
                st.destroyed);
    g_test_message("%s: %u pictures, every MD5 matches, %u resolution "
                   "change(s)", path, frames->len, st.res_changes);
    return true;
}

static bool decode_clip(VvcClient *c, const char *name, uint32_t stream_id)
{
    g_autofree char *path = need_media(name);
    g_autofree char *ref = NULL;

    if (!path) {
        return false;
    }
    ref = g_strdup_printf("%s.nv12.framemd5", path);
    return decode_exact(c, path, ref, stream_id);
}

/* vaapi-decode/<clip>: every picture of a VP9 clip through the driver */
static void test_vaapi_decode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    const VvcMediaFile *m = data;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);

    if (!check_device_name(v, "vaapi") ||
        !decode_exact(c, m->path, m->ref_path, 1)) {
        return;
    }
    check_backends(1, "vaapi");
}

/* vaapi-decode/MISSING: no VP9 clip to decode; @data says why */
static void test_media_missing(void *obj, void *data, QGuestAllocator *alloc)
{
    g_test_message("%s (set " MEDIA_ENV " to the media directory, or to "
                   "\"\" to skip)", (const char *)data);
    g_test_fail();
}

typedef struct FailCase {
    const char *point;          /* what fails: the test's name */
    const char *clip;
    uint32_t format;            /* the clip's */
    QvvDriverEnv env;
} FailCase;

/*
 * vaapi-fail/<point>: the driver fails at @point (VVTEST_FAIL), or
 * vaapi-refuse/<what>: the stream is beyond what the driver announced.
 * The stream ends with EVENT_ERROR, each picture that came out before is
 * right, the stream is destroyed, and the device goes on serving.
 */
static void test_vaapi_fail(void *obj, void *data, QGuestAllocator *alloc)
{
    const FailCase *fc = data;
    const char *point = fc->point;
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autofree char *path = need_media(fc->clip);
    g_autofree char *refpath = NULL;
    g_autofree char *err = NULL;
    VvcDecodeStats st = { 0 };
    VvcDecodeOpts o = { .stream_id = 1, .stats = &st };
    bool ok;
    guint k;

    if (!path) {
        return;
    }
    refpath = g_strdup_printf("%s.nv12.framemd5", path);
    ref = vvc_read_framemd5(refpath, &err);
    CHECK(ref, "%s", err);
    vvc_set_timeout(c, 30000);
    ok = vvc_decode_file(c, path, &o, frames, &err);
    g_test_message("%s: %u of %u pictures, then: %s", point, frames->len,
                   ref->len, ok ? "the end" : err);
    CHECK(!ok && st.error_event, "%s: the stream %s without EVENT_ERROR",
          point, ok ? "decoded to its end" : "failed");
    CHECK(frames->len < ref->len, "%s: every picture came out", point);
    for (k = 0; k < frames->len; k++) {
        const VvcFrame *f = &g_array_index(frames, VvcFrame, k);

        CHECK(!strcmp(f->md5, g_ptr_array_index(ref, k)), "%s: picture %u "
              "before the failure differs", point, k);
    }
    CHECK(st.destroyed, "%s: STREAM_DESTROY after EVENT_ERROR did not "
          "answer OK", point);
    vvc_flush_stash(c);
    if (!check_serving(v, c, 2, fc->format)) {
        return;
    }
    /* never software, even after the failure (nothing if it never started) */
    {
        g_autofree char *got = qvv_hw_backends(1);
        g_auto(GStrv) each = g_strsplit(got, ",", -1);
        size_t i;

        for (i = 0; each[i]; i++) {
            CHECK(!strcmp(each[i], "vaapi"), "%s: stream 1 reported "
                  "backends '%s' on backend=vaapi", point, got);
        }
        g_test_message("stream 1 reported backends '%s'", got);
    }
}

/* ---- encoding ---- */

static VvcEncodeCase enc_case(uint32_t format)
{
    return (VvcEncodeCase) {
        .format = format,
        .raw_format = VIRTIO_VIDEO_FORMAT_NV12,
        .width = 320, .height = 240, .fps = 30, .frames = 30,
        .bitrate = 1000000,
        .force_keyframe_at = 17,
        .bitrate_change_at = -1,
    };
}

/* Encode @format on @stream_id: a packet per frame, PSNR, keyframes. */
static bool encode_check(VvcClient *c, uint32_t format, uint32_t stream_id)
{
    VvcEncodeCase t = enc_case(format);
    g_autofree char *err = NULL;
    VvcEncodeResult r;
    bool keys;

    CHECK_FALSE(vvc_encode_run(c, stream_id, &t, &r, &err), "%s: %s",
                vvc_format_name(format), err);
    g_test_message("%s: %u packets, %" PRIu64 " bytes, PSNR min %.2f avg "
                   "%.2f, %u keyframes", vvc_format_name(format), r.packets,
                   r.bytes, r.psnr_min, r.psnr_avg, r.keyframes->len);
    keys = r.keyframes->len == 2 &&
           g_array_index(r.keyframes, unsigned, 0) == 0 &&
           g_array_index(r.keyframes, unsigned, 1) == 17;
    g_array_free(r.keyframes, true);
    CHECK_FALSE(r.packets == t.frames, "%s: %u packets for %u frames",
                vvc_format_name(format), r.packets, t.frames);
    CHECK_FALSE(r.psnr_min >= 35.0, "%s: PSNR %.2f dB < 35",
                vvc_format_name(format), r.psnr_min);
    CHECK_FALSE(keys, "%s: keyframes are not exactly 0 and the forced 17",
                vvc_format_name(format));
    return true;
}

/* vaapi-encode: VP9 through vp9_vaapi on the driver */
static void test_vaapi_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);

    vvc_set_timeout(c, 120000);
    if (!check_device_name(v, "vaapi") ||
        !encode_check(c, VIRTIO_VIDEO_FORMAT_VP9, 1)) {
        return;
    }
    check_backends(1, "vaapi");
}

/* ---- backend=auto ---- */

/*
 * auto-mixed: a driver that does VP9 only: H.264 decodes in software,
 * VP9 on the driver, both frame-exact.
 */
static void test_auto_mixed(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);
    g_autofree char *list = NULL;
    QVVCaps caps;

    if (!check_device_name(v, "vaapi+libavcodec")) {
        return;
    }
    qvirtio_video_query_caps(v, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, &caps);
    list = format_list(&caps);
    CHECK(qvv_caps_find(&caps, VIRTIO_VIDEO_FORMAT_H264) >= 0 &&
          qvv_caps_find(&caps, VIRTIO_VIDEO_FORMAT_HEVC) >= 0 &&
          qvv_caps_find(&caps, VIRTIO_VIDEO_FORMAT_VP9) >= 0,
          "auto lacks software formats: %s", list);
    if (!decode_clip(c, "test-25fps.h264", 1) ||
        !check_backends(1, "libavcodec") ||
        !decode_clip(c, "test-25fps.vp9.ivf", 2)) {
        return;
    }
    check_backends(2, "vaapi");
}

/*
 * auto-fallback/<case>: the driver fails the stream at its start
 * (VVTEST_FAIL) or does not take it (size, profile): it decodes
 * frame-exact all the same, in software.
 */
static void test_auto_fallback(void *obj, void *data, QGuestAllocator *alloc)
{
    const FailCase *fc = data;
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);

    if (!check_device_name(v, "vaapi+libavcodec") ||
        !decode_clip(c, fc->clip, 1)) {
        return;
    }
    check_last_backend(1, "libavcodec");
}

/* auto-no-driver: no VA driver loads: software alone */
static void test_auto_no_driver(void *obj, void *data,
                                QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);

    if (!check_device_name(v, "libavcodec") ||
        !decode_clip(c, "test-25fps.vp9.ivf", 1)) {
        return;
    }
    check_backends(1, "libavcodec");
}

/* auto-encode: VP9 on the driver, H.264 in software */
static void test_auto_encode(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioVideo *v = obj;
    g_autoptr(VvcClient) c = vvc_new(&qvirtio_video_vvc_ops, v);

    vvc_set_timeout(c, 120000);
    if (!check_device_name(v, "vaapi+libavcodec") ||
        !encode_check(c, VIRTIO_VIDEO_FORMAT_VP9, 1) ||
        !check_backends(1, "vaapi") ||
        !encode_check(c, VIRTIO_VIDEO_FORMAT_H264, 2)) {
        return;
    }
    check_backends(2, "libavcodec");
}

/* ---- realize ---- */

typedef struct RealizeCase {
    const char *name;
    const char *device;         /* -device */
    QvvDriverEnv env;
    bool needs_driver;
    /* words the message after "virtio-video: " must have (any case) */
    const char *words[6];
} RealizeCase;

static const RealizeCase realize_cases[] = {
    {
        .name = "vaapi-init-fails",
        .device = "virtio-video-pci,backend=vaapi,render-node=/dev/null",
        .env.fail = "init", .needs_driver = true,
        .words = { "/dev/null" },
    }, {
        .name = "vaapi-no-node",
        .device = "virtio-video-pci,backend=vaapi,render-node=/nonexistent",
        .words = { "/nonexistent" },
    }, {
        .name = "vaapi-decodes-nothing",
        .device = "virtio-video-pci,backend=vaapi,render-node=/dev/null",
        .env.profiles = "vp9-0:enc", .needs_driver = true,
        .words = { "/dev/null" },
    }, {
        .name = "vaapi-encodes-nothing",
        .device = "virtio-video-pci,mode=encoder,backend=vaapi,"
                  "render-node=/dev/null",
        .env.profiles = "vp9-0:vld,h264-high:vld", .needs_driver = true,
        .words = { "/dev/null" },
    }, {
        .name = "bogus-backend",
        .device = "virtio-video-pci,backend=bogus",
        .words = { "bogus", "auto", "libavcodec", "vaapi", "cuda" },
    }, {
        .name = "cuda-without-nvidia",
        .device = "virtio-video-pci,backend=cuda",
        .words = { "cuda" },
    },
};

static bool has_word(const char *text, const char *word)
{
    g_autofree char *t = g_ascii_strdown(text, -1);
    g_autofree char *w = g_ascii_strdown(word, -1);

    return strstr(t, w) != NULL;
}

/*
 * realize/<case>: QEMU with a device that cannot start exits non-zero
 * with one error line, the device's, saying why.  (On a host with an
 * NVIDIA driver, backend=cuda starts instead.)
 */
static void test_realize(const void *data)
{
    const RealizeCase *rc = data;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *why = NULL;
    g_autofree char *out = NULL;
    g_autofree char *errs = NULL;
    g_auto(GStrv) envp = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GPtrArray) nonempty = g_ptr_array_new();
    g_autoptr(GError) gerr = NULL;
    const char *msg;
    int status;
    size_t i;

    CHECK(qemu, "QTEST_QEMU_BINARY is not set");
    if (g_str_has_prefix(rc->name, "cuda") &&
        g_file_test("/dev/nvidiactl", G_FILE_TEST_EXISTS)) {
        /* an NVIDIA host: the device must start */
        g_autofree char *args = g_strdup_printf("-M pc -device %s",
                                                rc->device);
        QTestState *qts = qtest_init(args);

        g_test_message("/dev/nvidiactl exists: -device %s started",
                       rc->device);
        qtest_quit(qts);
        return;
    }
    envp = qvv_vadriver_environ(g_get_environ(), &rc->env, &why);
    if (!envp) {
        CHECK(!rc->needs_driver, "%s", why);
        envp = g_get_environ();
    }
    {
        /* timeout: a QEMU that started would not exit by itself */
        const char *argv[] = {
            "timeout", "60", qemu, "-M", "pc", "-accel", "qtest",
            "-display", "none", "-nodefaults", "-S", "-device", rc->device,
            NULL
        };

        CHECK(g_spawn_sync(NULL, (char **)argv, envp, G_SPAWN_SEARCH_PATH,
                           NULL, NULL, &out, &errs, &status, &gerr),
              "cannot run %s: %s", qemu, gerr->message);
    }
    lines = g_strsplit(errs, "\n", -1);
    for (i = 0; lines[i]; i++) {
        /* a sanitizer's own warnings ("==PID==WARNING: ...") are not QEMU's */
        if (*g_strstrip(lines[i]) && !g_str_has_prefix(lines[i], "==")) {
            g_ptr_array_add(nonempty, lines[i]);
            g_test_message("stderr: %s", lines[i]);
        }
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 124, "-device %s: "
          "QEMU started instead of failing (still running after 60 s)",
          rc->device);
    CHECK(WEXITSTATUS(status) != 0, "-device %s: QEMU exited 0 instead of "
          "failing", rc->device);
    CHECK(nonempty->len == 1, "-device %s: %u lines on stderr, expected one "
          "error line", rc->device, nonempty->len);
    msg = strstr(g_ptr_array_index(nonempty, 0), "virtio-video: ");
    CHECK(msg, "-device %s: the error is not the device's (no "
          "\"virtio-video: \")", rc->device);
    for (i = 0; i < G_N_ELEMENTS(rc->words) && rc->words[i]; i++) {
        CHECK(has_word(msg, rc->words[i]), "-device %s: the message does not "
              "say '%s': %s", rc->device, rc->words[i], msg);
    }
}

/* ---- registration ---- */

static const QvvDriverEnv vp9_dec_env = { .profiles = "vp9-0:vld" };
static const QvvDriverEnv vp9_enc_env = { .profiles = "vp9-0:enc" };
static const QvvDriverEnv vp9_both_env = {
    .profiles = "vp9-0:vld,vp9-0:enc",
};

#define VP9_CLIP     "test-25fps.vp9.ivf", VIRTIO_VIDEO_FORMAT_VP9
#define H264_CLIP    "test-25fps.h264", VIRTIO_VIDEO_FORMAT_H264 /* Main */

static const FailCase fail_cases[] = {
    { "create_context", VP9_CLIP,
      { .profiles = "vp9-0:vld", .fail = "create_context" } },
    { "create_surfaces", VP9_CLIP,
      { .profiles = "vp9-0:vld", .fail = "create_surfaces" } },
    { "sync@5", VP9_CLIP, { .profiles = "vp9-0:vld", .fail = "sync@5" } },
    { "map@5", VP9_CLIP, { .profiles = "vp9-0:vld", .fail = "map@5" } },
    { "device_lost@5", VP9_CLIP,
      { .profiles = "vp9-0:vld", .fail = "device_lost@5" } },
    /* a byte stream: the driver announces H.264 but fails every picture */
    { "h264-end-picture", H264_CLIP, { .profiles = "h264-main:vld" } },
};

/* streams the driver does not take: beyond its sizes or profiles */
static const FailCase refuse_cases[] = {
    { "size", VP9_CLIP, {
        .profiles = "vp9-0:vld", .max_width = "256", .max_height = "256",
    } },
    { "profile", H264_CLIP, { .profiles = "h264-cb:vld,vp9-0:vld" } },
};

/* vaapi-decode/<clip> for every 8-bit VP9 clip with a reference */
static void register_media(void)
{
    g_autofree char *dir = vvc_media_dir();
    g_autofree char *err = NULL;
    GPtrArray *media;
    unsigned n = 0;
    guint i;

    if (!dir) {
        return;
    }
    media = vvc_media_scan(dir, &err);
    if (!media) {
        qvv_hw_add_test("vaapi-decode/MISSING", "virtio-video-vaapi",
                        test_media_missing,
                        g_strdup_printf("MEDIA DIRECTORY MISSING: %s: %s",
                                        dir, err), &vp9_dec_env);
        return;
    }
    for (i = 0; i < media->len; i++) {
        VvcMediaFile *m = g_ptr_array_index(media, i);
        g_autofree char *base = NULL;
        g_autofree char *name = NULL;

        if (m->format != VIRTIO_VIDEO_FORMAT_VP9 || m->ten_bit) {
            continue;
        }
        base = g_path_get_basename(m->path);
        name = g_strdup_printf("vaapi-decode/%s", base);
        qvv_hw_add_test(name, "virtio-video-vaapi", test_vaapi_decode, m,
                        &vp9_dec_env);
        n++;
    }
    if (!n) {
        qvv_hw_add_test("vaapi-decode/MISSING", "virtio-video-vaapi",
                        test_media_missing,
                        g_strdup_printf("NO VP9 CLIP with a .nv12.framemd5 "
                                        "in %s", dir), &vp9_dec_env);
    }
    /* the entries stay for the tests */
    g_ptr_array_set_free_func(media, NULL);
    g_ptr_array_unref(media);
}

static void register_virtio_video_hw_test(void)
{
    static const QvvDriverEnv no_driver = {
        .profiles = "vp9-0:vld", .driver = "nonexistent",
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(dec_caps); i++) {
        g_autofree char *name = g_strdup_printf("vaapi-caps/%s",
                                                dec_caps[i].name);

        qvv_hw_add_test(name, "virtio-video-vaapi", test_caps,
                        (void *)&dec_caps[i], &dec_caps[i].env);
    }
    for (i = 0; i < G_N_ELEMENTS(enc_caps); i++) {
        g_autofree char *name = g_strdup_printf("vaapi-caps/%s",
                                                enc_caps[i].name);

        qvv_hw_add_test(name, "virtio-video-vaapi-enc", test_caps,
                        (void *)&enc_caps[i], &enc_caps[i].env);
    }
    register_media();
    for (i = 0; i < G_N_ELEMENTS(fail_cases); i++) {
        g_autofree char *name = g_strdup_printf("vaapi-fail/%s",
                                                fail_cases[i].point);

        qvv_hw_add_test(name, "virtio-video-vaapi", test_vaapi_fail,
                        (void *)&fail_cases[i], &fail_cases[i].env);
    }
    for (i = 0; i < G_N_ELEMENTS(refuse_cases); i++) {
        g_autofree char *name = g_strdup_printf("vaapi-refuse/%s",
                                                refuse_cases[i].point);
        g_autofree char *auto_name = g_strdup_printf("auto-fallback/%s",
                                                     refuse_cases[i].point);

        qvv_hw_add_test(name, "virtio-video-vaapi", test_vaapi_fail,
                        (void *)&refuse_cases[i], &refuse_cases[i].env);
        qvv_hw_add_test(auto_name, "virtio-video-auto-va", test_auto_fallback,
                        (void *)&refuse_cases[i], &refuse_cases[i].env);
    }
    qvv_hw_add_test("vaapi-encode", "virtio-video-vaapi-enc",
                    test_vaapi_encode, NULL, &vp9_enc_env);

    qvv_hw_add_test("auto-mixed", "virtio-video-auto-va", test_auto_mixed,
                    NULL, &vp9_both_env);
    /* the driver fails at the stream's start: software takes it */
    for (i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("auto-fallback/%s",
                                                fail_cases[i].point);

        qvv_hw_add_test(name, "virtio-video-auto-va", test_auto_fallback,
                        (void *)&fail_cases[i], &fail_cases[i].env);
    }
    qvv_hw_add_test("auto-no-driver", "virtio-video-auto-va",
                    test_auto_no_driver, NULL, &no_driver);
    qvv_hw_add_test("auto-encode", "virtio-video-auto-va-enc",
                    test_auto_encode, NULL, &vp9_both_env);

    for (i = 0; i < G_N_ELEMENTS(realize_cases); i++) {
        g_autofree char *path = g_strdup_printf(
            "/%s/virtio-video-hw/realize/%s", qtest_get_arch(),
            realize_cases[i].name);

        g_test_add_data_func(path, &realize_cases[i], test_realize);
    }
}

libqos_init(register_virtio_video_hw_test);
