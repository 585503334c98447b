/*
 * virtio-video engine: hardware devices, the API-independent part.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <libavutil/buffer.h>
#include <libavutil/hwcontext.h>

#include "vv-hw.h"

#ifndef VV_HAVE_VAAPI
bool vv_hw_vaapi_built(void)
{
    return false;
}

bool vv_hw_vaapi_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err)
{
    *err = g_strdup("this build has no VA-API support (libva missing)");
    return false;
}
#endif

#ifndef VV_HAVE_CUDA
bool vv_hw_cuda_built(void)
{
    return false;
}

bool vv_hw_cuda_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err)
{
    *err = g_strdup("this build has no CUDA support (nv-codec-headers "
                    "missing)");
    return false;
}
#endif

void vv_hw_free(VvHwDevice *hw)
{
    if (!hw) {
        return;
    }
    av_buffer_unref(&hw->device);
    if (hw->free_priv) {
        hw->free_priv(hw->priv);
    }
    g_free(hw->description);
    g_free(hw);
}

const VvHwFormat *vv_hw_format(const VvHwDevice *hw, uint32_t format)
{
    unsigned i;

    for (i = 0; hw && i < hw->num_formats; i++) {
        if (hw->formats[i].format == format) {
            return &hw->formats[i];
        }
    }
    return NULL;
}

VvHwFormat *vv_hw_add_format(VvHwDevice *hw, uint32_t format)
{
    VvHwFormat *f = (VvHwFormat *)vv_hw_format(hw, format);

    if (f || hw->num_formats == VV_HW_MAX_FORMATS) {
        return f;
    }
    f = &hw->formats[hw->num_formats++];
    memset(f, 0, sizeof(*f));
    f->format = format;
    return f;
}

void vv_hw_add_profile(VvHwFormat *f, uint32_t profile)
{
    unsigned i;

    for (i = 0; i < f->num_profiles; i++) {
        if (f->profiles[i] == profile) {
            return;
        }
    }
    if (f->num_profiles < VV_HW_MAX_PROFILES) {
        f->profiles[f->num_profiles++] = profile;
    }
}

void vv_hw_restrict_caps(const VvHwDevice *hw, VvCaps *caps)
{
    unsigned coded_q = hw->mode == VV_MODE_DECODER ? VV_QUEUE_INPUT
                                                   : VV_QUEUE_OUTPUT;
    VvQueueCaps *q = &caps->queue[coded_q];
    unsigned i, k;

    for (i = 0; i < q->num_formats; i++) {
        VvFormatCaps *f = &q->formats[i];
        const VvHwFormat *hf = vv_hw_format(hw, f->format);

        if (!hf) {
            /* paired with nothing: vv_caps_prune() drops it */
            f->mask = 0;
            continue;
        }
        for (k = 0; k < f->num_frames; k++) {
            VvFrameCaps *fr = &f->frames[k];

            fr->width.min = MAX(fr->width.min, hf->min_w);
            fr->height.min = MAX(fr->height.min, hf->min_h);
            fr->width.max = MIN(fr->width.max, hf->max_w);
            fr->height.max = MIN(fr->height.max, hf->max_h);
            if (fr->width.min > fr->width.max ||
                fr->height.min > fr->height.max) {
                f->mask = 0;
            }
        }
    }
    /* the other side's masks must forget the formats that went */
    for (i = 0; i < q->num_formats; i++) {
        if (!q->formats[i].mask) {
            VvQueueCaps *o = &caps->queue[!coded_q];

            for (k = 0; k < o->num_formats; k++) {
                o->formats[k].mask &= ~(UINT64_C(1) << i);
            }
        }
    }
    vv_caps_prune(caps);
}
