/*
 * virtio-video engine: QUERY_CONTROL and GET_CONTROL.
 *
 * Profiles come from the codec libavcodec would use for the format (its
 * AVCodec.profiles list), mapped to the protocol's values; with a hardware
 * backend alone (vaapi, cuda), from what the device said it does.  (With
 * auto, software takes what the device cannot: libavcodec's list.)
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <glib.h>
#include <libavcodec/avcodec.h>

#include "vv-internal.h"
#include "vv-lavc.h"

static const struct {
    uint32_t format;
    int lavc;
    uint32_t virtio;
} profile_map[] = {
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_BASELINE,
      VIRTIO_VIDEO_PROFILE_H264_BASELINE },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_CONSTRAINED_BASELINE,
      VIRTIO_VIDEO_PROFILE_H264_BASELINE },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_MAIN,
      VIRTIO_VIDEO_PROFILE_H264_MAIN },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_EXTENDED,
      VIRTIO_VIDEO_PROFILE_H264_EXTENDED },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_HIGH,
      VIRTIO_VIDEO_PROFILE_H264_HIGH },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_HIGH_10,
      VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_HIGH_422,
      VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_HIGH_444_PREDICTIVE,
      VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_MULTIVIEW_HIGH,
      VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH },
    { VIRTIO_VIDEO_FORMAT_H264, AV_PROFILE_H264_STEREO_HIGH,
      VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH },
    { VIRTIO_VIDEO_FORMAT_HEVC, AV_PROFILE_HEVC_MAIN,
      VIRTIO_VIDEO_PROFILE_HEVC_MAIN },
    { VIRTIO_VIDEO_FORMAT_HEVC, AV_PROFILE_HEVC_MAIN_10,
      VIRTIO_VIDEO_PROFILE_HEVC_MAIN10 },
    { VIRTIO_VIDEO_FORMAT_HEVC, AV_PROFILE_HEVC_MAIN_STILL_PICTURE,
      VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE },
    { VIRTIO_VIDEO_FORMAT_VP9, AV_PROFILE_VP9_0,
      VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 },
    { VIRTIO_VIDEO_FORMAT_VP9, AV_PROFILE_VP9_1,
      VIRTIO_VIDEO_PROFILE_VP9_PROFILE1 },
    { VIRTIO_VIDEO_FORMAT_VP9, AV_PROFILE_VP9_2,
      VIRTIO_VIDEO_PROFILE_VP9_PROFILE2 },
    { VIRTIO_VIDEO_FORMAT_VP9, AV_PROFILE_VP9_3,
      VIRTIO_VIDEO_PROFILE_VP9_PROFILE3 },
};

uint32_t vv_profile_from_lavc(uint32_t coded_format, int profile)
{
    size_t i;

    if (coded_format == VIRTIO_VIDEO_FORMAT_VP8 && profile >= 0 &&
        profile <= 3) {
        return VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 + profile;
    }
    for (i = 0; i < G_N_ELEMENTS(profile_map); i++) {
        if (profile_map[i].format == coded_format &&
            profile_map[i].lavc == profile) {
            return profile_map[i].virtio;
        }
    }
    return vv_default_profile(coded_format);
}

uint32_t vv_level_from_lavc(uint32_t coded_format, int level)
{
    /* H.264 level_idc: 10, 11, 12, 13, 20, 21, 22, 30, ... 51 */
    static const int idc[] = {
        10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51,
    };
    size_t i;

    if (coded_format != VIRTIO_VIDEO_FORMAT_H264) {
        return VIRTIO_VIDEO_LEVEL_UNDEFINED;
    }
    for (i = 0; i < G_N_ELEMENTS(idc); i++) {
        if (idc[i] == level) {
            return VIRTIO_VIDEO_LEVEL_H264_1_0 + i;
        }
    }
    /* level 1b (9) and anything above 5.1 have no value: nearest */
    return level > 51 ? VIRTIO_VIDEO_LEVEL_H264_5_1
                      : VIRTIO_VIDEO_LEVEL_H264_1_0;
}

/* Profiles the codec for @format supports; returns how many. */
static unsigned codec_profiles(VvEngine *e, uint32_t format, uint32_t *out,
                               unsigned max)
{
    const VvLavcFormat *lf = vv_lavc_format(format);
    const VvHwFormat *hf = vv_hw_format(e->hw, format);
    const AVCodec *codec;
    const AVProfile *p;
    unsigned n = 0, i;

    if (hf && e->hw_only) {
        /* exactly what the device said it does */
        for (i = 0; i < hf->num_profiles && n < max; i++) {
            out[n++] = hf->profiles[i];
        }
        return n;
    }

    codec = lf ? vv_lavc_find_codec(lf->codec_id,
                                    e->cfg.mode == VV_MODE_ENCODER) : NULL;
    if (!codec) {
        return 0;
    }
    if (e->cfg.mode == VV_MODE_ENCODER) {
        /* what 8-bit 4:2:0 input can be encoded in by this encoder */
        for (i = VIRTIO_VIDEO_PROFILE_H264_MIN;
             i <= VIRTIO_VIDEO_PROFILE_VP9_MAX && n < max; i++) {
            if (e->mode_ops->profile_supported(e, format, i)) {
                out[n++] = i;
            }
        }
        return n;
    }
    if (format == VIRTIO_VIDEO_FORMAT_VP8) {
        /* libavcodec has no VP8 profile list; its decoder takes all four */
        for (i = 0; i < 4 && n < max; i++) {
            out[n++] = VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 + i;
        }
        return n;
    }
    for (p = codec->profiles; p && p->profile != AV_PROFILE_UNKNOWN; p++) {
        uint32_t v = vv_profile_from_lavc(format, p->profile);
        bool dup = false;

        for (i = 0; i < n; i++) {
            dup |= out[i] == v;
        }
        if (v != VIRTIO_VIDEO_PROFILE_UNDEFINED && !dup && n < max) {
            out[n++] = v;
        }
    }
    if (!n && vv_default_profile(format)) {
        out[n++] = vv_default_profile(format);
    }
    return n;
}

static size_t unsupported(VvEngine *e, const VvRequest *req, uint8_t *resp,
                          const char *why)
{
    vv_guest_error(e, "virtio-video: %s of control %u: %s",
                   vv_cmd_name(req->type), req->u.query_control.control, why);
    return vv_write_hdr(resp, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL,
                        req->stream_id);
}

size_t vv_query_control(VvEngine *e, const VvRequest *req, uint8_t *resp,
                        size_t resp_size)
{
    uint32_t format = req->u.query_control.format;
    unsigned coded_q = e->cfg.mode == VV_MODE_DECODER ? VV_QUEUE_INPUT
                                                      : VV_QUEUE_OUTPUT;
    uint32_t values[32];
    unsigned n = 0, i;
    size_t len;

    if (vv_caps_find(&e->caps.queue[coded_q], format) < 0) {
        return unsupported(e, req, resp, "format not supported");
    }
    switch (req->u.query_control.control) {
    case VIRTIO_VIDEO_CONTROL_PROFILE:
        n = codec_profiles(e, format, values, G_N_ELEMENTS(values));
        break;
    case VIRTIO_VIDEO_CONTROL_LEVEL:
        if (format == VIRTIO_VIDEO_FORMAT_H264) {
            for (i = VIRTIO_VIDEO_LEVEL_H264_MIN;
                 i <= VIRTIO_VIDEO_LEVEL_H264_MAX; i++) {
                values[n++] = i;
            }
        }
        break;
    default:
        break;
    }
    if (!n) {
        return unsupported(e, req, resp, "no values for this format");
    }
    len = sizeof(struct virtio_video_query_control_resp) + 4 * n;
    if (len > resp_size) {
        vv_guest_error(e, "virtio-video: QUERY_CONTROL response buffer "
                       "too small");
        return vv_write_hdr(resp, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                            req->stream_id);
    }
    vv_write_hdr(resp, VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL, req->stream_id);
    vv_st32(resp + 8, n);
    vv_st32(resp + 12, 0);
    for (i = 0; i < n; i++) {
        vv_st32(resp + 16 + 4 * i, values[i]);
    }
    return len;
}

size_t vv_get_control(VvEngine *e, VvStream *s, const VvRequest *req,
                      uint8_t *resp, size_t resp_size)
{
    uint32_t value = 0;
    bool ok = false;

    if (resp_size < sizeof(struct virtio_video_get_control_resp)) {
        vv_guest_error(e, "virtio-video: GET_CONTROL response buffer too "
                       "small");
        return vv_write_hdr(resp, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                            req->stream_id);
    }

    g_mutex_lock(&s->lock);
    ok = s->mode->get_control(s, req->u.get_control.control, &value);
    g_mutex_unlock(&s->lock);
    if (!ok) {
        vv_guest_error(e, "virtio-video: GET_CONTROL %u on stream %u: not "
                       "supported", req->u.get_control.control, s->id);
        return vv_write_hdr(resp, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL,
                            req->stream_id);
    }
    vv_write_hdr(resp, VIRTIO_VIDEO_RESP_OK_GET_CONTROL, req->stream_id);
    vv_st32(resp + 8, value);
    vv_st32(resp + 12, 0);
    return sizeof(struct virtio_video_get_control_resp);
}
