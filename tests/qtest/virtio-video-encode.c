/*
 * virtio-video test helpers: encode a generated sequence through the
 * device and check the bitstream with an independent decoder.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

#include "standard-headers/linux/virtio_video.h"
#include "virtio-video-encode.h"

#define FAIL(...) \
    do { *err = g_strdup_printf(__VA_ARGS__); goto out; } while (0)

#define ENC_IN_BUFS     8
#define ENC_OUT_BUFS    4

#define ALIGN16(x)      (((x) + 15) & ~15u)

size_t vvc_yuv420_size(uint32_t width, uint32_t height)
{
    return (size_t)width * height +
           2 * (size_t)((width + 1) / 2) * ((height + 1) / 2);
}

uint8_t *vvc_test_frames(uint32_t width, uint32_t height, uint32_t fps,
                         uint32_t frames, char **err)
{
    size_t frame_size = vvc_yuv420_size(width, height);
    g_autofree char *dir = g_build_filename(g_get_tmp_dir(),
                                            "virtio-video-test", NULL);
    g_autofree char *path = g_strdup_printf("%s/testsrc2-%ux%u-%u-%u.yuv",
                                            dir, width, height, fps, frames);
    g_autofree char *tmp = g_strdup_printf("%s.%d", path, (int)getpid());
    g_autofree char *crop = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    uint8_t *data = NULL;
    gsize len = 0;
    int status;

    if (g_file_get_contents(path, (char **)&data, &len, NULL) &&
        len == frame_size * frames) {
        return data;
    }
    g_free(data);
    g_mkdir_with_parents(dir, 0700);
    /* testsrc2 makes even sizes: an odd one is cut out of the next size */
    if ((width | height) & 1) {
        crop = g_strdup_printf(" -vf crop=%u:%u:0:0:exact=1", width, height);
    }
    cmd = g_strdup_printf("ffmpeg -nostdin -hide_banner -loglevel error -y "
                          "-f lavfi -i testsrc2=size=%ux%u:rate=%u%s "
                          "-frames:v %u -pix_fmt yuv420p -f rawvideo %s",
                          (width + 1) & ~1u, (height + 1) & ~1u, fps,
                          crop ? crop : "", frames, tmp);
    if (!g_spawn_command_line_sync(cmd, NULL, &out, &status, NULL) ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        g_rename(tmp, path) != 0 ||
        !g_file_get_contents(path, (char **)&data, &len, NULL) ||
        len != frame_size * frames) {
        *err = g_strdup_printf("could not make the source frames (%s): %s",
                               cmd, out ? out : "");
        g_free(data);
        return NULL;
    }
    return data;
}

/*
 * Pack source picture @src (yuv420p, tight) into the device's layout, at
 * the params' crop offset (even: whole chroma samples).
 */
static void pack_frame(const VvcParams *p, uint32_t raw_format,
                       const uint8_t *src, uint32_t w, uint32_t h,
                       uint8_t *dst)
{
    uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2, x, y;
    const uint8_t *sy = src, *su = src + w * h, *sv = su + cw * ch;
    size_t off1 = p->plane_size[0], off2 = off1 + p->plane_size[1];
    uint32_t left = p->crop_left, top = p->crop_top;

    for (y = 0; y < h; y++) {
        memcpy(dst + (top + y) * p->stride[0] + left, sy + y * w, w);
    }
    for (y = 0; y < ch; y++) {
        const uint8_t *u = su + y * cw, *v = sv + y * cw;
        uint32_t row = top / 2 + y;

        if (raw_format == VIRTIO_VIDEO_FORMAT_NV12) {
            uint8_t *uv = dst + off1 + row * p->stride[1] + left;

            for (x = 0; x < cw; x++) {
                uv[2 * x] = u[x];
                uv[2 * x + 1] = v[x];
            }
        } else {
            bool swap = raw_format == VIRTIO_VIDEO_FORMAT_YVU420;

            memcpy(dst + off1 + row * p->stride[1] + left / 2, swap ? v : u,
                   cw);
            memcpy(dst + off2 + row * p->stride[2] + left / 2, swap ? u : v,
                   cw);
        }
    }
}

static double plane_sse(const uint8_t *a, int a_stride, const uint8_t *b,
                        int b_stride, int w, int h)
{
    double sse = 0;
    int x, y;

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            int d = a[y * a_stride + x] - b[y * b_stride + x];

            sse += d * d;
        }
    }
    return sse;
}

static double psnr(const AVFrame *f, const uint8_t *src, uint32_t w,
                   uint32_t h)
{
    uint32_t cw = (w + 1) / 2, ch = (h + 1) / 2;
    double sse = plane_sse(f->data[0], f->linesize[0], src, w, w, h) +
                 plane_sse(f->data[1], f->linesize[1], src + w * h, cw,
                           cw, ch) +
                 plane_sse(f->data[2], f->linesize[2],
                           src + w * h + cw * ch, cw, cw, ch);
    double mse = sse / vvc_yuv420_size(w, h);

    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 100;
}

/* profile_idc and level_idc of the first H.264 SPS in @buf. */
static bool h264_sps(const uint8_t *buf, size_t len, int *profile,
                     int *level)
{
    size_t i;

    for (i = 0; i + 6 < len; i++) {
        if (buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1 &&
            (buf[i + 3] & 0x1f) == 7) {
            *profile = buf[i + 4];
            *level = buf[i + 6];
            return true;
        }
    }
    return false;
}

typedef struct Checker {
    AVCodecContext *dec;
    AVFrame *frame;
    AVPacket *pkt;
    const uint8_t *src;
    uint32_t w, h;
    unsigned decoded;
    double psnr_sum, psnr_min;
    int bad_w, bad_h;           /* a picture not of the source's size */
} Checker;

static enum AVCodecID codec_id(uint32_t format)
{
    switch (format) {
    case VIRTIO_VIDEO_FORMAT_H264:
        return AV_CODEC_ID_H264;
    case VIRTIO_VIDEO_FORMAT_HEVC:
        return AV_CODEC_ID_HEVC;
    case VIRTIO_VIDEO_FORMAT_VP8:
        return AV_CODEC_ID_VP8;
    case VIRTIO_VIDEO_FORMAT_VP9:
        return AV_CODEC_ID_VP9;
    default:
        return AV_CODEC_ID_NONE;
    }
}

static void checker_collect(Checker *k)
{
    while (avcodec_receive_frame(k->dec, k->frame) == 0) {
        const uint8_t *src = k->src +
                             k->decoded * vvc_yuv420_size(k->w, k->h);
        double p;

        if (k->frame->width != (int)k->w || k->frame->height != (int)k->h) {
            k->bad_w = k->frame->width;
            k->bad_h = k->frame->height;
            av_frame_unref(k->frame);
            continue;
        }
        p = psnr(k->frame, src, k->w, k->h);

        k->psnr_sum += p;
        k->psnr_min = k->decoded ? MIN(k->psnr_min, p) : p;
        k->decoded++;
        av_frame_unref(k->frame);
    }
}

/* Decode one packet with libavcodec's own decoder. */
static void checker_feed(Checker *k, const uint8_t *data, size_t len)
{
    if (av_new_packet(k->pkt, len) < 0) {
        return;
    }
    memcpy(k->pkt->data, data, len);
    avcodec_send_packet(k->dec, k->pkt);
    av_packet_unref(k->pkt);
    checker_collect(k);
}

static bool get_both(VvcClient *c, uint32_t sid, VvcParams *in,
                     VvcParams *out)
{
    return vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, in) ==
           VIRTIO_VIDEO_RESP_OK_GET_PARAMS &&
           vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true,
                          out) == VIRTIO_VIDEO_RESP_OK_GET_PARAMS;
}

static bool set_ok(VvcClient *c, uint32_t sid, const VvcParams *p,
                   const char *what, char **err)
{
    uint32_t type = vvc_set_params(c, sid, p, true);

    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        *err = g_strdup_printf("SET_PARAMS_EXT(%s) answered 0x%x", what,
                               type);
        return false;
    }
    return true;
}

/*
 * A driver that keeps what GET_PARAMS returned and sends it back (the
 * v3 drivers of protocol.md 10.4, issue #20): every SET starts from the
 * cached params of its queue, and is followed by GET_PARAMS of both
 * queues, except after the crop selection (its queue only).
 */
static bool setup_cached(VvcClient *c, uint32_t sid, const VvcEncodeCase *t,
                         size_t out_size, char **err)
{
    uint32_t mem = t->in_object ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                                : VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    VvcParams in, out, p;
    unsigned k;

    /* open() */
    if (!get_both(c, sid, &in, &out)) {
        goto get_failed;
    }
    /* S_FMT(CAPTURE, coded format, width x height, sizeimage) */
    p = out;
    p.format = t->format;
    p.frame_width = t->sfmt_width ? t->sfmt_width : t->width;
    p.frame_height = t->sfmt_height ? t->sfmt_height : t->height;
    p.num_planes = 1;
    p.plane_size[0] = out_size;
    p.stride[0] = 0;
    p.frame_rate = 0;
    if (!set_ok(c, sid, &p, "OUTPUT, S_FMT", err)) {
        return false;
    }
    if (!get_both(c, sid, &in, &out)) {
        goto get_failed;
    }
    /* S_FMT(OUTPUT, raw format, width x height): V4L2's one plane */
    p = in;
    p.format = t->raw_format;
    p.frame_width = t->sfmt_width ? t->sfmt_width : t->width;
    p.frame_height = t->sfmt_height ? t->sfmt_height : t->height;
    for (k = 1; k < p.num_planes; k++) {
        p.plane_size[0] += p.plane_size[k];
        p.plane_size[k] = p.stride[k] = 0;
    }
    p.num_planes = 1;
    p.frame_rate = 0;
    if (!set_ok(c, sid, &p, "INPUT, S_FMT", err)) {
        return false;
    }
    if (!get_both(c, sid, &in, &out)) {
        goto get_failed;
    }
    /* S_PARM: the cached params, aligned size and all, with the rate */
    p = in;
    p.frame_rate = t->fps;
    if (!set_ok(c, sid, &p, "INPUT, S_PARM", err)) {
        return false;
    }
    if (!get_both(c, sid, &in, &out)) {
        goto get_failed;
    }
    /* S_SELECTION(OUTPUT, CROP): into the bitstream queue's params */
    p = out;
    p.crop_left = p.crop_top = 0;
    p.crop_width = t->width;
    p.crop_height = t->height;
    if (!set_ok(c, sid, &p, "OUTPUT, S_SELECTION", err)) {
        return false;
    }
    if (vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true,
                       &out) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
        goto get_failed;
    }
    /* REQBUFS on both queues: the cached params with the memory type */
    p = in;
    p.resource_type = mem;
    if (!set_ok(c, sid, &p, "INPUT, REQBUFS", err)) {
        return false;
    }
    p = out;
    p.resource_type = VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    return set_ok(c, sid, &p, "OUTPUT, REQBUFS", err);

get_failed:
    *err = g_strdup("GET_PARAMS_EXT failed");
    return false;
}

/*
 * Set the stream's formats and sizes as t->sizes says; the INPUT params
 * that result in @inp, checked.
 */
static bool setup_sizes(VvcClient *c, uint32_t sid, const VvcEncodeCase *t,
                        size_t out_size, VvcParams *inp, char **err)
{
    uint32_t left = t->sizes == VVC_SIZES_RAW_CROP ? t->crop_left : 0;
    uint32_t top = t->sizes == VVC_SIZES_RAW_CROP ? t->crop_top : 0;
    VvcParams p = { 0 }, outp;

    if (t->sizes == VVC_SIZES_CACHED) {
        if (!setup_cached(c, sid, t, out_size, err)) {
            return false;
        }
        goto check;
    }
    /* the V4L2 order: CAPTURE (coded) format, OUTPUT (raw) format, S_PARM */
    p.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
    p.format = t->format;
    p.num_planes = 1;
    p.plane_size[0] = out_size;
    if (!set_ok(c, sid, &p, "OUTPUT", err)) {
        return false;
    }
    memset(&p, 0, sizeof(p));
    p.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    p.format = t->raw_format;
    p.frame_width = t->width;
    p.frame_height = t->height;
    if (t->sizes == VVC_SIZES_RAW_CROP) {
        /* the whole aligned frame first, then the crop */
        p.frame_width = ALIGN16(left + t->width);
        p.frame_height = ALIGN16(top + t->height);
    }
    p.frame_rate = t->fps;
    p.num_planes = 1;
    p.resource_type = t->in_object ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                                   : VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    if (!set_ok(c, sid, &p, "INPUT", err)) {
        return false;
    }
    if (t->sizes == VVC_SIZES_RAW_CROP) {
        if (vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true,
                           &p) != VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
            *err = g_strdup("GET_PARAMS_EXT(INPUT) failed");
            return false;
        }
        p.crop_left = left;
        p.crop_top = top;
        p.crop_width = t->width;
        p.crop_height = t->height;
        if (!set_ok(c, sid, &p, "INPUT, crop", err) ||
            !vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true,
                            NULL, err) ||
            !vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true,
                            NULL, err)) {
            return false;
        }
    }

check:
    if (!get_both(c, sid, inp, &outp)) {
        *err = g_strdup("GET_PARAMS_EXT failed");
        return false;
    }
    if (inp->format != t->raw_format || inp->crop_left != left ||
        inp->crop_top != top || inp->crop_width != t->width ||
        inp->crop_height != t->height || inp->frame_rate != t->fps ||
        inp->frame_width < left + t->width ||
        inp->frame_height < top + t->height) {
        *err = g_strdup_printf("INPUT params not taken: format 0x%x %ux%u "
                               "crop %ux%u+%u+%u @%u", inp->format,
                               inp->frame_width, inp->frame_height,
                               inp->crop_width, inp->crop_height,
                               inp->crop_left, inp->crop_top,
                               inp->frame_rate);
        return false;
    }
    if (outp.format != t->format || outp.frame_width != t->width ||
        outp.frame_height != t->height ||
        outp.crop_width != t->width || outp.crop_height != t->height) {
        *err = g_strdup_printf("OUTPUT params: format 0x%x %ux%u crop %ux%u",
                               outp.format, outp.frame_width,
                               outp.frame_height, outp.crop_width,
                               outp.crop_height);
        return false;
    }
    return true;
}

bool vvc_encode_run(VvcClient *c, uint32_t sid, const VvcEncodeCase *t,
                    VvcEncodeResult *r, char **err)
{
    g_autofree uint8_t *src = NULL;
    g_autofree uint8_t *packed = NULL;
    g_autofree uint8_t *pkt_buf = NULL;
    VvcResource *in[ENC_IN_BUFS] = { 0 }, *out[ENC_OUT_BUFS] = { 0 };
    uint32_t in_tag[ENC_IN_BUFS] = { 0 }, out_tag[ENC_OUT_BUFS] = { 0 };
    size_t frame_size = vvc_yuv420_size(t->width, t->height);
    size_t out_size = t->out_size ? t->out_size : 1024 * 1024;
    const AVCodec *codec = avcodec_find_decoder(codec_id(t->format));
    Checker k = { 0 };
    VvcParams inp;
    uint32_t next = 0, drain_tag = 0, type, in_size, i;
    bool eos = false, ok = false, hooked = false;
    gint64 t_start = 0;

    memset(r, 0, sizeof(*r));
    r->keyframes = g_array_new(false, false, sizeof(unsigned));
    r->h264_profile_idc = r->h264_level_idc = -1;

    src = vvc_test_frames(t->width, t->height, t->fps,
                          t->bench_distinct ? t->bench_distinct : t->frames,
                          err);
    if (!src) {
        return false;
    }
    if (!codec) {
        FAIL("no host decoder for format 0x%x", t->format);
    }
    k.dec = avcodec_alloc_context3(codec);
    k.frame = av_frame_alloc();
    k.pkt = av_packet_alloc();
    k.src = src;
    k.w = t->width;
    k.h = t->height;
    k.dec->thread_count = 1;
    if (avcodec_open2(k.dec, codec, NULL) < 0) {
        FAIL("cannot open the host decoder");
    }

    type = vvc_stream_create(c, sid, VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES,
                             VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES, t->format,
                             "encode-test");
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("STREAM_CREATE: 0x%x", type);
    }
    if (!setup_sizes(c, sid, t, out_size, &inp, err)) {
        goto out;
    }
    in_size = 0;
    for (i = 0; i < inp.num_planes; i++) {
        in_size += inp.plane_size[i];
    }
    if (t->bitrate &&
        vvc_set_control(c, sid, VIRTIO_VIDEO_CONTROL_BITRATE, t->bitrate) !=
        VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_CONTROL(BITRATE) refused");
    }
    if (t->bitrate_mode &&
        vvc_set_control(c, sid, VIRTIO_VIDEO_CONTROL_BITRATE_MODE,
                        t->bitrate_mode) != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_CONTROL(BITRATE_MODE) refused");
    }
    if (t->profile &&
        vvc_set_control(c, sid, VIRTIO_VIDEO_CONTROL_PROFILE, t->profile) !=
        VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_CONTROL(PROFILE) refused");
    }
    if (t->level &&
        vvc_set_control(c, sid, VIRTIO_VIDEO_CONTROL_LEVEL, t->level) !=
        VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_CONTROL(LEVEL) refused");
    }

    packed = g_malloc0(in_size);
    pkt_buf = g_malloc(out_size);
    if (t->bench_distinct > ENC_IN_BUFS) {
        FAIL("at most %u distinct benchmark frames", ENC_IN_BUFS);
    }
    for (i = 0; i < ENC_IN_BUFS; i++) {
        in[i] = vvc_resource_alloc(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                   in_size, t->sg, false);
        if (t->in_object) {
            uint8_t uuid[16];

            if (!t->in_object(t->in_object_opaque, in[i], uuid)) {
                FAIL("cannot export input resource %u", in[i]->id);
            }
            type = vvc_resource_create_object(c, sid,
                                              VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                              in[i]->id, 1, NULL, uuid);
        } else {
            type = vvc_resource_create(c, in[i]);
        }
        if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
            FAIL("RESOURCE_CREATE(INPUT) answered 0x%x", type);
        }
        if (i < t->bench_distinct) {
            pack_frame(&inp, t->raw_format, src + i * frame_size, t->width,
                       t->height, packed);
            vvc_resource_write(c, in[i], packed, in_size);
        }
    }
    for (i = 0; i < ENC_OUT_BUFS; i++) {
        out[i] = vvc_resource_alloc(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                    out_size, t->sg, false);
        if (vvc_resource_create(c, out[i]) != VIRTIO_VIDEO_RESP_OK_NODATA) {
            FAIL("RESOURCE_CREATE(OUTPUT) refused");
        }
        out_tag[i] = vvc_resource_queue_async(c, sid,
                                              VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                              out[i]->id, 0, 1, &(uint32_t){0});
    }

    while (!eos) {
        g_autoptr(VvcMsg) m = NULL;

        /* feed every free input buffer */
        for (i = 0; i < ENC_IN_BUFS && next < t->frames && !drain_tag; i++) {
            uint32_t size = in_size;

            if (in_tag[i] ||
                (t->bench_distinct && next % t->bench_distinct != i)) {
                continue;
            }
            if (t->hook && next == t->hook_at && !hooked) {
                hooked = true;
                t->hook(t->hook_opaque);
            }
            if ((int)next == t->force_keyframe_at) {
                uint8_t req[16] = { 0 };

                /* the 16-byte form the driver sends */
                vvc_st32(req, VIRTIO_VIDEO_CMD_SET_CONTROL);
                vvc_st32(req + 4, sid);
                vvc_st32(req + 8, VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME);
                if (vvc_cmd(c, req, sizeof(req), NULL, 0) !=
                    VIRTIO_VIDEO_RESP_OK_NODATA) {
                    FAIL("SET_CONTROL(FORCE_KEYFRAME) refused");
                }
            }
            if ((int)next == t->bitrate_change_at &&
                vvc_set_control(c, sid, VIRTIO_VIDEO_CONTROL_BITRATE,
                                t->bitrate2) != VIRTIO_VIDEO_RESP_OK_NODATA) {
                FAIL("SET_CONTROL(BITRATE) while streaming refused");
            }
            if (!t->bench_distinct) {
                pack_frame(&inp, t->raw_format, src + next * frame_size,
                           t->width, t->height, packed);
                vvc_resource_write(c, in[i], packed, in_size);
            }
            if (!next) {
                t_start = g_get_monotonic_time();
            }
            in_tag[i] = vvc_resource_queue_async(
                c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, in[i]->id,
                0xabc0000000000000ull | next, 1, &size);
            next++;
        }
        if (next == t->frames && !drain_tag) {
            drain_tag = vvc_stream_drain_async(c, sid);
        }

        m = vvc_next(c, vvc_get_timeout(c));
        if (!m) {
            FAIL("timed out after %u frames, %u packets", next, r->packets);
        }
        if (m->is_event) {
            FAIL("unexpected event 0x%x", m->type);
        }
        if (m->tag == drain_tag) {
            FAIL("drain completed before the EOS buffer");
        }
        for (i = 0; i < ENC_IN_BUFS; i++) {
            if (in_tag[i] == m->tag) {
                if (m->type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE ||
                    m->flags) {
                    FAIL("input buffer came back 0x%x flags 0x%x", m->type,
                         m->flags);
                }
                in_tag[i] = 0;
            }
        }
        for (i = 0; i < ENC_OUT_BUFS; i++) {
            bool key;

            if (out_tag[i] != m->tag) {
                continue;
            }
            out_tag[i] = 0;
            if (m->type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE) {
                FAIL("output buffer came back 0x%x", m->type);
            }
            if (m->flags & VIRTIO_VIDEO_BUFFER_FLAG_EOS) {
                if (m->size || m->timestamp) {
                    FAIL("EOS buffer not empty");
                }
                r->seconds = (g_get_monotonic_time() - t_start) / 1e6;
                eos = true;
                break;
            }
            if (m->flags & VIRTIO_VIDEO_BUFFER_FLAG_ERR) {
                /* a packet that did not fit: dropped, never cut short */
                if (m->size) {
                    FAIL("failed buffer with %u bytes", m->size);
                }
                r->err_buffers++;
            } else {
                key = m->flags & VIRTIO_VIDEO_BUFFER_FLAG_IFRAME;
                if (!key && !(m->flags & VIRTIO_VIDEO_BUFFER_FLAG_PFRAME)) {
                    FAIL("packet %u flagged neither I nor P", r->packets);
                }
                if (m->timestamp != (0xabc0000000000000ull |
                                     (r->packets + r->err_buffers))) {
                    FAIL("packet %u has timestamp 0x%" PRIx64, r->packets,
                         m->timestamp);
                }
                if (!m->size || m->size > out_size) {
                    FAIL("packet %u has size %u", r->packets, m->size);
                }
                if (!t->bench_distinct) {
                    vvc_resource_read(c, out[i], pkt_buf, m->size);
                }
                if (key) {
                    g_array_append_val(r->keyframes, r->packets);
                }
                if (r->packets == 0 && !t->bench_distinct &&
                    t->format == VIRTIO_VIDEO_FORMAT_H264) {
                    h264_sps(pkt_buf, m->size, &r->h264_profile_idc,
                             &r->h264_level_idc);
                }
                if (t->bitrate_change_at >= 0 &&
                    r->packets >= (unsigned)t->bitrate_change_at) {
                    r->bytes_after_change += m->size;
                }
                r->bytes += m->size;
                r->packets++;
                if (!t->bench_distinct) {
                    checker_feed(&k, pkt_buf, m->size);
                }
            }
            out_tag[i] = vvc_resource_queue_async(
                c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, out[i]->id, 0, 1,
                &(uint32_t){0});
        }
    }
    {
        g_autoptr(VvcMsg) m = vvc_wait_tag(c, drain_tag);

        if (!m || m->type != VIRTIO_VIDEO_RESP_OK_NODATA) {
            FAIL("drain response 0x%x", m ? m->type : 0);
        }
    }
    if (t->bench_distinct) {
        ok = true;
        goto out;
    }
    /* flush the host decoder */
    avcodec_send_packet(k.dec, NULL);
    checker_collect(&k);
    if (k.bad_w) {
        FAIL("the host decoder gives %dx%d pictures of a %ux%u source",
             k.bad_w, k.bad_h, t->width, t->height);
    }
    if (k.decoded != t->frames - r->err_buffers && !r->err_buffers) {
        FAIL("%u frames in, %u packets, %u decoded on the host", t->frames,
             r->packets, k.decoded);
    }
    r->psnr_min = k.psnr_min;
    r->psnr_avg = k.psnr_sum / k.decoded;
    ok = true;

out:
    if (c) {
        /* outstanding buffers come back through the destroy */
        vvc_stream_destroy(c, sid);
        vvc_flush_stash(c);
    }
    for (i = 0; i < ENC_IN_BUFS; i++) {
        if (in[i]) {
            vvc_resource_release(c, in[i]);
        }
    }
    for (i = 0; i < ENC_OUT_BUFS; i++) {
        if (out[i]) {
            vvc_resource_release(c, out[i]);
        }
    }
    avcodec_free_context(&k.dec);
    av_frame_free(&k.frame);
    av_packet_free(&k.pkt);
    return ok;
}

bool vvc_encode_bad_input(VvcClient *c, uint32_t sid, char **err)
{
    static const struct {
        uint32_t control, value, want;
    } bad_controls[] = {
        { VIRTIO_VIDEO_CONTROL_BITRATE, 0,
          VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER },
        { VIRTIO_VIDEO_CONTROL_PROFILE, VIRTIO_VIDEO_PROFILE_HEVC_MAIN,
          VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER },
        { VIRTIO_VIDEO_CONTROL_LEVEL, 0x1234,
          VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER },
        { VIRTIO_VIDEO_CONTROL_BITRATE_MODE, 2,
          VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER },
        { VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR, 0,
          VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION },
        { 99, 1, VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL },
    };
    static const struct {
        uint32_t format, width, height, rate;
    } bad_params[] = {
        { VIRTIO_VIDEO_FORMAT_BGRA8888, 320, 240, 30 },     /* no RGB in */
        { VIRTIO_VIDEO_FORMAT_NV12, 8, 240, 30 },           /* too small */
        { VIRTIO_VIDEO_FORMAT_NV12, 320, 240, 1000 },       /* rate */
        { VIRTIO_VIDEO_FORMAT_NV12, 320, 100000, 30 },      /* too large */
    };
    VvcParams p = { 0 };
    uint32_t type, value;
    bool ok = false;
    size_t i;

    type = vvc_stream_create(c, sid, 0, 0, VIRTIO_VIDEO_FORMAT_H264, "bad");
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("STREAM_CREATE: 0x%x", type);
    }
    /* what the driver reads at open() */
    if (vvc_get_control(c, sid, VIRTIO_VIDEO_CONTROL_BITRATE, &value) !=
        VIRTIO_VIDEO_RESP_OK_GET_CONTROL || !value) {
        FAIL("GET_CONTROL(BITRATE) failed");
    }
    if (vvc_get_control(c, sid, VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR,
                        &value) != VIRTIO_VIDEO_RESP_OK_GET_CONTROL ||
        value != 1) {
        FAIL("GET_CONTROL(PREPEND_SPSPPS_TO_IDR) is not 1");
    }
    type = vvc_get_control(c, sid, VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME,
                           &value);
    if (type != VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL) {
        FAIL("GET_CONTROL(FORCE_KEYFRAME): 0x%x", type);
    }
    for (i = 0; i < G_N_ELEMENTS(bad_controls); i++) {
        type = vvc_set_control(c, sid, bad_controls[i].control,
                               bad_controls[i].value);
        if (type != bad_controls[i].want) {
            FAIL("SET_CONTROL(%u, 0x%x): 0x%x, expected 0x%x",
                 bad_controls[i].control, bad_controls[i].value, type,
                 bad_controls[i].want);
        }
    }
    type = vvc_set_control(c, sid + 1, VIRTIO_VIDEO_CONTROL_BITRATE, 1);
    if (type != VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID) {
        FAIL("SET_CONTROL on an unknown stream: 0x%x", type);
    }
    /* refused values changed nothing */
    if (vvc_get_control(c, sid, VIRTIO_VIDEO_CONTROL_PROFILE, &value) !=
        VIRTIO_VIDEO_RESP_OK_GET_CONTROL ||
        value != VIRTIO_VIDEO_PROFILE_H264_BASELINE) {
        FAIL("PROFILE changed by a refused SET_CONTROL: 0x%x", value);
    }
    p.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    for (i = 0; i < G_N_ELEMENTS(bad_params); i++) {
        p.format = bad_params[i].format;
        p.frame_width = bad_params[i].width;
        p.frame_height = bad_params[i].height;
        p.frame_rate = bad_params[i].rate;
        type = vvc_set_params(c, sid, &p, true);
        if (type != VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER) {
            FAIL("SET_PARAMS_EXT(INPUT, 0x%x %ux%u @%u): 0x%x", p.format,
                 p.frame_width, p.frame_height, p.frame_rate, type);
        }
    }
    ok = true;
out:
    vvc_stream_destroy(c, sid);
    return ok;
}

/* A SET_PARAMS_EXT that must fail with @want and change nothing. */
static bool refused(VvcClient *c, uint32_t sid, const VvcParams *p,
                    uint32_t want, const char *what, char **err)
{
    VvcParams in, out, now_in, now_out;
    uint32_t type;

    if (!get_both(c, sid, &in, &out)) {
        *err = g_strdup("GET_PARAMS_EXT failed");
        return false;
    }
    type = vvc_set_params(c, sid, p, true);
    if (type != want) {
        *err = g_strdup_printf("%s: SET_PARAMS_EXT(0x%x, 0x%x %ux%u crop "
                               "%ux%u+%u+%u) answered 0x%x, expected 0x%x",
                               what, p->queue_type, p->format,
                               p->frame_width, p->frame_height,
                               p->crop_width, p->crop_height, p->crop_left,
                               p->crop_top, type, want);
        return false;
    }
    if (!get_both(c, sid, &now_in, &now_out)) {
        *err = g_strdup("GET_PARAMS_EXT failed");
        return false;
    }
    if (memcmp(&in, &now_in, sizeof(in)) ||
        memcmp(&out, &now_out, sizeof(out))) {
        *err = g_strdup_printf("%s: refused, but the params changed", what);
        return false;
    }
    return true;
}

static VvcParams raw_params(uint32_t w, uint32_t h, uint32_t left,
                            uint32_t top, uint32_t cw, uint32_t ch)
{
    return (VvcParams) {
        .queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
        .format = VIRTIO_VIDEO_FORMAT_NV12,
        .frame_width = w, .frame_height = h,
        .crop_left = left, .crop_top = top,
        .crop_width = cw, .crop_height = ch,
    };
}

bool vvc_encode_bad_params(VvcClient *c, uint32_t sid, char **err)
{
    static const struct {
        const char *what;
        uint32_t w, h, left, top, cw, ch;
    } bad_raw[] = {
        { "crop wider than the frame", 320, 240, 0, 0, 336, 240 },
        { "crop past the right edge", 320, 240, 300, 0, 32, 32 },
        { "crop past the bottom edge", 320, 240, 0, 230, 32, 32 },
        { "crop of zero width", 320, 240, 0, 0, 0, 120 },
        { "crop of zero height", 320, 240, 0, 0, 160, 0 },
        { "crop offset but no size", 320, 240, 16, 16, 0, 0 },
        { "odd crop left", 320, 240, 1, 0, 160, 120 },
        { "odd crop top", 320, 240, 0, 3, 160, 120 },
        { "crop smaller than 16x16", 320, 240, 0, 0, 8, 8 },
        { "odd size for H.264", 321, 241, 0, 0, 0, 0 },
        { "odd crop width for H.264", 320, 240, 0, 0, 161, 120 },
        { "frame width 0", 0, 240, 0, 0, 0, 0 },
        { "crop outside a new frame", 640, 360, 0, 0, 640, 368 },
    };
    VvcParams p, in, out;
    VvcResource *res_in = NULL, *res_out = NULL;
    uint32_t type, in_size = 0, zero = 0, tag;
    bool ok = false, vp8;
    size_t i;

    type = vvc_stream_create(c, sid, 0, 0, VIRTIO_VIDEO_FORMAT_H264,
                             "bad-params");
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("STREAM_CREATE: 0x%x", type);
    }
    p = raw_params(320, 240, 0, 0, 0, 0);
    if (!set_ok(c, sid, &p, "INPUT 320x240", err)) {
        goto out;
    }
    for (i = 0; i < G_N_ELEMENTS(bad_raw); i++) {
        p = raw_params(bad_raw[i].w, bad_raw[i].h, bad_raw[i].left,
                       bad_raw[i].top, bad_raw[i].cw, bad_raw[i].ch);
        if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                     bad_raw[i].what, err)) {
            goto out;
        }
    }

    /* crop rectangles in the bitstream queue's params */
    if (!get_both(c, sid, &in, &out)) {
        FAIL("GET_PARAMS_EXT failed");
    }
    p = out;
    p.crop_width = 400;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "OUTPUT crop wider than the raw frame", err)) {
        goto out;
    }
    p = out;
    p.crop_left = 2;
    p.crop_top = 1;
    p.crop_width = 160;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "OUTPUT crop at an odd offset", err)) {
        goto out;
    }
    p = out;
    p.crop_height = 0;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "OUTPUT crop of zero height", err)) {
        goto out;
    }

    /* odd sizes: fine for VP8, so H.264 cannot be chosen over them */
    p = out;
    p.format = VIRTIO_VIDEO_FORMAT_VP8;
    vp8 = vvc_set_params(c, sid, &p, true) == VIRTIO_VIDEO_RESP_OK_NODATA;
    if (vp8) {
        p = raw_params(321, 241, 0, 0, 0, 0);
        if (!set_ok(c, sid, &p, "INPUT 321x241 for VP8", err) ||
            !get_both(c, sid, &in, &out)) {
            goto out;
        }
        if (in.crop_width != 321 || in.crop_height != 241 ||
            in.frame_width != 336 || in.frame_height != 256 ||
            out.frame_width != 321 || out.frame_height != 241) {
            FAIL("321x241: frame %ux%u crop %ux%u, OUTPUT %ux%u",
                 in.frame_width, in.frame_height, in.crop_width,
                 in.crop_height, out.frame_width, out.frame_height);
        }
        p = out;
        p.format = VIRTIO_VIDEO_FORMAT_H264;
        if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                     "H.264 for a 321x241 picture", err)) {
            goto out;
        }
        p = raw_params(320, 240, 0, 0, 0, 0);
        if (!set_ok(c, sid, &p, "INPUT 320x240", err) ||
            !get_both(c, sid, &in, &out)) {
            goto out;
        }
        p = out;
        p.format = VIRTIO_VIDEO_FORMAT_H264;
        if (!set_ok(c, sid, &p, "OUTPUT H.264", err)) {
            goto out;
        }
    }

    /*
     * Input buffers exist: a new crop inside the same frame is fine, a new
     * frame layout is not.
     */
    if (!get_both(c, sid, &in, &out)) {
        FAIL("GET_PARAMS_EXT failed");
    }
    for (i = 0; i < in.num_planes; i++) {
        in_size += in.plane_size[i];
    }
    res_in = vvc_resource_alloc(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                in_size, false, false);
    res_out = vvc_resource_alloc(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                                 256 * 1024, false, false);
    if (vvc_resource_create(c, res_in) != VIRTIO_VIDEO_RESP_OK_NODATA ||
        vvc_resource_create(c, res_out) != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("RESOURCE_CREATE refused");
    }
    p = raw_params(640, 480, 0, 0, 0, 0);
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                 "new frame size with input buffers", err)) {
        goto out;
    }
    /* each SET followed by GETs, as drivers do */
    p = in;
    p.crop_left = 16;
    p.crop_top = 16;
    p.crop_width = 288;
    p.crop_height = 208;
    if (!set_ok(c, sid, &p, "INPUT crop with input buffers", err) ||
        !get_both(c, sid, &in, &out)) {
        goto out;
    }
    if (in.crop_width != 288 || out.crop_left != 16) {
        FAIL("crop 288x208+16+16 not taken");
    }
    p.crop_left = p.crop_top = 0;
    p.crop_width = 320;
    p.crop_height = 240;
    if (!set_ok(c, sid, &p, "INPUT crop back", err) ||
        !get_both(c, sid, &in, &out)) {
        goto out;
    }
    if (in.crop_width != 320 || in.crop_left != 0 ||
        out.frame_width != 320) {
        FAIL("crop 320x240 not taken back");
    }

    /* encoding started: the size is fixed, what was reported comes back */
    vvc_resource_queue_async(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
                             res_out->id, 0, 1, &zero);
    tag = vvc_resource_queue_async(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT,
                                   res_in->id, 1, 1, &in_size);
    {
        g_autoptr(VvcMsg) m = vvc_wait_tag(c, tag);

        if (!m || m->type != VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE) {
            FAIL("input frame answered 0x%x", m ? m->type : 0);
        }
    }
    if (!get_both(c, sid, &in, &out)) {
        FAIL("GET_PARAMS_EXT failed");
    }
    p = raw_params(640, 480, 0, 0, 0, 0);
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                 "new frame size after encoding started", err)) {
        goto out;
    }
    p = in;
    p.crop_width = 160;
    p.crop_height = 120;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                 "INPUT crop after encoding started", err)) {
        goto out;
    }
    p = out;
    p.crop_width = 160;
    p.crop_height = 120;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION,
                 "OUTPUT crop after encoding started", err)) {
        goto out;
    }
    p = in;
    p.crop_left = 1;
    if (!refused(c, sid, &p, VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
                 "odd crop after encoding started", err)) {
        goto out;
    }
    if (!vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, NULL,
                        err) ||
        !vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, true, NULL,
                        err)) {
        goto out;
    }
    ok = true;
out:
    /* outstanding buffers come back through the destroy */
    vvc_stream_destroy(c, sid);
    vvc_flush_stash(c);
    if (res_in) {
        vvc_resource_release(c, res_in);
    }
    if (res_out) {
        vvc_resource_release(c, res_out);
    }
    return ok;
}

bool vvc_encode_echo(VvcClient *c, uint32_t sid, char **err)
{
    static const struct {
        uint32_t w, h, left, top, cw, ch;
    } sizes[] = {
        { 0, 0, 0, 0, 0, 0 },                   /* the defaults */
        { 854, 480, 0, 0, 0, 0 },
        { 1920, 1080, 0, 0, 0, 0 },
        { 672, 384, 16, 8, 640, 360 },
    };
    VvcParams p;
    uint32_t type;
    bool ok = false;
    size_t i;
    int ext;

    type = vvc_stream_create(c, sid, 0, 0, VIRTIO_VIDEO_FORMAT_H264, "echo");
    if (type != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("STREAM_CREATE: 0x%x", type);
    }
    for (i = 0; i < G_N_ELEMENTS(sizes); i++) {
        if (sizes[i].w) {
            p = raw_params(sizes[i].w, sizes[i].h, sizes[i].left,
                           sizes[i].top, sizes[i].cw, sizes[i].ch);
            p.frame_rate = 25;
            if (!set_ok(c, sid, &p, "INPUT", err)) {
                goto out;
            }
        }
        for (ext = 0; ext < 2; ext++) {
            if (!vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, ext,
                                NULL, err) ||
                !vvc_check_echo(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT, ext,
                                NULL, err)) {
                char *msg = g_strdup_printf("%ux%u: %s", sizes[i].w,
                                            sizes[i].h, *err);

                g_free(*err);
                *err = msg;
                goto out;
            }
        }
    }
    ok = true;
out:
    vvc_stream_destroy(c, sid);
    return ok;
}
