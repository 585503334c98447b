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

uint8_t *vvc_test_frames(uint32_t width, uint32_t height, uint32_t fps,
                         uint32_t frames, char **err)
{
    size_t frame_size = (size_t)width * height * 3 / 2;
    g_autofree char *dir = g_build_filename(g_get_tmp_dir(),
                                            "virtio-video-test", NULL);
    g_autofree char *path = g_strdup_printf("%s/testsrc2-%ux%u-%u-%u.yuv",
                                            dir, width, height, fps, frames);
    g_autofree char *tmp = g_strdup_printf("%s.%d", path, (int)getpid());
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
    cmd = g_strdup_printf("ffmpeg -nostdin -hide_banner -loglevel error -y "
                          "-f lavfi -i testsrc2=size=%ux%u:rate=%u "
                          "-frames:v %u -pix_fmt yuv420p -f rawvideo %s",
                          width, height, fps, frames, tmp);
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

/* Pack source picture @src (yuv420p, tight) into the device's layout. */
static void pack_frame(const VvcParams *p, uint32_t raw_format,
                       const uint8_t *src, uint32_t w, uint32_t h,
                       uint8_t *dst)
{
    const uint8_t *sy = src, *su = src + w * h, *sv = su + w * h / 4;
    size_t off1 = p->plane_size[0], off2 = off1 + p->plane_size[1];
    uint32_t cw = w / 2, ch = h / 2, x, y;

    for (y = 0; y < h; y++) {
        memcpy(dst + y * p->stride[0], sy + y * w, w);
    }
    for (y = 0; y < ch; y++) {
        const uint8_t *u = su + y * cw, *v = sv + y * cw;

        if (raw_format == VIRTIO_VIDEO_FORMAT_NV12) {
            uint8_t *uv = dst + off1 + y * p->stride[1];

            for (x = 0; x < cw; x++) {
                uv[2 * x] = u[x];
                uv[2 * x + 1] = v[x];
            }
        } else {
            bool swap = raw_format == VIRTIO_VIDEO_FORMAT_YVU420;

            memcpy(dst + off1 + y * p->stride[1], swap ? v : u, cw);
            memcpy(dst + off2 + y * p->stride[2], swap ? u : v, cw);
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
    double sse = plane_sse(f->data[0], f->linesize[0], src, w, w, h) +
                 plane_sse(f->data[1], f->linesize[1], src + w * h, w / 2,
                           w / 2, h / 2) +
                 plane_sse(f->data[2], f->linesize[2], src + w * h * 5 / 4,
                           w / 2, w / 2, h / 2);
    double mse = sse / (w * h * 1.5);

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
        const uint8_t *src = k->src + (size_t)k->decoded * k->w * k->h * 3 / 2;
        double p = psnr(k->frame, src, k->w, k->h);

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

bool vvc_encode_run(VvcClient *c, uint32_t sid, const VvcEncodeCase *t,
                    VvcEncodeResult *r, char **err)
{
    g_autofree uint8_t *src = NULL;
    g_autofree uint8_t *packed = NULL;
    g_autofree uint8_t *pkt_buf = NULL;
    VvcResource *in[ENC_IN_BUFS] = { 0 }, *out[ENC_OUT_BUFS] = { 0 };
    uint32_t in_tag[ENC_IN_BUFS] = { 0 }, out_tag[ENC_OUT_BUFS] = { 0 };
    size_t frame_size = (size_t)t->width * t->height * 3 / 2;
    size_t out_size = t->out_size ? t->out_size : 1024 * 1024;
    const AVCodec *codec = avcodec_find_decoder(codec_id(t->format));
    Checker k = { 0 };
    VvcParams p = { 0 }, inp;
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
    /* the V4L2 order: CAPTURE (coded) format, OUTPUT (raw) format, S_PARM */
    p.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT;
    p.format = t->format;
    p.num_planes = 1;
    p.plane_size[0] = out_size;
    if (vvc_set_params(c, sid, &p, true) != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_PARAMS_EXT(OUTPUT) refused");
    }
    memset(&p, 0, sizeof(p));
    p.queue_type = VIRTIO_VIDEO_QUEUE_TYPE_INPUT;
    p.format = t->raw_format;
    p.frame_width = t->width;
    p.frame_height = t->height;
    p.frame_rate = t->fps;
    p.num_planes = 1;
    p.resource_type = t->in_object ? VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT
                                   : VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES;
    if (vvc_set_params(c, sid, &p, true) != VIRTIO_VIDEO_RESP_OK_NODATA) {
        FAIL("SET_PARAMS_EXT(INPUT) refused");
    }
    if (vvc_get_params(c, sid, VIRTIO_VIDEO_QUEUE_TYPE_INPUT, true, &inp) !=
        VIRTIO_VIDEO_RESP_OK_GET_PARAMS) {
        FAIL("GET_PARAMS_EXT(INPUT) failed");
    }
    if (inp.format != t->raw_format || inp.crop_width != t->width ||
        inp.crop_height != t->height || inp.frame_rate != t->fps) {
        FAIL("INPUT params not taken: format 0x%x %ux%u @%u", inp.format,
             inp.crop_width, inp.crop_height, inp.frame_rate);
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
