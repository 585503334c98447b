/*
 * virtio-video engine: decoding through the engine alone, frame by frame.
 *
 * A minimal guest: IVF files are split by hand (no demuxer involved), every
 * decoded picture's visible NV12 area is hashed and compared with the
 * reference made by the ffmpeg command-line tool.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "vv-fake-guest.h"
#include "vv-protocol.h"
#include "../qtest/virtio-video-client.h"

#define NUM_IN  4
#define NUM_OUT 6
#define IN_SIZE (1024 * 1024)

typedef struct Dec {
    FakeGuest *g;
    uint32_t sid;
    uint64_t in_addr[NUM_IN];
    bool in_busy[NUM_IN];
    uint32_t in_tag[NUM_IN];
    uint64_t out_addr[NUM_OUT];
    uint32_t out_tag[NUM_OUT];
    bool out_created;
    uint32_t out_id_base;
    VvParams out;               /* OUTPUT params after the last event */
    GPtrArray *md5;             /* of each picture, in order */
    GArray *ts;                 /* uint64_t */
    bool eos;
    unsigned events;
    bool sg;                    /* output buffers as 4 KiB pieces */
} Dec;

static uint32_t hdr_type(const FgCompletion *c)
{
    return vv_ld32(c->resp);
}

static uint32_t sync_cmd(Dec *d, const uint8_t *req, size_t len,
                         FgCompletion *c)
{
    fg_wait(d->g, fg_submit(d->g, req, len, sizeof(c->resp)), c);
    return hdr_type(c);
}

/* STREAM_CREATE of stream @sid for @format, guest pages; asserts OK. */
static void create_stream(Dec *d, uint32_t sid, uint32_t format)
{
    uint8_t req[88] = { 0 };
    FgCompletion c;

    vv_st32(req, VIRTIO_VIDEO_CMD_STREAM_CREATE);
    vv_st32(req + 4, sid);
    vv_st32(req + 16, format);
    g_assert_cmphex(sync_cmd(d, req, sizeof(req), &c), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
}

static void create_resource(Dec *d, uint32_t queue, uint32_t id,
                            uint64_t addr, size_t size, bool sg)
{
    size_t n = sg ? (size + 4095) / 4096 : 1;
    g_autofree uint8_t *req = g_malloc0(88 + 16 * n);
    FgCompletion c;
    size_t i;

    vv_st32(req, VIRTIO_VIDEO_CMD_RESOURCE_CREATE);
    vv_st32(req + 4, d->sid);
    vv_st32(req + 8, queue);
    vv_st32(req + 12, id);
    vv_st32(req + 16, VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER);
    vv_st32(req + 20, 1);
    vv_st32(req + 56, n);
    for (i = 0; i < n; i++) {
        size_t off = sg ? i * 4096 : 0;

        vv_st64(req + 88 + 16 * i, addr + off);
        vv_st32(req + 88 + 16 * i + 8, sg ? MIN(4096, size - off) : size);
    }
    g_assert_cmphex(sync_cmd(d, req, 88 + 16 * n, &c), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
}

static uint32_t queue_buffer(Dec *d, uint32_t queue, uint32_t id,
                             uint64_t ts, uint32_t size)
{
    uint8_t req[64] = { 0 };

    vv_st32(req, VIRTIO_VIDEO_CMD_RESOURCE_QUEUE);
    vv_st32(req + 4, d->sid);
    vv_st32(req + 8, queue);
    vv_st32(req + 12, id);
    vv_st64(req + 16, ts);
    vv_st32(req + 24, 1);
    vv_st32(req + 28, size);
    return fg_submit(d->g, req, sizeof(req), 24);
}

static void get_params(Dec *d, uint32_t queue, VvParams *p)
{
    uint8_t req[16] = { 0 };
    FgCompletion c;
    VvRequest parsed;
    const char *why;
    uint8_t fake[128];

    vv_st32(req, VIRTIO_VIDEO_CMD_GET_PARAMS_EXT);
    vv_st32(req + 4, d->sid);
    vv_st32(req + 8, queue);
    g_assert_cmphex(sync_cmd(d, req, sizeof(req), &c), ==,
                    VIRTIO_VIDEO_RESP_OK_GET_PARAMS);
    g_assert_cmpuint(c.len, ==, 128);
    /* reuse the request parser to read the params block */
    memcpy(fake, c.resp, 128);
    vv_st32(fake, VIRTIO_VIDEO_CMD_SET_PARAMS_EXT);
    g_assert_cmphex(vv_parse_request(fake, 128, 1, &parsed, &why), ==, 0);
    *p = parsed.u.set_params;
    g_assert_cmphex(p->queue_type, ==, queue);
}

/* MD5 of the visible NV12 picture in output buffer @i, planes packed. */
static char *picture_md5(Dec *d, unsigned i)
{
    const VvParams *p = &d->out;
    const uint8_t *buf = fg_host(d->g, d->out_addr[i]);
    const uint8_t *uv = buf + p->plane_formats[0].plane_size;
    GChecksum *sum = g_checksum_new(G_CHECKSUM_MD5);
    uint32_t w = p->crop.width, h = p->crop.height, y;
    char *md5;

    g_assert_cmphex(p->format, ==, VIRTIO_VIDEO_FORMAT_NV12);
    for (y = 0; y < h; y++) {
        g_checksum_update(sum, buf + y * p->plane_formats[0].stride, w);
    }
    for (y = 0; y < (h + 1) / 2; y++) {
        g_checksum_update(sum, uv + y * p->plane_formats[1].stride,
                          (w + 1) / 2 * 2);
    }
    md5 = g_strdup(g_checksum_get_string(sum));
    g_checksum_free(sum);
    return md5;
}

static void setup_outputs(Dec *d)
{
    FgCompletion c;
    size_t size;
    unsigned i;

    get_params(d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &d->out);
    size = d->out.plane_formats[0].plane_size +
           d->out.plane_formats[1].plane_size;
    if (d->out_created) {
        /* V4L2 re-setup after a resolution change */
        uint8_t req[16] = { 0 };

        vv_st32(req, VIRTIO_VIDEO_CMD_QUEUE_CLEAR);
        vv_st32(req + 4, d->sid);
        vv_st32(req + 8, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT);
        g_assert_cmphex(sync_cmd(d, req, sizeof(req), &c), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        /* the cancelled buffers completed before the clear */
        for (i = 0; i < NUM_OUT; i++) {
            if (d->out_tag[i]) {
                fg_wait(d->g, d->out_tag[i], &c);
                g_assert_cmphex(vv_ld32(c.resp + 16), ==,
                                VIRTIO_VIDEO_BUFFER_FLAG_ERR);
                d->out_tag[i] = 0;
            }
        }
        vv_st32(req, VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL);
        g_assert_cmphex(sync_cmd(d, req, sizeof(req), &c), ==,
                        VIRTIO_VIDEO_RESP_OK_NODATA);
        d->out_id_base += NUM_OUT;
    }
    for (i = 0; i < NUM_OUT; i++) {
        d->out_addr[i] = fg_alloc(d->g, size);
        create_resource(d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                        100 + d->out_id_base + i, d->out_addr[i], size,
                        d->sg);
        d->out_tag[i] = queue_buffer(d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                     100 + d->out_id_base + i, 0, 0);
    }
    d->out_created = true;
}

/* Handle one completion or event; false on timeout. */
static bool pump(Dec *d)
{
    FgCompletion c;
    uint8_t ev[8];
    unsigned i;

    switch (fg_wait_any(d->g, &c, ev, 60000)) {
    case 0:
        return false;
    case 2:
        if (vv_ld32(ev) == VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED) {
            d->events++;
            g_assert_cmpuint(vv_ld32(ev + 4), ==, d->sid);
            setup_outputs(d);
        } else {
            g_error("unexpected event 0x%x", vv_ld32(ev));
        }
        return true;
    }
    for (i = 0; i < NUM_IN; i++) {
        if (d->in_busy[i] && d->in_tag[i] == c.tag) {
            g_assert_cmphex(hdr_type(&c), ==,
                            VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
            g_assert_cmphex(vv_ld32(c.resp + 16), ==, 0);
            d->in_busy[i] = false;
            return true;
        }
    }
    for (i = 0; i < NUM_OUT; i++) {
        if (d->out_tag[i] == c.tag) {
            uint32_t flags = vv_ld32(c.resp + 16);
            uint64_t ts = vv_ld64(c.resp + 8);

            g_assert_cmphex(hdr_type(&c), ==,
                            VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
            d->out_tag[i] = 0;
            if (flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
                return true;        /* cancelled by a clear */
            }
            if (flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
                g_assert_cmpuint(ts, ==, 0);
                g_assert_cmpuint(vv_ld32(c.resp + 20), ==, 0);
                d->eos = true;
                return true;
            }
            g_ptr_array_add(d->md5, picture_md5(d, i));
            g_array_append_val(d->ts, ts);
            d->out_tag[i] = queue_buffer(d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                         100 + d->out_id_base + i, 0, 0);
            return true;
        }
    }
    g_error("completion of unknown command %u", c.tag);
}

/* The frames of an IVF file. */
static GPtrArray *ivf_frames(const char *path)
{
    g_autofree uint8_t *data = NULL;
    GPtrArray *frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_bytes_unref);
    size_t len, off;

    g_assert_true(g_file_get_contents(path, (char **)&data, &len, NULL));
    g_assert_cmpmem(data, 4, "DKIF", 4);
    off = vv_ld32(data + 4) >> 16;      /* header size */
    while (off + 12 <= len) {
        uint32_t size = vv_ld32(data + off);

        g_assert_cmpuint(off + 12 + size, <=, len);
        g_ptr_array_add(frames, g_bytes_new(data + off + 12, size));
        off += 12 + size;
    }
    return frames;
}

static GPtrArray *read_framemd5(const char *path)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    GPtrArray *md5 = g_ptr_array_new_with_free_func(g_free);
    char **l;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (l = lines; *l; l++) {
        g_auto(GStrv) f = NULL;

        if (**l == '#' || !**l) {
            continue;
        }
        f = g_strsplit(*l, ",", -1);
        g_assert_cmpuint(g_strv_length(f), ==, 6);
        g_ptr_array_add(md5, g_strdup(g_strstrip(f[5])));
    }
    return md5;
}

static void decode_ivf_until(const char *path, uint32_t format, bool sg,
                             unsigned stop_after);

static void decode_ivf(const char *path, uint32_t format, bool sg)
{
    decode_ivf_until(path, format, sg, 0);
}

/*
 * Decode, or with @stop_after drop the whole engine (as a device reset
 * does) once that many pictures came back, with buffers still queued and
 * the worker busy: fg_free() checks every mapping was released.
 */
static void decode_ivf_until(const char *path, uint32_t format, bool sg,
                             unsigned stop_after)
{
    g_autoptr(GPtrArray) frames = ivf_frames(path);
    g_autofree char *ref_path = g_strdup_printf("%s.nv12.framemd5", path);
    g_autoptr(GPtrArray) ref = read_framemd5(ref_path);
    Dec d = { .sid = 1, .sg = sg };
    uint8_t req[88] = { 0 };
    FgCompletion c;
    unsigned i, next = 0;

    d.g = fg_new(VV_MODE_DECODER, 512 * 1024 * 1024);
    d.md5 = g_ptr_array_new_with_free_func(g_free);
    d.ts = g_array_new(false, false, sizeof(uint64_t));

    create_stream(&d, d.sid, format);
    for (i = 0; i < NUM_IN; i++) {
        d.in_addr[i] = fg_alloc(d.g, IN_SIZE);
        create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, i + 1,
                        d.in_addr[i], IN_SIZE, false);
    }

    while (next < frames->len) {
        for (i = 0; i < NUM_IN && next < frames->len; i++) {
            GBytes *f = frames->pdata[next];
            size_t size;
            const void *bytes = g_bytes_get_data(f, &size);

            if (d.in_busy[i]) {
                continue;
            }
            g_assert_cmpuint(size, <=, IN_SIZE);
            memcpy(fg_host(d.g, d.in_addr[i]), bytes, size);
            /* high bits set: all 64 bits of the cookie must survive */
            d.in_tag[i] = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                       i + 1, 0xfedc000000000000ull | next,
                                       size);
            d.in_busy[i] = true;
            next++;
        }
        if (next < frames->len) {
            g_assert_true(pump(&d));
        }
        if (stop_after && d.md5->len >= stop_after) {
            g_ptr_array_free(d.md5, true);
            g_array_free(d.ts, true);
            fg_free(d.g);
            return;
        }
    }

    memset(req, 0, sizeof(req));
    vv_st32(req, VIRTIO_VIDEO_CMD_STREAM_DRAIN);
    vv_st32(req + 4, d.sid);
    {
        uint32_t drain = fg_submit(d.g, req, 8, 8);

        while (!d.eos) {
            g_assert_true(pump(&d));
        }
        /* the drain completes after the EOS buffer */
        fg_wait(d.g, drain, &c);
        g_assert_cmphex(hdr_type(&c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    }

    g_assert_cmpuint(d.events, >=, 1);
    g_assert_cmpuint(d.md5->len, ==, ref->len);
    for (i = 0; i < ref->len; i++) {
        g_assert_cmpstr(d.md5->pdata[i], ==, ref->pdata[i]);
    }
    /* no reordering in these streams: cookies come back in order */
    for (i = 0; i < d.ts->len; i++) {
        g_assert_cmphex(g_array_index(d.ts, uint64_t, i), ==,
                        0xfedc000000000000ull | i);
    }

    vv_st32(req, VIRTIO_VIDEO_CMD_STREAM_DESTROY);
    g_assert_cmphex(sync_cmd(&d, req, 8, &c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_ptr_array_free(d.md5, true);
    g_array_free(d.ts, true);
    fg_free(d.g);
}

static const char *media_dir(void)
{
    const char *dir = g_getenv("VIRTIO_VIDEO_MEDIA");

    return dir ? dir : MEDIA_DEFAULT;
}

/*
 * The frames of the shared media's test-25fps.vp9.ivf (320x240), or NULL
 * with the test marked skipped when the media folder is not there.
 */
static GPtrArray *vp9_clip_frames(void)
{
    g_autofree char *path = g_build_filename(media_dir(),
                                             "test-25fps.vp9.ivf", NULL);

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return NULL;
    }
    return ivf_frames(path);
}

/*
 * Byte-stream formats through the test client: access units and small
 * chunks go through libavcodec's parsers (these run under ASan too).
 */
/*
 * A guest that queues huge bitstream buffers the decoder does not take
 * (it waits for output buffers) runs into the device's bitstream
 * allowance: ERR_OUT_OF_MEMORY, and the allowance comes back when the
 * stream is destroyed.
 */
static void test_bitstream_cap(void)
{
    g_autoptr(GPtrArray) frames = vp9_clip_frames();
    const size_t big = 3 * 1024 * 1024;
    Dec d = { .sid = 1 };
    uint8_t req[88] = { 0 }, ev[8];
    FgCompletion c;
    GBytes *f0;
    unsigned i;
    int got;

    if (!frames) {
        return;
    }
    f0 = frames->pdata[0];
    fg_max_bitstream = 8 * 1024 * 1024;
    d.g = fg_new(VV_MODE_DECODER, 64 * 1024 * 1024);
    fg_max_bitstream = 0;

    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_VP9);
    /* a keyframe, then no output buffer: the decoder holds its picture */
    d.in_addr[0] = fg_alloc(d.g, big);
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, d.in_addr[0], big,
                    false);
    memcpy(fg_host(d.g, d.in_addr[0]), g_bytes_get_data(f0, NULL),
           g_bytes_get_size(f0));
    queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 0,
                 g_bytes_get_size(f0));
    do {
        got = fg_wait_any(d.g, &c, ev, 60000);
        g_assert_cmpint(got, !=, 0);
    } while (got != 2);

    for (i = 2; i <= 4; i++) {
        uint32_t tag;

        create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, i, d.in_addr[0],
                        big, false);
        tag = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, i, i, big);
        if (i == 4) {
            /* 3 x 3 MiB is past the 8 MiB allowance */
            fg_wait(d.g, tag, &c);
            g_assert_cmphex(hdr_type(&c), ==,
                            VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY);
        }
    }
    /* destroying the stream gives the allowance back */
    memset(req, 0, sizeof(req));
    vv_st32(req, VIRTIO_VIDEO_CMD_STREAM_DESTROY);
    vv_st32(req + 4, 1);
    g_assert_cmphex(sync_cmd(&d, req, 8, &c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    create_stream(&d, 2, VIRTIO_VIDEO_FORMAT_VP9);
    d.sid = 2;
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, d.in_addr[0], big,
                    false);
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 2, d.in_addr[0], big,
                    false);
    /* both accepted (refusals answer at once); the second may wait */
    for (i = 1; i <= 2; i++) {
        queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, i, i, big);
    }
    while (fg_wait_any(d.g, &c, ev, 500) == 1) {
        g_assert_cmphex(hdr_type(&c), ==,
                        VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE);
    }
    fg_free(d.g);
}

/*
 * max-width/max-height on a format the device does not parse (VP9): the
 * codec's request for a picture buffer is refused, before any picture
 * memory is spent, and the stream ends in EVENT_ERROR.
 */
static void test_frame_cap_vp9(void)
{
    g_autoptr(GPtrArray) frames = vp9_clip_frames();
    Dec d = { .sid = 1 };
    uint8_t ev[8];
    FgCompletion c;
    GBytes *f0;
    int got;

    if (!frames) {
        return;
    }
    f0 = frames->pdata[0];
    fg_max_dim = 160;           /* the clip is 320x240 */
    d.g = fg_new(VV_MODE_DECODER, 16 * 1024 * 1024);
    fg_max_dim = 0;
    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_VP9);
    d.in_addr[0] = fg_alloc(d.g, 1024 * 1024);
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, d.in_addr[0],
                    1024 * 1024, false);
    memcpy(fg_host(d.g, d.in_addr[0]), g_bytes_get_data(f0, NULL),
           g_bytes_get_size(f0));
    queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 0,
                 g_bytes_get_size(f0));
    do {
        got = fg_wait_any(d.g, &c, ev, 10000);
        g_assert_cmpint(got, !=, 0);
    } while (got != 2);
    g_assert_cmphex(vv_ld32(ev), ==, VIRTIO_VIDEO_EVENT_ERROR);
    g_mutex_lock(&d.g->lock);
    g_assert_nonnull(strstr(d.g->last_error, "picture buffer refused"));
    g_mutex_unlock(&d.g->lock);
    fg_free(d.g);
}

/*
 * Three pictures with B-frames in one buffer, no output buffer queued: the
 * size is announced from the headers, before any picture could come out
 * (a V4L2 client sets up its CAPTURE queue only after that event).
 */
static void test_early_format(void)
{
    g_autofree char *path = g_build_filename(media_dir(),
                                             "64x64-I-P-B-P-high.h264", NULL);
    g_autofree uint8_t *data = NULL;
    Dec d = { .sid = 1 };
    uint8_t ev[8];
    FgCompletion c;
    gsize len;
    int got;

    if (!g_file_get_contents(path, (char **)&data, &len, NULL)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return;
    }
    /* frame threads hold pictures back: none comes out of three */
    fg_codec_threads = 4;
    d.g = fg_new(VV_MODE_DECODER, 16 * 1024 * 1024);
    fg_codec_threads = 0;
    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_H264);
    d.in_addr[0] = fg_alloc(d.g, 1024 * 1024);
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, d.in_addr[0],
                    1024 * 1024, false);
    memcpy(fg_host(d.g, d.in_addr[0]), data, len);
    queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 0, len);
    do {
        got = fg_wait_any(d.g, &c, ev, 10000);
        g_assert_cmpint(got, !=, 0);
    } while (got != 2);
    g_assert_cmphex(vv_ld32(ev), ==,
                    VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
    fg_free(d.g);
}

/* Has the completion of @tag come (and not been taken yet)? */
static bool arrived(FakeGuest *g, uint32_t tag)
{
    GList *l;

    for (l = g->done.head; l; l = l->next) {
        if (((FgCompletion *)l->data)->tag == tag) {
            return true;
        }
    }
    return false;
}

static uint32_t queue_cmd(Dec *d, uint32_t type, uint32_t queue)
{
    uint8_t req[16] = { 0 };

    vv_st32(req, type);
    vv_st32(req + 4, d->sid);
    vv_st32(req + 8, queue);
    return fg_submit(d->g, req, sizeof(req), 8);
}

static uint32_t stream_cmd(Dec *d, uint32_t type)
{
    uint8_t req[8] = { 0 };

    vv_st32(req, type);
    vv_st32(req + 4, d->sid);
    return fg_submit(d->g, req, sizeof(req), 8);
}

static void expect(Dec *d, uint32_t tag, uint32_t type, uint32_t flags)
{
    FgCompletion c;

    fg_wait(d->g, tag, &c);
    g_assert_cmphex(hdr_type(&c), ==, type);
    if (type == VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE) {
        g_assert_cmphex(vv_ld32(c.resp + 16), ==, flags);
    }
}

/*
 * A consumed bitstream buffer completes lazily while more are queued: with
 * the next completion that wakes the main thread, or when the worker has
 * nothing left to do.  Here the worker stops for lack of an output buffer
 * with inputs still queued, and nothing else completes: the input it took
 * must reach the guest all the same (vv_kick_deferred()), and the ones it
 * did not take must not.  (The first of the three may be taken before the
 * others are queued, and complete at once; the second cannot.)
 */
static void test_lazy_input(void)
{
    g_autoptr(GPtrArray) frames = vp9_clip_frames();
    Dec d = { .sid = 1 };
    uint32_t tag[4], out_tag;
    uint64_t out_addr;
    size_t size;
    uint8_t ev[8];
    FgCompletion c;
    unsigned i;
    int got;

    if (!frames) {
        return;
    }
    /* one codec thread: a picture comes out of each frame at once */
    fg_codec_threads = 1;
    d.g = fg_new(VV_MODE_DECODER, 16 * 1024 * 1024);
    fg_codec_threads = 0;
    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_VP9);
    for (i = 0; i < 4; i++) {
        GBytes *f = frames->pdata[i];

        d.in_addr[i] = fg_alloc(d.g, 256 * 1024);
        create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1 + i,
                        d.in_addr[i], 256 * 1024, false);
        memcpy(fg_host(d.g, d.in_addr[i]), g_bytes_get_data(f, NULL),
               g_bytes_get_size(f));
    }
    /* the first picture through one output buffer, kept afterwards */
    tag[0] = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1, 0,
                          g_bytes_get_size(frames->pdata[0]));
    /* VP9: the size comes with the picture, after the input completed */
    got = fg_wait_any(d.g, &c, ev, 10000);
    g_assert_cmpint(got, ==, 1);
    g_assert_cmpuint(c.tag, ==, tag[0]);
    got = fg_wait_any(d.g, &c, ev, 10000);
    g_assert_cmpint(got, ==, 2);
    g_assert_cmphex(vv_ld32(ev), ==,
                    VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED);
    get_params(&d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, &d.out);
    size = d.out.plane_formats[0].plane_size +
           d.out.plane_formats[1].plane_size;
    out_addr = fg_alloc(d.g, size);
    create_resource(&d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 100, out_addr, size,
                    false);
    out_tag = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 100, 0, 0);
    expect(&d, out_tag, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, 0);

    /* three at once: the worker takes the first, then waits for output */
    for (i = 1; i < 4; i++) {
        tag[i] = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, 1 + i, i,
                              g_bytes_get_size(frames->pdata[i]));
    }
    got = fg_wait_any(d.g, &c, ev, 10000);
    g_assert_cmpint(got, ==, 1);
    g_assert_cmpuint(c.tag, ==, tag[1]);
    g_assert_cmphex(vv_ld32(c.resp + 16), ==, 0);
    g_assert_cmpint(fg_wait_any(d.g, &c, ev, 300), ==, 0);

    /* an output buffer again: the rest follows */
    out_tag = queue_buffer(&d, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, 100, 0, 0);
    expect(&d, out_tag, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, 0);
    expect(&d, tag[2], VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE, 0);
    fg_free(d.g);
}

/*
 * Commands take effect in command order, whether the ones before are
 * answered or not: a driver may send QUEUE_CLEAR or RESOURCE_DESTROY_ALL
 * and go on at once (the ChromeOS driver re-creates and queues its buffers
 * right after DESTROY_ALL).  The buffers they cancel still complete before
 * their answers.
 */
static void test_command_order(void)
{
    const uint32_t in = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    const uint32_t out = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
    const size_t out_size = 1024 * 1024;
    Dec d = { .sid = 1 };
    uint32_t d1, d2, c1, o1, o2, o3, o4, x1, eos;
    uint8_t req[8 + VV_PARAMS_EXT_SIZE] = { 0 };
    FgCompletion c;
    VvParams p;
    unsigned i;

    d.g = fg_new(VV_MODE_DECODER, 64 * 1024 * 1024);
    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_H264);
    d.in_addr[0] = fg_alloc(d.g, IN_SIZE);
    create_resource(&d, in, 1, d.in_addr[0], IN_SIZE, false);
    for (i = 0; i < 2; i++) {
        d.out_addr[i] = fg_alloc(d.g, out_size);
        create_resource(&d, out, 101 + i, d.out_addr[i], out_size, false);
    }

    /* a drain with no output buffer for its EOS cannot end ... */
    d1 = stream_cmd(&d, VIRTIO_VIDEO_CMD_STREAM_DRAIN);
    /* ... until a clear cancels it: a new drain is welcome right after */
    c1 = queue_cmd(&d, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, in);
    d2 = stream_cmd(&d, VIRTIO_VIDEO_CMD_STREAM_DRAIN);
    fg_wait(d.g, c1, &c);
    g_assert_cmphex(hdr_type(&c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_true(arrived(d.g, d1));
    expect(&d, d1, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION, 0);
    g_assert_false(arrived(d.g, d2));
    eos = queue_buffer(&d, out, 101, 0, 0);
    expect(&d, eos, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
           VIRTIO_VIDEO_BUFFER_FLAG_EOS);
    expect(&d, d2, VIRTIO_VIDEO_RESP_OK_NODATA, 0);

    /*
     * RESOURCE_DESTROY_ALL, then at once a format change (no buffer is
     * left), the same resource id again and a buffer queued with it
     */
    o1 = queue_buffer(&d, out, 101, 0, 0);
    o2 = queue_buffer(&d, out, 102, 0, 0);
    x1 = queue_cmd(&d, VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL, out);
    get_params(&d, out, &p);
    p.format = VIRTIO_VIDEO_FORMAT_YUV420;
    vv_write_hdr(req, VIRTIO_VIDEO_CMD_SET_PARAMS_EXT, d.sid);
    vv_write_params(req + 8, &p, true);
    g_assert_cmphex(sync_cmd(&d, req, sizeof(req), &c), ==,
                    VIRTIO_VIDEO_RESP_OK_NODATA);
    get_params(&d, out, &p);
    g_assert_cmphex(p.format, ==, VIRTIO_VIDEO_FORMAT_YUV420);
    create_resource(&d, out, 101, d.out_addr[0], out_size, false);
    o3 = queue_buffer(&d, out, 101, 0, 0);
    fg_wait(d.g, x1, &c);
    g_assert_cmphex(hdr_type(&c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    /* the buffers it cancelled came first, the new one stays queued */
    g_assert_true(arrived(d.g, o1) && arrived(d.g, o2));
    expect(&d, o1, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
           VIRTIO_VIDEO_BUFFER_FLAG_ERR);
    expect(&d, o2, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
           VIRTIO_VIDEO_BUFFER_FLAG_ERR);
    get_params(&d, in, &p);
    g_assert_false(arrived(d.g, o3));

    /* QUEUE_CLEAR, then the same buffer queued again at once */
    c1 = queue_cmd(&d, VIRTIO_VIDEO_CMD_QUEUE_CLEAR, out);
    o4 = queue_buffer(&d, out, 101, 0, 0);
    fg_wait(d.g, c1, &c);
    g_assert_cmphex(hdr_type(&c), ==, VIRTIO_VIDEO_RESP_OK_NODATA);
    g_assert_true(arrived(d.g, o3));
    expect(&d, o3, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
           VIRTIO_VIDEO_BUFFER_FLAG_ERR);
    get_params(&d, in, &p);
    g_assert_false(arrived(d.g, o4));

    /* STREAM_DESTROY, and the same id is free at once */
    x1 = stream_cmd(&d, VIRTIO_VIDEO_CMD_STREAM_DESTROY);
    create_stream(&d, 1, VIRTIO_VIDEO_FORMAT_VP9);
    expect(&d, x1, VIRTIO_VIDEO_RESP_OK_NODATA, 0);
    expect(&d, o4, VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
           VIRTIO_VIDEO_BUFFER_FLAG_ERR);
    expect(&d, stream_cmd(&d, VIRTIO_VIDEO_CMD_STREAM_DESTROY),
           VIRTIO_VIDEO_RESP_OK_NODATA, 0);
    fg_free(d.g);
}

/*
 * A pipelined QUEUE_CLEAR(INPUT) (a seek that queues the stream again
 * from its start without waiting for the clear's answer): the pictures
 * before the clear are a prefix of the reference, those after it all of
 * it.
 */
static void test_pipelined_clear(void)
{
    g_autofree char *path = g_build_filename(media_dir(), "test-25fps.h264",
                                             NULL);
    g_autofree char *ref_path = g_strdup_printf("%s.nv12.framemd5", path);
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autoptr(GPtrArray) ref = NULL;
    g_autofree char *err = NULL;
    VvcDecodeStats st;
    VvcDecodeOpts o = {
        .pipelined = true, .clear_input_after = 20, .stats = &st,
    };
    FakeGuest *g;
    VvcClient *c;
    guint i, first = 0;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return;
    }
    ref = vvc_read_framemd5(ref_path, &err);
    g_assert_nonnull(ref);
    g = fg_new(VV_MODE_DECODER, 512 * 1024 * 1024);
    c = vvc_new(&fg_vvc_ops, g);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_file(c, path, &o, frames, &err)) {
        g_error("%s", err);
    }
    g_assert_cmpuint(st.cleared_inputs, ==, 1);
    for (i = 0; i < frames->len; i++) {
        VvcFrame *f = &g_array_index(frames, VvcFrame, i);

        if (f->pass == 0) {
            g_assert_cmpuint(i, ==, first);
            g_assert_cmpstr(f->md5, ==, ref->pdata[i]);
            first++;
        } else {
            g_assert_cmpuint(i - first, <, ref->len);
            g_assert_cmpstr(f->md5, ==, ref->pdata[i - first]);
        }
    }
    g_assert_cmpuint(first, >=, 20);
    g_assert_cmpuint(frames->len - first, ==, ref->len);
    vvc_free(c);
    fg_free(g);
}

/*
 * H.264 without VUI bitstream_restriction that goes from Baseline to
 * B-frames and then to deeper reordering: every picture of each part, as
 * ffmpeg decodes the part alone, with the codec on the worker and with
 * frame threads.
 */
static void test_reorder_switch(gconstpointer data)
{
    g_autofree char *dir = g_dir_make_tmp("vv-reorder-XXXXXX", NULL);
    g_autofree char *path = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GPtrArray) ref = NULL;
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    VvcDecodeStats st;
    VvcDecodeOpts o = { .stats = &st };
    FakeGuest *g;
    VvcClient *c;
    GDir *gd;
    const char *name;
    guint i;

    g_autofree char *ffmpeg = g_find_program_in_path("ffmpeg");

    if (!ffmpeg) {
        /* qemu/scripts/deps.sh installs it: its absence is a failure */
        g_test_message("no ffmpeg command to make the stream");
        g_test_fail();
        return;
    }
    g_assert_nonnull(dir);
    if (!vvc_gen_reorder_switch(dir, &path, &ref, &err)) {
        g_error("%s", err);
    }
    fg_codec_threads = GPOINTER_TO_UINT(data);
    g = fg_new(VV_MODE_DECODER, 256 * 1024 * 1024);
    fg_codec_threads = 0;
    c = vvc_new(&fg_vvc_ops, g);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_file(c, path, &o, frames, &err)) {
        g_error("%s", err);
    }
    g_test_message("%u of %u pictures, %u sizes", frames->len, ref->len,
                   st.res_changes);
    g_assert_cmpuint(frames->len, ==, ref->len);
    for (i = 0; i < ref->len; i++) {
        g_assert_cmpstr(g_array_index(frames, VvcFrame, i).md5, ==,
                        ref->pdata[i]);
    }
    g_assert_cmpuint(st.res_changes, ==, 3);
    vvc_free(c);
    fg_free(g);
    gd = g_dir_open(dir, 0, NULL);
    while (gd && (name = g_dir_read_name(gd))) {
        g_autofree char *f = g_build_filename(dir, name, NULL);

        g_unlink(f);
    }
    if (gd) {
        g_dir_close(gd);
    }
    g_rmdir(dir);
}

typedef struct ClientCase {
    const char *name;
    bool chunked;
    unsigned migrate_after;     /* frames; 0: no migration */
    bool echo;                  /* params sent back at each new size */
    bool pipelined;             /* VvcDecodeOpts.pipelined */
} ClientCase;

static unsigned migrations;

static void migrate_hook(void *opaque)
{
    size_t len = fg_migrate(opaque);

    migrations++;
    g_test_message("migrated: %zu bytes of state", len);
}

static void test_client_decode(gconstpointer data)
{
    const ClientCase *t = data;
    g_autofree char *path = g_build_filename(media_dir(), t->name, NULL);
    g_autofree char *ref_path = g_strdup_printf("%s.nv12.framemd5", path);
    g_autoptr(GArray) frames = g_array_new(false, true, sizeof(VvcFrame));
    g_autoptr(GPtrArray) ref = NULL;
    g_autofree char *err = NULL;
    VvcDecodeOpts o = {
        .chunked = t->chunked, .chunk_size = 1021,
        .hook = t->migrate_after ? migrate_hook : NULL,
        .hook_after = t->migrate_after,
        .echo_params = t->echo, .pipelined = t->pipelined,
    };
    FakeGuest *g;
    VvcClient *c;
    guint i;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return;
    }
    ref = vvc_read_framemd5(ref_path, &err);
    g_assert_nonnull(ref);
    g = fg_new(VV_MODE_DECODER, 512 * 1024 * 1024);
    o.hook_opaque = g;
    c = vvc_new(&fg_vvc_ops, g);
    vvc_set_timeout(c, 60000);
    if (!vvc_decode_file(c, path, &o, frames, &err)) {
        g_error("%s: %s", t->name, err);
    }
    g_assert_cmpuint(frames->len, ==, ref->len);
    g_assert_cmpuint(migrations, ==, t->migrate_after ? 1 : 0);
    migrations = 0;
    for (i = 0; i < ref->len; i++) {
        g_assert_cmpstr(g_array_index(frames, VvcFrame, i).md5, ==,
                        ref->pdata[i]);
    }
    vvc_free(c);
    fg_free(g);
}

static const ClientCase client_cases[] = {
    { "test-25fps.h264", false },
    { "test-25fps-interlaced.h264", true },
    { "bear.hevc", true },
    { "sample_h262_mpeg_audio.m2v", true },
    { "sample_h263.m4v", false },
    /* live migration: state saved, a new engine replays it */
    { "test-25fps.h264", false, 11 },
    { "bear.hevc", true, 7 },
    { "test-25fps.vp9.ivf", false, 23 },
    { "test-25fps.vp8.ivf", false, 5 },
    { "sample_h262_mpeg_audio.m2v", true, 2 },
    { "sample_h263.m4v", false, 6 },
    { "test-25fps.av1.ivf", false, 13 },
    /*
     * the params of each size (320x180 in a 16-aligned layout; 176x144,
     * 320x192, 176x144), and the size before, sent back change nothing
     */
    { "bear.hevc", false, 0, true },
    { "DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264", false, 0,
      true },
    /* at the very end: draining, the last pictures undelivered */
    { "test-25fps.vp9.ivf", false, 249 },
    { "test-25fps.h264", true, 249 },
    /*
     * the buffers of each new size created and queued right after
     * RESOURCE_DESTROY_ALL, with the same ids, without waiting
     */
    { "DERIVED_h264_reschange_SVA_BA1_B_test_vd_1d_SVA_BA1_B.h264", false, 0,
      false, true },
    { "resolution_change_500frames-vp9.ivf", false, 0, false, true },
};

static void test_reset_busy(void)
{
    g_autofree char *path = g_build_filename(media_dir(),
                                             "resolution_change_500frames-"
                                             "vp9.ivf", NULL);
    unsigned stop;

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return;
    }
    for (stop = 1; stop < 120; stop += 29) {
        decode_ivf_until(path, VIRTIO_VIDEO_FORMAT_VP9, stop & 1, stop);
    }
}

typedef struct IvfCase {
    const char *name;
    uint32_t format;
    bool sg;
} IvfCase;

static void test_media_ivf(gconstpointer data)
{
    const IvfCase *t = data;
    g_autofree char *path = g_build_filename(media_dir(), t->name, NULL);

    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("shared media not found: set VIRTIO_VIDEO_MEDIA");
        return;
    }
    decode_ivf(path, t->format, t->sg);
}

static const IvfCase ivf_cases[] = {
    { "test-25fps.vp9.ivf", VIRTIO_VIDEO_FORMAT_VP9, false },
    { "test-25fps.vp9.ivf", VIRTIO_VIDEO_FORMAT_VP9, true },
    { "resolution_change_500frames-vp9.ivf", VIRTIO_VIDEO_FORMAT_VP9, false },
    { "vp90-2-10-show-existing-frame.vp9.ivf", VIRTIO_VIDEO_FORMAT_VP9,
      false },
    { "test-25fps.vp8.ivf", VIRTIO_VIDEO_FORMAT_VP8, true },
    { "test-25fps.av1.ivf", VIRTIO_VIDEO_FORMAT_AV1, false },
    { "av1-1-b8-03-sizeup.ivf", VIRTIO_VIDEO_FORMAT_AV1, true },
    { "dav1d-test-data_00001130.ivf", VIRTIO_VIDEO_FORMAT_AV1, false },
};

int main(int argc, char **argv)
{
    size_t i;

    g_test_init(&argc, &argv, NULL);
    for (i = 0; i < G_N_ELEMENTS(ivf_cases); i++) {
        g_autofree char *name =
            g_strdup_printf("/vv/decode/%s%s", ivf_cases[i].name,
                            ivf_cases[i].sg ? "/sg" : "");

        g_test_add_data_func(name, &ivf_cases[i], test_media_ivf);
    }
    for (i = 0; i < G_N_ELEMENTS(client_cases); i++) {
        g_autofree char *migrate = client_cases[i].migrate_after ?
            g_strdup_printf("/migrate-at-%u", client_cases[i].migrate_after) :
            g_strdup("");
        g_autofree char *name =
            g_strdup_printf("/vv/decode/client/%s%s%s%s%s",
                            client_cases[i].name,
                            client_cases[i].chunked ? "/chunks" : "",
                            client_cases[i].echo ? "/echo-params" : "",
                            client_cases[i].pipelined ? "/pipelined" : "",
                            migrate);

        g_test_add_data_func(name, &client_cases[i], test_client_decode);
    }
    g_test_add_func("/vv/decode/reset-busy", test_reset_busy);
    g_test_add_func("/vv/decode/command-order", test_command_order);
    g_test_add_func("/vv/decode/pipelined-clear-input", test_pipelined_clear);
    g_test_add_data_func("/vv/decode/reorder-switch/threads-1",
                         GUINT_TO_POINTER(1), test_reorder_switch);
    g_test_add_data_func("/vv/decode/reorder-switch/threads-2",
                         GUINT_TO_POINTER(2), test_reorder_switch);
    g_test_add_func("/vv/decode/bitstream-cap", test_bitstream_cap);
    g_test_add_func("/vv/decode/early-format", test_early_format);
    g_test_add_func("/vv/decode/lazy-input", test_lazy_input);
    g_test_add_func("/vv/decode/frame-cap-vp9", test_frame_cap_vp9);
    return g_test_run();
}
