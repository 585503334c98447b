/*
 * virtio-video test client: a guest application plus driver for decoder
 * tests, independent of the transport
 *
 * The client speaks the virtio-video command set through a small transport
 * interface (VvcOps): guest memory, "post one command chain" and "wait for
 * the next completion or event".  The qtests implement it on top of libqos
 * virtqueues; the standalone unit tests call the engine in process.
 *
 * It includes no QEMU header: C11, GLib and FFmpeg only.  Every wire field
 * is encoded little-endian explicitly.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_VIRTIO_VIDEO_CLIENT_H
#define TESTS_VIRTIO_VIDEO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* Results of VvcOps.wait */
#define VVC_WAIT_TIMEOUT    0
#define VVC_WAIT_COMPLETION 1
#define VVC_WAIT_EVENT      2

typedef struct VvcOps {
    /* guest memory: 4 KiB-aligned guest-physical addresses */
    uint64_t (*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, uint64_t addr);
    void (*memwrite)(void *opaque, uint64_t addr, const void *buf,
                     size_t len);
    void (*memread)(void *opaque, uint64_t addr, void *buf, size_t len);
    /*
     * Post one command chain: the request bytes (request and
     * RESOURCE_CREATE entries, one buffer), then a device-writable response
     * buffer of @resp_size bytes.  Returns a tag.
     */
    uint32_t (*submit)(void *opaque, const void *req, size_t req_len,
                       size_t resp_size);
    /*
     * Wait up to @timeout_ms for the next completion or event.  Returns
     * VVC_WAIT_COMPLETION (*tag set, the response copied to @buf, at most
     * @buf_size bytes, *used_len the used length the device reported),
     * VVC_WAIT_EVENT (the 8 event bytes in @buf) or VVC_WAIT_TIMEOUT.
     */
    int (*wait)(void *opaque, uint32_t *tag, void *buf, size_t buf_size,
                uint32_t *used_len, int timeout_ms);
} VvcOps;

/* Largest response the client keeps (QUERY_CAPABILITY included). */
#define VVC_MAX_RESP    65536

/* One completion or event, as the client stashes it. */
typedef struct VvcMsg {
    bool is_event;
    uint32_t tag;               /* completions */
    uint32_t used_len;          /* completions */
    uint32_t type;              /* response type or event type */
    uint32_t stream_id;
    /* RESOURCE_QUEUE responses (type OK_RESOURCE_QUEUE) */
    uint64_t timestamp;
    uint32_t flags;
    uint32_t size;
    uint8_t *data;              /* the response bytes (used_len of them) */
} VvcMsg;

void vvc_msg_free(VvcMsg *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VvcMsg, vvc_msg_free)

/* Host view of virtio_video_params(_ext) */
typedef struct VvcParams {
    uint32_t queue_type;
    uint32_t format;
    uint32_t frame_width;
    uint32_t frame_height;
    uint32_t min_buffers;
    uint32_t max_buffers;
    uint32_t crop_left, crop_top, crop_width, crop_height;
    uint32_t frame_rate;
    uint32_t num_planes;
    uint32_t plane_size[8];
    uint32_t stride[8];
    uint32_t resource_type;
} VvcParams;

/* A guest-memory resource as the client created it. */
typedef struct VvcResource {
    uint32_t id;
    uint32_t stream_id;
    uint32_t queue_type;
    size_t size;                /* bytes the entries describe */
    uint64_t block;             /* guest allocation holding the pages */
    size_t block_size;
    uint32_t num_entries;
    uint64_t *entry_addr;
    uint32_t *entry_len;
    bool guard;                 /* guard pattern around and between pages */
    VvcParams layout;           /* OUTPUT: the params it was created for */
    /* decoder bookkeeping */
    bool queued;
    uint32_t tag;
    uint64_t cookie;
} VvcResource;

typedef struct VvcClient VvcClient;

VvcClient *vvc_new(const VvcOps *ops, void *opaque);
void vvc_free(VvcClient *c);
/* Timeout of every single wait (default 60 s). */
void vvc_set_timeout(VvcClient *c, int timeout_ms);
int vvc_get_timeout(VvcClient *c);
/* Resource ids come from one counter per device, starting at 1. */
uint32_t vvc_alloc_resource_id(VvcClient *c);

/* Little-endian helpers (no host-endian assumption). */
void vvc_st16(void *p, uint16_t v);
void vvc_st32(void *p, uint32_t v);
void vvc_st64(void *p, uint64_t v);
uint32_t vvc_ld32(const void *p);
uint64_t vvc_ld64(const void *p);

/* ---- commands ---- */

/* Post a command; returns the tag. */
uint32_t vvc_submit(VvcClient *c, const void *req, size_t len,
                    size_t resp_size);
/*
 * Wait for the completion of @tag, stashing whatever else arrives for
 * vvc_next().  NULL on timeout.
 */
VvcMsg *vvc_wait_tag(VvcClient *c, uint32_t tag);
/* The next stashed or new completion or event; NULL on timeout. */
VvcMsg *vvc_next(VvcClient *c, int timeout_ms);
/* Push a message back to the head of the stash. */
void vvc_unget(VvcClient *c, VvcMsg *m);
/* Is a completion for @tag stashed? */
bool vvc_stashed(VvcClient *c, uint32_t tag);
/* Drop every stashed message. */
void vvc_flush_stash(VvcClient *c);

/*
 * Synchronous command: submit, wait for it.  Returns the response type
 * (0 on timeout); copies at most @resp_size bytes to @resp if not NULL.
 */
uint32_t vvc_cmd(VvcClient *c, const void *req, size_t len, void *resp,
                 size_t resp_size);

uint32_t vvc_stream_create(VvcClient *c, uint32_t stream_id,
                           uint32_t in_mem, uint32_t out_mem,
                           uint32_t coded_format, const char *tag);
/* Async commands: these return the tag. */
uint32_t vvc_stream_destroy_async(VvcClient *c, uint32_t stream_id);
uint32_t vvc_stream_drain_async(VvcClient *c, uint32_t stream_id);
uint32_t vvc_queue_clear_async(VvcClient *c, uint32_t stream_id,
                               uint32_t queue_type);
uint32_t vvc_destroy_all_async(VvcClient *c, uint32_t stream_id,
                               uint32_t queue_type);
/* ... and their synchronous forms: the response type. */
uint32_t vvc_stream_destroy(VvcClient *c, uint32_t stream_id);
uint32_t vvc_queue_clear(VvcClient *c, uint32_t stream_id,
                         uint32_t queue_type);
uint32_t vvc_destroy_all(VvcClient *c, uint32_t stream_id,
                         uint32_t queue_type);

/* GET_PARAMS(_EXT): the response type; @p filled on success. */
uint32_t vvc_get_params(VvcClient *c, uint32_t stream_id, uint32_t queue,
                        bool ext, VvcParams *p);
/* SET_PARAMS(_EXT) with @p (p->queue_type selects the queue). */
uint32_t vvc_set_params(VvcClient *c, uint32_t stream_id,
                        const VvcParams *p, bool ext);
/*
 * Send back what GET_PARAMS(_EXT) of @queue returns, in each way drivers
 * do: as read, as V4L2 sees it (one plane of all the bytes), without the
 * crop, without buffer counts and frame rate, and (when not NULL) @stale,
 * params of @queue the device reported earlier (sent with the current
 * resource_type, which SET_PARAMS_EXT sets).  Each must be accepted and
 * leave both queues' params as they were; false and *err otherwise.
 */
bool vvc_check_echo(VvcClient *c, uint32_t stream_id, uint32_t queue,
                    bool ext, const VvcParams *stale, char **err);
void vvc_params_decode(const uint8_t *buf, bool ext, VvcParams *p);
void vvc_params_encode(const VvcParams *p, bool ext, uint8_t *buf);

uint32_t vvc_get_control(VvcClient *c, uint32_t stream_id, uint32_t control,
                         uint32_t *value);
uint32_t vvc_set_control(VvcClient *c, uint32_t stream_id, uint32_t control,
                         uint32_t value);

/*
 * Allocate guest memory for a resource of @size bytes.  @sg: 4 KiB entries
 * in non-ascending guest address order, else one entry.  @guard: guard
 * pages before and after (and, with @sg, unused pages between the used
 * ones), filled with a pattern vvc_resource_guard_ok() checks.
 */
VvcResource *vvc_resource_alloc(VvcClient *c, uint32_t stream_id,
                                 uint32_t queue_type, size_t size, bool sg,
                                 bool guard);
void vvc_resource_release(VvcClient *c, VvcResource *r);
/* RESOURCE_CREATE of @r (SINGLE_BUFFER, one plane): the response type. */
uint32_t vvc_resource_create(VvcClient *c, VvcResource *r);
/* ... posted without waiting: the tag. */
uint32_t vvc_resource_create_async(VvcClient *c, VvcResource *r);
/* Raw RESOURCE_CREATE from explicit entries. */
uint32_t vvc_resource_create_raw(VvcClient *c, uint32_t stream_id,
                                 uint32_t queue_type, uint32_t resource_id,
                                 uint32_t num_planes,
                                 const uint32_t *num_entries,
                                 const uint64_t *addrs, const uint32_t *lens,
                                 uint32_t total_entries);
/*
 * RESOURCE_CREATE of a virtio object: one 16-byte entry, @uuid, for
 * @num_planes memory planes starting at @plane_offsets (NULL: all 0).
 */
uint32_t vvc_resource_create_object(VvcClient *c, uint32_t stream_id,
                                    uint32_t queue_type, uint32_t resource_id,
                                    uint32_t num_planes,
                                    const uint32_t *plane_offsets,
                                    const uint8_t *uuid);
/* RESOURCE_QUEUE (asynchronous): the tag. */
uint32_t vvc_resource_queue_async(VvcClient *c, uint32_t stream_id,
                                  uint32_t queue_type, uint32_t resource_id,
                                  uint64_t timestamp, uint32_t num_sizes,
                                  const uint32_t *sizes);
/* Write / read resource bytes through its entries. */
void vvc_resource_write(VvcClient *c, VvcResource *r, const void *buf,
                        size_t len);
void vvc_resource_read(VvcClient *c, VvcResource *r, void *buf, size_t len);
bool vvc_resource_guard_ok(VvcClient *c, VvcResource *r);

/*
 * MD5 (hex) of the visible rectangle of a decoded picture in @buf laid out
 * as @p says, planes packed without padding.  YVU420 is hashed in Y, U, V
 * order (the device's plane 2, then plane 1), i.e. like yuv420p.  NULL for
 * an unknown format or a layout that does not fit in @len.
 */
char *vvc_frame_md5(const VvcParams *p, const uint8_t *buf, size_t len);

/* ---- media ---- */

/* virtio format of a libavcodec codec id (0: none). */
uint32_t vvc_codec_to_format(int av_codec_id);
const char *vvc_format_name(uint32_t format);
/* Is @format a byte-stream format that may be fed in arbitrary chunks? */
bool vvc_format_chunkable(uint32_t format);

/* One input unit: an access unit, or a chunk of the elementary stream. */
typedef struct VvcUnit {
    uint8_t *data;
    size_t len;
} VvcUnit;

/*
 * Demux @path: the video stream's access units (Annex-B for H.264/HEVC).
 * *format is set to the virtio format (0 if the codec has none),
 * *bit_depth to the stream's luma bit depth (8 when unknown).
 * Returns a GPtrArray of VvcUnit (freed with the array) or NULL.
 */
GPtrArray *vvc_demux(const char *path, uint32_t *format, int *bit_depth,
                     char **err);
/*
 * An H.264 stream of @frames @width x @height testsrc2 pictures with
 * B-frames, made by the ffmpeg command-line tool, as access units.  NULL
 * and *err when ffmpeg fails.
 */
GPtrArray *vvc_gen_h264(unsigned width, unsigned height, unsigned frames,
                        char **err);
/*
 * The H.264 Annex B stream @data with VUI bitstream_restriction taken out
 * of every sequence parameter set, as many encoders write them (libx264
 * always fills it in): a decoder then has to work out by itself how far
 * pictures are reordered.  NULL and *err when a set cannot be read.
 */
GByteArray *vvc_h264_drop_reorder_info(const uint8_t *data, size_t len,
                                       char **err);
/*
 * Three H.264 streams made by the ffmpeg command-line tool, without VUI
 * bitstream_restriction, concatenated into @dir/reorder-switch.h264 (the
 * path goes to *path): 176x144 Baseline, then 640x320 Main with CABAC and
 * B-frames, then 320x240 High with a B-pyramid (reordering deeper than
 * before).  *ref gets the MD5s of every picture (NV12) as ffmpeg decodes
 * each part on its own, in order.  false and *err on failure.
 */
bool vvc_gen_reorder_switch(const char *dir, char **path, GPtrArray **ref,
                            char **err);

/* The units cut into fixed-size chunks of the concatenated bytes. */
GPtrArray *vvc_chunk_units(GPtrArray *units, size_t chunk_size);

/* Run the ffmpeg command-line tool; false and *err when it fails. */
bool vvc_run_ffmpeg(const char *const *args, char **err);
/*
 * Per-frame MD5s of @path as ffmpeg decodes it to @pix_fmt, computed by the
 * ffmpeg tool into <path>.<pix_fmt>.framemd5 (once); that file's name, or
 * NULL and *err.
 */
char *vvc_ffmpeg_framemd5(const char *path, const char *pix_fmt, char **err);

/* The md5 column of a framemd5 file (a GPtrArray of strings), or NULL. */
GPtrArray *vvc_read_framemd5(const char *path, char **err);

/*
 * Decode @units in process with libavcodec (pkt->pts = unit index) and
 * return the presentation order as unit indices (GArray of int64_t).
 */
GArray *vvc_reference_order(GPtrArray *units, uint32_t format, char **err);

/* Cookie (timestamp) of unit @i of pass @pass: high bits set. */
uint64_t vvc_cookie(unsigned pass, unsigned i);

/* A media file with a reference: the media-directory walker's result. */
typedef struct VvcMediaFile {
    char *path;
    char *ref_path;             /* .nv12.framemd5 or .p010.framemd5 */
    bool ten_bit;               /* .p010: expected to fail with EVENT_ERROR */
    uint32_t format;            /* 0: unsupported */
    char *skip_reason;          /* set when format is 0 */
} VvcMediaFile;

/*
 * The project's top folder: $VIRTIO_VIDEO_TOP, or five levels above the
 * running qos-test (<top>/build/qemu-build/tests/qtest/qos-test) if
 * qemu/scripts/build.sh is there; else NULL.
 */
char *vvc_project_top(void);
/*
 * The reference clips: $VIRTIO_VIDEO_MEDIA, NULL when that is "" (none
 * configured), else <top>/../shared/media.
 */
char *vvc_media_dir(void);

/* Every F with an F.nv12.framemd5 or F.p010.framemd5 in @dir, sorted. */
GPtrArray *vvc_media_scan(const char *dir, char **err);
void vvc_media_file_free(VvcMediaFile *m);

/* ---- decoding ---- */

typedef struct VvcFrame {
    uint64_t timestamp;
    uint32_t width, height;
    uint32_t pass;              /* 0, or 1 after a QUEUE_CLEAR(INPUT) */
    char md5[33];
} VvcFrame;

typedef struct VvcDecodeStats {
    unsigned res_changes;       /* DECODER_RESOLUTION_CHANGED events */
    bool error_event;           /* EVENT_ERROR for the stream */
    unsigned inputs_queued;
    unsigned inputs_completed;
    unsigned inputs_err;        /* inputs completed with FLAG_ERR */
    unsigned outputs_err;       /* outputs completed with FLAG_ERR */
    unsigned eos;               /* EOS buffers */
    bool drained;               /* drain answered OK_NODATA after EOS */
    bool destroyed;             /* STREAM_DESTROY answered OK_NODATA */
    unsigned cleared_inputs;    /* QUEUE_CLEAR(INPUT) done */
    unsigned cleared_outputs;   /* QUEUE_CLEAR(OUTPUT) done (plain) */
    unsigned frames_before_clear;
    unsigned cancel_pictures;   /* pictures that came back in a clear */
    VvcParams out;              /* last OUTPUT params */
} VvcDecodeStats;

typedef struct VvcDecodeOpts {
    uint32_t stream_id;         /* 0: 1 */
    uint32_t coded_format;      /* 0: from the file */
    uint32_t out_format;        /* 0: NV12 */
    bool chunked;               /* fixed-size chunks instead of AUs */
    size_t chunk_size;          /* 0: 4093 */
    bool sg_entries;            /* 4 KiB SG entries, non-ascending */
    bool guard;                 /* guard pages around every resource */
    bool plain_params;          /* GET/SET_PARAMS 0x108/0x109, not _EXT */
    /* at each resolution change, vvc_check_echo() on both queues */
    bool echo_params;
    unsigned num_inputs;        /* 0: 8 */
    unsigned extra_outputs;     /* outputs beyond max(min_buffers, 4) */
    /* scenario hooks, 0: off */
    unsigned clear_input_after; /* frames, then QUEUE_CLEAR(INPUT), rerun */
    unsigned clear_output_after;    /* frames, then QUEUE_CLEAR(OUTPUT) */
    unsigned destroy_after;     /* frames, then STREAM_DESTROY in flight */
    bool no_drain;              /* stop once every input has completed */
    /*
     * Send QUEUE_CLEAR and RESOURCE_DESTROY_ALL and what follows them
     * without waiting for their answers (the ChromeOS driver does): at a
     * resolution change QUEUE_CLEAR(OUTPUT), RESOURCE_DESTROY_ALL(OUTPUT),
     * then RESOURCE_CREATE and RESOURCE_QUEUE of the new output buffers
     * with the ids of the old ones; with clear_input_after,
     * QUEUE_CLEAR(INPUT), then the rerun's inputs in the same buffers.
     * The answers are checked as they come (cancelled buffers first).
     */
    bool pipelined;
    /* once @hook_after frames are out, call @hook (e.g. migrate) */
    unsigned hook_after;
    void (*hook)(void *opaque);
    void *hook_opaque;
    VvcDecodeStats *stats;      /* optional */
    /*
     * OUTPUT buffers as virtio objects (RESOURCE_VIRTIO_OBJECT): for each
     * output resource, once its pages are allocated, @out_object makes
     * them the backing of a buffer of another device (virtio-gpu) and
     * fills in the 16-byte UUID that device gave it.  The OUTPUT queue is
     * then set to VIRTIO_OBJECT and the resource created with the UUID;
     * pictures are still read back through the pages.  false: fail.
     */
    bool (*out_object)(void *opaque, VvcResource *r, uint8_t *uuid);
    void *out_object_opaque;
} VvcDecodeOpts;

/* A decoder stream driven step by step (several may run at once). */
typedef struct VvcDecoder VvcDecoder;

/*
 * Create the stream and its input resources for @units (a VvcUnit array;
 * the decoder keeps a reference).  NULL and *err on failure.
 */
VvcDecoder *vvc_decoder_new(VvcClient *c, GPtrArray *units,
                            const VvcDecodeOpts *o, GArray *frames,
                            char **err);
/*
 * Run decoders until each has finished (stream destroyed).  Returns false
 * with *err at the first failure (the failed decoder is then destroyed
 * where possible).
 */
bool vvc_decoders_run(VvcClient *c, VvcDecoder **d, unsigned n, char **err);
void vvc_decoder_free(VvcDecoder *d);

/* Run one decoder on @units; frames gets VvcFrame in output order. */
bool vvc_decode_units(VvcClient *c, GPtrArray *units, const VvcDecodeOpts *o,
                      GArray *frames, char **err);
/* Demux, then vvc_decode_units(). */
bool vvc_decode_file(VvcClient *c, const char *path, const VvcDecodeOpts *o,
                     GArray *frames, char **err);

/*
 * Compare decoded frames with reference md5s and (if @order is not NULL)
 * the timestamps with vvc_cookie(pass, order[k]).  NULL when they match,
 * else a description of the first difference.
 */
char *vvc_check_frames(GArray *frames, GPtrArray *ref_md5, GArray *order);

#endif
