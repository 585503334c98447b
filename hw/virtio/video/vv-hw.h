/*
 * virtio-video engine: hardware codec devices (VA-API, CUDA/NVDEC).
 *
 * A hardware backend is libavcodec driven through a hardware device: the
 * native decoders with their hwaccel (VA-API, NVDEC), the *_vaapi
 * encoders.  What the device offers comes from the device's own answers
 * (libva's profile, entrypoint and surface queries; NVDEC's decoder caps),
 * intersected with what libavcodec and the protocol can carry.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_HW_H
#define HW_VIRTIO_VIDEO_VV_HW_H

#include <stdbool.h>
#include <stdint.h>

#include "vv-caps.h"
#include "vv-engine.h"

#define VV_HW_MAX_FORMATS       8
#define VV_HW_MAX_PROFILES      16

/* What the device does with one coded format. */
typedef struct VvHwFormat {
    uint32_t format;                /* coded VIRTIO_VIDEO_FORMAT_* */
    uint32_t min_w, min_h, max_w, max_h;
    bool low_power;                 /* VA-API: encodes on EncSliceLP only */
    unsigned num_profiles;          /* 0 for formats without profiles */
    uint32_t profiles[VV_HW_MAX_PROFILES];  /* VIRTIO_VIDEO_PROFILE_* */
} VvHwFormat;

typedef struct VvHwDevice {
    const char *name;               /* backend name: "vaapi", "cuda" */
    int type;                       /* enum AVHWDeviceType */
    struct AVBufferRef *device;     /* AVHWDeviceContext */
    char *description;              /* driver, device: for messages */
    VvMode mode;
    unsigned num_formats;
    VvHwFormat formats[VV_HW_MAX_FORMATS];
    void *priv;                     /* the API's own state */
    void (*free_priv)(void *priv);
} VvHwDevice;

void vv_hw_free(VvHwDevice *hw);
/* The device's entry for coded @format, or NULL if it does not serve it. */
const VvHwFormat *vv_hw_format(const VvHwDevice *hw, uint32_t format);
/* Add @profile to @f once. */
void vv_hw_add_profile(VvHwFormat *f, uint32_t profile);
/* @f for @format in @hw, added if new; NULL if the list is full. */
VvHwFormat *vv_hw_add_format(VvHwDevice *hw, uint32_t format);

/*
 * Keep in @caps (the software backend's) only the coded formats @hw
 * serves, at the sizes it can do.
 */
void vv_hw_restrict_caps(const VvHwDevice *hw, VvCaps *caps);

/* The API-specific parts; false and *err if that API cannot start. */
bool vv_hw_vaapi_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err);
bool vv_hw_cuda_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err);

/* Is this backend built in? */
bool vv_hw_vaapi_built(void);
bool vv_hw_cuda_built(void);

#endif
