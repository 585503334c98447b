/*
 * virtio-video engine: writing decoded pictures into guest buffers.
 *
 * The visible picture is written row by row into the buffer's planes at
 * the layout GET_PARAMS reports (vv-layout.h).  A buffer may be scattered
 * over many guest segments; rows are written through a cursor that walks
 * the segments forward, so a contiguous buffer costs one memcpy per row.
 * 8-bit 4:2:0 pictures become NV12/I420/YV12 by plane copies; everything
 * else goes through libswscale.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <string.h>
#include <glib.h>
/*
 * SSE2 (the x86-64 baseline) where the compiler targets it; decided here
 * rather than by a build flag, which QEMU's build would pass to every
 * file of the emulator.
 */
#ifdef __SSE2__
#define VV_HAVE_SSE2 1
#include <emmintrin.h>
#endif
#include <libavutil/frame.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "vv-internal.h"
#include "vv-layout.h"
#include "vv-lavc.h"

struct VvFrameWriter {
    struct SwsContext *sws;
    uint8_t *row;               /* one interleaved/converted row */
    size_t row_size;
    uint8_t *tmp[4];            /* whole converted picture (libswscale) */
    int tmp_linesize[4];
    int tmp_w, tmp_h, tmp_fmt;
    AVFrame *sw;                /* a hardware picture, mapped or copied */
};

/* Forward cursor over one memory plane of a backing. */
typedef struct Cursor {
    const VvBacking *b;
    unsigned seg, end;          /* current segment, one past the last */
    size_t seg_start;           /* plane offset where segment seg starts */
} Cursor;

static void cursor_init(Cursor *c, const VvBacking *b, unsigned plane)
{
    c->b = b;
    c->seg = b->planes[plane].first;
    c->end = c->seg + b->planes[plane].count;
    c->seg_start = 0;
}

/*
 * Copy @len bytes between @buf and plane offset @off: into the plane if
 * @write, out of it otherwise.  Offsets only grow between calls.
 */
static void cursor_copy(Cursor *c, size_t off, uint8_t *buf, size_t len,
                        bool write)
{
    const VvSeg *segs = c->b->segs;

    while (len) {
        size_t in, n;

        while (c->seg < c->end &&
               off >= c->seg_start + segs[c->seg].len) {
            c->seg_start += segs[c->seg].len;
            c->seg++;
        }
        if (c->seg >= c->end) {
            return;     /* past the end: the caller checked sizes */
        }
        in = off - c->seg_start;
        n = MIN(len, segs[c->seg].len - in);
        if (write) {
            memcpy(segs[c->seg].host + in, buf, n);
        } else {
            memcpy(buf, segs[c->seg].host + in, n);
        }
        buf += n;
        off += n;
        len -= n;
    }
}

static void cursor_write(Cursor *c, size_t off, const uint8_t *src,
                         size_t len)
{
    cursor_copy(c, off, (uint8_t *)src, len, true);
}

/*
 * Where plane offsets [@off, @off + @len) are in host memory, if they lie
 * in one segment (always, for a contiguous buffer); else NULL.  Offsets
 * only grow between calls.
 */
static uint8_t *cursor_span(Cursor *c, size_t off, size_t len)
{
    const VvSeg *segs = c->b->segs;

    while (c->seg < c->end && off >= c->seg_start + segs[c->seg].len) {
        c->seg_start += segs[c->seg].len;
        c->seg++;
    }
    if (c->seg >= c->end || len > segs[c->seg].len - (off - c->seg_start)) {
        return NULL;
    }
    return segs[c->seg].host + (off - c->seg_start);
}

/*
 * Pictures go to guest memory that the host does not read again: with
 * SSE2, write whole aligned 16-byte blocks with non-temporal stores, which
 * neither read the destination first nor push the codec's reference
 * pictures out of the caches.  vv_frame_write() fences them.
 */
static void put_row(uint8_t *dst, const uint8_t *src, size_t len)
{
#ifdef VV_HAVE_SSE2
    if (!((uintptr_t)dst & 15)) {
        size_t n = len & ~(size_t)15, x;

        for (x = 0; x < n; x += 16) {
            _mm_stream_si128((__m128i *)(dst + x),
                             _mm_loadu_si128((const __m128i *)(src + x)));
        }
        dst += n;
        src += n;
        len -= n;
    }
#endif
    memcpy(dst, src, len);
}

/* @n pixels of U and of V into @n interleaved UV pairs at @dst. */
static void put_uv_row(uint8_t *dst, const uint8_t *u, const uint8_t *v,
                       size_t n)
{
    size_t x = 0;

#ifdef VV_HAVE_SSE2
    if (!((uintptr_t)dst & 15)) {
        for (; x + 16 <= n; x += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(u + x));
            __m128i b = _mm_loadu_si128((const __m128i *)(v + x));

            _mm_stream_si128((__m128i *)(dst + 2 * x),
                             _mm_unpacklo_epi8(a, b));
            _mm_stream_si128((__m128i *)(dst + 2 * x + 16),
                             _mm_unpackhi_epi8(a, b));
        }
    }
#endif
    for (; x < n; x++) {
        dst[2 * x] = u[x];
        dst[2 * x + 1] = v[x];
    }
}

void vv_backing_read(const VvBacking *b, unsigned plane, size_t offset,
                     void *dst, size_t len)
{
    const VvSeg *segs = b->segs;
    unsigned i = b->planes[plane].first;
    unsigned end = i + b->planes[plane].count;
    uint8_t *d = dst;

    for (; i < end && len; i++) {
        size_t n;

        if (offset >= segs[i].len) {
            offset -= segs[i].len;
            continue;
        }
        n = MIN(len, segs[i].len - offset);
        memcpy(d, segs[i].host + offset, n);
        d += n;
        len -= n;
        offset = 0;
    }
}

void vv_backing_write(const VvBacking *b, unsigned plane, size_t offset,
                      const void *src, size_t len)
{
    Cursor c;

    cursor_init(&c, b, plane);
    cursor_write(&c, offset, src, len);
}

VvFrameWriter *vv_frame_writer_new(void)
{
    VvFrameWriter *w = g_new0(VvFrameWriter, 1);

    w->sw = av_frame_alloc();
    return w;
}

void vv_frame_writer_free(VvFrameWriter *w)
{
    if (!w) {
        return;
    }
    sws_freeContext(w->sws);
    av_freep(&w->tmp[0]);
    av_frame_free(&w->sw);
    g_free(w->row);
    g_free(w);
}

static uint8_t *row_buffer(VvFrameWriter *w, size_t size)
{
    if (w->row_size < size) {
        g_free(w->row);
        w->row = g_malloc(size);
        w->row_size = size;
    }
    return w->row;
}

bool vv_frame_format_supported(int pix_fmt)
{
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(pix_fmt);

    /* 8-bit pictures only: there is no 10-bit raw format in v3 */
    return desc && !(desc->flags & (AV_PIX_FMT_FLAG_HWACCEL |
                                    AV_PIX_FMT_FLAG_BITSTREAM)) &&
           desc->comp[0].depth == 8 &&
           sws_isSupportedInput(pix_fmt);
}

bool vv_frame_supported(const AVFrame *f)
{
    if (f->hw_frames_ctx) {
        const AVHWFramesContext *fc = (void *)f->hw_frames_ctx->data;

        return vv_frame_format_supported(fc->sw_format);
    }
    return vv_frame_format_supported(f->format);
}

/* Where component plane @k of @p lives: memory plane and offset in it. */
static void plane_place(const VvParams *p, const VvBacking *b, unsigned k,
                        unsigned *mem_plane, size_t *offset)
{
    unsigned j;

    if (b->num_planes > 1) {
        *mem_plane = k;
        *offset = 0;
        return;
    }
    *mem_plane = 0;
    *offset = 0;
    for (j = 0; j < k; j++) {
        *offset += p->plane_formats[j].plane_size;
    }
}

/* Copy @rows rows of @width bytes into component plane @k. */
static void put_plane(const VvParams *p, const VvBacking *b, unsigned k,
                      const uint8_t *src, int src_stride, size_t width,
                      unsigned rows)
{
    uint32_t stride = p->plane_formats[k].stride;
    unsigned mp, y;
    size_t off;
    Cursor c;

    plane_place(p, b, k, &mp, &off);
    cursor_init(&c, b, mp);
    for (y = 0; y < rows; y++) {
        size_t at = off + (size_t)y * stride;
        const uint8_t *row = src + (ptrdiff_t)y * src_stride;
        uint8_t *dst = cursor_span(&c, at, width);

        if (dst) {
            put_row(dst, row, width);
        } else {
            cursor_write(&c, at, row, width);
        }
    }
}

/* Interleave U and V rows into NV12's chroma plane. */
static void put_nv12_chroma(VvFrameWriter *w, const VvParams *p,
                            const VvBacking *b, const AVFrame *f,
                            unsigned cw, unsigned ch)
{
    uint8_t *row = row_buffer(w, 2 * cw);
    uint32_t stride = p->plane_formats[1].stride;
    unsigned mp, y;
    size_t off;
    Cursor c;

    plane_place(p, b, 1, &mp, &off);
    cursor_init(&c, b, mp);
    for (y = 0; y < ch; y++) {
        const uint8_t *u = f->data[1] + (ptrdiff_t)y * f->linesize[1];
        const uint8_t *v = f->data[2] + (ptrdiff_t)y * f->linesize[2];
        size_t at = off + (size_t)y * stride;
        uint8_t *dst = cursor_span(&c, at, 2 * cw);

        if (dst) {
            /* straight into the guest buffer */
            put_uv_row(dst, u, v, cw);
        } else {
            /* the row straddles two segments */
            put_uv_row(row, u, v, cw);
            cursor_write(&c, at, row, 2 * cw);
        }
    }
}

/* Anything else: convert the whole picture with libswscale first. */
static unsigned write_converted(VvFrameWriter *w, const AVFrame *f,
                            const VvParams *p, const VvBacking *b)
{
    enum AVPixelFormat dst_fmt = vv_lavc_pix_fmt(p->format);
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(dst_fmt);
    unsigned vw = p->crop.width, vh = p->crop.height;
    int k, nplanes;

    if (!desc) {
        return 0;
    }
    if (w->tmp_w != (int)vw || w->tmp_h != (int)vh ||
        w->tmp_fmt != dst_fmt) {
        av_freep(&w->tmp[0]);
        if (av_image_alloc(w->tmp, w->tmp_linesize, vw, vh, dst_fmt, 32) < 0) {
            w->tmp_w = 0;
            return 0;
        }
        w->tmp_w = vw;
        w->tmp_h = vh;
        w->tmp_fmt = dst_fmt;
    }
    w->sws = sws_getCachedContext(w->sws, f->width, f->height, f->format,
                                  vw, vh, dst_fmt, SWS_BICUBIC,
                                  NULL, NULL, NULL);
    if (!w->sws) {
        return 0;
    }
    sws_scale(w->sws, (const uint8_t *const *)f->data, f->linesize, 0,
              f->height, w->tmp, w->tmp_linesize);

    nplanes = av_pix_fmt_count_planes(dst_fmt);
    for (k = 0; k < nplanes; k++) {
        int sub_h = k ? desc->log2_chroma_h : 0;
        unsigned rows = AV_CEIL_RSHIFT(vh, sub_h);
        unsigned src_k = k;

        /* YV12 is I420 with the chroma planes swapped */
        if (p->format == VIRTIO_VIDEO_FORMAT_YVU420 && k) {
            src_k = 3 - k;
        }
        put_plane(p, b, k, w->tmp[src_k], w->tmp_linesize[src_k],
                  av_image_get_linesize(dst_fmt, vw, src_k), rows);
    }
#ifdef VV_HAVE_SSE2
    _mm_sfence();       /* the non-temporal stores land before completion */
#endif
    return 2;       /* converted, then copied */
}

static void get_uv_row(uint8_t *u, uint8_t *v, const uint8_t *uv, size_t n);

/* NV12's interleaved chroma into the U and V planes of I420 or YV12. */
static void put_planar_chroma(VvFrameWriter *w, const VvParams *p,
                              const VvBacking *b, const AVFrame *f,
                              unsigned cw, unsigned ch)
{
    uint8_t *u = row_buffer(w, 2 * cw), *v = u + cw;
    unsigned ku = p->format == VIRTIO_VIDEO_FORMAT_YVU420 ? 2 : 1;
    unsigned mu, mv, y;
    size_t ou, ov;
    Cursor cu, cv;

    plane_place(p, b, ku, &mu, &ou);
    plane_place(p, b, 3 - ku, &mv, &ov);
    cursor_init(&cu, b, mu);
    cursor_init(&cv, b, mv);
    for (y = 0; y < ch; y++) {
        get_uv_row(u, v, f->data[1] + (ptrdiff_t)y * f->linesize[1], cw);
        cursor_write(&cu, ou + (size_t)y * p->plane_formats[ku].stride, u, cw);
        cursor_write(&cv, ov + (size_t)y * p->plane_formats[3 - ku].stride,
                     v, cw);
    }
}

/* A picture in host memory. */
static int write_sw(VvFrameWriter *w, const AVFrame *f, const VvParams *p,
                    VvBacking *b)
{
    unsigned vw = p->crop.width, vh = p->crop.height;
    unsigned cw = (vw + 1) / 2, ch = (vh + 1) / 2;
    bool yuv420 = f->format == AV_PIX_FMT_YUV420P ||
                  f->format == AV_PIX_FMT_YUVJ420P;
    bool nv12 = f->format == AV_PIX_FMT_NV12;
    unsigned n;

    if ((unsigned)f->width != vw || (unsigned)f->height != vh) {
        return -EINVAL;
    }
    if ((!yuv420 && !nv12) || (p->format != VIRTIO_VIDEO_FORMAT_NV12 &&
                               p->format != VIRTIO_VIDEO_FORMAT_YUV420 &&
                               p->format != VIRTIO_VIDEO_FORMAT_YVU420)) {
        n = write_converted(w, f, p, b);
        return n ? (int)n : -EINVAL;
    }

    put_plane(p, b, 0, f->data[0], f->linesize[0], vw, vh);
    if (nv12 && p->format == VIRTIO_VIDEO_FORMAT_NV12) {
        put_plane(p, b, 1, f->data[1], f->linesize[1], 2 * cw, ch);
    } else if (nv12) {
        put_planar_chroma(w, p, b, f, cw, ch);
    } else if (p->format == VIRTIO_VIDEO_FORMAT_NV12) {
        put_nv12_chroma(w, p, b, f, cw, ch);
    } else if (p->format == VIRTIO_VIDEO_FORMAT_YUV420) {
        put_plane(p, b, 1, f->data[1], f->linesize[1], cw, ch);
        put_plane(p, b, 2, f->data[2], f->linesize[2], cw, ch);
    } else {    /* YVU420 */
        put_plane(p, b, 1, f->data[2], f->linesize[2], cw, ch);
        put_plane(p, b, 2, f->data[1], f->linesize[1], cw, ch);
    }
#ifdef VV_HAVE_SSE2
    _mm_sfence();       /* the non-temporal stores land before completion */
#endif
    return 1;
}

static void no_free(void *opaque, uint8_t *data)
{
}

/*
 * Where component plane @k of @p is one run of host memory in @b, @rows
 * rows long: that memory, else NULL.
 */
static uint8_t *plane_span(const VvParams *p, const VvBacking *b, unsigned k,
                           unsigned rows)
{
    unsigned mp;
    size_t off;
    Cursor c;

    plane_place(p, b, k, &mp, &off);
    cursor_init(&c, b, mp);
    return cursor_span(&c, off, (size_t)p->plane_formats[k].stride * rows);
}

/*
 * CUDA: let the GPU copy an NV12 picture straight into the guest's NV12
 * buffer, where each plane is one run of host memory.  False if it is not
 * (the caller copies through host memory); -EIO in *err if CUDA failed.
 */
static bool write_cuda_direct(const AVFrame *f, const VvParams *p,
                              VvBacking *b, int *err)
{
    const AVHWFramesContext *fc = (void *)f->hw_frames_ctx->data;
    AVFrame *dst;
    uint8_t *y, *uv;
    int ret;

    *err = 0;
    if (fc->sw_format != AV_PIX_FMT_NV12 ||
        p->format != VIRTIO_VIDEO_FORMAT_NV12 || (f->height & 1) ||
        (unsigned)f->width != p->crop.width ||
        (unsigned)f->height != p->crop.height || p->crop.left ||
        p->crop.top) {
        return false;
    }
    y = plane_span(p, b, 0, f->height);
    uv = plane_span(p, b, 1, f->height / 2);
    if (!y || !uv) {
        return false;
    }
    dst = av_frame_alloc();
    if (!dst) {
        return false;
    }
    dst->format = AV_PIX_FMT_NV12;
    dst->width = f->width;
    dst->height = f->height;
    dst->data[0] = y;
    dst->linesize[0] = p->plane_formats[0].stride;
    dst->data[1] = uv;
    dst->linesize[1] = p->plane_formats[1].stride;
    /* guest memory: libavutil must see a buffer, and never free it */
    dst->buf[0] = av_buffer_create(y, 1, no_free, NULL, 0);
    ret = dst->buf[0] ? av_hwframe_transfer_data(dst, f, 0) : AVERROR(ENOMEM);
    av_frame_free(&dst);
    if (ret < 0) {
        *err = -EIO;
    }
    return true;
}

/*
 * A picture in device memory: mapped into host memory (VA-API: the
 * driver's image of the surface) and written from there, or copied out
 * first where it cannot be mapped.  -EIO if the device failed.
 */
static int write_hw(VvFrameWriter *w, const AVFrame *f, const VvParams *p,
                    VvBacking *b)
{
    const AVHWFramesContext *fc = (void *)f->hw_frames_ctx->data;
    int extra = 0, ret, n;

    if (fc->device_ctx->type == AV_HWDEVICE_TYPE_CUDA) {
        if (write_cuda_direct(f, p, b, &ret)) {
            return ret < 0 ? ret : 0;   /* no CPU copy at all */
        }
        /* the GPU copies into host memory, the CPU into the guest's */
        ret = av_hwframe_transfer_data(w->sw, f, 0);
    } else {
        ret = av_hwframe_map(w->sw, f, AV_HWFRAME_MAP_READ);
        if (ret < 0) {
            av_frame_unref(w->sw);
            ret = av_hwframe_transfer_data(w->sw, f, 0);
            extra = 1;
        }
    }
    if (ret < 0) {
        av_frame_unref(w->sw);
        return -EIO;
    }
    w->sw->width = f->width;
    w->sw->height = f->height;
    n = write_sw(w, w->sw, p, b);
    av_frame_unref(w->sw);
    return n < 0 ? n : n + extra;
}

int vv_frame_write(VvFrameWriter *w, const AVFrame *f, const VvParams *p,
                   VvBacking *b)
{
    if (f->hw_frames_ctx) {
        return write_hw(w, f, p, b);
    }
    return write_sw(w, f, p, b);
}

/*
 * Copy @rows rows of @width bytes out of component plane @k, starting @x
 * bytes into row @top.
 */
static void get_plane(const VvParams *p, const VvBacking *b, unsigned k,
                      size_t x, unsigned top, uint8_t *dst, int dst_stride,
                      size_t width, unsigned rows)
{
    uint32_t stride = p->plane_formats[k].stride;
    unsigned mp, y;
    size_t off;
    Cursor c;

    plane_place(p, b, k, &mp, &off);
    off += (size_t)top * stride + x;
    cursor_init(&c, b, mp);
    for (y = 0; y < rows; y++) {
        cursor_copy(&c, off + (size_t)y * stride,
                    dst + (ptrdiff_t)y * dst_stride, width, false);
    }
}

/* @n interleaved UV pairs at @uv into @n pixels of U and of V. */
static void get_uv_row(uint8_t *u, uint8_t *v, const uint8_t *uv, size_t n)
{
    size_t x = 0;

#ifdef VV_HAVE_SSE2
    const __m128i lo = _mm_set1_epi16(0xff);

    for (; x + 16 <= n; x += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(uv + 2 * x));
        __m128i b = _mm_loadu_si128((const __m128i *)(uv + 2 * x + 16));

        _mm_storeu_si128((__m128i *)(u + x),
                         _mm_packus_epi16(_mm_and_si128(a, lo),
                                          _mm_and_si128(b, lo)));
        _mm_storeu_si128((__m128i *)(v + x),
                         _mm_packus_epi16(_mm_srli_epi16(a, 8),
                                          _mm_srli_epi16(b, 8)));
    }
#endif
    for (; x < n; x++) {
        u[x] = uv[2 * x];
        v[x] = uv[2 * x + 1];
    }
}

/*
 * NV12's chroma plane into U and V, from @x bytes into row @top on: rows
 * in one guest segment straight from guest memory, others through @row
 * (2 * @cw bytes).  Guest memory is read once per row, into the private
 * picture only.
 */
static void get_nv12_chroma(const VvParams *p, const VvBacking *b,
                            size_t x, unsigned top, AVFrame *f, unsigned cw,
                            unsigned ch, uint8_t *row)
{
    uint32_t stride = p->plane_formats[1].stride;
    unsigned mp, y;
    size_t off;
    Cursor c;

    plane_place(p, b, 1, &mp, &off);
    off += (size_t)top * stride + x;
    cursor_init(&c, b, mp);
    for (y = 0; y < ch; y++) {
        size_t at = off + (size_t)y * stride;
        const uint8_t *uv = cursor_span(&c, at, 2 * cw);

        if (!uv) {
            cursor_copy(&c, at, row, 2 * cw, false);
            uv = row;
        }
        get_uv_row(f->data[1] + (ptrdiff_t)y * f->linesize[1],
                   f->data[2] + (ptrdiff_t)y * f->linesize[2], uv, cw);
    }
}

/* Chroma of the raw frame into an NV12 picture (a device surface). */
static bool read_nv12_dest(const VvParams *p, const VvBacking *b,
                           unsigned x, unsigned y, AVFrame *f, unsigned cw,
                           unsigned ch)
{
    g_autofree uint8_t *u = NULL;
    unsigned r;

    switch (p->format) {
    case VIRTIO_VIDEO_FORMAT_NV12:
        get_plane(p, b, 1, x, y / 2, f->data[1], f->linesize[1], 2 * cw, ch);
        return true;
    case VIRTIO_VIDEO_FORMAT_YUV420:
    case VIRTIO_VIDEO_FORMAT_YVU420: {
        unsigned ku = p->format == VIRTIO_VIDEO_FORMAT_YUV420 ? 1 : 2;

        /* both planes out of guest memory, then interleaved */
        u = g_malloc((size_t)2 * cw * ch);
        get_plane(p, b, ku, x / 2, y / 2, u, cw, cw, ch);
        get_plane(p, b, 3 - ku, x / 2, y / 2, u + (size_t)cw * ch, cw, cw,
                  ch);
        for (r = 0; r < ch; r++) {
            put_uv_row(f->data[1] + (ptrdiff_t)r * f->linesize[1],
                       u + (size_t)r * cw, u + (size_t)(ch + r) * cw, cw);
        }
#ifdef VV_HAVE_SSE2
        _mm_sfence();
#endif
        return true;
    }
    default:
        return false;
    }
}

bool vv_frame_read(const VvParams *p, const VvBacking *b, AVFrame *f)
{
    unsigned w = p->crop.width, h = p->crop.height;
    unsigned cw = (w + 1) / 2, ch = (h + 1) / 2;
    /* the crop offset is even (4:2:0): whole chroma samples */
    unsigned x = p->crop.left, y = p->crop.top;

    if ((f->format != AV_PIX_FMT_YUV420P && f->format != AV_PIX_FMT_NV12) ||
        (unsigned)f->width != w || (unsigned)f->height != h || !f->buf[0] ||
        (x | y) & 1) {
        return false;
    }
    get_plane(p, b, 0, x, y, f->data[0], f->linesize[0], w, h);
    if (f->format == AV_PIX_FMT_NV12) {
        return read_nv12_dest(p, b, x, y, f, cw, ch);
    }
    switch (p->format) {
    case VIRTIO_VIDEO_FORMAT_NV12: {
        g_autofree uint8_t *row = g_malloc(2 * cw);

        get_nv12_chroma(p, b, x, y / 2, f, cw, ch, row);
        return true;
    }
    case VIRTIO_VIDEO_FORMAT_YUV420:
        get_plane(p, b, 1, x / 2, y / 2, f->data[1], f->linesize[1], cw, ch);
        get_plane(p, b, 2, x / 2, y / 2, f->data[2], f->linesize[2], cw, ch);
        return true;
    case VIRTIO_VIDEO_FORMAT_YVU420:
        get_plane(p, b, 1, x / 2, y / 2, f->data[2], f->linesize[2], cw, ch);
        get_plane(p, b, 2, x / 2, y / 2, f->data[1], f->linesize[1], cw, ch);
        return true;
    default:
        return false;
    }
}
