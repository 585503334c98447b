/*
 * virtio-video engine: the VA-API device.
 *
 * The device opens a DRM render node (render-node=, else the first
 * /dev/dri/renderD* whose driver initialises), asks libva what the driver
 * decodes or encodes (profiles and entrypoints, the surface attributes of
 * each configuration: sizes, NV12) and keeps only what libavcodec can
 * drive on it (a VA-API hwaccel for the decoder, a *_vaapi encoder) and
 * the protocol can carry (8-bit 4:2:0).  The display is handed to
 * libavcodec as an AVHWDeviceContext, which closes it with the last
 * reference.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_vaapi.h>
#include <va/va.h>
#include <va/va_drm.h>

#include "standard-headers/linux/virtio_video.h"
#include "vv-hw.h"
#include "vv-lavc.h"

typedef struct VaProfileMap {
    VAProfile va;
    uint32_t format;
    uint32_t profile;           /* VIRTIO_VIDEO_PROFILE_*, 0: none */
    bool encodable;
} VaProfileMap;

/* 8-bit 4:2:0 profiles only: v3 has no raw format for anything else. */
static const VaProfileMap va_profiles[] = {
    { VAProfileH264ConstrainedBaseline, VIRTIO_VIDEO_FORMAT_H264,
      VIRTIO_VIDEO_PROFILE_H264_BASELINE, true },
    { VAProfileH264Main, VIRTIO_VIDEO_FORMAT_H264,
      VIRTIO_VIDEO_PROFILE_H264_MAIN, true },
    { VAProfileH264High, VIRTIO_VIDEO_FORMAT_H264,
      VIRTIO_VIDEO_PROFILE_H264_HIGH, true },
    { VAProfileHEVCMain, VIRTIO_VIDEO_FORMAT_HEVC,
      VIRTIO_VIDEO_PROFILE_HEVC_MAIN, true },
    { VAProfileVP8Version0_3, VIRTIO_VIDEO_FORMAT_VP8,
      VIRTIO_VIDEO_PROFILE_VP8_PROFILE0, true },
    { VAProfileVP9Profile0, VIRTIO_VIDEO_FORMAT_VP9,
      VIRTIO_VIDEO_PROFILE_VP9_PROFILE0, true },
    { VAProfileMPEG2Simple, VIRTIO_VIDEO_FORMAT_MPEG2, 0, false },
    { VAProfileMPEG2Main, VIRTIO_VIDEO_FORMAT_MPEG2, 0, false },
    { VAProfileMPEG4Simple, VIRTIO_VIDEO_FORMAT_MPEG4, 0, false },
    { VAProfileMPEG4AdvancedSimple, VIRTIO_VIDEO_FORMAT_MPEG4, 0, false },
    { VAProfileMPEG4Main, VIRTIO_VIDEO_FORMAT_MPEG4, 0, false },
#if VA_CHECK_VERSION(1, 8, 0)
    { VAProfileAV1Profile0, VIRTIO_VIDEO_FORMAT_AV1, 0, false },
#endif
};

typedef struct VaDevice {
    VADisplay display;
    int fd;
} VaDevice;

bool vv_hw_vaapi_built(void)
{
    return true;
}

static void va_quiet(void *ctx, const char *message)
{
}

static void va_device_close(VaDevice *vd)
{
    if (vd->display) {
        vaTerminate(vd->display);
    }
    if (vd->fd >= 0) {
        close(vd->fd);
    }
    g_free(vd);
}

static void va_device_free(AVHWDeviceContext *ctx)
{
    va_device_close(ctx->user_opaque);
}

static VaDevice *va_device_open(const char *path, char **err)
{
    VaDevice *vd = g_new0(VaDevice, 1);
    int major, minor;
    VAStatus st;

    vd->fd = open(path, O_RDWR | O_CLOEXEC);
    if (vd->fd < 0) {
        *err = g_strdup_printf("cannot open %s: %s", path, g_strerror(errno));
        va_device_close(vd);
        return NULL;
    }
    vd->display = vaGetDisplayDRM(vd->fd);
    if (!vd->display) {
        *err = g_strdup_printf("%s is not a DRM device libva can use", path);
        va_device_close(vd);
        return NULL;
    }
    /*
     * libva's own messages stay quiet: for auto, a node without a working
     * driver is normal, and our errors say what failed in one line
     */
    vaSetInfoCallback(vd->display, va_quiet, NULL);
    vaSetErrorCallback(vd->display, va_quiet, NULL);
    st = vaInitialize(vd->display, &major, &minor);
    if (st != VA_STATUS_SUCCESS) {
        *err = g_strdup_printf("no VA-API driver initialises on %s: %s",
                               path, vaErrorStr(st));
        vaTerminate(vd->display);
        vd->display = NULL;
        va_device_close(vd);
        return NULL;
    }
    return vd;
}

/* The first render node whose driver initialises. */
static VaDevice *va_device_find(char **path, char **err)
{
    g_autofree char *first_err = NULL;
    int i;

    for (i = 128; i < 192; i++) {
        g_autofree char *p = g_strdup_printf("/dev/dri/renderD%d", i);
        char *e = NULL;
        VaDevice *vd;

        if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
            continue;
        }
        vd = va_device_open(p, &e);
        if (vd) {
            *path = g_steal_pointer(&p);
            return vd;
        }
        if (!first_err) {
            first_err = e;
        } else {
            g_free(e);
        }
    }
    *err = first_err ? g_steal_pointer(&first_err)
                     : g_strdup("no DRM render node (/dev/dri/renderD*)");
    return NULL;
}

static bool has_entrypoint(const VAEntrypoint *eps, int n, VAEntrypoint ep)
{
    int i;

    for (i = 0; i < n; i++) {
        if (eps[i] == ep) {
            return true;
        }
    }
    return false;
}

/*
 * Size limits of a configuration and whether its surfaces come in NV12;
 * false if it cannot be made or has no 4:2:0 surfaces.
 */
static bool config_limits(VADisplay dpy, VAProfile profile, VAEntrypoint ep,
                          uint32_t *min_w, uint32_t *min_h,
                          uint32_t *max_w, uint32_t *max_h)
{
    VAConfigAttrib rt = { .type = VAConfigAttribRTFormat };
    VASurfaceAttrib *attrs = NULL;
    unsigned n = 0, i;
    VAConfigID config;
    bool nv12 = false;

    if (vaGetConfigAttributes(dpy, profile, ep, &rt, 1) != VA_STATUS_SUCCESS ||
        (rt.value != VA_ATTRIB_NOT_SUPPORTED &&
         !(rt.value & VA_RT_FORMAT_YUV420))) {
        return false;
    }
    if (vaCreateConfig(dpy, profile, ep, NULL, 0, &config) !=
        VA_STATUS_SUCCESS) {
        return false;
    }
    *min_w = *min_h = 16;
    *max_w = *max_h = 4096;
    if (vaQuerySurfaceAttributes(dpy, config, NULL, &n) == VA_STATUS_SUCCESS &&
        n) {
        attrs = g_new0(VASurfaceAttrib, n);
        if (vaQuerySurfaceAttributes(dpy, config, attrs, &n) !=
            VA_STATUS_SUCCESS) {
            n = 0;
        }
    }
    for (i = 0; i < n; i++) {
        uint32_t v = attrs[i].value.value.i;

        switch (attrs[i].type) {
        case VASurfaceAttribMinWidth:
            *min_w = MAX(v, 1);
            break;
        case VASurfaceAttribMinHeight:
            *min_h = MAX(v, 1);
            break;
        case VASurfaceAttribMaxWidth:
            *max_w = v;
            break;
        case VASurfaceAttribMaxHeight:
            *max_h = v;
            break;
        case VASurfaceAttribPixelFormat:
            nv12 |= v == VA_FOURCC_NV12;
            break;
        default:
            break;
        }
    }
    /* a driver that lists no pixel format takes NV12 (libavcodec's view) */
    if (!n) {
        nv12 = true;
    } else {
        bool listed = false;

        for (i = 0; i < n; i++) {
            listed |= attrs[i].type == VASurfaceAttribPixelFormat;
        }
        nv12 |= !listed;
    }
    g_free(attrs);
    vaDestroyConfig(dpy, config);
    return nv12 && *min_w <= *max_w && *min_h <= *max_h;
}

/* Can libavcodec drive coded @format on VA-API in @mode? */
static bool lavc_can(uint32_t format, VvMode mode)
{
    static const struct {
        uint32_t format;
        const char *encoder;
    } encoders[] = {
        { VIRTIO_VIDEO_FORMAT_H264, "h264_vaapi" },
        { VIRTIO_VIDEO_FORMAT_HEVC, "hevc_vaapi" },
        { VIRTIO_VIDEO_FORMAT_VP8, "vp8_vaapi" },
        { VIRTIO_VIDEO_FORMAT_VP9, "vp9_vaapi" },
    };
    const VvLavcFormat *lf = vv_lavc_format(format);
    const AVCodec *c;
    size_t i;
    int k;

    if (!lf) {
        return false;
    }
    if (mode == VV_MODE_ENCODER) {
        for (i = 0; i < G_N_ELEMENTS(encoders); i++) {
            if (encoders[i].format == format) {
                return avcodec_find_encoder_by_name(encoders[i].encoder);
            }
        }
        return false;
    }
    c = avcodec_find_decoder(lf->codec_id);
    for (k = 0; c; k++) {
        const AVCodecHWConfig *hc = avcodec_get_hw_config(c, k);

        if (!hc) {
            break;
        }
        if (hc->device_type == AV_HWDEVICE_TYPE_VAAPI &&
            (hc->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) {
            return true;
        }
    }
    return false;
}

static void probe_profiles(VvHwDevice *hw, VADisplay dpy, bool av1)
{
    int num = vaMaxNumProfiles(dpy), max_eps = vaMaxNumEntrypoints(dpy);
    g_autofree VAProfile *profiles = g_new0(VAProfile, MAX(num, 1));
    g_autofree VAEntrypoint *eps = g_new0(VAEntrypoint, MAX(max_eps, 1));
    size_t m;
    int i;

    if (vaQueryConfigProfiles(dpy, profiles, &num) != VA_STATUS_SUCCESS) {
        return;
    }
    for (m = 0; m < G_N_ELEMENTS(va_profiles); m++) {
        const VaProfileMap *pm = &va_profiles[m];
        uint32_t min_w, min_h, max_w, max_h;
        VAEntrypoint ep = VAEntrypointVLD;
        int neps = max_eps;
        bool listed = false;
        VvHwFormat *f;

        for (i = 0; i < num; i++) {
            listed |= profiles[i] == pm->va;
        }
        if (!listed || (hw->mode == VV_MODE_ENCODER && !pm->encodable) ||
            (pm->format == VIRTIO_VIDEO_FORMAT_AV1 && !av1) ||
            !lavc_can(pm->format, hw->mode) ||
            vaQueryConfigEntrypoints(dpy, pm->va, eps, &neps) !=
            VA_STATUS_SUCCESS) {
            continue;
        }
        if (hw->mode == VV_MODE_ENCODER) {
            if (has_entrypoint(eps, neps, VAEntrypointEncSlice)) {
                ep = VAEntrypointEncSlice;
            } else if (has_entrypoint(eps, neps, VAEntrypointEncSliceLP)) {
                ep = VAEntrypointEncSliceLP;
            } else {
                continue;
            }
        } else if (!has_entrypoint(eps, neps, VAEntrypointVLD)) {
            continue;
        }
        if (!config_limits(dpy, pm->va, ep, &min_w, &min_h, &max_w, &max_h)) {
            continue;
        }
        f = vv_hw_add_format(hw, pm->format);
        if (!f) {
            continue;
        }
        /* the widest range any of the format's profiles allows */
        f->min_w = f->min_w ? MIN(f->min_w, min_w) : min_w;
        f->min_h = f->min_h ? MIN(f->min_h, min_h) : min_h;
        f->max_w = MAX(f->max_w, max_w);
        f->max_h = MAX(f->max_h, max_h);
        f->low_power = ep == VAEntrypointEncSliceLP;
        if (pm->format == VIRTIO_VIDEO_FORMAT_VP8) {
            /* one VA profile covers VP8's versions 0 to 3 */
            for (i = 0; i < 4; i++) {
                vv_hw_add_profile(f, pm->profile + i);
            }
        } else if (pm->profile) {
            vv_hw_add_profile(f, pm->profile);
        }
    }
}

bool vv_hw_vaapi_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err)
{
    g_autofree char *path = NULL;
    AVHWDeviceContext *dctx;
    AVVAAPIDeviceContext *vactx;
    const char *vendor;
    VaDevice *vd;
    int ret;

    hw->type = AV_HWDEVICE_TYPE_VAAPI;
    if (cfg->render_node && *cfg->render_node) {
        path = g_strdup(cfg->render_node);
        vd = va_device_open(path, err);
    } else {
        vd = va_device_find(&path, err);
    }
    if (!vd) {
        return false;
    }
    probe_profiles(hw, vd->display, cfg->av1);
    vendor = vaQueryVendorString(vd->display);
    hw->description = g_strdup_printf("%s (%s)", vendor ? vendor : "VA-API",
                                      path);

    hw->device = av_hwdevice_ctx_alloc(AV_HWDEVICE_TYPE_VAAPI);
    if (!hw->device) {
        *err = g_strdup("out of memory");
        va_device_close(vd);
        return false;
    }
    dctx = (AVHWDeviceContext *)hw->device->data;
    vactx = dctx->hwctx;
    vactx->display = vd->display;
    dctx->user_opaque = vd;
    dctx->free = va_device_free;
    ret = av_hwdevice_ctx_init(hw->device);
    if (ret < 0) {
        *err = g_strdup_printf("libavutil cannot use VA-API on %s: %s",
                               path, av_err2str(ret));
        return false;
    }
    return true;
}
