// SPDX-License-Identifier: GPL-2.0
/*
 * vvclient: guest-side test client for V4L2 stateful decoders/encoders.
 *
 *   vvclient dec DEV CODEC INPUT [options]
 *       Decode INPUT (Annex-B/elementary stream, or IVF for vp8/vp9) and
 *       print "FRAME n WxH md5" for every decoded picture (MD5 of the
 *       visible NV12 rectangle, tightly packed) plus a summary line.
 *       -o FILE   also write the visible NV12 pictures to FILE
 *       -s BYTES  chunk size for elementary streams (default 16384)
 *       -k N      seek test: after N input buffers restart from the
 *                 beginning (STREAMOFF/STREAMON on both queues);
 *                 only pictures decoded after the seek are printed
 *       -d CARD   CAPTURE buffers are DRM dumb buffers of CARD (e.g.
 *                 /dev/dri/card0, virtio-gpu), exported as dma-bufs
 *                 (PRIME) and queued as V4L2_MEMORY_DMABUF; every picture
 *                 is read back through the DRM mapping of its dumb buffer
 *       -a        with -d: alternate, at each source change, between dumb
 *                 buffers and MMAP buffers (both kinds in one stream)
 *
 *   vvclient enc DEV CODEC INPUT.nv12 W H OUTPUT [options]
 *       Encode tightly packed NV12 frames; write the bitstream to OUTPUT.
 *       -b BPS    bitrate   -g N  GOP size   -f FPS  frame rate
 *       -K N      force a keyframe at frame N
 *       -p N      V4L2 H.264 profile (V4L2_MPEG_VIDEO_H264_PROFILE_*)
 *       -l N      V4L2 H.264 level (V4L2_MPEG_VIDEO_H264_LEVEL_*)
 *       -m N      bitrate mode (0 VBR, 1 CBR)
 *       -c MODE   how W x H, the picture size, is given to the encoder:
 *                 fmt    S_FMT(OUTPUT) W x H only (default; the driver
 *                        makes W x H the visible size);
 *                 sel    S_FMT W x H, then S_SELECTION(CROP) 0,0 W x H;
 *                 align  S_FMT with W x H rounded up to 16, then
 *                        S_SELECTION(CROP) 0,0 W x H (the stateful
 *                        encoder interface's example)
 *       Prints "CROP l,t wxh default l,t wxh bounds l,t wxh" (the
 *       OUTPUT selection once configured), a "PACKET" line per
 *       bitstream buffer and a "DONE" summary.
 *
 * CODEC: h264 hevc vp8 vp9 mpeg2 mpeg4
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* libdrm-dev's copies: Debian 12's linux-libc-dev has no drm/ headers */
#include <drm.h>
#include <drm_mode.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>

#define die(...) do {					\
		fprintf(stderr, "vvclient: " __VA_ARGS__);	\
		fprintf(stderr, "\n");				\
		exit(2);					\
	} while (0)

/* ---- MD5 (RFC 1321) ---- */
struct md5 { uint32_t h[4]; uint64_t len; uint8_t buf[64]; };

static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_r[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
	5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
	6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_init(struct md5 *m)
{
	m->h[0] = 0x67452301; m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe; m->h[3] = 0x10325476;
	m->len = 0;
}

static void md5_block(struct md5 *m, const uint8_t *p)
{
	uint32_t w[16], a = m->h[0], b = m->h[1], c = m->h[2], d = m->h[3];
	int i;

	for (i = 0; i < 16; i++)
		w[i] = p[i * 4] | p[i * 4 + 1] << 8 | p[i * 4 + 2] << 16 |
		       (uint32_t)p[i * 4 + 3] << 24;
	for (i = 0; i < 64; i++) {
		uint32_t f, g, t;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) & 15;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) & 15;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) & 15;
		}
		t = d;
		d = c;
		c = b;
		f += a + md5_k[i] + w[g];
		b += (f << md5_r[i]) | (f >> (32 - md5_r[i]));
		a = t;
	}
	m->h[0] += a; m->h[1] += b; m->h[2] += c; m->h[3] += d;
}

static void md5_update(struct md5 *m, const uint8_t *p, size_t n)
{
	size_t fill = m->len & 63;

	m->len += n;
	if (fill) {
		size_t k = 64 - fill < n ? 64 - fill : n;

		memcpy(m->buf + fill, p, k);
		p += k; n -= k;
		if (fill + k < 64)
			return;
		md5_block(m, m->buf);
	}
	for (; n >= 64; n -= 64, p += 64)
		md5_block(m, p);
	memcpy(m->buf, p, n);
}

static void md5_final(struct md5 *m, char out[33])
{
	uint64_t bits = m->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = 64 - ((m->len + 8) & 63);
	uint8_t lenb[8];
	int i;

	if (padlen == 0)
		padlen = 64;
	for (i = 0; i < 8; i++)
		lenb[i] = bits >> (8 * i);
	md5_update(m, pad, padlen);
	md5_update(m, lenb, 8);
	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", (m->h[i / 4] >> (8 * (i % 4))) & 0xff);
}

/* ---- helpers ---- */
static int fd;

static int xioctl(unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR);
	return r;
}

#define CHECK(req, arg) do {					\
		if (xioctl(req, arg))					\
			die("%s: %s", #req, strerror(errno));		\
	} while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t codec_fourcc(const char *c)
{
	if (!strcmp(c, "h264"))
		return V4L2_PIX_FMT_H264;
	if (!strcmp(c, "hevc"))
		return V4L2_PIX_FMT_HEVC;
	if (!strcmp(c, "vp8"))
		return V4L2_PIX_FMT_VP8;
	if (!strcmp(c, "vp9"))
		return V4L2_PIX_FMT_VP9;
	if (!strcmp(c, "mpeg2"))
		return V4L2_PIX_FMT_MPEG2;
	if (!strcmp(c, "mpeg4"))
		return V4L2_PIX_FMT_MPEG4;
	die("unknown codec %s", c);
}

struct mbuf {
	void *ptr;
	size_t len;
	int queued;
	uint32_t memory;	/* V4L2_MEMORY_MMAP or _DMABUF */
	int dmabuf;		/* DMABUF: the exported dumb buffer */
	uint32_t handle;	/* DMABUF: its DRM handle */
};

static int map_buffers(uint32_t type, unsigned int count, struct mbuf *b)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = type,
					  .memory = V4L2_MEMORY_MMAP };
	unsigned int i;

	CHECK(VIDIOC_REQBUFS, &rb);
	for (i = 0; i < rb.count; i++) {
		struct v4l2_plane pl[VIDEO_MAX_PLANES];
		struct v4l2_buffer buf = { .index = i, .type = type,
			.memory = V4L2_MEMORY_MMAP, .m.planes = pl,
			.length = VIDEO_MAX_PLANES };

		CHECK(VIDIOC_QUERYBUF, &buf);
		b[i].len = pl[0].length;
		b[i].ptr = mmap(NULL, pl[0].length, PROT_READ | PROT_WRITE,
				MAP_SHARED, fd, pl[0].m.mem_offset);
		if (b[i].ptr == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		b[i].queued = 0;
		b[i].memory = V4L2_MEMORY_MMAP;
		b[i].dmabuf = -1;
	}
	return rb.count;
}

static void unmap_buffers(uint32_t type, unsigned int count, struct mbuf *b)
{
	struct v4l2_requestbuffers rb = { .count = 0, .type = type,
					  .memory = V4L2_MEMORY_MMAP };
	unsigned int i;

	for (i = 0; i < count; i++)
		munmap(b[i].ptr, b[i].len);
	CHECK(VIDIOC_REQBUFS, &rb);
}

static void qbuf(uint32_t type, unsigned int idx, uint32_t bytes,
		 uint64_t ts_us, struct mbuf *b)
{
	struct v4l2_plane pl[1] = { { .bytesused = bytes } };
	struct v4l2_buffer buf = { .index = idx, .type = type,
		.memory = b[idx].memory, .m.planes = pl, .length = 1 };

	if (b[idx].memory == V4L2_MEMORY_DMABUF) {
		pl[0].m.fd = b[idx].dmabuf;
		pl[0].length = b[idx].len;
	}
	buf.timestamp.tv_sec = ts_us / 1000000;
	buf.timestamp.tv_usec = ts_us % 1000000;
	if (xioctl(VIDIOC_QBUF, &buf))
		die("VIDIOC_QBUF(%s, index %u, %u bytes): %s",
		    type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ? "CAPTURE" :
		    "OUTPUT", idx, bytes, strerror(errno));
	b[idx].queued = 1;
}

/* returns index or -1 (EAGAIN), -2 (EPIPE); fills bytes/flags/ts */
static int dqbuf(uint32_t type, uint32_t *bytes, uint32_t *flags,
		 uint64_t *ts_us, struct mbuf *b)
{
	struct v4l2_plane pl[VIDEO_MAX_PLANES];
	struct v4l2_buffer buf = { .type = type, .memory = b[0].memory,
		.m.planes = pl, .length = VIDEO_MAX_PLANES };

	if (xioctl(VIDIOC_DQBUF, &buf)) {
		if (errno == EAGAIN)
			return -1;
		if (errno == EPIPE)
			return -2;
		die("VIDIOC_DQBUF: %s", strerror(errno));
	}
	*bytes = pl[0].bytesused;
	*flags = buf.flags;
	*ts_us = buf.timestamp.tv_sec * 1000000ULL + buf.timestamp.tv_usec;
	b[buf.index].queued = 0;
	return buf.index;
}

static void stream(uint32_t type, int on)
{
	int t = type;

	CHECK(on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &t);
}

/* ---- input ---- */
struct input {
	uint8_t *data;
	size_t size, pos;
	int ivf;
	size_t chunk;
};

static void input_open(struct input *in, const char *path, size_t chunk)
{
	struct stat st;
	int f = open(path, O_RDONLY);

	if (f < 0 || fstat(f, &st))
		die("%s: %s", path, strerror(errno));
	in->size = st.st_size;
	in->data = malloc(in->size + 1);
	if (!in->data || read(f, in->data, in->size) != (ssize_t)in->size)
		die("read %s", path);
	close(f);
	in->ivf = in->size >= 32 && !memcmp(in->data, "DKIF", 4);
	in->chunk = chunk;
	in->pos = in->ivf ? (in->data[6] | in->data[7] << 8) : 0;
}

static size_t input_max(struct input *in)
{
	size_t pos, max = in->chunk;

	if (!in->ivf)
		return max;
	max = 0;
	for (pos = in->data[6] | in->data[7] << 8; pos + 12 <= in->size;) {
		uint32_t len = in->data[pos] | in->data[pos + 1] << 8 |
			in->data[pos + 2] << 16 | (uint32_t)in->data[pos + 3] << 24;

		if (len > max)
			max = len;
		pos += 12 + len;
	}
	return max;
}

/* next chunk: returns length, 0 at the end */
static size_t input_next(struct input *in, const uint8_t **p)
{
	size_t len;

	if (in->pos >= in->size)
		return 0;
	if (in->ivf) {
		if (in->pos + 12 > in->size)
			return 0;
		len = in->data[in->pos] | in->data[in->pos + 1] << 8 |
		      in->data[in->pos + 2] << 16 |
		      (uint32_t)in->data[in->pos + 3] << 24;
		in->pos += 12;
		if (in->pos + len > in->size)
			len = in->size - in->pos;
	} else {
		len = in->size - in->pos < in->chunk ? in->size - in->pos :
						       in->chunk;
	}
	*p = in->data + in->pos;
	in->pos += len;
	return len;
}

/* ---- decoder ---- */
#define OUT_T V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE
#define CAP_T V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE

static struct mbuf obuf[32], cbuf[64];
static unsigned int nobuf, ncbuf;
static int cap_on;
static struct v4l2_format cfmt;
static struct v4l2_rect crop;

/* ---- DRM dumb buffers as CAPTURE buffers (-d) ---- */
static int drm_fd = -1, drm_alternate;
static unsigned int dumb_total, cap_setups;

static void drm_ioctl(unsigned long req, void *arg, const char *what)
{
	int r;

	do {
		r = ioctl(drm_fd, req, arg);
	} while (r < 0 && errno == EINTR);
	if (r)
		die("%s: %s", what, strerror(errno));
}

static void drm_open(const char *path)
{
	char name[64] = "";
	struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };
	struct drm_get_cap cap = { .capability = DRM_CAP_DUMB_BUFFER };
	uint64_t prime = 0;

	drm_fd = open(path, O_RDWR | O_CLOEXEC);
	if (drm_fd < 0)
		die("%s: %s", path, strerror(errno));
	drm_ioctl(DRM_IOCTL_VERSION, &v, "DRM_IOCTL_VERSION");
	drm_ioctl(DRM_IOCTL_GET_CAP, &cap, "DRM_IOCTL_GET_CAP(DUMB_BUFFER)");
	if (!cap.value)
		die("%s (%s) has no dumb buffers", path, name);
	cap.capability = DRM_CAP_PRIME;
	if (!ioctl(drm_fd, DRM_IOCTL_GET_CAP, &cap))
		prime = cap.value;
	if (!(prime & DRM_PRIME_CAP_EXPORT))
		die("%s (%s) cannot export dma-bufs", path, name);
	fprintf(stderr, "vvclient: CAPTURE buffers from %s (DRM driver %s)\n",
		path, name);
}

/*
 * count dumb buffers big enough for the CAPTURE format: 32 bpp, the width
 * a quarter of bytesperline, enough rows for sizeimage; each exported as
 * a dma-buf (PRIME) and mapped through DRM for reading the pictures back
 */
static unsigned int dumb_buffers(unsigned int count, struct mbuf *b)
{
	struct v4l2_requestbuffers rb = { .count = count, .type = CAP_T,
					  .memory = V4L2_MEMORY_DMABUF };
	uint32_t bpl = cfmt.fmt.pix_mp.plane_fmt[0].bytesperline;
	uint32_t size = cfmt.fmt.pix_mp.plane_fmt[0].sizeimage;
	uint32_t w = bpl / 4 ? bpl / 4 : 1;
	unsigned int i;

	CHECK(VIDIOC_REQBUFS, &rb);
	for (i = 0; i < rb.count; i++) {
		struct drm_mode_create_dumb cd = { .width = w, .bpp = 32,
			.height = (size + w * 4 - 1) / (w * 4) };
		struct drm_prime_handle ph = { .flags = DRM_CLOEXEC | DRM_RDWR };
		struct drm_mode_map_dumb md = { 0 };

		drm_ioctl(DRM_IOCTL_MODE_CREATE_DUMB, &cd,
			  "DRM_IOCTL_MODE_CREATE_DUMB");
		if (cd.size < size)
			die("dumb buffer of %llu bytes < sizeimage %u",
			    (unsigned long long)cd.size, size);
		ph.handle = cd.handle;
		drm_ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph,
			  "DRM_IOCTL_PRIME_HANDLE_TO_FD");
		md.handle = cd.handle;
		drm_ioctl(DRM_IOCTL_MODE_MAP_DUMB, &md,
			  "DRM_IOCTL_MODE_MAP_DUMB");
		b[i].ptr = mmap(NULL, cd.size, PROT_READ, MAP_SHARED, drm_fd,
				md.offset);
		if (b[i].ptr == MAP_FAILED)
			die("mmap of dumb buffer: %s", strerror(errno));
		b[i].len = cd.size;
		b[i].queued = 0;
		b[i].memory = V4L2_MEMORY_DMABUF;
		b[i].dmabuf = ph.fd;
		b[i].handle = cd.handle;
		if (!i)
			fprintf(stderr, "vvclient: %u dumb buffers %ux%u, 32 bpp (pitch %u, %llu bytes) for %u-byte pictures\n",
				rb.count, cd.width, cd.height, cd.pitch,
				(unsigned long long)cd.size, size);
	}
	dumb_total += rb.count;
	return rb.count;
}

static void dumb_free(unsigned int count, struct mbuf *b)
{
	struct v4l2_requestbuffers rb = { .count = 0, .type = CAP_T,
					  .memory = V4L2_MEMORY_DMABUF };
	unsigned int i;

	CHECK(VIDIOC_REQBUFS, &rb);
	for (i = 0; i < count; i++) {
		struct drm_mode_destroy_dumb dd = { .handle = b[i].handle };

		munmap(b[i].ptr, b[i].len);
		close(b[i].dmabuf);
		drm_ioctl(DRM_IOCTL_MODE_DESTROY_DUMB, &dd,
			  "DRM_IOCTL_MODE_DESTROY_DUMB");
	}
}

/* CPU access to a dma-buf between the device's writes */
static void dmabuf_sync(const struct mbuf *b, int end)
{
	struct dma_buf_sync sync = {
		.flags = (end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START) |
			 DMA_BUF_SYNC_READ,
	};

	if (b->memory == V4L2_MEMORY_DMABUF &&
	    ioctl(b->dmabuf, DMA_BUF_IOCTL_SYNC, &sync))
		die("DMA_BUF_IOCTL_SYNC: %s", strerror(errno));
}

static void setup_capture(void)
{
	struct v4l2_selection sel = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				      .target = V4L2_SEL_TGT_COMPOSE };
	struct v4l2_control ctrl = { .id = V4L2_CID_MIN_BUFFERS_FOR_CAPTURE };
	unsigned int i;

	if (cap_on) {
		stream(CAP_T, 0);
		if (cbuf[0].memory == V4L2_MEMORY_DMABUF)
			dumb_free(ncbuf, cbuf);
		else
			unmap_buffers(CAP_T, ncbuf, cbuf);
		cap_on = 0;
	}
	memset(&cfmt, 0, sizeof(cfmt));
	cfmt.type = CAP_T;
	CHECK(VIDIOC_G_FMT, &cfmt);
	if (cfmt.fmt.pix_mp.pixelformat != V4L2_PIX_FMT_NV12) {
		cfmt.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_NV12;
		CHECK(VIDIOC_S_FMT, &cfmt);
	}
	CHECK(VIDIOC_G_SELECTION, &sel);
	crop = sel.r;
	CHECK(VIDIOC_G_CTRL, &ctrl);
	fprintf(stderr, "vvclient: source change: %ux%u (buffer %ux%u, stride %u, %u bytes), min buffers %d\n",
		crop.width, crop.height, cfmt.fmt.pix_mp.width,
		cfmt.fmt.pix_mp.height,
		cfmt.fmt.pix_mp.plane_fmt[0].bytesperline,
		cfmt.fmt.pix_mp.plane_fmt[0].sizeimage, ctrl.value);
	if (drm_fd >= 0 && !(drm_alternate && (cap_setups & 1)))
		ncbuf = dumb_buffers(ctrl.value + 2, cbuf);
	else
		ncbuf = map_buffers(CAP_T, ctrl.value + 2, cbuf);
	cap_setups++;
	for (i = 0; i < ncbuf; i++)
		qbuf(CAP_T, i, 0, 0, cbuf);
	stream(CAP_T, 1);
	cap_on = 1;
}

/* returns 1 when a SOURCE_CHANGE event was dequeued */
static int handle_events(void)
{
	struct v4l2_event ev;
	int change = 0;

	while (!xioctl(VIDIOC_DQEVENT, &ev)) {
		if (ev.type == V4L2_EVENT_SOURCE_CHANGE)
			change = 1;
		else if (ev.type == V4L2_EVENT_EOS)
			fprintf(stderr, "vvclient: EOS event\n");
	}
	return change;
}

static void emit_frame(unsigned int n, const uint8_t *base, FILE *out)
{
	unsigned int bpl = cfmt.fmt.pix_mp.plane_fmt[0].bytesperline;
	unsigned int h = cfmt.fmt.pix_mp.height;
	unsigned int cw = (crop.width + 1) & ~1u, ch = (crop.height + 1) / 2;
	const uint8_t *y = base + crop.top * bpl + crop.left;
	const uint8_t *uv = base + bpl * h + (crop.top / 2) * bpl +
			    (crop.left & ~1u);
	struct md5 m;
	char sum[33];
	unsigned int r;

	md5_init(&m);
	for (r = 0; r < crop.height; r++) {
		md5_update(&m, y + r * bpl, crop.width);
		if (out)
			fwrite(y + r * bpl, 1, crop.width, out);
	}
	for (r = 0; r < ch; r++) {
		md5_update(&m, uv + r * bpl, cw);
		if (out)
			fwrite(uv + r * bpl, 1, cw, out);
	}
	md5_final(&m, sum);
	printf("FRAME %u %ux%u %s\n", n, crop.width, crop.height, sum);
}

static int do_decode(int argc, char **argv)
{
	const char *dev = argv[2], *outpath = NULL;
	uint32_t fourcc = codec_fourcc(argv[3]);
	struct input in = { 0 };
	size_t chunk = 16384;
	struct v4l2_format ofmt = { .type = OUT_T };
	struct v4l2_event_subscription sub = { 0 };
	struct v4l2_decoder_cmd dcmd = { .cmd = V4L2_DEC_CMD_STOP };
	unsigned int frames = 0, errors = 0, inbufs = 0, i;
	int seek_at = -1, stop_sent = 0, done = 0, eof = 0, seeked = 0;
	int src_change = 0;
	double t0;
	FILE *out = NULL;
	int opt;

	optind = 5;
	while ((opt = getopt(argc, argv, "o:s:k:d:a")) != -1) {
		switch (opt) {
		case 'o':
			outpath = optarg;
			break;
		case 'd':
			drm_open(optarg);
			break;
		case 'a':
			drm_alternate = 1;
			break;
		case 's':
			chunk = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			seek_at = atoi(optarg);
			break;
		default:
			die("bad option");
		}
	}
	input_open(&in, argv[4], chunk);
	if (outpath) {
		out = fopen(outpath, "w");
		if (!out)
			die("%s: %s", outpath, strerror(errno));
	}
	fd = open(dev, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		die("%s: %s", dev, strerror(errno));

	t0 = now();
	ofmt.fmt.pix_mp.pixelformat = fourcc;
	ofmt.fmt.pix_mp.num_planes = 1;
	ofmt.fmt.pix_mp.plane_fmt[0].sizeimage = input_max(&in) + 4096;
	CHECK(VIDIOC_S_FMT, &ofmt);
	if (ofmt.fmt.pix_mp.pixelformat != fourcc)
		die("codec not supported by %s", dev);
	sub.type = V4L2_EVENT_SOURCE_CHANGE;
	CHECK(VIDIOC_SUBSCRIBE_EVENT, &sub);
	sub.type = V4L2_EVENT_EOS;
	CHECK(VIDIOC_SUBSCRIBE_EVENT, &sub);
	nobuf = map_buffers(OUT_T, 8, obuf);
	stream(OUT_T, 1);

	while (!done) {
		struct pollfd pfd = { .fd = fd,
				      .events = POLLIN | POLLOUT | POLLPRI };
		uint32_t bytes, flags;
		uint64_t ts;
		int idx, r;

		/* feed every free bitstream buffer */
		for (i = 0; i < nobuf && !eof; i++) {
			const uint8_t *p;
			size_t len;

			if (obuf[i].queued)
				continue;
			if (seek_at >= 0 && !seeked && (int)inbufs >= seek_at) {
				if (!frames)
					break;	/* wait for a first picture */
				/* seek back to the start of the stream */
				stream(OUT_T, 0);
				stream(CAP_T, 0);
				for (unsigned int j = 0; j < nobuf; j++)
					obuf[j].queued = 0;
				in.pos = in.ivf ?
					(in.data[6] | in.data[7] << 8) : 0;
				seeked = 1;
				printf("SEEK after %u frames\n", frames);
				frames = 0;
				stream(OUT_T, 1);
				for (unsigned int j = 0; j < ncbuf; j++)
					qbuf(CAP_T, j, 0, 0, cbuf);
				stream(CAP_T, 1);
				i = 0;
			}
			len = input_next(&in, &p);
			if (!len) {
				eof = 1;
				break;
			}
			if (len > obuf[i].len)
				die("chunk of %zu bytes > buffer", len);
			memcpy(obuf[i].ptr, p, len);
			qbuf(OUT_T, i, len, 1000ULL * (inbufs + 1), obuf);
			inbufs++;
		}
		if (eof && !stop_sent) {
			CHECK(VIDIOC_DECODER_CMD, &dcmd);
			stop_sent = 1;
		}

		r = poll(&pfd, 1, 20000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("poll timeout (frames=%u, input buffers=%u)",
			    frames, inbufs);
		while ((idx = dqbuf(OUT_T, &bytes, &flags, &ts, obuf)) >= 0)
			;
		for (;;) {
			/*
			 * On SOURCE_CHANGE, first take every picture of the
			 * old format still done, then set CAPTURE up again.
			 */
			if (handle_events())
				src_change = 1;
			if (src_change && !cap_on) {
				setup_capture();
				src_change = 0;
			}
			if (!cap_on)
				break;
			idx = dqbuf(CAP_T, &bytes, &flags, &ts, cbuf);
			if (idx == -2) {
				done = 1;
				break;
			}
			if (idx < 0) {
				if (!src_change)
					break;
				setup_capture();
				src_change = 0;
				continue;
			}
			if (flags & V4L2_BUF_FLAG_ERROR)
				errors++;
			else if (bytes) {
				dmabuf_sync(&cbuf[idx], 0);
				emit_frame(frames++, cbuf[idx].ptr, out);
				dmabuf_sync(&cbuf[idx], 1);
			}
			if (flags & V4L2_BUF_FLAG_LAST) {
				done = 1;
				break;
			}
			if (!src_change)
				qbuf(CAP_T, idx, 0, 0, cbuf);
		}
	}
	{
		double t = now() - t0;

		printf("DONE frames=%u errors=%u input_buffers=%u time=%.3f fps=%.1f\n",
		       frames, errors, inbufs, t, t > 0 ? frames / t : 0);
		if (drm_fd >= 0)
			printf("DUMB buffers=%u\n", dumb_total);
	}
	/* after the LAST buffer, DQBUF must fail with EPIPE */
	{
		uint32_t b, f;
		uint64_t ts;
		int r = dqbuf(CAP_T, &b, &f, &ts, cbuf);

		printf("AFTER_LAST dqbuf=%s\n", r == -2 ? "EPIPE" :
		       r == -1 ? "EAGAIN" : "BUFFER");
	}
	if (out)
		fclose(out);
	close(fd);
	return 0;
}

/* ---- encoder ---- */
static void print_crop(void)
{
	static const uint32_t tgt[3] = {
		V4L2_SEL_TGT_CROP, V4L2_SEL_TGT_CROP_DEFAULT,
		V4L2_SEL_TGT_CROP_BOUNDS,
	};
	static const char *const name[3] = { "CROP", " default", " bounds" };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct v4l2_selection sel = { .type = OUT_T, .target = tgt[i] };

		CHECK(VIDIOC_G_SELECTION, &sel);
		printf("%s %d,%d %ux%u", name[i], sel.r.left, sel.r.top,
		       sel.r.width, sel.r.height);
	}
	printf("\n");
}

static int do_encode(int argc, char **argv)
{
	const char *dev = argv[2];
	uint32_t fourcc = codec_fourcc(argv[3]);
	unsigned int w = atoi(argv[5]), h = atoi(argv[6]);
	FILE *fin, *fout;
	struct v4l2_format cf = { .type = CAP_T }, of = { .type = OUT_T };
	struct v4l2_streamparm parm = { .type = OUT_T };
	struct v4l2_encoder_cmd ecmd = { .cmd = V4L2_ENC_CMD_STOP };
	unsigned int bitrate = 0, gop = 0, fps = 30, force_at = ~0u;
	int profile = -1, level = -1, mode = -1;
	const char *crop_mode = "fmt";
	unsigned int frames_in = 0, packets = 0, keyframes = 0, i;
	size_t fsize = (size_t)w * h * 3 / 2, total = 0;
	uint8_t *frame = malloc(fsize);
	int opt, eof = 0, stop_sent = 0, done = 0;
	double t0;

	optind = 8;
	while ((opt = getopt(argc, argv, "b:g:f:K:p:l:m:c:")) != -1) {
		switch (opt) {
		case 'c':
			crop_mode = optarg;
			break;
		case 'p':
			profile = atoi(optarg);
			break;
		case 'l':
			level = atoi(optarg);
			break;
		case 'm':
			mode = atoi(optarg);
			break;
		case 'b':
			bitrate = atoi(optarg);
			break;
		case 'g':
			gop = atoi(optarg);
			break;
		case 'f':
			fps = atoi(optarg);
			break;
		case 'K':
			force_at = atoi(optarg);
			break;
		default:
			die("bad option");
		}
	}
	fin = fopen(argv[4], "r");
	fout = fopen(argv[7], "w");
	if (!fin || !fout || !frame)
		die("cannot open input/output");
	if (strcmp(crop_mode, "fmt") && strcmp(crop_mode, "sel") &&
	    strcmp(crop_mode, "align"))
		die("-c %s: expected fmt, sel or align", crop_mode);
	fd = open(dev, O_RDWR | O_NONBLOCK);
	if (fd < 0)
		die("%s: %s", dev, strerror(errno));
	t0 = now();

	cf.fmt.pix_mp.pixelformat = fourcc;
	cf.fmt.pix_mp.width = w;
	cf.fmt.pix_mp.height = h;
	cf.fmt.pix_mp.num_planes = 1;
	cf.fmt.pix_mp.plane_fmt[0].sizeimage = 2 << 20;
	CHECK(VIDIOC_S_FMT, &cf);
	if (cf.fmt.pix_mp.pixelformat != fourcc)
		die("codec not supported by %s", dev);
	of.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_NV12;
	of.fmt.pix_mp.width = w;
	of.fmt.pix_mp.height = h;
	if (!strcmp(crop_mode, "align")) {
		of.fmt.pix_mp.width = (w + 15) & ~15u;
		of.fmt.pix_mp.height = (h + 15) & ~15u;
	}
	of.fmt.pix_mp.num_planes = 1;
	CHECK(VIDIOC_S_FMT, &of);
	if (strcmp(crop_mode, "fmt")) {
		struct v4l2_selection sel = {
			.type = OUT_T, .target = V4L2_SEL_TGT_CROP,
			.r = { 0, 0, w, h },
		};

		CHECK(VIDIOC_S_SELECTION, &sel);
		CHECK(VIDIOC_G_FMT, &of);
	}
	fprintf(stderr, "vvclient: raw %ux%u buffer %ux%u stride %u size %u\n",
		w, h, of.fmt.pix_mp.width, of.fmt.pix_mp.height,
		of.fmt.pix_mp.plane_fmt[0].bytesperline,
		of.fmt.pix_mp.plane_fmt[0].sizeimage);
	parm.parm.output.timeperframe.numerator = 1;
	parm.parm.output.timeperframe.denominator = fps;
	CHECK(VIDIOC_S_PARM, &parm);
	if (bitrate) {
		struct v4l2_control c = { .id = V4L2_CID_MPEG_VIDEO_BITRATE,
					  .value = bitrate };
		CHECK(VIDIOC_S_CTRL, &c);
	}
	if (gop) {
		struct v4l2_control c = { .id = V4L2_CID_MPEG_VIDEO_GOP_SIZE,
					  .value = gop };
		CHECK(VIDIOC_S_CTRL, &c);
	}
	if (profile >= 0) {
		struct v4l2_control c = { .id = V4L2_CID_MPEG_VIDEO_H264_PROFILE,
					  .value = profile };
		CHECK(VIDIOC_S_CTRL, &c);
	}
	if (level >= 0) {
		struct v4l2_control c = { .id = V4L2_CID_MPEG_VIDEO_H264_LEVEL,
					  .value = level };
		CHECK(VIDIOC_S_CTRL, &c);
	}
	if (mode >= 0) {
		struct v4l2_control c = { .id = V4L2_CID_MPEG_VIDEO_BITRATE_MODE,
					  .value = mode };
		CHECK(VIDIOC_S_CTRL, &c);
	}
	print_crop();
	nobuf = map_buffers(OUT_T, 4, obuf);
	ncbuf = map_buffers(CAP_T, 4, cbuf);
	for (i = 0; i < ncbuf; i++)
		qbuf(CAP_T, i, 0, 0, cbuf);
	stream(OUT_T, 1);
	stream(CAP_T, 1);

	while (!done) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
		uint32_t bytes, flags;
		uint64_t ts;
		int idx, r;

		for (i = 0; i < nobuf && !eof; i++) {
			unsigned int bpl = of.fmt.pix_mp.plane_fmt[0].bytesperline;
			uint8_t *dst = obuf[i].ptr;
			unsigned int row;

			if (obuf[i].queued)
				continue;
			if (fread(frame, 1, fsize, fin) != fsize) {
				eof = 1;
				break;
			}
			for (row = 0; row < h; row++)
				memcpy(dst + row * bpl, frame + row * w, w);
			for (row = 0; row < (h + 1) / 2; row++)
				memcpy(dst + bpl * of.fmt.pix_mp.height + row * bpl,
				       frame + w * h + row * w, w);
			if (frames_in == force_at) {
				struct v4l2_control c = {
					.id = V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME };
				CHECK(VIDIOC_S_CTRL, &c);
			}
			qbuf(OUT_T, i, of.fmt.pix_mp.plane_fmt[0].sizeimage,
			     1000ULL * (frames_in + 1), obuf);
			frames_in++;
		}
		if (eof && !stop_sent) {
			CHECK(VIDIOC_ENCODER_CMD, &ecmd);
			stop_sent = 1;
		}
		r = poll(&pfd, 1, 20000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("poll timeout (frames=%u packets=%u)", frames_in,
			    packets);
		while ((idx = dqbuf(OUT_T, &bytes, &flags, &ts, obuf)) >= 0)
			;
		for (;;) {
			idx = dqbuf(CAP_T, &bytes, &flags, &ts, cbuf);
			if (idx == -2) {
				done = 1;
				break;
			}
			if (idx < 0)
				break;
			if (bytes && !(flags & V4L2_BUF_FLAG_ERROR)) {
				fwrite(cbuf[idx].ptr, 1, bytes, fout);
				printf("PACKET %u size=%u ts=%llu%s\n", packets,
				       bytes, (unsigned long long)ts,
				       flags & V4L2_BUF_FLAG_KEYFRAME ?
				       " key" : "");
				packets++;
				total += bytes;
				if (flags & V4L2_BUF_FLAG_KEYFRAME)
					keyframes++;
			}
			if (flags & V4L2_BUF_FLAG_LAST) {
				done = 1;
				break;
			}
			qbuf(CAP_T, idx, 0, 0, cbuf);
		}
	}
	{
		double t = now() - t0;

		printf("DONE frames=%u packets=%u keyframes=%u bytes=%zu time=%.3f fps=%.1f\n",
		       frames_in, packets, keyframes, total, t,
		       t > 0 ? frames_in / t : 0);
	}
	fclose(fout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "dec"))
		return do_decode(argc, argv);
	if (argc >= 8 && !strcmp(argv[1], "enc"))
		return do_encode(argc, argv);
	fprintf(stderr, "usage: vvclient dec DEV CODEC INPUT [-o OUT] [-s CHUNK] [-k N] [-d /dev/dri/cardN [-a]]\n"
		"       vvclient enc DEV CODEC IN.nv12 W H OUT [-b BPS] [-g GOP] [-f FPS] [-K N] [-p N] [-l N] [-m N] [-c fmt|sel|align]\n");
	return 2;
}
