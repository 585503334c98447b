/*
 * virtio-video engine: the CUDA device (NVDEC decoding, NVENC encoding).
 *
 * libavcodec's NVDEC hwaccel and NVENC encoders load the NVIDIA driver's
 * libraries when they run, so nothing NVIDIA is needed to build or to run
 * elsewhere.  The device is CUDA device 0 (render-node= is VA-API's).
 * Decoding: what NVDEC says it decodes (cuvidGetDecoderCaps, through
 * FFmpeg's nv-codec-headers loader, 8-bit 4:2:0 only), where libavcodec
 * has the codec's NVDEC hwaccel.  Encoding: each *_nvenc encoder that
 * really opens on the GPU (a GPU without NVENC, such as a data-centre
 * H100/H200, has none).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
/*
 * CUDA's types for libavutil's header, without the CUDA toolkit; the
 * loader's complaints stay quiet: a host without the NVIDIA driver is
 * normal for backend=auto, and vv_hw_cuda_open() says it in one line.
 */
#define FFNV_LOG_FUNC(logctx, msg, ...)         do { } while (0)
#define FFNV_DEBUG_LOG_FUNC(logctx, msg, ...)   do { } while (0)
#include <ffnvcodec/dynlink_loader.h>
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/hwcontext_cuda.h>

#include "standard-headers/linux/virtio_video.h"
#include "vv-hw.h"
#include "vv-lavc.h"

bool vv_hw_cuda_built(void)
{
    return true;
}

/* Does libavcodec's decoder for @format have an NVDEC hwaccel? */
static bool lavc_has_nvdec(uint32_t format)
{
    const VvLavcFormat *lf = vv_lavc_format(format);
    const AVCodec *c = lf ? avcodec_find_decoder(lf->codec_id) : NULL;
    int k;

    for (k = 0; c; k++) {
        const AVCodecHWConfig *hc = avcodec_get_hw_config(c, k);

        if (!hc) {
            break;
        }
        if (hc->device_type == AV_HWDEVICE_TYPE_CUDA &&
            (hc->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX)) {
            return true;
        }
    }
    return false;
}

static const struct {
    uint32_t format;
    cudaVideoCodec codec;
    uint32_t profiles[4];
} nvdec_formats[] = {
    { VIRTIO_VIDEO_FORMAT_H264, cudaVideoCodec_H264,
      { VIRTIO_VIDEO_PROFILE_H264_BASELINE, VIRTIO_VIDEO_PROFILE_H264_MAIN,
        VIRTIO_VIDEO_PROFILE_H264_HIGH } },
    { VIRTIO_VIDEO_FORMAT_HEVC, cudaVideoCodec_HEVC,
      { VIRTIO_VIDEO_PROFILE_HEVC_MAIN } },
    { VIRTIO_VIDEO_FORMAT_VP8, cudaVideoCodec_VP8,
      { VIRTIO_VIDEO_PROFILE_VP8_PROFILE0, VIRTIO_VIDEO_PROFILE_VP8_PROFILE1,
        VIRTIO_VIDEO_PROFILE_VP8_PROFILE2,
        VIRTIO_VIDEO_PROFILE_VP8_PROFILE3 } },
    { VIRTIO_VIDEO_FORMAT_VP9, cudaVideoCodec_VP9,
      { VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 } },
    { VIRTIO_VIDEO_FORMAT_MPEG2, cudaVideoCodec_MPEG2, { 0 } },
    { VIRTIO_VIDEO_FORMAT_MPEG4, cudaVideoCodec_MPEG4, { 0 } },
    { VIRTIO_VIDEO_FORMAT_AV1, cudaVideoCodec_AV1, { 0 } },
};

/* Ask NVDEC, in the device's CUDA context, what it decodes. */
static bool probe_nvdec(VvHwDevice *hw, bool av1, char **err)
{
    AVHWDeviceContext *dctx = (AVHWDeviceContext *)hw->device->data;
    AVCUDADeviceContext *cctx = dctx->hwctx;
    CudaFunctions *cu = NULL;
    CuvidFunctions *cv = NULL;
    CUcontext dummy;
    size_t i;
    unsigned k;

    if (cuda_load_functions(&cu, NULL) < 0 ||
        cuvid_load_functions(&cv, NULL) < 0) {
        *err = g_strdup("the NVIDIA driver has no NVDEC library "
                        "(libnvcuvid.so.1)");
        cuvid_free_functions(&cv);
        cuda_free_functions(&cu);
        return false;
    }
    if (cu->cuCtxPushCurrent(cctx->cuda_ctx) != CUDA_SUCCESS) {
        *err = g_strdup("cannot make the CUDA context current");
        cuvid_free_functions(&cv);
        cuda_free_functions(&cu);
        return false;
    }
    for (i = 0; i < G_N_ELEMENTS(nvdec_formats); i++) {
        CUVIDDECODECAPS caps = {
            .eCodecType = nvdec_formats[i].codec,
            .eChromaFormat = cudaVideoChromaFormat_420,
            .nBitDepthMinus8 = 0,
        };
        VvHwFormat *f;

        if ((nvdec_formats[i].format == VIRTIO_VIDEO_FORMAT_AV1 && !av1) ||
            !lavc_has_nvdec(nvdec_formats[i].format) ||
            cv->cuvidGetDecoderCaps(&caps) != CUDA_SUCCESS ||
            !caps.bIsSupported ||
            !(caps.nOutputFormatMask & (1 << cudaVideoSurfaceFormat_NV12))) {
            continue;
        }
        f = vv_hw_add_format(hw, nvdec_formats[i].format);
        if (!f) {
            continue;
        }
        f->min_w = MAX(caps.nMinWidth, 1);
        f->min_h = MAX(caps.nMinHeight, 1);
        f->max_w = caps.nMaxWidth;
        f->max_h = caps.nMaxHeight;
        for (k = 0; k < G_N_ELEMENTS(nvdec_formats[i].profiles); k++) {
            if (nvdec_formats[i].profiles[k]) {
                vv_hw_add_profile(f, nvdec_formats[i].profiles[k]);
            }
        }
    }
    cu->cuCtxPopCurrent(&dummy);
    cuvid_free_functions(&cv);
    cuda_free_functions(&cu);
    return true;
}

/* The *_nvenc encoders that open on this GPU. */
static void probe_nvenc(VvHwDevice *hw)
{
    static const struct {
        uint32_t format;
        const char *name;
        uint32_t profiles[3];
    } encoders[] = {
        { VIRTIO_VIDEO_FORMAT_H264, "h264_nvenc",
          { VIRTIO_VIDEO_PROFILE_H264_BASELINE, VIRTIO_VIDEO_PROFILE_H264_MAIN,
            VIRTIO_VIDEO_PROFILE_H264_HIGH } },
        { VIRTIO_VIDEO_FORMAT_HEVC, "hevc_nvenc",
          { VIRTIO_VIDEO_PROFILE_HEVC_MAIN } },
    };
    size_t i;
    unsigned k;

    for (i = 0; i < G_N_ELEMENTS(encoders); i++) {
        const AVCodec *c = avcodec_find_encoder_by_name(encoders[i].name);
        AVCodecContext *ctx = c ? avcodec_alloc_context3(c) : NULL;
        VvHwFormat *f;

        if (!ctx) {
            continue;
        }
        ctx->width = 256;
        ctx->height = 256;
        ctx->pix_fmt = AV_PIX_FMT_NV12;
        ctx->time_base = (AVRational){ 1, 30 };
        ctx->hw_device_ctx = av_buffer_ref(hw->device);
        if (avcodec_open2(ctx, c, NULL) < 0) {
            avcodec_free_context(&ctx);
            continue;
        }
        avcodec_free_context(&ctx);
        f = vv_hw_add_format(hw, encoders[i].format);
        if (!f) {
            continue;
        }
        /*
         * NVENC states no limits before a session is made; a size it
         * cannot encode fails the stream when the encoder opens
         */
        f->min_w = f->min_h = 16;
        f->max_w = f->max_h = 4096;
        for (k = 0; k < G_N_ELEMENTS(encoders[i].profiles); k++) {
            if (encoders[i].profiles[k]) {
                vv_hw_add_profile(f, encoders[i].profiles[k]);
            }
        }
    }
}

bool vv_hw_cuda_open(VvHwDevice *hw, const VvEngineConfig *cfg, char **err)
{
    CudaFunctions *cu = NULL;
    int ret;

    hw->type = AV_HWDEVICE_TYPE_CUDA;
    /* first without libavutil, which logs its failure */
    if (cuda_load_functions(&cu, NULL) < 0) {
        *err = g_strdup("no CUDA: the NVIDIA driver's libcuda.so.1 is not "
                        "installed");
        return false;
    }
    cuda_free_functions(&cu);
    ret = av_hwdevice_ctx_create(&hw->device, AV_HWDEVICE_TYPE_CUDA,
                                 NULL, NULL, 0);
    if (ret < 0) {
        *err = g_strdup_printf("no CUDA device: %s (is the NVIDIA driver "
                               "installed?)", av_err2str(ret));
        return false;
    }
    hw->description = g_strdup("NVIDIA CUDA device 0");
    if (cfg->mode == VV_MODE_ENCODER) {
        probe_nvenc(hw);
        return true;
    }
    return probe_nvdec(hw, cfg->av1, err);
}
