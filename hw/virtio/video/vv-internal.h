/*
 * virtio-video engine: internal structures shared by the engine's files.
 *
 * Locking: VvEngine.lock protects the completion and event queues only.
 * VvStream.lock protects everything in the stream that both the main thread
 * and the stream's worker touch.  Lock order: stream, then engine.  The
 * codec itself (VvStream.dec) belongs to the worker and is used unlocked.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_VIDEO_VV_INTERNAL_H
#define HW_VIRTIO_VIDEO_VV_INTERNAL_H

#include <errno.h>
#include <glib.h>

#include "vv-engine.h"
#include "vv-caps.h"
#include "vv-codec.h"
#include "vv-hw.h"
#include "vv-protocol.h"

typedef struct VvStream VvStream;
typedef struct VvDecoder VvDecoder;
typedef struct VvReader VvReader;
/* libavutil's picture, to the files of the engine that use it */
struct AVFrame;

/*
 * Guest memory behind a resource, mapped for the device.  Refcounted:
 * queued buffers keep it alive when the guest replaces or destroys the
 * resource meanwhile.
 */
typedef struct VvSeg {
    uint8_t *host;
    size_t len;
    uint64_t addr;                      /* guest address (migration) */
} VvSeg;

typedef struct VvBacking {
    gint ref;
    VvEngine *e;
    bool write;
    size_t size;                        /* sum of all segments */
    uint64_t reserved;                  /* counted in VvEngine.mapped */
    VvObject *object;                   /* virtio object, or NULL: pages */
    unsigned num_planes;                /* memory planes */
    struct {
        unsigned first, count;          /* segments of this plane */
        size_t size;
    } planes[VIRTIO_VIDEO_MAX_PLANES];
    unsigned num_segs;
    VvSeg segs[];
} VvBacking;

VvBacking *vv_backing_ref(VvBacking *b);
void vv_backing_unref(VvBacking *b);
/* Copy @len bytes at @offset of memory plane @plane out of / into @b. */
void vv_backing_read(const VvBacking *b, unsigned plane, size_t offset,
                     void *dst, size_t len);
void vv_backing_write(const VvBacking *b, unsigned plane, size_t offset,
                      const void *src, size_t len);

/*
 * Zeroed bytes after every bitstream copy: libavcodec's parsers and
 * decoders read up to AV_INPUT_BUFFER_PADDING_SIZE (64) past the data.
 */
#define VV_BITSTREAM_PADDING    64

typedef enum VvJobType {
    VV_JOB_INPUT,               /* RESOURCE_QUEUE(INPUT) */
    VV_JOB_OUTPUT,              /* RESOURCE_QUEUE(OUTPUT) */
    VV_JOB_DRAIN,
    VV_JOB_CLEAR,               /* QUEUE_CLEAR(queue) */
    VV_JOB_DESTROY_ALL,         /* RESOURCE_DESTROY_ALL(queue) */
    VV_JOB_DESTROY,             /* STREAM_DESTROY */
} VvJobType;

typedef struct VvJob {
    VvEngine *e;
    VvJobType type;
    void *token;
    uint32_t stream_id;
    unsigned queue;             /* VV_QUEUE_INPUT / VV_QUEUE_OUTPUT */
    uint32_t resource_id;
    VvBacking *backing;         /* INPUT, OUTPUT */
    uint64_t timestamp;         /* INPUT */
    uint64_t index;             /* INPUT: how many inputs were before it */
    uint64_t epoch;             /* OUTPUT: seen_epoch when queued */
    uint8_t *data;              /* INPUT: the bitstream, copied out, */
                                /* then VV_BITSTREAM_PADDING zero bytes */
    size_t size;
    /* statistics of an OUTPUT buffer that carries a picture or packet */
    gint64 t_queued;            /* when the guest queued it (monotonic us) */
    gint64 t_ready;             /* when the codec gave it and it was */
                                /* queued, whichever came last */
    unsigned copies;            /* full-frame copies made for it */
} VvJob;

struct VvStream {
    VvEngine *e;
    uint32_t id;
    GMutex lock;
    GCond cond;
    GThread *thread;            /* NULL while the engine is paused, */
                                /* and before the stream's first job */
    bool lazy;                  /* no job yet: no worker to start */
    bool finished;              /* the worker carried out STREAM_DESTROY */

    /* set by the main thread, read by the worker */
    bool abort;                 /* reset: stop without completing anything */
    GQueue inputs;              /* VvJob: INPUT and DRAIN, in order */
    GQueue outputs;             /* VvJob: OUTPUT buffers available */
    GQueue ctrl;                /* VvJob: CLEAR, DESTROY_ALL, DESTROY */

    uint32_t mem_type[VV_QUEUE_COUNT];
    VvParams params[VV_QUEUE_COUNT];
    /*
     * The crop rectangle the guest's last GET_PARAMS of each queue
     * returned: a driver sends it back from its cache, also after the
     * device changed the crop through the other queue (encoder).
     */
    struct virtio_video_crop told_crop[VV_QUEUE_COUNT];
    bool told[VV_QUEUE_COUNT];
    GHashTable *resources[VV_QUEUE_COUNT];  /* id -> VvBacking */
    /*
     * id -> the VvJob it is queued with, until it is back or a clear or
     * destroy cancelled it (a buffer the worker holds then completes on
     * its own, and the id may be queued again meanwhile)
     */
    GHashTable *queued[VV_QUEUE_COUNT];
    bool draining;              /* a DRAIN is accepted and not finished */
    bool decoding;              /* input was queued: coded format fixed */
    bool failed;                /* EVENT_ERROR sent: the stream is dead */
    bool hw_lost;               /* the device failed copying a picture */
    const char *backend;        /* which serves it (last reported) */
    uint64_t out_epoch;         /* resolution changes so far */
    uint64_t seen_epoch;        /* ... that the guest read the params of */
    size_t seen_out_size;       /* frame size in those OUTPUT params */
    uint32_t profile;           /* VIRTIO_VIDEO_PROFILE_* of the stream */
    uint32_t level;             /* VIRTIO_VIDEO_LEVEL_* (H.264) */

    /* encoder settings (controls), under the lock */
    uint32_t bitrate, bitrate_peak, bitrate_mode;
    bool force_keyframe;        /* input force_index becomes a keyframe */
    uint64_t force_index;
    uint64_t inputs_queued;     /* RESOURCE_QUEUE(INPUT)s accepted */
    bool bitrate_changed;       /* apply to the running encoder */

    /* worker only (or the main thread while the worker is stopped) */
    const struct VvModeOps *mode;   /* decoder or encoder */
    void *m;                    /* the mode's own state (decode.c, ...) */
    bool active;                /* the codec may have output to give */
    bool eos_pending;           /* drained: an EOS buffer is owed */
    VvJob *drain;               /* the DRAIN being carried out */
    gint64 t_ready;             /* when the codec gave the held output */
    uint32_t cur_w, cur_h;      /* visible size of the current format */
    int cur_pix_fmt;
    bool have_format;
    uint64_t seq;               /* input buffers fed to the codec */
    uint64_t *cookies;          /* seq -> guest timestamp (ring), from */
                                /* the first input on (see stream.c) */
};

#define VV_COOKIE_RING 4096

/*
 * Output buffers a decoder stream asks for (no reference frames are kept
 * in guest buffers: pictures are copied out as they are decoded), and
 * the most buffers of a queue.
 */
#define VV_DEC_MIN_OUTPUT_BUFFERS   2
#define VV_MAX_BUFFERS              32

/* VvModeOps.receive() */
typedef enum VvRecv {
    VV_RECV_OK,                 /* one output unit, held by the mode */
    VV_RECV_AGAIN,              /* the codec needs input */
    VV_RECV_EOF,                /* drained */
    VV_RECV_FAILED,             /* the stream failed (event sent) */
} VvRecv;

/*
 * What a stream does in one mode (decoder: decode.c, encoder:
 * enc-lavc.c), as the stream's one worker loop (stream.c) drives it.  The
 * mode owns the codec session and the output unit it holds (a picture, a
 * packet) in its state, VvStream.m.  Calls come from the worker with the
 * stream lock held, which they may drop around codec calls and copies,
 * or from the main thread while the worker is stopped.
 */
typedef struct VvModeOps {
    /* The mode's defaults and state for a new stream; lock not needed. */
    void (*init)(VvStream *s, uint32_t coded_format);
    void (*free)(VvStream *s);
    /* Is an output unit held?  Then put it into an output buffer: false */
    /* if that cannot be done yet (no buffer, the copier busy). */
    bool (*has_output)(VvStream *s);
    bool (*put_output)(VvStream *s);
    /* Next output unit from the codec. */
    VvRecv (*receive)(VvStream *s);
    /* Take input @job: a bitstream buffer, or a raw frame (opening the */
    /* session first); completes it or cancels it. */
    void (*feed)(VvStream *s, VvJob *job);
    bool (*started)(VvStream *s);       /* a session is open */
    void (*drain)(VvStream *s);         /* flush the session */
    void (*after_eos)(VvStream *s);     /* drained: ready for new input */
    /* The codec's part of QUEUE_CLEAR(@queue), and of STREAM_DESTROY. */
    void (*clear)(VvStream *s, unsigned queue);
    void (*destroy)(VvStream *s);
    /*
     * Wait until what the mode handed to a thread of its own has reached
     * the guest (busy() says whether there is such a thing), before
     * anything that must come after it; drop the held output (the stream
     * failed); end its threads (the worker stops; lock not held).
     */
    bool (*busy)(VvStream *s);
    void (*settle)(VvStream *s);
    void (*drop_output)(VvStream *s);
    void (*stop)(VvStream *s);
    /*
     * Migration, worker stopped: the codec's state after the stream's
     * (prepare_save() first, before the stream's fields are saved), and
     * loading it into a new stream; false and *err / *why on failure.
     */
    void (*prepare_save)(VvStream *s);
    bool (*save)(VvStream *s, GByteArray *out, char **err);
    bool (*load)(VvStream *s, VvReader *r, const char **why);
    /* Main thread, lock held: GET_CONTROL's value, false: unsupported. */
    bool (*get_control)(VvStream *s, uint32_t control, uint32_t *value);
    /* Main thread: can a stream of @format take @profile?  (encoder) */
    bool (*profile_supported)(VvEngine *e, uint32_t format, uint32_t profile);
} VvModeOps;

extern const VvModeOps vv_decoder_mode;
extern const VvModeOps vv_encoder_mode;

struct VvEngine {
    VvEngineConfig cfg;
    VvEngineOps ops;
    const VvBackend *backend;
    const VvModeOps *mode_ops;  /* decoder or encoder */
    /* free a destroyed stream (engine.c), from vv_engine_poll() */
    void (*free_stream)(VvEngine *e, VvStream *s);
    /*
     * The hardware device, or NULL: software only.  With hw_only
     * (backend=vaapi, cuda) it serves every stream and the capabilities
     * are its own; otherwise (auto) the formats it serves, where it takes
     * the stream, and software the rest.
     */
    VvHwDevice *hw;
    bool hw_only;
    char *device_name;          /* config space; which backends serve */
    VvCaps caps;
    uint32_t max_caps_length;

    GHashTable *streams;        /* id -> VvStream, main thread only */
    GList *dying;               /* destroyed streams whose worker runs on */
    bool paused;                /* workers stopped (VM stopped) */
    bool objects;               /* RESOURCE_VIRTIO_OBJECT negotiated */

    GMutex lock;
    uint64_t seq;               /* completions and events posted */
    uint64_t bitstream_held;    /* bytes of queued bitstream copies */
    uint64_t mapped;            /* bytes of guest memory in backings */
    uint64_t history_held;      /* decoders' input kept for migration */
    gint unmigratable;          /* decoders that lost it (atomic) */
    gint decoders;              /* codecs open in decoder streams (atomic) */
    VvEngineStats stats;
    uint32_t *latency;          /* ring of added latencies (us) */
    uint32_t *latency_write;    /* their first hop, same ring */
    uint32_t *latency_deliver;  /* and their second */
    uint64_t latency_n;
    GQueue completions;         /* VvCompletion */
    GQueue events;              /* VvEventMsg */
    gint kick_deferred;         /* lazy completions not kicked (atomic) */
    gint64 deferred_since;      /* when the first of them came; lock */
};

typedef struct VvEventMsg {
    uint64_t seq;
    uint8_t ev[sizeof(struct virtio_video_event)];
} VvEventMsg;

/*
 * Map guest memory entries (16 bytes each, as in RESOURCE_CREATE) into a
 * new backing: @counts[k] entries for each of @num_planes planes, @total
 * in all.  NULL, *code and *why on failure.
 */
VvBacking *vv_map_entries(VvEngine *e, bool write, unsigned num_planes,
                          const uint32_t *counts, const uint8_t *entries,
                          uint32_t total, uint32_t *code, const char **why);
/*
 * Map a RESOURCE_CREATE of a virtio object (@req's entries name its UUID)
 * into a new backing; NULL, *code and *why on failure.
 */
VvBacking *vv_map_object(VvEngine *e, uint32_t stream_id, bool write,
                         const VvRequest *req, uint32_t *code,
                         const char **why);
/* Has the exporter taken the memory of @b's virtio object back? */
bool vv_backing_revoked(const VvBacking *b);
/* Reserve @len bytes of the bitstream allowance (max_bitstream_bytes). */
bool vv_bitstream_reserve(VvEngine *e, size_t len);

/* From any thread: queue a response for @token (NULL: none). */
void vv_complete(VvEngine *e, void *token, const void *resp, size_t len);
void vv_complete_hdr(VvEngine *e, void *token, uint32_t type,
                     uint32_t stream_id);
void vv_complete_buffer(VvEngine *e, void *token, uint32_t stream_id,
                        uint64_t timestamp, uint32_t flags, uint32_t size,
                        const VvJob *stats, bool lazy);
/*
 * A lazy completion (an input buffer the codec has taken) does not wake
 * the main thread by itself: it goes out with the next completion that
 * does, when its worker is about to sleep (vv_kick_deferred()), or once it
 * has waited VV_LAZY_MAX_US, whichever comes first.  A decoder then costs
 * the main thread one wake-up per picture rather than two.
 */
#define VV_LAZY_MAX_US  2000
void vv_kick_deferred(VvEngine *e);
/* Reset: drop every completion and event not delivered, tokens to @drop. */
void vv_completions_drop(VvEngine *e, void (*drop)(void *opaque, void *token),
                         void *opaque);
/* From the worker: the stream is finished, free it on the main thread. */
void vv_complete_stream_gone(VvEngine *e, VvStream *s);
void vv_post_event(VvEngine *e, uint32_t type, uint32_t stream_id);
void G_GNUC_PRINTF(2, 3) vv_guest_error(VvEngine *e, const char *fmt, ...);

/* stream.c */
VvStream *vv_stream_new(VvEngine *e, uint32_t id, uint32_t coded_format,
                        uint32_t in_mem, uint32_t out_mem);
/* Stop the worker at once (reset, pause); its jobs stay queued. */
void vv_stream_stop(VvStream *s);
/* Start the worker (new streams, resume); no-op if running or finished. */
void vv_stream_start(VvStream *s);
/* Wait for a destroyed stream's worker to end. */
void vv_stream_join(VvStream *s);
/* Stop the worker at once (reset), drop every token through @drop. */
void vv_stream_abort(VvStream *s, void (*drop)(void *opaque, void *token),
                     void *opaque);
/* After the worker posted vv_complete_stream_gone(). */
void vv_stream_free(VvStream *s);
/* Hand a job to the worker (lock taken inside). */
void vv_stream_push(VvStream *s, VvJob *job);
void vv_job_free(VvJob *job);
/* Give back @len bytes of the bitstream allowance. */
void vv_bitstream_release(VvEngine *e, size_t len);

/* migrate.c: the migration stream's encoding, little-endian */
void vv_put_u8(GByteArray *b, uint8_t v);
void vv_put_u32(GByteArray *b, uint32_t v);
void vv_put_u64(GByteArray *b, uint64_t v);
void vv_put_blob(GByteArray *b, const void *data, size_t len);

struct VvReader {
    const uint8_t *p;
    size_t left;
    bool bad;                   /* read past the end: every get gives 0 */
};

uint8_t vv_get_u8(VvReader *r);
uint32_t vv_get_u32(VvReader *r);
uint64_t vv_get_u64(VvReader *r);
/* NULL (and r->bad) past the end */
const uint8_t *vv_get_blob(VvReader *r, size_t *len);

/* engine.c: the migration history allowance, all streams together */
bool vv_history_reserve(VvEngine *e, size_t len);
void vv_history_release(VvEngine *e, size_t len);

/* dec-lavc.c: the decoding session of a stream (worker thread only) */
VvDecoder *vv_dec_open(VvEngine *e, uint32_t coded_format, uint32_t threads,
                       uint32_t max_w, uint32_t max_h, char **err);
/*
 * Migration, worker stopped: what another decoder needs to continue where
 * this one is (@pending: the stream holds one of its frames undelivered);
 * false and *err when the history was lost.
 */
bool vv_dec_save(VvDecoder *d, GByteArray *out, bool pending, char **err);
/* Replay what vv_dec_save() wrote into a fresh decoder. */
bool vv_dec_load(VvDecoder *d, VvReader *r);
void vv_dec_free(VvDecoder *d);
/* Feed one input buffer; its timestamp index is @seq.  Never blocks. */
void vv_dec_push(VvDecoder *d, const uint8_t *data, size_t size,
                 uint64_t seq);
/* No more input until vv_dec_reset(): flush everything out. */
void vv_dec_drain(VvDecoder *d);
/*
 * Next decoded frame into @frame: 0, AVERROR(EAGAIN) (needs input) or
 * AVERROR_EOF (drained).
 */
int vv_dec_receive(VvDecoder *d, struct AVFrame *frame);
void vv_dec_reset(VvDecoder *d);
/*
 * Picture size the headers parsed so far declare (byte-stream formats,
 * before any picture is decoded); false when not known yet.
 */
bool vv_dec_stream_size(VvDecoder *d, uint32_t *w, uint32_t *h);
/* Does the codec decode in frame threads of its own? */
bool vv_dec_frame_threads(VvDecoder *d);
/*
 * vv_dec_receive() on a hardware device: the device failed (lost, sync,
 * surfaces refused), or cannot decode this stream (profile, size, bit
 * depth) and the backend has no software fallback.  AVERROR(EIO) and
 * AVERROR(ENOTSUP).
 */
#define VV_DEC_HW_FAILED    (-EIO)
#define VV_DEC_HW_REFUSED   (-ENOTSUP)
/*
 * Which backend decodes the stream now: "libavcodec", "vaapi", "cuda"; NULL
 * while that is not known (auto, before the codec chose).
 */
const char *vv_dec_backend(VvDecoder *d, const VvEngine *e);
/* What the hardware device's failure was. */
const char *vv_dec_hw_error(VvDecoder *d);
/* Profile and level the bitstream declared, as VIRTIO_VIDEO_* values. */
void vv_dec_stream_info(VvDecoder *d, uint32_t coded_format,
                        uint32_t *profile, uint32_t *level);

/* stream.c helpers for the modes; lock held */
void vv_buffer_done(VvStream *s, VvJob *job, uint64_t timestamp,
                    uint32_t flags, uint32_t size);
/*
 * The same for an input buffer the codec took: a lazy completion while
 * more input is queued.
 */
void vv_input_done(VvStream *s, VvJob *job, uint64_t timestamp);
void vv_cancel_job(VvStream *s, VvJob *job);
void vv_cancel_all(VvStream *s, GQueue *q);
void vv_cancel_drain(VvStream *s);
/*
 * What QUEUE_CLEAR, RESOURCE_DESTROY_ALL and STREAM_DESTROY do to queue
 * @q at once: every buffer the worker has not taken (and for INPUT the
 * drain) completes cancelled, and the queue counts as empty.
 */
void vv_cancel_queue(VvStream *s, unsigned q);
void vv_fail_stream(VvStream *s, const char *why);
/*
 * For a picture: queued since the last resolution change and large enough
 * for the OUTPUT params; otherwise any.
 */
VvJob *vv_take_output(VvStream *s, bool for_picture);
/* A failed stream hands its next input back with FLAG_ERR. */
bool vv_fail_next_input(VvStream *s);
/*
 * Drained: the empty EOS buffer, then the DRAIN response; false if no
 * output buffer is queued for it yet.
 */
bool vv_deliver_eos(VvStream *s);
/*
 * The stream is served by @backend (a static string; NULL: not known yet)
 * now; lock held.
 */
void vv_report_backend(VvStream *s, const char *backend);
/* Guest timestamp of the input buffer with index @pts (0 if unknown). */
uint64_t vv_cookie(VvStream *s, int64_t pts);
/* Record the guest timestamp of the next input buffer; returns its index. */
uint64_t vv_next_seq(VvStream *s, uint64_t timestamp);

/* enc-lavc.c: the encoder's params and controls (main thread) */
uint32_t vv_enc_set_params(VvEngine *e, VvStream *s, const VvParams *np,
                           const char **why);
uint32_t vv_enc_set_control(VvEngine *e, VvStream *s, uint32_t control,
                            bool has_value, uint32_t value, const char **why);

/* frame.c: write a decoded picture into a guest buffer laid out as @p */
typedef struct VvFrameWriter VvFrameWriter;
VvFrameWriter *vv_frame_writer_new(void);
void vv_frame_writer_free(VvFrameWriter *w);
/* Can frames of this libav* pixel format be written as raw @format? */
bool vv_frame_format_supported(int pix_fmt);
/* The same for a picture, in host or device memory. */
bool vv_frame_supported(const struct AVFrame *f);
/*
 * Returns how many full-frame copies the CPU made (0: the GPU wrote guest
 * memory itself), -EINVAL if the picture does not fit the layout, -EIO if
 * the hardware device failed to give it.
 */
int vv_frame_write(VvFrameWriter *w, const struct AVFrame *f,
                   const VvParams *p, VvBacking *b);
/*
 * Read the crop rectangle of a raw frame laid out as @p from @b into @f
 * (YUV420P or NV12 of the crop's size, allocated or mapped).
 */
bool vv_frame_read(const VvParams *p, const VvBacking *b, struct AVFrame *f);

/* controls.c */
size_t vv_query_control(VvEngine *e, const VvRequest *req, uint8_t *resp,
                        size_t resp_size);
size_t vv_get_control(VvEngine *e, VvStream *s, const VvRequest *req,
                      uint8_t *resp, size_t resp_size);
uint32_t vv_profile_from_lavc(uint32_t coded_format, int profile);
uint32_t vv_level_from_lavc(uint32_t coded_format, int level);

#endif
