/*
 * virtio-video test helpers: encode a generated sequence through the
 * device and check the bitstream with an independent decoder.
 *
 * Plain C + GLib + FFmpeg, driven through the client (VvcOps), so the same
 * checks run through the engine alone (tests/unit) and through virtqueues
 * (qtest).
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_VIRTIO_VIDEO_ENCODE_H
#define TESTS_VIRTIO_VIDEO_ENCODE_H

#include "virtio-video-client.h"

/* How an encode test sets the picture size (docs/devel/virtio-video.rst). */
typedef enum VvcEncodeSizes {
    /* SET_PARAMS(INPUT, width x height), crop rectangle all zero */
    VVC_SIZES_PLAIN,
    /*
     * A driver that sends back the params GET_PARAMS gave it: S_FMT with
     * sfmt_width x sfmt_height (0: width x height) and the cached (stale)
     * crop, S_PARM and REQBUFS with the aligned size read back, and V4L2's
     * crop selection (width x height) in the bitstream queue's params.
     */
    VVC_SIZES_CACHED,
    /*
     * The frame first (left + width, top + height, aligned to 16), then
     * the crop rectangle in the raw queue's params at crop_left, crop_top.
     */
    VVC_SIZES_RAW_CROP,
} VvcEncodeSizes;

typedef struct VvcEncodeCase {
    uint32_t format;            /* coded VIRTIO_VIDEO_FORMAT_* */
    uint32_t raw_format;        /* NV12, YUV420 or YVU420 */
    uint32_t width, height, fps, frames;
    uint32_t bitrate;           /* 0: the device's default */
    uint32_t bitrate_mode;      /* VIRTIO_VIDEO_BITRATE_MODE_* */
    uint32_t profile;           /* 0: default */
    uint32_t level;             /* 0: default */
    int force_keyframe_at;      /* frame index, or -1 */
    int bitrate_change_at;      /* frame index where bitrate2 applies, -1 */
    uint32_t bitrate2;
    size_t out_size;            /* bitstream buffer size, 0: 1 MiB */
    bool sg;                    /* buffers as many small entries */
    VvcEncodeSizes sizes;
    uint32_t sfmt_width, sfmt_height;   /* VVC_SIZES_CACHED */
    uint32_t crop_left, crop_top;       /* VVC_SIZES_RAW_CROP (even) */
    /*
     * Benchmark mode: write this many distinct frames into as many input
     * buffers once and queue them round and round; no packet is read back
     * or checked (the harness must not be the bottleneck).  0: off.
     */
    unsigned bench_distinct;
    /*
     * INPUT buffers as virtio objects: @in_object exports each input
     * resource's pages from another device (virtio-gpu) and fills in the
     * 16-byte UUID the resource is then created with; frames are still
     * written through the pages.  NULL: guest pages.
     */
    bool (*in_object)(void *opaque, VvcResource *r, uint8_t *uuid);
    void *in_object_opaque;
    /* before frame @hook_at is queued, call @hook (e.g. migrate) */
    unsigned hook_at;
    void (*hook)(void *opaque);
    void *hook_opaque;
} VvcEncodeCase;

typedef struct VvcEncodeResult {
    unsigned packets;
    uint64_t bytes;
    double psnr_min, psnr_avg;  /* dB, all planes, against the source */
    GArray *keyframes;          /* unsigned: indices flagged IFRAME */
    unsigned err_buffers;       /* output buffers completed with FLAG_ERR */
    int h264_profile_idc, h264_level_idc;   /* from the first SPS, or -1 */
    uint64_t bytes_after_change;    /* from bitrate_change_at on */
    double seconds;             /* first frame queued to the EOS buffer */
} VvcEncodeResult;

/* Bytes of a tightly packed yuv420p picture (odd sizes round up). */
size_t vvc_yuv420_size(uint32_t width, uint32_t height);

/* The source pictures: ffmpeg testsrc2, yuv420p, made once per size. */
uint8_t *vvc_test_frames(uint32_t width, uint32_t height, uint32_t fps,
                         uint32_t frames, char **err);

/*
 * Run @t on stream @stream_id: set up, encode every frame, drain, destroy.
 * Every packet is decoded on the host by libavcodec: each picture must
 * have the source's size.  Fills @r (free r->keyframes with
 * g_array_free).  Returns false and a message in @err if the device
 * misbehaved.
 */
bool vvc_encode_run(VvcClient *c, uint32_t stream_id, const VvcEncodeCase *t,
                    VvcEncodeResult *r, char **err);

/*
 * Bad control values and params on a fresh encoder stream @stream_id: each
 * gets its error and changes nothing.  Destroys the stream.
 */
bool vvc_encode_bad_input(VvcClient *c, uint32_t stream_id, char **err);

/*
 * Sizes and crop rectangles the device must refuse on fresh encoder
 * stream @stream_id, before and after encoding started (it queues one
 * frame): each gets its error and changes nothing, while the params the
 * device reported are still accepted back.  Destroys the stream.
 */
bool vvc_encode_bad_params(VvcClient *c, uint32_t stream_id, char **err);

/*
 * vvc_check_echo() on both queues of encoder stream @stream_id at the
 * defaults, at a size that is not a multiple of 16 and with a crop
 * rectangle at an offset, in both SET_PARAMS forms.  Destroys the stream.
 */
bool vvc_encode_echo(VvcClient *c, uint32_t stream_id, char **err);

#endif
