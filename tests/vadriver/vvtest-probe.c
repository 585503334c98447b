/*
 * virtio-video VA-API test driver: capability probe and self-test
 *
 *   vvtest-probe [DEVICE]             print vendor, profile/entrypoint
 *                                     pairs and surface size limits
 *   vvtest-probe --selftest [DEVICE]  check handle validation, limits and
 *                                     image round trips of the driver;
 *                                     prints TAP
 *
 * DEVICE defaults to /dev/null (see README.md: LD_PRELOAD the DRM shim).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <va/va.h>
#include <va/va_drm.h>
#include <va/va_str.h>

static int n_test;
static int n_fail;

static void check(int ok, const char *what)
{
    n_test++;
    if (!ok) {
        n_fail++;
    }
    printf("%sok %d - %s\n", ok ? "" : "not ", n_test, what);
}

static void va_quiet(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

static int probe(VADisplay dpy)
{
    int np = vaMaxNumProfiles(dpy), ne = vaMaxNumEntrypoints(dpy);
    VAProfile *profiles = calloc(np, sizeof(*profiles));
    VAEntrypoint *eps = calloc(ne, sizeof(*eps));
    int i, j;

    printf("vendor: %s\n", vaQueryVendorString(dpy));
    if (vaQueryConfigProfiles(dpy, profiles, &np) != VA_STATUS_SUCCESS) {
        return 1;
    }
    for (i = 0; i < np; i++) {
        if (vaQueryConfigEntrypoints(dpy, profiles[i], eps, &ne) !=
            VA_STATUS_SUCCESS) {
            return 1;
        }
        for (j = 0; j < ne; j++) {
            VASurfaceAttrib attrs[16];
            unsigned int na = 16, k;
            int minw = 0, minh = 0, maxw = 0, maxh = 0;
            VAConfigID cfg;

            if (vaCreateConfig(dpy, profiles[i], eps[j], NULL, 0, &cfg) ==
                VA_STATUS_SUCCESS) {
                if (vaQuerySurfaceAttributes(dpy, cfg, attrs, &na) ==
                    VA_STATUS_SUCCESS) {
                    for (k = 0; k < na; k++) {
                        int v = attrs[k].value.value.i;

                        switch (attrs[k].type) {
                        case VASurfaceAttribMinWidth:
                            minw = v;
                            break;
                        case VASurfaceAttribMinHeight:
                            minh = v;
                            break;
                        case VASurfaceAttribMaxWidth:
                            maxw = v;
                            break;
                        case VASurfaceAttribMaxHeight:
                            maxh = v;
                            break;
                        default:
                            break;
                        }
                    }
                }
                vaDestroyConfig(dpy, cfg);
            }
            printf("%s/%s %dx%d..%dx%d\n", vaProfileStr(profiles[i]),
                   vaEntrypointStr(eps[j]), minw, minh, maxw, maxh);
        }
    }
    free(profiles);
    free(eps);
    return 0;
}

static int selftest(VADisplay dpy)
{
    VAConfigID cfg;
    VAContextID ctx;
    VASurfaceID surf[2], bad_surf = 0x04fffff0;
    VABufferID buf, coded;
    VAImage img, img2;
    VAImageFormat fmts[8];
    VASurfaceAttrib attr = {
        .type = VASurfaceAttribPixelFormat,
        .flags = VA_SURFACE_ATTRIB_SETTABLE,
        .value = { .type = VAGenericValueTypeInteger,
                   .value.i = VA_FOURCC_NV12 },
    };
    VAConfigAttrib ca[3] = {
        { .type = VAConfigAttribRTFormat },
        { .type = VAConfigAttribRateControl },
        { .type = VAConfigAttribEncPackedHeaders },
    };
    int nf = 8;
    uint8_t *p;
    void *m;
    int ok, i;

    check(vaCreateConfig(dpy, VAProfileH264High, VAEntrypointVLD, NULL, 0,
                         &cfg) == VA_STATUS_ERROR_UNSUPPORTED_PROFILE,
          "unannounced profile refused");
    check(vaGetConfigAttributes(dpy, VAProfileVP9Profile0,
                                VAEntrypointEncSlice, ca, 3) ==
          VA_STATUS_SUCCESS && ca[0].value == VA_RT_FORMAT_YUV420 &&
          ca[1].value == (VA_RC_CQP | VA_RC_CBR | VA_RC_VBR) &&
          ca[2].value == VA_ENC_PACKED_HEADER_NONE,
          "encode config attributes");
    check(vaCreateConfig(dpy, VAProfileVP9Profile0, VAEntrypointVLD, NULL, 0,
                         &cfg) == VA_STATUS_SUCCESS, "create config");
    check(vaDestroyConfig(dpy, 0x12345) == VA_STATUS_ERROR_INVALID_CONFIG,
          "bad config id");
    check(vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420, 64, 48, surf, 2, &attr,
                           1) == VA_STATUS_SUCCESS, "create NV12 surfaces");
    check(vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420, 100000, 48, &bad_surf,
                           1, NULL, 0) ==
          VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED, "oversized surface");
    check(vaCreateSurfaces(dpy, VA_RT_FORMAT_YUV420_10, 64, 48, &bad_surf,
                           1, NULL, 0) ==
          VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT, "10-bit surface refused");
    check(vaCreateContext(dpy, cfg, 64, 48, VA_PROGRESSIVE, surf, 2, &ctx) ==
          VA_STATUS_SUCCESS, "create context");
    check(vaCreateContext(dpy, cfg, 100000, 48, VA_PROGRESSIVE, surf, 2,
                          &ctx) == VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED,
          "oversized context");
    check(vaBeginPicture(dpy, ctx, 0x04fffff0) ==
          VA_STATUS_ERROR_INVALID_SURFACE, "bad render target");
    check(vaBeginPicture(dpy, 0x02fffff0, surf[0]) ==
          VA_STATUS_ERROR_INVALID_CONTEXT, "bad context");
    check(vaSyncSurface(dpy, 0x04fffff0) == VA_STATUS_ERROR_INVALID_SURFACE,
          "bad sync surface");
    check(vaMapBuffer(dpy, 0x08fffff0, &m) == VA_STATUS_ERROR_INVALID_BUFFER,
          "bad buffer");
    check(vaDestroyImage(dpy, 0x0cfffff0) == VA_STATUS_ERROR_INVALID_IMAGE,
          "bad image");
    check(vaCreateBuffer(dpy, 0x02fffff0, VASliceDataBufferType, 16, 1, NULL,
                         &buf) == VA_STATUS_ERROR_INVALID_CONTEXT,
          "buffer on bad context");
    check(vaCreateBuffer(dpy, ctx, VAEncCodedBufferType, 4096, 1, NULL,
                         &coded) == VA_STATUS_SUCCESS &&
          vaMapBuffer(dpy, coded, &m) == VA_STATUS_SUCCESS &&
          ((VACodedBufferSegment *)m)->size == 0 &&
          ((VACodedBufferSegment *)m)->next == NULL &&
          vaUnmapBuffer(dpy, coded) == VA_STATUS_SUCCESS &&
          vaDestroyBuffer(dpy, coded) == VA_STATUS_SUCCESS,
          "coded buffer segment");
    check(vaEndPicture(dpy, ctx) != VA_STATUS_SUCCESS,
          "end picture without begin fails");
    check(vaBeginPicture(dpy, ctx, surf[0]) == VA_STATUS_SUCCESS &&
          vaCreateBuffer(dpy, ctx, VASliceDataBufferType, 4, 1,
                         (void *)"\x00\x00\x00\x00", &buf) ==
          VA_STATUS_SUCCESS &&
          vaRenderPicture(dpy, ctx, &buf, 1) == VA_STATUS_SUCCESS &&
          vaEndPicture(dpy, ctx) == VA_STATUS_ERROR_DECODING_ERROR &&
          vaDestroyBuffer(dpy, buf) == VA_STATUS_SUCCESS,
          "garbage bitstream gives a decoding error");

    /* image round trip: put I420, derive NV12, get YV12 */
    ok = vaQueryImageFormats(dpy, fmts, &nf) == VA_STATUS_SUCCESS &&
         nf >= 3;
    check(ok, "image formats");
    for (i = 0; ok && i < nf && fmts[i].fourcc != VA_FOURCC_I420; i++) {
        /* find I420 */
    }
    ok = ok && vaCreateImage(dpy, &fmts[i], 64, 48, &img) ==
         VA_STATUS_SUCCESS && vaMapBuffer(dpy, img.buf, &m) ==
         VA_STATUS_SUCCESS;
    if (ok) {
        p = m;
        memset(p + img.offsets[0], 0x11, img.pitches[0] * 48);
        memset(p + img.offsets[1], 0x22, img.pitches[1] * 24);
        memset(p + img.offsets[2], 0x33, img.pitches[2] * 24);
        vaUnmapBuffer(dpy, img.buf);
        ok = vaPutImage(dpy, surf[1], img.image_id, 0, 0, 64, 48, 0, 0, 64,
                        48) == VA_STATUS_SUCCESS;
    }
    check(ok, "put I420 image");
    ok = vaDeriveImage(dpy, surf[1], &img2) == VA_STATUS_SUCCESS &&
         img2.format.fourcc == VA_FOURCC_NV12 &&
         vaMapBuffer(dpy, img2.buf, &m) == VA_STATUS_SUCCESS;
    if (ok) {
        p = m;
        ok = p[img2.offsets[0] + 47 * img2.pitches[0] + 63] == 0x11 &&
             p[img2.offsets[1] + 23 * img2.pitches[1] + 62] == 0x22 &&
             p[img2.offsets[1] + 23 * img2.pitches[1] + 63] == 0x33;
        vaUnmapBuffer(dpy, img2.buf);
        vaDestroyImage(dpy, img2.image_id);
    }
    check(ok, "derived NV12 image holds the put pixels");
    vaDestroyImage(dpy, img.image_id);

    check(vaDestroySurfaces(dpy, &bad_surf, 1) ==
          VA_STATUS_ERROR_INVALID_SURFACE, "destroy bad surface");
    check(vaDestroyContext(dpy, ctx) == VA_STATUS_SUCCESS &&
          vaDestroyContext(dpy, ctx) == VA_STATUS_ERROR_INVALID_CONTEXT,
          "destroy context twice");
    check(vaDestroySurfaces(dpy, surf, 2) == VA_STATUS_SUCCESS,
          "destroy surfaces");
    check(vaDestroyConfig(dpy, cfg) == VA_STATUS_SUCCESS, "destroy config");
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
    int self = argc > 1 && !strcmp(argv[1], "--selftest");
    const char *dev = argc > 1 + self ? argv[1 + self] : "/dev/null";
    int fd = open(dev, O_RDWR);
    VADisplay dpy;
    int major, minor, ret;
    VAStatus st;

    if (fd < 0) {
        perror(dev);
        return 1;
    }
    dpy = vaGetDisplayDRM(fd);
    if (!dpy) {
        fprintf(stderr, "vaGetDisplayDRM(%s) failed (is the DRM shim "
                "preloaded?)\n", dev);
        return 1;
    }
    vaSetInfoCallback(dpy, va_quiet, NULL);
    st = vaInitialize(dpy, &major, &minor);
    if (st != VA_STATUS_SUCCESS) {
        fprintf(stderr, "vaInitialize: %s\n", vaErrorStr(st));
        vaTerminate(dpy);
        close(fd);
        return 1;
    }
    ret = self ? selftest(dpy) : probe(dpy);
    vaTerminate(dpy);
    close(fd);
    return ret;
}
