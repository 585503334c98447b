/*
 * virtio-video VA-API test driver (vvtest_drv_video.so)
 *
 * A libva driver module without hardware: surfaces and buffers live in
 * host memory, VP9 profile 0 is really decoded (libavcodec "vp9") and
 * encoded (libvpx-vp9), and every other announced profile fails at
 * vaEndPicture.  Capabilities, size limits and failures are configured by
 * environment variables (see README.md), so that the device's VA-API
 * backend can be tested frame-exact on machines without a GPU.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <va/va.h>
#include <va/va_backend.h>
#include <va/va_dec_vp9.h>
#include <va/va_enc_vp9.h>

#include "vvtest-drv.h"

#define VV_VENDOR           "virtio-video VA test driver"
#define VV_MAX_PROFILES     32
#define VV_MAX_ATTRIBUTES   16
#define VV_MIN_SIZE         16
#define VV_DEFAULT_MAX      4096
#define VV_ALIGN(x, a)      (((x) + (a) - 1) / (a) * (a))

#define VV_EXPORT __attribute__((visibility("default")))

/* ---- failure injection (per process) ---- */

enum {
    VV_FAIL_INIT,
    VV_FAIL_CREATE_CONFIG,
    VV_FAIL_CREATE_CONTEXT,
    VV_FAIL_CREATE_SURFACES,
    VV_FAIL_SYNC,
    VV_FAIL_MAP,
    VV_FAIL_DEVICE_LOST,
    VV_FAIL_COUNT
};

static const char *const vv_fail_names[VV_FAIL_COUNT] = {
    [VV_FAIL_INIT] = "init",
    [VV_FAIL_CREATE_CONFIG] = "create_config",
    [VV_FAIL_CREATE_CONTEXT] = "create_context",
    [VV_FAIL_CREATE_SURFACES] = "create_surfaces",
    [VV_FAIL_SYNC] = "sync",
    [VV_FAIL_MAP] = "map",
    [VV_FAIL_DEVICE_LOST] = "device_lost",
};

static struct {
    pthread_mutex_t lock;
    uint64_t from[VV_FAIL_COUNT];       /* 0: never fails */
    uint64_t calls[VV_FAIL_COUNT];
    bool device_lost;
} vv_fail = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Count one call of @point; true if it has to fail. */
static bool vv_fail_hit(int point)
{
    bool hit;

    pthread_mutex_lock(&vv_fail.lock);
    vv_fail.calls[point]++;
    hit = vv_fail.from[point] && vv_fail.calls[point] >= vv_fail.from[point];
    if (hit && point == VV_FAIL_DEVICE_LOST) {
        vv_fail.device_lost = true;
    }
    pthread_mutex_unlock(&vv_fail.lock);
    return hit;
}

static bool vv_lost(void)
{
    bool lost;

    pthread_mutex_lock(&vv_fail.lock);
    lost = vv_fail.device_lost;
    pthread_mutex_unlock(&vv_fail.lock);
    return lost;
}

/* ---- objects ---- */

typedef struct VvTable {
    void **slot;
    uint32_t size;
    uint32_t next;
    uint32_t base;
} VvTable;

#define VV_ID_INDEX_MASK 0x00ffffffu

typedef struct VvConfig {
    VAProfile profile;
    VAEntrypoint entrypoint;
    uint32_t rt_format;
    uint32_t rc_mode;
} VvConfig;

/* Surface memory, shared with the images derived from it. */
typedef struct VvStore {
    int refs;
    uint8_t *data;
    size_t size;
} VvStore;

typedef struct VvSurface {
    uint32_t width;
    uint32_t height;
    uint32_t pitch;
    uint32_t uv_offset;
    VvStore *store;
    bool decoded;               /* last operation was a decode */
} VvSurface;

typedef struct VvBuffer {
    VABufferType type;
    VAContextID context;
    uint32_t size;              /* of one element */
    uint32_t num_elements;
    uint32_t max_elements;
    uint8_t *data;              /* owned, unless store is set */
    VvStore *store;
    size_t coded_cap;           /* coded buffers: payload capacity */
    bool mapped;
} VvBuffer;

typedef struct VvImage {
    VAImage image;
} VvImage;

typedef struct VvContext {
    VvConfig cfg;
    int width;
    int height;
    bool in_picture;
    VASurfaceID target;

    /* decoding */
    bool have_dec_pic;
    VADecPictureParameterBufferVP9 dec_pic;
    bool have_slice;
    uint32_t slice_offset;
    uint32_t slice_size;
    uint8_t *bits;
    size_t bits_size;
    size_t bits_cap;

    /* encoding */
    bool have_enc_pic;
    VAEncPictureParameterBufferVP9 enc_pic;
    bool have_seq;
    VAEncSequenceParameterBufferVP9 enc_seq;
    bool have_rc;
    uint32_t rc_bps;
    uint32_t rc_target;
    uint32_t fr_num;
    uint32_t fr_den;

    VvCodec *codec;
} VvContext;

typedef struct VvProfileEntry {
    VAProfile profile;
    VAEntrypoint entrypoint;
} VvProfileEntry;

typedef struct VvDriver {
    pthread_mutex_t lock;
    VvTable configs;
    VvTable contexts;
    VvTable surfaces;
    VvTable buffers;
    VvTable images;
    VvProfileEntry prof[VV_MAX_PROFILES];
    int n_prof;
    uint32_t max_width;
    uint32_t max_height;
    bool log;
    bool stats;
    uint64_t n_decoded;
    uint64_t n_encoded;
    VvCodec *parked;            /* VP9 decoder of the last closed context */
} VvDriver;

static void vv_table_init(VvTable *t, uint32_t base)
{
    memset(t, 0, sizeof(*t));
    t->base = base;
}

static uint32_t vv_table_add(VvTable *t, void *obj)
{
    uint32_t i, n;

    for (n = 0; n < t->size; n++) {
        i = (t->next + n) % t->size;
        if (!t->slot[i]) {
            goto found;
        }
    }
    if (t->size >= VV_ID_INDEX_MASK / 2) {
        return VA_INVALID_ID;
    } else {
        uint32_t nsize = t->size ? t->size * 2 : 64;
        void **ns = realloc(t->slot, nsize * sizeof(*ns));

        if (!ns) {
            return VA_INVALID_ID;
        }
        memset(ns + t->size, 0, (nsize - t->size) * sizeof(*ns));
        i = t->size;
        t->slot = ns;
        t->size = nsize;
    }
found:
    t->slot[i] = obj;
    t->next = i + 1;
    return t->base | i;
}

static void *vv_table_get(VvTable *t, uint32_t id)
{
    uint32_t i = id & VV_ID_INDEX_MASK;

    if ((id & ~VV_ID_INDEX_MASK) != t->base || i >= t->size) {
        return NULL;
    }
    return t->slot[i];
}

static void vv_table_remove(VvTable *t, uint32_t id)
{
    if (vv_table_get(t, id)) {
        t->slot[id & VV_ID_INDEX_MASK] = NULL;
    }
}

/* ---- logging and locking ---- */

static void vv_print(const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "vvtest: %s\n", line);
}

static void vv_log(VvDriver *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void vv_log(VvDriver *d, const char *fmt, ...)
{
    va_list ap;

    if (!d->log) {
        return;
    }
    va_start(ap, fmt);
    vv_print(fmt, ap);
    va_end(ap);
}

static VvDriver *vv_enter(VADriverContextP ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Lock the driver and trace the call. */
static VvDriver *vv_enter(VADriverContextP ctx, const char *fmt, ...)
{
    VvDriver *d = ctx->pDriverData;
    va_list ap;

    pthread_mutex_lock(&d->lock);
    if (d->log) {
        va_start(ap, fmt);
        vv_print(fmt, ap);
        va_end(ap);
    }
    return d;
}

static VAStatus vv_leave(VvDriver *d, VAStatus st)
{
    if (st != VA_STATUS_SUCCESS) {
        vv_log(d, "  -> %s (%d)", vaErrorStr(st), st);
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}

/* ---- configuration from the environment ---- */

static const struct {
    const char *name;
    VAProfile profile;
} vv_profile_names[] = {
    { "h264-cb", VAProfileH264ConstrainedBaseline },
    { "h264-main", VAProfileH264Main },
    { "h264-high", VAProfileH264High },
    { "hevc-main", VAProfileHEVCMain },
    { "hevc-main10", VAProfileHEVCMain10 },
    { "vp8", VAProfileVP8Version0_3 },
    { "vp9-0", VAProfileVP9Profile0 },
    { "vp9-2", VAProfileVP9Profile2 },
    { "mpeg2-main", VAProfileMPEG2Main },
    { "av1-0", VAProfileAV1Profile0 },
};


/* A decimal number of at most @max, nothing else; false if it is not. */
static bool vv_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static bool vv_parse_profiles(VvDriver *d, const char *spec)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    bool ok = copy != NULL;

    d->n_prof = 0;
    for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        VvProfileEntry e = { .profile = VAProfileNone };
        size_t i;
        int j;

        if (colon) {
            *colon = '\0';
        }
        for (i = 0; i < sizeof(vv_profile_names) / sizeof(vv_profile_names[0]);
             i++) {
            if (!strcmp(tok, vv_profile_names[i].name)) {
                e.profile = vv_profile_names[i].profile;
            }
        }
        if (colon && !strcmp(colon + 1, "vld")) {
            e.entrypoint = VAEntrypointVLD;
        } else if (colon && !strcmp(colon + 1, "enc")) {
            e.entrypoint = VAEntrypointEncSlice;
        }
        if (e.profile == VAProfileNone || !e.entrypoint) {
            fprintf(stderr, "vvtest: VVTEST_PROFILES: bad entry '%s%s%s'\n",
                    tok, colon ? ":" : "", colon ? colon + 1 : "");
            ok = false;
            break;
        }
        for (j = 0; j < d->n_prof; j++) {
            if (d->prof[j].profile == e.profile &&
                d->prof[j].entrypoint == e.entrypoint) {
                break;
            }
        }
        if (j < d->n_prof) {
            continue;
        }
        if (d->n_prof == VV_MAX_PROFILES) {
            fprintf(stderr, "vvtest: VVTEST_PROFILES: too many entries\n");
            ok = false;
            break;
        }
        d->prof[d->n_prof++] = e;
    }
    free(copy);
    return ok;
}

static bool vv_parse_fail(const char *spec)
{
    char *copy = strdup(spec), *save = NULL, *tok;
    bool ok = copy != NULL;

    for (tok = ok ? strtok_r(copy, ",", &save) : NULL; tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *at = strchr(tok, '@');
        uint64_t n = 1;
        int i;

        if (at) {
            *at = '\0';
            if (!vv_parse_uint(at + 1, UINT64_MAX, &n) || n == 0) {
                fprintf(stderr, "vvtest: VVTEST_FAIL: bad count '%s'\n",
                        at + 1);
                ok = false;
                break;
            }
        }
        for (i = 0; i < VV_FAIL_COUNT; i++) {
            if (!strcmp(tok, vv_fail_names[i])) {
                break;
            }
        }
        if (i == VV_FAIL_COUNT) {
            fprintf(stderr, "vvtest: VVTEST_FAIL: unknown point '%s'\n", tok);
            ok = false;
            break;
        }
        pthread_mutex_lock(&vv_fail.lock);
        vv_fail.from[i] = n;
        pthread_mutex_unlock(&vv_fail.lock);
    }
    free(copy);
    return ok;
}

static bool vv_parse_size(const char *name, uint32_t *out)
{
    const char *s = getenv(name);
    uint64_t v;

    *out = VV_DEFAULT_MAX;
    if (!s || !*s) {
        return true;
    }
    if (!vv_parse_uint(s, 65536, &v) || v < VV_MIN_SIZE) {
        fprintf(stderr, "vvtest: %s: bad size '%s' (16..65536)\n", name, s);
        return false;
    }
    *out = v;
    return true;
}

static bool vv_env_flag(const char *name)
{
    const char *s = getenv(name);

    return s && *s && strcmp(s, "0") != 0;
}

/* ---- capability helpers ---- */

static bool vv_has_profile(VvDriver *d, VAProfile p)
{
    int i;

    for (i = 0; i < d->n_prof; i++) {
        if (d->prof[i].profile == p) {
            return true;
        }
    }
    return false;
}

static VAStatus vv_check_pair(VvDriver *d, VAProfile p, VAEntrypoint e)
{
    int i;

    if (!vv_has_profile(d, p)) {
        return VA_STATUS_ERROR_UNSUPPORTED_PROFILE;
    }
    for (i = 0; i < d->n_prof; i++) {
        if (d->prof[i].profile == p && d->prof[i].entrypoint == e) {
            return VA_STATUS_SUCCESS;
        }
    }
    return VA_STATUS_ERROR_UNSUPPORTED_ENTRYPOINT;
}

static uint32_t vv_rt_formats(VAProfile p)
{
    if (p == VAProfileHEVCMain10 || p == VAProfileVP9Profile2) {
        return VA_RT_FORMAT_YUV420_10;
    }
    return VA_RT_FORMAT_YUV420;
}

#define VV_RC_MODES (VA_RC_CQP | VA_RC_CBR | VA_RC_VBR)

static uint32_t vv_attrib_value(VvDriver *d, VAProfile p, VAEntrypoint e,
                                VAConfigAttribType type)
{
    bool enc = e == VAEntrypointEncSlice;

    switch (type) {
    case VAConfigAttribRTFormat:
        return vv_rt_formats(p);
    case VAConfigAttribDecSliceMode:
        return enc ? VA_ATTRIB_NOT_SUPPORTED : VA_DEC_SLICE_MODE_NORMAL;
    case VAConfigAttribRateControl:
        return enc ? VV_RC_MODES : VA_ATTRIB_NOT_SUPPORTED;
    case VAConfigAttribEncPackedHeaders:
        return enc ? VA_ENC_PACKED_HEADER_NONE : VA_ATTRIB_NOT_SUPPORTED;
    case VAConfigAttribEncMaxRefFrames:
        return enc ? 1 : VA_ATTRIB_NOT_SUPPORTED;   /* L0: 1, L1: 0 */
    case VAConfigAttribMaxPictureWidth:
        return d->max_width;
    case VAConfigAttribMaxPictureHeight:
        return d->max_height;
    default:
        return VA_ATTRIB_NOT_SUPPORTED;
    }
}

/* ---- surfaces, buffers, images ---- */

static void vv_store_unref(VvStore *s)
{
    if (s && --s->refs == 0) {
        free(s->data);
        free(s);
    }
}

static void vv_surface_view(VvSurface *s, VvView *v)
{
    v->y = s->store->data;
    v->u = s->store->data + s->uv_offset;
    v->v = v->u + 1;
    v->ypitch = s->pitch;
    v->cpitch = s->pitch;
    v->cstep = 2;
    v->width = s->width;
    v->height = s->height;
}

static VvSurface *vv_surface_new(uint32_t width, uint32_t height)
{
    VvSurface *s = calloc(1, sizeof(*s));
    uint32_t aligned_h = VV_ALIGN(height, 16);

    if (!s) {
        return NULL;
    }
    s->width = width;
    s->height = height;
    s->pitch = VV_ALIGN(width, 64);
    s->uv_offset = s->pitch * aligned_h;
    s->store = calloc(1, sizeof(*s->store));
    if (!s->store) {
        free(s);
        return NULL;
    }
    s->store->refs = 1;
    s->store->size = (size_t)s->uv_offset + (size_t)s->pitch * aligned_h / 2;
    s->store->data = malloc(s->store->size);
    if (!s->store->data) {
        free(s->store);
        free(s);
        return NULL;
    }
    memset(s->store->data, 0x10, s->uv_offset);
    memset(s->store->data + s->uv_offset, 0x80,
           s->store->size - s->uv_offset);
    return s;
}

static void vv_surface_free(VvSurface *s)
{
    if (s) {
        vv_store_unref(s->store);
        free(s);
    }
}

static void vv_buffer_free(VvBuffer *b)
{
    if (b) {
        if (b->store) {
            vv_store_unref(b->store);
        } else {
            free(b->data);
        }
        free(b);
    }
}

static void vv_context_free(VvDriver *d, VvContext *c)
{
    if (!c) {
        return;
    }
    if (c->codec && c->cfg.entrypoint == VAEntrypointVLD) {
        /* keep it: a new context may continue the stream mid-GOP */
        vv_codec_free(d->parked);
        d->parked = c->codec;
        c->codec = NULL;
    }
    vv_codec_free(c->codec);
    free(c->bits);
    free(c);
}

static const VAImageFormat vv_image_formats[] = {
    { .fourcc = VA_FOURCC_NV12, .byte_order = VA_LSB_FIRST,
      .bits_per_pixel = 12 },
    { .fourcc = VA_FOURCC_I420, .byte_order = VA_LSB_FIRST,
      .bits_per_pixel = 12 },
    { .fourcc = VA_FOURCC_YV12, .byte_order = VA_LSB_FIRST,
      .bits_per_pixel = 12 },
};
#define VV_N_IMAGE_FORMATS \
    ((int)(sizeof(vv_image_formats) / sizeof(vv_image_formats[0])))

static void vv_image_view(const VAImage *img, uint8_t *data, VvView *v)
{
    v->y = data + img->offsets[0];
    v->ypitch = img->pitches[0];
    v->width = img->width;
    v->height = img->height;
    switch (img->format.fourcc) {
    case VA_FOURCC_NV12:
        v->u = data + img->offsets[1];
        v->v = v->u + 1;
        v->cpitch = img->pitches[1];
        v->cstep = 2;
        break;
    case VA_FOURCC_YV12:
        v->v = data + img->offsets[1];
        v->u = data + img->offsets[2];
        v->cpitch = img->pitches[1];
        v->cstep = 1;
        break;
    default:                            /* I420 */
        v->u = data + img->offsets[1];
        v->v = data + img->offsets[2];
        v->cpitch = img->pitches[1];
        v->cstep = 1;
        break;
    }
}

/* Data of a buffer (NULL for none). */
static uint8_t *vv_buffer_data(VvBuffer *b)
{
    return b->store ? b->store->data : b->data;
}

/* ---- vtable: configs ---- */

static VAStatus vv_query_config_profiles(VADriverContextP ctx,
                                         VAProfile *list, int *num)
{
    VvDriver *d = vv_enter(ctx, "vaQueryConfigProfiles");
    int i, j, n = 0;

    if (!list || !num) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    for (i = 0; i < d->n_prof; i++) {
        for (j = 0; j < n; j++) {
            if (list[j] == d->prof[i].profile) {
                break;
            }
        }
        if (j == n) {
            list[n++] = d->prof[i].profile;
        }
    }
    *num = n;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_query_config_entrypoints(VADriverContextP ctx,
                                            VAProfile profile,
                                            VAEntrypoint *list, int *num)
{
    VvDriver *d = vv_enter(ctx, "vaQueryConfigEntrypoints profile=%d",
                           profile);
    int i, n = 0;

    if (!list || !num) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    for (i = 0; i < d->n_prof; i++) {
        if (d->prof[i].profile == profile) {
            list[n++] = d->prof[i].entrypoint;
        }
    }
    *num = n;
    return vv_leave(d, n ? VA_STATUS_SUCCESS
                         : VA_STATUS_ERROR_UNSUPPORTED_PROFILE);
}

static VAStatus vv_get_config_attributes(VADriverContextP ctx,
                                         VAProfile profile,
                                         VAEntrypoint entrypoint,
                                         VAConfigAttrib *list, int num)
{
    VvDriver *d = vv_enter(ctx, "vaGetConfigAttributes profile=%d ep=%d",
                           profile, entrypoint);
    VAStatus st = vv_check_pair(d, profile, entrypoint);
    int i;

    if (st != VA_STATUS_SUCCESS) {
        return vv_leave(d, st);
    }
    if (num > 0 && !list) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    for (i = 0; i < num; i++) {
        list[i].value = vv_attrib_value(d, profile, entrypoint, list[i].type);
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_create_config(VADriverContextP ctx, VAProfile profile,
                                 VAEntrypoint entrypoint,
                                 VAConfigAttrib *attribs, int num_attribs,
                                 VAConfigID *config_id)
{
    VvDriver *d = vv_enter(ctx, "vaCreateConfig profile=%d ep=%d",
                           profile, entrypoint);
    VAStatus st;
    VvConfig *cfg;
    int i;

    if (vv_fail_hit(VV_FAIL_CREATE_CONFIG)) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (!config_id || (num_attribs > 0 && !attribs)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    st = vv_check_pair(d, profile, entrypoint);
    if (st != VA_STATUS_SUCCESS) {
        return vv_leave(d, st);
    }
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    cfg->profile = profile;
    cfg->entrypoint = entrypoint;
    cfg->rt_format = vv_rt_formats(profile);
    cfg->rc_mode = entrypoint == VAEntrypointEncSlice ? VA_RC_CQP
                                                       : VA_RC_NONE;
    for (i = 0; i < num_attribs; i++) {
        uint32_t v = attribs[i].value;

        switch (attribs[i].type) {
        case VAConfigAttribRTFormat:
            if (!v || (v & ~vv_rt_formats(profile))) {
                free(cfg);
                return vv_leave(d, VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT);
            }
            cfg->rt_format = v;
            break;
        case VAConfigAttribRateControl:
            if (entrypoint != VAEntrypointEncSlice) {
                break;
            }
            if (v != VA_RC_CQP && v != VA_RC_CBR && v != VA_RC_VBR) {
                free(cfg);
                return vv_leave(d, VA_STATUS_ERROR_INVALID_VALUE);
            }
            cfg->rc_mode = v;
            break;
        case VAConfigAttribEncPackedHeaders:
            if (v != VA_ENC_PACKED_HEADER_NONE &&
                v != VA_ATTRIB_NOT_SUPPORTED) {
                free(cfg);
                return vv_leave(d, VA_STATUS_ERROR_INVALID_VALUE);
            }
            break;
        default:
            break;
        }
    }
    *config_id = vv_table_add(&d->configs, cfg);
    if (*config_id == VA_INVALID_ID) {
        free(cfg);
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    vv_log(d, "  -> config 0x%x", *config_id);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_destroy_config(VADriverContextP ctx, VAConfigID id)
{
    VvDriver *d = vv_enter(ctx, "vaDestroyConfig 0x%x", id);
    VvConfig *cfg = vv_table_get(&d->configs, id);

    if (!cfg) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONFIG);
    }
    vv_table_remove(&d->configs, id);
    free(cfg);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_query_config_attributes(VADriverContextP ctx,
                                           VAConfigID id, VAProfile *profile,
                                           VAEntrypoint *entrypoint,
                                           VAConfigAttrib *list, int *num)
{
    VvDriver *d = vv_enter(ctx, "vaQueryConfigAttributes 0x%x", id);
    VvConfig *cfg = vv_table_get(&d->configs, id);
    int n = 0;

    if (!cfg) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONFIG);
    }
    if (profile) {
        *profile = cfg->profile;
    }
    if (entrypoint) {
        *entrypoint = cfg->entrypoint;
    }
    if (list) {
        list[n].type = VAConfigAttribRTFormat;
        list[n++].value = cfg->rt_format;
        if (cfg->entrypoint == VAEntrypointEncSlice) {
            list[n].type = VAConfigAttribRateControl;
            list[n++].value = cfg->rc_mode;
        }
    }
    if (num) {
        *num = n;
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* ---- vtable: surfaces ---- */

static VAStatus vv_create_surfaces_locked(VvDriver *d, unsigned int format,
                                          unsigned int width,
                                          unsigned int height,
                                          VASurfaceID *surfaces,
                                          unsigned int num,
                                          VASurfaceAttrib *attribs,
                                          unsigned int num_attribs)
{
    unsigned int i;

    if (vv_lost()) {
        return VA_STATUS_ERROR_OPERATION_FAILED;
    }
    if (vv_fail_hit(VV_FAIL_CREATE_SURFACES)) {
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    if (!surfaces || (num_attribs && !attribs)) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    if (format != VA_RT_FORMAT_YUV420) {
        return VA_STATUS_ERROR_UNSUPPORTED_RT_FORMAT;
    }
    for (i = 0; i < num_attribs; i++) {
        if (!(attribs[i].flags & VA_SURFACE_ATTRIB_SETTABLE)) {
            continue;
        }
        switch (attribs[i].type) {
        case VASurfaceAttribPixelFormat:
            if (attribs[i].value.type != VAGenericValueTypeInteger ||
                (uint32_t)attribs[i].value.value.i != VA_FOURCC_NV12) {
                return VA_STATUS_ERROR_ATTR_NOT_SUPPORTED;
            }
            break;
        case VASurfaceAttribMemoryType:
            if (attribs[i].value.type != VAGenericValueTypeInteger ||
                attribs[i].value.value.i != VA_SURFACE_ATTRIB_MEM_TYPE_VA) {
                return VA_STATUS_ERROR_UNSUPPORTED_MEMORY_TYPE;
            }
            break;
        default:
            break;
        }
    }
    if (width == 0 || height == 0) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    if (width > d->max_width || height > d->max_height) {
        return VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED;
    }
    for (i = 0; i < num; i++) {
        VvSurface *s = vv_surface_new(width, height);

        surfaces[i] = s ? vv_table_add(&d->surfaces, s) : VA_INVALID_ID;
        if (surfaces[i] == VA_INVALID_ID) {
            vv_surface_free(s);
            while (i--) {
                vv_surface_free(vv_table_get(&d->surfaces, surfaces[i]));
                vv_table_remove(&d->surfaces, surfaces[i]);
                surfaces[i] = VA_INVALID_SURFACE;
            }
            return VA_STATUS_ERROR_ALLOCATION_FAILED;
        }
        vv_log(d, "  -> surface 0x%x (%ux%u)", surfaces[i], width, height);
    }
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_create_surfaces2(VADriverContextP ctx, unsigned int format,
                                    unsigned int width, unsigned int height,
                                    VASurfaceID *surfaces, unsigned int num,
                                    VASurfaceAttrib *attribs,
                                    unsigned int num_attribs)
{
    VvDriver *d = vv_enter(ctx, "vaCreateSurfaces2 fmt=0x%x %ux%u n=%u",
                           format, width, height, num);

    return vv_leave(d, vv_create_surfaces_locked(d, format, width, height,
                                                 surfaces, num, attribs,
                                                 num_attribs));
}

static VAStatus vv_create_surfaces(VADriverContextP ctx, int width,
                                   int height, int format, int num,
                                   VASurfaceID *surfaces)
{
    VvDriver *d = vv_enter(ctx, "vaCreateSurfaces fmt=0x%x %dx%d n=%d",
                           format, width, height, num);

    if (width < 0 || height < 0 || num < 0) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    return vv_leave(d, vv_create_surfaces_locked(d, format, width, height,
                                                 surfaces, num, NULL, 0));
}

static VAStatus vv_destroy_surfaces(VADriverContextP ctx, VASurfaceID *list,
                                    int num)
{
    VvDriver *d = vv_enter(ctx, "vaDestroySurfaces n=%d first=0x%x", num,
                           num > 0 && list ? list[0] : VA_INVALID_ID);
    int i;

    if (num < 0 || (num > 0 && !list)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    for (i = 0; i < num; i++) {
        if (!vv_table_get(&d->surfaces, list[i])) {
            return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
        }
    }
    for (i = 0; i < num; i++) {
        vv_surface_free(vv_table_get(&d->surfaces, list[i]));
        vv_table_remove(&d->surfaces, list[i]);
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_query_surface_attributes(VADriverContextP ctx,
                                            VAConfigID config,
                                            VASurfaceAttrib *list,
                                            unsigned int *num)
{
    VvDriver *d = vv_enter(ctx, "vaQuerySurfaceAttributes 0x%x", config);
    VASurfaceAttrib a[6];
    unsigned int n = 0;

    if (!vv_table_get(&d->configs, config)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONFIG);
    }
    if (!num) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    memset(a, 0, sizeof(a));
    a[n].type = VASurfaceAttribPixelFormat;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE | VA_SURFACE_ATTRIB_SETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = VA_FOURCC_NV12;
    a[n].type = VASurfaceAttribMinWidth;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = VV_MIN_SIZE;
    a[n].type = VASurfaceAttribMinHeight;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = VV_MIN_SIZE;
    a[n].type = VASurfaceAttribMaxWidth;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = d->max_width;
    a[n].type = VASurfaceAttribMaxHeight;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = d->max_height;
    a[n].type = VASurfaceAttribMemoryType;
    a[n].flags = VA_SURFACE_ATTRIB_GETTABLE | VA_SURFACE_ATTRIB_SETTABLE;
    a[n].value.type = VAGenericValueTypeInteger;
    a[n++].value.value.i = VA_SURFACE_ATTRIB_MEM_TYPE_VA;

    if (!list) {
        *num = n;
        return vv_leave(d, VA_STATUS_SUCCESS);
    }
    if (*num < n) {
        *num = n;
        return vv_leave(d, VA_STATUS_ERROR_MAX_NUM_EXCEEDED);
    }
    memcpy(list, a, sizeof(a[0]) * n);
    *num = n;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_sync_surface(VADriverContextP ctx, VASurfaceID id)
{
    VvDriver *d = vv_enter(ctx, "vaSyncSurface 0x%x", id);
    VvSurface *s = vv_table_get(&d->surfaces, id);

    if (!s) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    if (vv_lost()) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (vv_fail_hit(VV_FAIL_SYNC)) {
        return vv_leave(d, s->decoded ? VA_STATUS_ERROR_DECODING_ERROR
                                      : VA_STATUS_ERROR_OPERATION_FAILED);
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_query_surface_status(VADriverContextP ctx,
                                        VASurfaceID id,
                                        VASurfaceStatus *status)
{
    VvDriver *d = vv_enter(ctx, "vaQuerySurfaceStatus 0x%x", id);

    if (!vv_table_get(&d->surfaces, id)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    if (!status) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    *status = VASurfaceReady;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* ---- vtable: contexts ---- */

static VAStatus vv_create_context(VADriverContextP ctx, VAConfigID config,
                                  int width, int height, int flag,
                                  VASurfaceID *targets, int num_targets,
                                  VAContextID *context)
{
    VvDriver *d = vv_enter(ctx, "vaCreateContext cfg=0x%x %dx%d targets=%d",
                           config, width, height, num_targets);
    VvConfig *cfg = vv_table_get(&d->configs, config);
    VvContext *c;
    int i;

    (void)flag;
    if (vv_lost()) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (vv_fail_hit(VV_FAIL_CREATE_CONTEXT)) {
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    if (!cfg) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONFIG);
    }
    if (!context || width < 0 || height < 0 || num_targets < 0 ||
        (num_targets > 0 && !targets)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    if ((uint32_t)width > d->max_width || (uint32_t)height > d->max_height) {
        return vv_leave(d, VA_STATUS_ERROR_RESOLUTION_NOT_SUPPORTED);
    }
    for (i = 0; i < num_targets; i++) {
        if (!vv_table_get(&d->surfaces, targets[i])) {
            return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    c->cfg = *cfg;
    c->width = width;
    c->height = height;
    c->target = VA_INVALID_SURFACE;
    *context = vv_table_add(&d->contexts, c);
    if (*context == VA_INVALID_ID) {
        free(c);
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    vv_log(d, "  -> context 0x%x", *context);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_destroy_context(VADriverContextP ctx, VAContextID id)
{
    VvDriver *d = vv_enter(ctx, "vaDestroyContext 0x%x", id);
    VvContext *c = vv_table_get(&d->contexts, id);

    if (!c) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONTEXT);
    }
    vv_table_remove(&d->contexts, id);
    vv_context_free(d, c);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* ---- vtable: buffers ---- */

static VAStatus vv_create_buffer(VADriverContextP ctx, VAContextID context,
                                 VABufferType type, unsigned int size,
                                 unsigned int num_elements, void *data,
                                 VABufferID *buf_id)
{
    VvDriver *d = vv_enter(ctx, "vaCreateBuffer ctx=0x%x type=%d size=%u n=%u",
                           context, type, size, num_elements);
    uint64_t total = (uint64_t)size * num_elements;
    VvBuffer *b;

    if (!vv_table_get(&d->contexts, context)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONTEXT);
    }
    if (!buf_id || total == 0 || total > (1u << 30)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    b = calloc(1, sizeof(*b));
    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    b->type = type;
    b->context = context;
    b->size = size;
    b->num_elements = num_elements;
    b->max_elements = num_elements;
    if (type == VAEncCodedBufferType) {
        VACodedBufferSegment *seg;

        b->coded_cap = total;
        b->data = calloc(1, sizeof(*seg) + total);
        if (b->data) {
            seg = (VACodedBufferSegment *)b->data;
            seg->buf = b->data + sizeof(*seg);
        }
    } else {
        b->data = malloc(total);
        if (b->data) {
            if (data) {
                memcpy(b->data, data, total);
            } else {
                memset(b->data, 0, total);
            }
        }
    }
    if (!b->data) {
        free(b);
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    *buf_id = vv_table_add(&d->buffers, b);
    if (*buf_id == VA_INVALID_ID) {
        vv_buffer_free(b);
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    vv_log(d, "  -> buffer 0x%x", *buf_id);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_buffer_set_num_elements(VADriverContextP ctx,
                                           VABufferID id, unsigned int n)
{
    VvDriver *d = vv_enter(ctx, "vaBufferSetNumElements 0x%x n=%u", id, n);
    VvBuffer *b = vv_table_get(&d->buffers, id);

    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
    }
    if (n == 0 || n > b->max_elements || b->type == VAEncCodedBufferType ||
        b->store) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    b->num_elements = n;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_map_buffer(VADriverContextP ctx, VABufferID id,
                              void **pbuf)
{
    VvDriver *d = vv_enter(ctx, "vaMapBuffer 0x%x", id);
    VvBuffer *b = vv_table_get(&d->buffers, id);

    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
    }
    if (!pbuf) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    if (b->type == VAImageBufferType && vv_fail_hit(VV_FAIL_MAP)) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    b->mapped = true;
    *pbuf = vv_buffer_data(b);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_unmap_buffer(VADriverContextP ctx, VABufferID id)
{
    VvDriver *d = vv_enter(ctx, "vaUnmapBuffer 0x%x", id);
    VvBuffer *b = vv_table_get(&d->buffers, id);

    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
    }
    b->mapped = false;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_destroy_buffer(VADriverContextP ctx, VABufferID id)
{
    VvDriver *d = vv_enter(ctx, "vaDestroyBuffer 0x%x", id);
    VvBuffer *b = vv_table_get(&d->buffers, id);

    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
    }
    vv_table_remove(&d->buffers, id);
    vv_buffer_free(b);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_buffer_info(VADriverContextP ctx, VABufferID id,
                               VABufferType *type, unsigned int *size,
                               unsigned int *num_elements)
{
    VvDriver *d = vv_enter(ctx, "vaBufferInfo 0x%x", id);
    VvBuffer *b = vv_table_get(&d->buffers, id);

    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
    }
    if (type) {
        *type = b->type;
    }
    if (size) {
        *size = b->size;
    }
    if (num_elements) {
        *num_elements = b->num_elements;
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* ---- vtable: pictures ---- */

static void vv_reset_picture(VvContext *c)
{
    c->have_dec_pic = false;
    c->have_slice = false;
    c->bits_size = 0;
    c->have_enc_pic = false;
}

static VAStatus vv_begin_picture(VADriverContextP ctx, VAContextID context,
                                 VASurfaceID target)
{
    VvDriver *d = vv_enter(ctx, "vaBeginPicture ctx=0x%x target=0x%x",
                           context, target);
    VvContext *c = vv_table_get(&d->contexts, context);

    if (!c) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONTEXT);
    }
    if (!vv_table_get(&d->surfaces, target)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    if (vv_lost()) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    vv_reset_picture(c);
    c->in_picture = true;
    c->target = target;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_append_bits(VvContext *c, const uint8_t *data, size_t n)
{
    if (c->bits_size + n > c->bits_cap) {
        size_t cap = (c->bits_size + n) * 2;
        uint8_t *nb = realloc(c->bits, cap);

        if (!nb) {
            return VA_STATUS_ERROR_ALLOCATION_FAILED;
        }
        c->bits = nb;
        c->bits_cap = cap;
    }
    memcpy(c->bits + c->bits_size, data, n);
    c->bits_size += n;
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_render_misc(VvContext *c, const uint8_t *data,
                               size_t size)
{
    const VAEncMiscParameterBuffer *misc = (const void *)data;
    size_t payload;

    if (size < sizeof(*misc)) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    payload = size - sizeof(*misc);
    switch (misc->type) {
    case VAEncMiscParameterTypeRateControl:
        if (payload >= sizeof(VAEncMiscParameterRateControl)) {
            const VAEncMiscParameterRateControl *rc = (const void *)misc->data;

            c->have_rc = true;
            c->rc_bps = rc->bits_per_second;
            c->rc_target = rc->target_percentage;
        }
        break;
    case VAEncMiscParameterTypeFrameRate:
        if (payload >= sizeof(VAEncMiscParameterFrameRate)) {
            const VAEncMiscParameterFrameRate *fr = (const void *)misc->data;

            c->fr_num = fr->framerate & 0xffff;
            c->fr_den = fr->framerate >> 16;
            if (!c->fr_den) {
                c->fr_den = 1;
            }
        }
        break;
    default:
        break;                          /* HRD and others: not needed */
    }
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_render_one(VvDriver *d, VvContext *c, VvBuffer *b)
{
    uint8_t *data = vv_buffer_data(b);
    size_t size = (size_t)b->size * b->num_elements;
    bool vp9 = c->cfg.profile == VAProfileVP9Profile0;

    (void)d;
    switch (b->type) {
    case VAPictureParameterBufferType:
        if (c->cfg.entrypoint != VAEntrypointVLD) {
            return VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE;
        }
        if (vp9) {
            if (size < sizeof(c->dec_pic)) {
                return VA_STATUS_ERROR_INVALID_PARAMETER;
            }
            memcpy(&c->dec_pic, data, sizeof(c->dec_pic));
        }
        c->have_dec_pic = true;
        break;
    case VAEncPictureParameterBufferType:
        if (c->cfg.entrypoint == VAEntrypointVLD) {
            return VA_STATUS_ERROR_UNSUPPORTED_BUFFERTYPE;
        }
        if (vp9) {
            if (size < sizeof(c->enc_pic)) {
                return VA_STATUS_ERROR_INVALID_PARAMETER;
            }
            memcpy(&c->enc_pic, data, sizeof(c->enc_pic));
        }
        c->have_enc_pic = true;
        break;
    case VASliceParameterBufferType:
        if (vp9 && size >= sizeof(VASliceParameterBufferVP9)) {
            const VASliceParameterBufferVP9 *sp = (const void *)data;

            c->have_slice = true;
            c->slice_offset = sp->slice_data_offset;
            c->slice_size = sp->slice_data_size;
        }
        break;
    case VASliceDataBufferType:
        if (c->have_slice) {
            if ((uint64_t)c->slice_offset + c->slice_size > size) {
                return VA_STATUS_ERROR_INVALID_PARAMETER;
            }
            c->have_slice = false;
            return vv_append_bits(c, data + c->slice_offset, c->slice_size);
        }
        return vv_append_bits(c, data, size);
    case VAEncSequenceParameterBufferType:
        if (vp9 && size >= sizeof(c->enc_seq)) {
            memcpy(&c->enc_seq, data, sizeof(c->enc_seq));
            c->have_seq = true;
        }
        break;
    case VAEncMiscParameterBufferType:
        return vv_render_misc(c, data, size);
    default:
        break;
    }
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_render_picture(VADriverContextP ctx, VAContextID context,
                                  VABufferID *buffers, int num)
{
    VvDriver *d = vv_enter(ctx, "vaRenderPicture ctx=0x%x n=%d", context, num);
    VvContext *c = vv_table_get(&d->contexts, context);
    VAStatus st;
    int i;

    if (!c) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONTEXT);
    }
    if (num < 0 || (num > 0 && !buffers)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    if (vv_lost()) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (!c->in_picture) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    for (i = 0; i < num; i++) {
        if (!vv_table_get(&d->buffers, buffers[i])) {
            return vv_leave(d, VA_STATUS_ERROR_INVALID_BUFFER);
        }
    }
    for (i = 0; i < num; i++) {
        VvBuffer *b = vv_table_get(&d->buffers, buffers[i]);

        vv_log(d, "  buffer 0x%x type=%d size=%u", buffers[i], b->type,
               b->size * b->num_elements);
        st = vv_render_one(d, c, b);
        if (st != VA_STATUS_SUCCESS) {
            return vv_leave(d, st);
        }
    }
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_end_decode(VvDriver *d, VvContext *c, VvSurface *s)
{
    VvVp9Header h;
    VvView out;
    VAStatus st;

    if (!c->bits_size) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    if (c->have_dec_pic && c->dec_pic.profile != 0) {
        return VA_STATUS_ERROR_UNSUPPORTED_PROFILE;
    }
    if (vv_vp9_parse_header(c->bits, c->bits_size, &h) < 0) {
        return VA_STATUS_ERROR_DECODING_ERROR;
    }
    if (!c->codec) {
        if (!h.key_frame && d->parked) {
            c->codec = d->parked;
            d->parked = NULL;
        } else {
            c->codec = vv_vp9_decoder_new();
            if (!c->codec) {
                return VA_STATUS_ERROR_ALLOCATION_FAILED;
            }
        }
    }
    vv_surface_view(s, &out);
    st = vv_vp9_decode(c->codec, c->bits, c->bits_size, &out);
    if (st == VA_STATUS_SUCCESS) {
        d->n_decoded++;
        vv_log(d, "  decoded %s%s frame, %zu bytes (total %llu)",
               h.key_frame ? "key" : "inter", h.show_frame ? "" : " hidden",
               c->bits_size, (unsigned long long)d->n_decoded);
    }
    return st;
}

static VAStatus vv_end_encode(VvDriver *d, VvContext *c, VvSurface *s)
{
    const VAEncPictureParameterBufferVP9 *pic = &c->enc_pic;
    VACodedBufferSegment *seg;
    VvEncParams p = { 0 };
    const uint8_t *pkt;
    size_t pkt_size;
    VvBuffer *coded;
    VvView in;
    VAStatus st;

    if (!c->have_enc_pic) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    coded = vv_table_get(&d->buffers, pic->coded_buf);
    if (!coded || coded->type != VAEncCodedBufferType) {
        return VA_STATUS_ERROR_INVALID_BUFFER;
    }
    p.width = pic->frame_width_src ? pic->frame_width_src
                                   : (uint32_t)c->width;
    p.height = pic->frame_height_src ? pic->frame_height_src
                                     : (uint32_t)c->height;
    p.key_frame = pic->pic_flags.bits.frame_type == 0 ||
                  pic->ref_flags.bits.force_kf;
    p.cqp = c->cfg.rc_mode == VA_RC_CQP;
    p.qindex = pic->luma_ac_qindex;
    p.bits_per_second = c->have_rc ? c->rc_bps
                        : c->have_seq ? c->enc_seq.bits_per_second : 0;
    p.target_percentage = c->have_rc ? c->rc_target : 100;
    if (c->cfg.rc_mode == VA_RC_CBR) {
        p.target_percentage = 100;
    }
    p.fr_num = c->fr_num;
    p.fr_den = c->fr_den;

    vv_surface_view(s, &in);
    st = vv_vp9_encode(c->codec, &p, &in, &pkt, &pkt_size);
    if (st != VA_STATUS_SUCCESS) {
        return st;
    }
    if (pkt_size > coded->coded_cap) {
        uint8_t *nd = realloc(coded->data, sizeof(*seg) + pkt_size);

        if (!nd) {
            return VA_STATUS_ERROR_ALLOCATION_FAILED;
        }
        coded->data = nd;
        coded->coded_cap = pkt_size;
    }
    seg = (VACodedBufferSegment *)coded->data;
    memset(seg, 0, sizeof(*seg));
    seg->buf = coded->data + sizeof(*seg);
    seg->size = pkt_size;
    seg->bit_offset = 0;
    seg->status = 0;
    seg->next = NULL;
    memcpy(seg->buf, pkt, pkt_size);
    d->n_encoded++;
    vv_log(d, "  encoded %s frame %ux%u, %zu bytes (total %llu)",
           p.key_frame ? "key" : "inter", p.width, p.height, pkt_size,
           (unsigned long long)d->n_encoded);
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_end_picture(VADriverContextP ctx, VAContextID context)
{
    VvDriver *d = vv_enter(ctx, "vaEndPicture ctx=0x%x", context);
    VvContext *c = vv_table_get(&d->contexts, context);
    VvSurface *s;
    VAStatus st;

    if (!c) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_CONTEXT);
    }
    if (vv_fail_hit(VV_FAIL_DEVICE_LOST) || vv_lost()) {
        c->in_picture = false;
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (!c->in_picture) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    c->in_picture = false;
    s = vv_table_get(&d->surfaces, c->target);
    if (!s) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    if (c->cfg.profile != VAProfileVP9Profile0) {
        st = VA_STATUS_ERROR_UNSUPPORTED_PROFILE;
    } else if (c->cfg.entrypoint == VAEntrypointVLD) {
        s->decoded = true;
        st = vv_end_decode(d, c, s);
    } else {
        s->decoded = false;
        if (!c->codec) {
            c->codec = vv_vp9_encoder_new();
        }
        st = c->codec ? vv_end_encode(d, c, s)
                      : VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    vv_reset_picture(c);
    return vv_leave(d, st);
}

/* ---- vtable: images ---- */

static VAStatus vv_query_image_formats(VADriverContextP ctx,
                                       VAImageFormat *list, int *num)
{
    VvDriver *d = vv_enter(ctx, "vaQueryImageFormats");

    if (!list || !num) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    memcpy(list, vv_image_formats, sizeof(vv_image_formats));
    *num = VV_N_IMAGE_FORMATS;
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* Register @img's buffer and the image itself; fills ids. */
static VAStatus vv_image_register(VvDriver *d, VAImage *img, VvBuffer *b)
{
    VvImage *im = calloc(1, sizeof(*im));

    img->buf = im ? vv_table_add(&d->buffers, b) : VA_INVALID_ID;
    if (img->buf == VA_INVALID_ID) {
        free(im);
        vv_buffer_free(b);
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    img->image_id = vv_table_add(&d->images, im);
    if (img->image_id == VA_INVALID_ID) {
        vv_table_remove(&d->buffers, img->buf);
        vv_buffer_free(b);
        free(im);
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    im->image = *img;
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_create_image(VADriverContextP ctx, VAImageFormat *format,
                                int width, int height, VAImage *image)
{
    VvDriver *d = vv_enter(ctx, "vaCreateImage %dx%d", width, height);
    uint32_t pitch, ah, cpitch;
    VvBuffer *b;
    VAImage img;
    VAStatus st;
    int i;

    if (!format || !image || width <= 0 || height <= 0 ||
        (uint32_t)width > d->max_width || (uint32_t)height > d->max_height) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    for (i = 0; i < VV_N_IMAGE_FORMATS; i++) {
        if (vv_image_formats[i].fourcc == format->fourcc) {
            break;
        }
    }
    if (i == VV_N_IMAGE_FORMATS) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_IMAGE_FORMAT);
    }
    memset(&img, 0, sizeof(img));
    img.format = vv_image_formats[i];
    img.width = width;
    img.height = height;
    pitch = VV_ALIGN((uint32_t)width, 32);
    ah = VV_ALIGN((uint32_t)height, 2);
    img.pitches[0] = pitch;
    img.offsets[0] = 0;
    if (format->fourcc == VA_FOURCC_NV12) {
        img.num_planes = 2;
        img.pitches[1] = pitch;
        img.offsets[1] = pitch * ah;
        img.data_size = pitch * ah + pitch * ah / 2;
    } else {
        cpitch = pitch / 2;
        img.num_planes = 3;
        img.pitches[1] = img.pitches[2] = cpitch;
        img.offsets[1] = pitch * ah;
        img.offsets[2] = img.offsets[1] + cpitch * ah / 2;
        img.data_size = img.offsets[2] + cpitch * ah / 2;
    }
    b = calloc(1, sizeof(*b));
    if (b) {
        b->data = calloc(1, img.data_size);
    }
    if (!b || !b->data) {
        free(b);
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    b->type = VAImageBufferType;
    b->context = VA_INVALID_ID;
    b->size = img.data_size;
    b->num_elements = b->max_elements = 1;
    st = vv_image_register(d, &img, b);
    if (st == VA_STATUS_SUCCESS) {
        *image = img;
        vv_log(d, "  -> image 0x%x buf 0x%x", img.image_id, img.buf);
    }
    return vv_leave(d, st);
}

static VAStatus vv_derive_image(VADriverContextP ctx, VASurfaceID surface,
                                VAImage *image)
{
    VvDriver *d = vv_enter(ctx, "vaDeriveImage 0x%x", surface);
    VvSurface *s = vv_table_get(&d->surfaces, surface);
    VvBuffer *b;
    VAImage img;
    VAStatus st;

    if (!s) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    if (!image) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    if (vv_lost() || vv_fail_hit(VV_FAIL_MAP)) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    memset(&img, 0, sizeof(img));
    img.format = vv_image_formats[0];
    img.width = s->width;
    img.height = s->height;
    img.num_planes = 2;
    img.pitches[0] = img.pitches[1] = s->pitch;
    img.offsets[0] = 0;
    img.offsets[1] = s->uv_offset;
    img.data_size = s->store->size;
    b = calloc(1, sizeof(*b));
    if (!b) {
        return vv_leave(d, VA_STATUS_ERROR_ALLOCATION_FAILED);
    }
    b->type = VAImageBufferType;
    b->context = VA_INVALID_ID;
    b->size = img.data_size;
    b->num_elements = b->max_elements = 1;
    b->store = s->store;
    s->store->refs++;
    st = vv_image_register(d, &img, b);
    if (st == VA_STATUS_SUCCESS) {
        *image = img;
        vv_log(d, "  -> image 0x%x buf 0x%x", img.image_id, img.buf);
    }
    return vv_leave(d, st);
}

static VAStatus vv_destroy_image(VADriverContextP ctx, VAImageID id)
{
    VvDriver *d = vv_enter(ctx, "vaDestroyImage 0x%x", id);
    VvImage *im = vv_table_get(&d->images, id);

    if (!im) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_IMAGE);
    }
    vv_buffer_free(vv_table_get(&d->buffers, im->image.buf));
    vv_table_remove(&d->buffers, im->image.buf);
    vv_table_remove(&d->images, id);
    free(im);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_set_image_palette(VADriverContextP ctx, VAImageID id,
                                     unsigned char *palette)
{
    VvDriver *d = vv_enter(ctx, "vaSetImagePalette 0x%x", id);

    (void)palette;
    if (!vv_table_get(&d->images, id)) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_IMAGE);
    }
    return vv_leave(d, VA_STATUS_ERROR_UNIMPLEMENTED);
}

/* The image and its data, or an error status. */
static VAStatus vv_image_lookup(VvDriver *d, VAImageID id, VvImage **im,
                                uint8_t **data)
{
    VvBuffer *b;

    *im = vv_table_get(&d->images, id);
    if (!*im) {
        return VA_STATUS_ERROR_INVALID_IMAGE;
    }
    b = vv_table_get(&d->buffers, (*im)->image.buf);
    if (!b) {
        return VA_STATUS_ERROR_INVALID_BUFFER;
    }
    *data = vv_buffer_data(b);
    return VA_STATUS_SUCCESS;
}

static VAStatus vv_get_image(VADriverContextP ctx, VASurfaceID surface,
                             int x, int y, unsigned int width,
                             unsigned int height, VAImageID image)
{
    VvDriver *d = vv_enter(ctx, "vaGetImage 0x%x (%d,%d %ux%u) -> 0x%x",
                           surface, x, y, width, height, image);
    VvSurface *s = vv_table_get(&d->surfaces, surface);
    VvView sv, iv;
    uint8_t *data;
    VvImage *im;
    VAStatus st;

    if (!s) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    st = vv_image_lookup(d, image, &im, &data);
    if (st != VA_STATUS_SUCCESS) {
        return vv_leave(d, st);
    }
    if (vv_lost() || vv_fail_hit(VV_FAIL_MAP)) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (x < 0 || y < 0 || (uint64_t)x + width > s->width ||
        (uint64_t)y + height > s->height || width > im->image.width ||
        height > im->image.height) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    vv_surface_view(s, &sv);
    vv_image_view(&im->image, data, &iv);
    vv_view_copy(&iv, 0, 0, &sv, x, y, width, height);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

static VAStatus vv_put_image(VADriverContextP ctx, VASurfaceID surface,
                             VAImageID image, int src_x, int src_y,
                             unsigned int src_w, unsigned int src_h,
                             int dst_x, int dst_y, unsigned int dst_w,
                             unsigned int dst_h)
{
    VvDriver *d = vv_enter(ctx, "vaPutImage 0x%x -> 0x%x (%ux%u)", image,
                           surface, dst_w, dst_h);
    VvSurface *s = vv_table_get(&d->surfaces, surface);
    VvView sv, iv;
    uint8_t *data;
    VvImage *im;
    VAStatus st;

    if (!s) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_SURFACE);
    }
    st = vv_image_lookup(d, image, &im, &data);
    if (st != VA_STATUS_SUCCESS) {
        return vv_leave(d, st);
    }
    if (vv_lost()) {
        return vv_leave(d, VA_STATUS_ERROR_OPERATION_FAILED);
    }
    if (src_w != dst_w || src_h != dst_h) {
        return vv_leave(d, VA_STATUS_ERROR_UNIMPLEMENTED);   /* scaling */
    }
    if (src_x < 0 || src_y < 0 || dst_x < 0 || dst_y < 0 ||
        (uint64_t)src_x + src_w > im->image.width ||
        (uint64_t)src_y + src_h > im->image.height ||
        (uint64_t)dst_x + dst_w > s->width ||
        (uint64_t)dst_y + dst_h > s->height) {
        return vv_leave(d, VA_STATUS_ERROR_INVALID_PARAMETER);
    }
    vv_surface_view(s, &sv);
    vv_image_view(&im->image, data, &iv);
    vv_view_copy(&sv, dst_x, dst_y, &iv, src_x, src_y, src_w, src_h);
    return vv_leave(d, VA_STATUS_SUCCESS);
}

/* ---- vtable: stubs ---- */

static VAStatus vv_query_surface_error(VADriverContextP ctx, VASurfaceID id,
                                       VAStatus error_status, void **info)
{
    (void)ctx; (void)id; (void)error_status; (void)info;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_put_surface(VADriverContextP ctx, VASurfaceID surface,
                               void *draw, short srcx, short srcy,
                               unsigned short srcw, unsigned short srch,
                               short destx, short desty,
                               unsigned short destw, unsigned short desth,
                               VARectangle *cliprects,
                               unsigned int number_cliprects,
                               unsigned int flags)
{
    (void)ctx; (void)surface; (void)draw; (void)srcx; (void)srcy;
    (void)srcw; (void)srch; (void)destx; (void)desty; (void)destw;
    (void)desth; (void)cliprects; (void)number_cliprects; (void)flags;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_query_subpicture_formats(VADriverContextP ctx,
                                            VAImageFormat *list,
                                            unsigned int *flags,
                                            unsigned int *num)
{
    (void)ctx; (void)list; (void)flags;
    if (num) {
        *num = 0;
    }
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_create_subpicture(VADriverContextP ctx, VAImageID image,
                                     VASubpictureID *subpicture)
{
    (void)ctx; (void)image; (void)subpicture;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_destroy_subpicture(VADriverContextP ctx,
                                      VASubpictureID subpicture)
{
    (void)ctx; (void)subpicture;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_set_subpicture_image(VADriverContextP ctx,
                                        VASubpictureID subpicture,
                                        VAImageID image)
{
    (void)ctx; (void)subpicture; (void)image;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_set_subpicture_chromakey(VADriverContextP ctx,
                                            VASubpictureID subpicture,
                                            unsigned int min,
                                            unsigned int max,
                                            unsigned int mask)
{
    (void)ctx; (void)subpicture; (void)min; (void)max; (void)mask;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_set_subpicture_global_alpha(VADriverContextP ctx,
                                               VASubpictureID subpicture,
                                               float alpha)
{
    (void)ctx; (void)subpicture; (void)alpha;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_associate_subpicture(VADriverContextP ctx,
                                        VASubpictureID subpicture,
                                        VASurfaceID *targets, int num,
                                        short src_x, short src_y,
                                        unsigned short src_w,
                                        unsigned short src_h,
                                        short dst_x, short dst_y,
                                        unsigned short dst_w,
                                        unsigned short dst_h,
                                        unsigned int flags)
{
    (void)ctx; (void)subpicture; (void)targets; (void)num; (void)src_x;
    (void)src_y; (void)src_w; (void)src_h; (void)dst_x; (void)dst_y;
    (void)dst_w; (void)dst_h; (void)flags;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_deassociate_subpicture(VADriverContextP ctx,
                                          VASubpictureID subpicture,
                                          VASurfaceID *targets, int num)
{
    (void)ctx; (void)subpicture; (void)targets; (void)num;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_query_display_attributes(VADriverContextP ctx,
                                            VADisplayAttribute *list,
                                            int *num)
{
    (void)ctx; (void)list;
    if (num) {
        *num = 0;
    }
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_get_display_attributes(VADriverContextP ctx,
                                          VADisplayAttribute *list, int num)
{
    (void)ctx; (void)list; (void)num;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_set_display_attributes(VADriverContextP ctx,
                                          VADisplayAttribute *list, int num)
{
    (void)ctx; (void)list; (void)num;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_lock_surface(VADriverContextP ctx, VASurfaceID surface,
                                unsigned int *fourcc,
                                unsigned int *luma_stride,
                                unsigned int *chroma_u_stride,
                                unsigned int *chroma_v_stride,
                                unsigned int *luma_offset,
                                unsigned int *chroma_u_offset,
                                unsigned int *chroma_v_offset,
                                unsigned int *buffer_name, void **buffer)
{
    (void)ctx; (void)surface; (void)fourcc; (void)luma_stride;
    (void)chroma_u_stride; (void)chroma_v_stride; (void)luma_offset;
    (void)chroma_u_offset; (void)chroma_v_offset; (void)buffer_name;
    (void)buffer;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

static VAStatus vv_unlock_surface(VADriverContextP ctx, VASurfaceID surface)
{
    (void)ctx; (void)surface;
    return VA_STATUS_ERROR_UNIMPLEMENTED;
}

/* ---- init / terminate ---- */

static void vv_table_free(VvTable *t, void (*fn)(void *obj, void *opaque),
                          void *opaque)
{
    uint32_t i;

    for (i = 0; i < t->size; i++) {
        if (t->slot[i]) {
            fn(t->slot[i], opaque);
        }
    }
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

static void vv_free_plain(void *obj, void *opaque)
{
    (void)opaque;
    free(obj);
}

static void vv_free_context_cb(void *obj, void *opaque)
{
    vv_context_free(opaque, obj);
}

static void vv_free_surface_cb(void *obj, void *opaque)
{
    (void)opaque;
    vv_surface_free(obj);
}

static void vv_free_buffer_cb(void *obj, void *opaque)
{
    (void)opaque;
    vv_buffer_free(obj);
}

static void vv_driver_free(VvDriver *d)
{
    vv_table_free(&d->contexts, vv_free_context_cb, d);
    vv_table_free(&d->configs, vv_free_plain, NULL);
    vv_table_free(&d->images, vv_free_plain, NULL);
    vv_table_free(&d->buffers, vv_free_buffer_cb, NULL);
    vv_table_free(&d->surfaces, vv_free_surface_cb, NULL);
    vv_codec_free(d->parked);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static VAStatus vv_terminate(VADriverContextP ctx)
{
    VvDriver *d = ctx->pDriverData;

    if (!d) {
        return VA_STATUS_ERROR_INVALID_DISPLAY;
    }
    if (d->log || d->stats) {
        fprintf(stderr, "vvtest: decoded=%llu encoded=%llu\n",
                (unsigned long long)d->n_decoded,
                (unsigned long long)d->n_encoded);
    }
    vv_driver_free(d);
    ctx->pDriverData = NULL;
    return VA_STATUS_SUCCESS;
}


VV_EXPORT VAStatus __vaDriverInit_1_0(VADriverContextP ctx)
{
    struct VADriverVTable *vt = ctx->vtable;
    const char *profiles = getenv("VVTEST_PROFILES");
    const char *fail = getenv("VVTEST_FAIL");
    VvDriver *d;

    if (fail && !vv_parse_fail(fail)) {
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }
    if (vv_fail_hit(VV_FAIL_INIT)) {
        return VA_STATUS_ERROR_OPERATION_FAILED;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        return VA_STATUS_ERROR_ALLOCATION_FAILED;
    }
    pthread_mutex_init(&d->lock, NULL);
    vv_table_init(&d->configs, 0x01000000);
    vv_table_init(&d->contexts, 0x02000000);
    vv_table_init(&d->surfaces, 0x04000000);
    vv_table_init(&d->buffers, 0x08000000);
    vv_table_init(&d->images, 0x0c000000);
    d->log = vv_env_flag("VVTEST_LOG");
    d->stats = vv_env_flag("VVTEST_STATS");
    if (!vv_parse_profiles(d, profiles ? profiles
                                       : "vp9-0:vld,vp9-0:enc") ||
        !vv_parse_size("VVTEST_MAX_WIDTH", &d->max_width) ||
        !vv_parse_size("VVTEST_MAX_HEIGHT", &d->max_height)) {
        vv_driver_free(d);
        return VA_STATUS_ERROR_INVALID_PARAMETER;
    }

    ctx->pDriverData = d;
    ctx->version_major = VA_MAJOR_VERSION;
    ctx->version_minor = VA_MINOR_VERSION;
    ctx->max_profiles = VV_MAX_PROFILES;
    ctx->max_entrypoints = 4;
    ctx->max_attributes = VV_MAX_ATTRIBUTES;
    ctx->max_image_formats = VV_N_IMAGE_FORMATS;
    ctx->max_subpic_formats = 1;
    ctx->max_display_attributes = 1;
    ctx->str_vendor = VV_VENDOR;

    vt->vaTerminate = vv_terminate;
    vt->vaQueryConfigProfiles = vv_query_config_profiles;
    vt->vaQueryConfigEntrypoints = vv_query_config_entrypoints;
    vt->vaGetConfigAttributes = vv_get_config_attributes;
    vt->vaCreateConfig = vv_create_config;
    vt->vaDestroyConfig = vv_destroy_config;
    vt->vaQueryConfigAttributes = vv_query_config_attributes;
    vt->vaCreateSurfaces = vv_create_surfaces;
    vt->vaDestroySurfaces = vv_destroy_surfaces;
    vt->vaCreateContext = vv_create_context;
    vt->vaDestroyContext = vv_destroy_context;
    vt->vaCreateBuffer = vv_create_buffer;
    vt->vaBufferSetNumElements = vv_buffer_set_num_elements;
    vt->vaMapBuffer = vv_map_buffer;
    vt->vaUnmapBuffer = vv_unmap_buffer;
    vt->vaDestroyBuffer = vv_destroy_buffer;
    vt->vaBeginPicture = vv_begin_picture;
    vt->vaRenderPicture = vv_render_picture;
    vt->vaEndPicture = vv_end_picture;
    vt->vaSyncSurface = vv_sync_surface;
    vt->vaQuerySurfaceStatus = vv_query_surface_status;
    vt->vaQuerySurfaceError = vv_query_surface_error;
    vt->vaPutSurface = vv_put_surface;
    vt->vaQueryImageFormats = vv_query_image_formats;
    vt->vaCreateImage = vv_create_image;
    vt->vaDeriveImage = vv_derive_image;
    vt->vaDestroyImage = vv_destroy_image;
    vt->vaSetImagePalette = vv_set_image_palette;
    vt->vaGetImage = vv_get_image;
    vt->vaPutImage = vv_put_image;
    vt->vaQuerySubpictureFormats = vv_query_subpicture_formats;
    vt->vaCreateSubpicture = vv_create_subpicture;
    vt->vaDestroySubpicture = vv_destroy_subpicture;
    vt->vaSetSubpictureImage = vv_set_subpicture_image;
    vt->vaSetSubpictureChromakey = vv_set_subpicture_chromakey;
    vt->vaSetSubpictureGlobalAlpha = vv_set_subpicture_global_alpha;
    vt->vaAssociateSubpicture = vv_associate_subpicture;
    vt->vaDeassociateSubpicture = vv_deassociate_subpicture;
    vt->vaQueryDisplayAttributes = vv_query_display_attributes;
    vt->vaGetDisplayAttributes = vv_get_display_attributes;
    vt->vaSetDisplayAttributes = vv_set_display_attributes;
    vt->vaBufferInfo = vv_buffer_info;
    vt->vaLockSurface = vv_lock_surface;
    vt->vaUnlockSurface = vv_unlock_surface;
    vt->vaCreateSurfaces2 = vv_create_surfaces2;
    vt->vaQuerySurfaceAttributes = vv_query_surface_attributes;

    vv_log(d, "init: %d profile/entrypoint pairs, max %ux%u", d->n_prof,
           d->max_width, d->max_height);
    return VA_STATUS_SUCCESS;
}
