// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: V4L2 stateful decoder and encoder nodes.
 *
 * The V4L2 OUTPUT queue feeds the device's INPUT queue and the V4L2
 * CAPTURE queue takes the device's OUTPUT queue, for both functions.
 * Buffers are handed to the device as soon as they are queued; the
 * device completes them in its own time, so no mem2mem job scheduling
 * is needed (and v4l2-mem2mem.ko, which not every distribution ships,
 * is not used).
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/virtio_config.h>
#include <linux/virtio_dma_buf.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>
#include <media/videobuf2-dma-contig.h>
#include <media/videobuf2-dma-sg.h>

#include "vv.h"

/* vb2 API differences between the kernels we build for (6.1 to 6.12) */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define vv_num_buffers(q)	vb2_get_num_buffers(q)
#else
#define vv_num_buffers(q)	((q)->num_buffers)
#endif

#define P(x)	le32_to_cpu(x)
#define VV_TAG_SRC	BIT(31)
#define VV_META_FLAGS	(V4L2_BUF_FLAG_TIMECODE | V4L2_BUF_FLAG_TSTAMP_SRC_MASK)

static const struct v4l2_event vv_src_change_ev = {
	.type = V4L2_EVENT_SOURCE_CHANGE,
	.u.src_change.changes = V4L2_EVENT_SRC_CH_RESOLUTION,
};

static inline struct vv_ctx *file_to_ctx(struct file *file)
{
	return container_of(file->private_data, struct vv_ctx, fh);
}

u32 vv_fourcc(u32 vformat)
{
	switch (vformat) {
	case VV_FMT_ARGB8888: return V4L2_PIX_FMT_ARGB32;
	case VV_FMT_BGRA8888: return V4L2_PIX_FMT_ABGR32;
	case VV_FMT_NV12: return V4L2_PIX_FMT_NV12;
	case VV_FMT_YUV420: return V4L2_PIX_FMT_YUV420;
	case VV_FMT_YVU420: return V4L2_PIX_FMT_YVU420;
	case VV_FMT_MPEG2: return V4L2_PIX_FMT_MPEG2;
	case VV_FMT_MPEG4: return V4L2_PIX_FMT_MPEG4;
	case VV_FMT_H264: return V4L2_PIX_FMT_H264;
	case VV_FMT_HEVC: return V4L2_PIX_FMT_HEVC;
	case VV_FMT_VP8: return V4L2_PIX_FMT_VP8;
	case VV_FMT_VP9: return V4L2_PIX_FMT_VP9;
	default: return 0;
	}
}

static bool vv_is_coded(u32 vformat)
{
	return vformat >= VV_FMT_MPEG2;
}

static struct vv_fmt_list *vv_list(struct vv_ctx *ctx, bool src)
{
	return src ? &ctx->dev->in_fmts : &ctx->dev->out_fmts;
}

static struct vv_params *vv_qparams(struct vv_ctx *ctx, bool src)
{
	return src ? &ctx->in : &ctx->out;
}

static int vv_find_fmt(struct vv_fmt_list *l, u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < l->num; i++)
		if (l->fmt[i].fourcc && l->fmt[i].fourcc == fourcc)
			return i;
	return -1;
}

/*
 * Formats are listed in the device's order, except that NV12 goes last:
 * a client that picks "the first format" gets planar I420, which every
 * software path handles.  (It also keeps v4l2-compliance 1.22, whose
 * NV12 description predates the kernel's 'Y/UV 4:2:0', from losing the
 * other formats.)
 */
static int vv_fmt_at(struct vv_fmt_list *l, unsigned int pos)
{
	unsigned int i, n = 0;
	bool has_nv12 = false;

	for (i = 0; i < l->num; i++) {
		if (l->fmt[i].vformat == VV_FMT_NV12) {
			has_nv12 = true;
			continue;
		}
		if (n++ == pos)
			return i;
	}
	if (has_nv12 && n == pos)
		for (i = 0; i < l->num; i++)
			if (l->fmt[i].vformat == VV_FMT_NV12)
				return i;
	return -1;
}

/*
 * The raw queue's formats can be limited by the coded format in use
 * (decoder: CAPTURE by the OUTPUT format; encoder: OUTPUT by CAPTURE).
 */
static bool vv_fmt_allowed(struct vv_ctx *ctx, bool src, unsigned int idx)
{
	struct vv_dev *dev = ctx->dev;
	bool raw_side = dev->encoder ? src : !src;
	struct vv_fmt_list *other = vv_list(ctx, !src);
	int cur;
	u64 mask;

	if (!vv_list(ctx, src)->fmt[idx].fourcc)
		return false;
	if (!raw_side)
		return true;
	cur = vv_find_fmt(other, vv_fourcc(P(vv_qparams(ctx, !src)->format)));
	if (cur < 0)
		return true;
	mask = other->fmt[cur].mask;
	return !mask || idx >= 64 || (mask & BIT_ULL(idx));
}

/* Device parameters */

static int vv_get_params(struct vv_ctx *ctx, u32 queue)
{
	struct vv_queue_cmd req = {
		.hdr.type = cpu_to_le32(VV_CMD_GET_PARAMS_EXT),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.queue_type = cpu_to_le32(queue),
	};
	struct vv_params_msg resp;
	int ret;

	memset(&resp, 0, sizeof(resp));
	ret = vv_cmd_sync(ctx->dev, &req, sizeof(req), NULL, 0, &resp,
			  sizeof(resp));
	if (ret)
		return ret;
	/* route by the queue named in the response */
	if (P(resp.params.queue_type) == VV_QUEUE_INPUT)
		ctx->in = resp.params;
	else if (P(resp.params.queue_type) == VV_QUEUE_OUTPUT)
		ctx->out = resp.params;
	else
		return -EIO;
	return 0;
}

static int vv_get_all_params(struct vv_ctx *ctx)
{
	int ret = vv_get_params(ctx, VV_QUEUE_INPUT);

	return ret ? ret : vv_get_params(ctx, VV_QUEUE_OUTPUT);
}

static int vv_set_params(struct vv_ctx *ctx, struct vv_params *p);

static int vv_create_stream(struct vv_ctx *ctx)
{
	struct vv_dev *dev = ctx->dev;
	struct vv_stream_create req = {
		.hdr.type = cpu_to_le32(VV_CMD_STREAM_CREATE),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.in_mem_type = cpu_to_le32(VV_MEM_GUEST_PAGES),
		.out_mem_type = cpu_to_le32(VV_MEM_GUEST_PAGES),
	};
	struct vv_hdr resp;
	struct vv_params *p;
	int ret, idx;

	req.coded_format = dev->encoder ? ctx->out.format : ctx->in.format;
	__get_task_comm(req.tag, sizeof(req.tag), current);
	ret = vv_cmd_sync(dev, &req, sizeof(req), NULL, 0, &resp,
			  sizeof(resp));
	if (ret)
		return ret == -EINVAL ? -EBUSY : ret;
	ctx->created = true;
	ctx->mem_type[0] = VV_MEM_GUEST_PAGES;
	ctx->mem_type[1] = VV_MEM_GUEST_PAGES;
	ret = vv_get_all_params(ctx);
	if (ret)
		return ret;
	/* start with the first raw format we list */
	p = dev->encoder ? &ctx->in : &ctx->out;
	idx = vv_fmt_at(dev->encoder ? &dev->in_fmts : &dev->out_fmts, 0);
	if (idx >= 0 && dev->def_raw && P(p->format) != dev->def_raw) {
		struct vv_params np = *p;

		np.format = cpu_to_le32(dev->def_raw);
		ret = vv_set_params(ctx, &np);
	}
	return ret;
}

/*
 * The device stream is created when it is first needed, not at open():
 * the device has a limited number of streams and V4L2 nodes must not
 * limit the number of opens.
 */
static int vv_ensure_stream(struct vv_ctx *ctx)
{
	return ctx->created ? 0 : vv_create_stream(ctx);
}

static int vv_set_params(struct vv_ctx *ctx, struct vv_params *p)
{
	struct vv_params_msg req = {
		.hdr.type = cpu_to_le32(VV_CMD_SET_PARAMS_EXT),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.params = *p,
	};
	struct vv_hdr resp;
	int ret, ret2;

	ret = vv_ensure_stream(ctx);
	if (ret)
		return ret;
	/* SET_PARAMS_EXT sets the memory type too: keep the queue's */
	req.params.resource_type =
		cpu_to_le32(ctx->mem_type[P(p->queue_type) == VV_QUEUE_OUTPUT]);
	ret = vv_cmd_sync(ctx->dev, &req, sizeof(req), NULL, 0, &resp,
			  sizeof(resp));
	ret2 = vv_get_all_params(ctx);
	return ret ? ret : ret2;
}

/*
 * The memory type (guest pages or virtio objects) is a property of a
 * device queue; resources of either kind can live on one queue.  Switch
 * it before a RESOURCE_CREATE of the other kind, with SET_PARAMS_EXT and
 * the other parameters exactly as the device reports them now.
 */
static int vv_set_mem_type(struct vv_ctx *ctx, u32 queue, u32 type)
{
	struct vv_queue_cmd get = {
		.hdr.type = cpu_to_le32(VV_CMD_GET_PARAMS_EXT),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.queue_type = cpu_to_le32(queue),
	};
	u32 *cur = &ctx->mem_type[queue == VV_QUEUE_OUTPUT];
	struct vv_params_msg msg;
	struct vv_hdr resp;
	int ret;

	if (*cur == type)
		return 0;
	memset(&msg, 0, sizeof(msg));
	ret = vv_cmd_sync(ctx->dev, &get, sizeof(get), NULL, 0, &msg,
			  sizeof(msg));
	if (ret)
		return ret;
	if (P(msg.params.queue_type) != queue)
		return -EIO;
	msg.hdr.type = cpu_to_le32(VV_CMD_SET_PARAMS_EXT);
	msg.hdr.stream_id = cpu_to_le32(ctx->stream_id);
	msg.params.resource_type = cpu_to_le32(type);
	ret = vv_cmd_sync(ctx->dev, &msg, sizeof(msg), NULL, 0, &resp,
			  sizeof(resp));
	if (!ret)
		*cur = type;
	return ret;
}

static int vv_set_control(struct vv_ctx *ctx, u32 control, u32 value,
			  bool sync)
{
	struct vv_control_msg req = {
		.hdr.type = cpu_to_le32(VV_CMD_SET_CONTROL),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.control = cpu_to_le32(control),
		.value = cpu_to_le32(value),
	};
	size_t len = control == VV_CTRL_FORCE_KEYFRAME ? 16 : sizeof(req);
	struct vv_hdr resp;
	int ret = vv_ensure_stream(ctx);

	if (ret)
		return ret;
	if (!sync)
		return vv_cmd_async(ctx->dev, &req, len, sizeof(resp), NULL,
				    NULL, 0);
	return vv_cmd_sync(ctx->dev, &req, len, NULL, 0, &resp, sizeof(resp));
}

static int vv_simple_cmd(struct vv_ctx *ctx, u32 type, u32 queue)
{
	struct vv_queue_cmd req = {
		.hdr.type = cpu_to_le32(type),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.queue_type = cpu_to_le32(queue),
	};
	struct vv_hdr resp;

	return vv_cmd_sync(ctx->dev, &req, queue ? sizeof(req) :
			   sizeof(req.hdr), NULL, 0, &resp, sizeof(resp));
}

static u32 vv_total_size(const struct vv_params *p)
{
	u32 i, n = min_t(u32, P(p->num_planes), VV_MAX_PLANES), sz = 0;

	for (i = 0; i < n; i++)
		sz += P(p->plane_formats[i].plane_size);
	return sz;
}

/*
 * The visible rectangle of a raw queue: the device's crop, or the whole
 * frame when the device reports none.
 */
static void vv_params_crop(const struct vv_params *p, struct v4l2_rect *r)
{
	if (P(p->crop.width) && P(p->crop.height)) {
		r->left = P(p->crop.left);
		r->top = P(p->crop.top);
		r->width = P(p->crop.width);
		r->height = P(p->crop.height);
	} else {
		r->left = 0;
		r->top = 0;
		r->width = P(p->frame_width);
		r->height = P(p->frame_height);
	}
}

static void vv_refresh(struct vv_ctx *ctx, bool update_ctrl);

/* V4L2 formats */

static void vv_params_to_fmt(struct vv_ctx *ctx, bool src,
			     struct v4l2_format *f)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	struct vv_params *p = vv_qparams(ctx, src);
	u32 stride = P(p->plane_formats[0].stride);

	memset(pix, 0, sizeof(*pix));
	pix->pixelformat = vv_fourcc(P(p->format));
	pix->width = P(p->frame_width);
	pix->height = P(p->frame_height);
	pix->field = V4L2_FIELD_NONE;
	pix->num_planes = 1;
	pix->plane_fmt[0].sizeimage = vv_total_size(p);
	if (ctx->dev->encoder && !src) {
		/* the bitstream has the coded size of the source frames */
		pix->width = P(ctx->in.frame_width);
		pix->height = P(ctx->in.frame_height);
	}
	if (!vv_is_coded(P(p->format))) {
		pix->plane_fmt[0].bytesperline = stride;
		/* planes follow each other: the buffer height is implied */
		if (stride && P(p->plane_formats[0].plane_size) / stride >
		    pix->height)
			pix->height = P(p->plane_formats[0].plane_size) /
				      stride;
	}
	pix->colorspace = ctx->colorspace;
	pix->xfer_func = ctx->xfer_func;
	pix->ycbcr_enc = ctx->ycbcr_enc;
	pix->quantization = ctx->quantization;
}

static int vv_enum_fmt(struct file *file, void *fh, struct v4l2_fmtdesc *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	bool src = V4L2_TYPE_IS_OUTPUT(f->type);
	struct vv_fmt_list *l = vv_list(ctx, src);
	unsigned int pos, n = 0;
	int i;

	for (pos = 0; (i = vv_fmt_at(l, pos)) >= 0; pos++) {
		if (!vv_fmt_allowed(ctx, src, i))
			continue;
		if (n++ != f->index)
			continue;
		f->pixelformat = l->fmt[i].fourcc;
		f->flags = 0;
		if (vv_is_coded(l->fmt[i].vformat)) {
			f->flags |= V4L2_FMT_FLAG_COMPRESSED;
			if (!ctx->dev->encoder) {
				f->flags |= V4L2_FMT_FLAG_DYN_RESOLUTION;
				if (l->fmt[i].vformat != VV_FMT_VP8 &&
				    l->fmt[i].vformat != VV_FMT_VP9)
					f->flags |=
					  V4L2_FMT_FLAG_CONTINUOUS_BYTESTREAM;
			}
		}
		return 0;
	}
	return -EINVAL;
}

static int vv_g_fmt(struct file *file, void *fh, struct v4l2_format *f)
{
	vv_refresh(file_to_ctx(file), true);
	vv_params_to_fmt(file_to_ctx(file), V4L2_TYPE_IS_OUTPUT(f->type), f);
	return 0;
}

static u32 vv_clamp(u32 v, const struct vv_range *r)
{
	u32 step = r->step ? r->step : 1;

	if (!r->max)
		return v;
	v = clamp(v, r->min, r->max);
	return r->min + rounddown(v - r->min, step);
}

/*
 * TRY_FMT.  For the encoder's raw queue, @vis gets the size user space
 * asked for (clamped): the visible size, which S_FMT gives the device as
 * the frame size and crop; the format itself reports the buffer layout,
 * 16-aligned as the device lays raw frames out.
 */
static int __vv_try_fmt(struct vv_ctx *ctx, struct v4l2_format *f,
			struct v4l2_rect *vis)
{
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	bool src = V4L2_TYPE_IS_OUTPUT(f->type);
	struct vv_fmt_list *l = vv_list(ctx, src);
	struct vv_params *p = vv_qparams(ctx, src);
	const struct vv_fmt *fmt;
	int idx = vv_find_fmt(l, pix->pixelformat);
	u32 sizeimage = pix->plane_fmt[0].sizeimage;

	vv_refresh(ctx, true);
	if (idx < 0 || !vv_fmt_allowed(ctx, src, idx)) {
		unsigned int pos;

		for (pos = 0; (idx = vv_fmt_at(l, pos)) >= 0; pos++)
			if (vv_fmt_allowed(ctx, src, idx))
				break;
		if (idx < 0)
			return -EINVAL;
	}
	fmt = &l->fmt[idx];
	pix->pixelformat = fmt->fourcc;
	pix->field = V4L2_FIELD_NONE;
	pix->num_planes = 1;
	memset(pix->reserved, 0, sizeof(pix->reserved));
	memset(pix->plane_fmt[0].reserved, 0,
	       sizeof(pix->plane_fmt[0].reserved));
	if ((!pix->width || !pix->height) && ctx->dev->encoder && src) {
		struct v4l2_rect cur;

		/* keep the visible size */
		vv_params_crop(p, &cur);
		pix->width = cur.width;
		pix->height = cur.height;
	} else if (!pix->width || !pix->height) {
		pix->width = P(p->frame_width);
		pix->height = P(p->frame_height);
	}
	pix->width = vv_clamp(pix->width, &fmt->width);
	pix->height = vv_clamp(pix->height, &fmt->height);
	if (vv_is_coded(fmt->vformat)) {
		pix->plane_fmt[0].bytesperline = 0;
		if (!sizeimage)
			sizeimage = vv_total_size(p);
		if (sizeimage < SZ_64K)
			sizeimage = SZ_64K;
		pix->plane_fmt[0].sizeimage = min_t(u32, sizeimage, SZ_64M);
	} else if (!ctx->dev->encoder) {
		/* the decoder's device decides the layout */
		vv_params_to_fmt(ctx, false, f);
		pix->pixelformat = fmt->fourcc;
	} else {
		u32 w = ALIGN(pix->width, 16), h = ALIGN(pix->height, 16);

		if (vis) {
			vis->left = 0;
			vis->top = 0;
			vis->width = pix->width;
			vis->height = pix->height;
		}
		pix->width = w;
		pix->height = h;
		pix->plane_fmt[0].bytesperline =
			fmt->vformat == VV_FMT_ARGB8888 ||
			fmt->vformat == VV_FMT_BGRA8888 ? w * 4 : w;
		pix->plane_fmt[0].sizeimage =
			pix->plane_fmt[0].bytesperline * h *
			(pix->plane_fmt[0].bytesperline == w ? 3 : 2) /
			(pix->plane_fmt[0].bytesperline == w ? 2 : 1);
	}
	if (src || !ctx->dev->encoder) {
		if (!src && !ctx->dev->encoder) {
			pix->colorspace = ctx->colorspace;
			pix->xfer_func = ctx->xfer_func;
			pix->ycbcr_enc = ctx->ycbcr_enc;
			pix->quantization = ctx->quantization;
		} else if (pix->colorspace == V4L2_COLORSPACE_DEFAULT) {
			pix->colorspace = V4L2_COLORSPACE_REC709;
		}
	} else {
		pix->colorspace = ctx->colorspace;
		pix->xfer_func = ctx->xfer_func;
		pix->ycbcr_enc = ctx->ycbcr_enc;
		pix->quantization = ctx->quantization;
	}
	return 0;
}

static int vv_try_fmt(struct file *file, void *fh, struct v4l2_format *f)
{
	return __vv_try_fmt(file_to_ctx(file), f, NULL);
}

static int vv_s_fmt(struct file *file, void *fh, struct v4l2_format *f)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_pix_format_mplane *pix = &f->fmt.pix_mp;
	bool src = V4L2_TYPE_IS_OUTPUT(f->type);
	bool enc_raw = ctx->dev->encoder && src;
	struct v4l2_rect vis = {};
	struct vv_params p;
	int idx, ret;

	if (vb2_is_busy(src ? &ctx->src_vq : &ctx->dst_vq))
		return -EBUSY;
	ret = __vv_try_fmt(ctx, f, &vis);
	if (ret)
		return ret;
	idx = vv_find_fmt(vv_list(ctx, src), pix->pixelformat);
	p = *vv_qparams(ctx, src);
	p.format = cpu_to_le32(vv_list(ctx, src)->fmt[idx].vformat);
	if (enc_raw) {
		/*
		 * The size asked for is the picture to encode: it goes as
		 * the frame size, which the device aligns to its buffer
		 * layout, and as the crop, the visible rectangle.
		 */
		p.frame_width = cpu_to_le32(vis.width);
		p.frame_height = cpu_to_le32(vis.height);
		p.crop.left = 0;
		p.crop.top = 0;
		p.crop.width = cpu_to_le32(vis.width);
		p.crop.height = cpu_to_le32(vis.height);
	} else if (src) {
		p.frame_width = cpu_to_le32(pix->width);
		p.frame_height = cpu_to_le32(pix->height);
	}
	/* (the encoder's coded size is read-only: its CAPTURE sends none) */
	if (src || ctx->dev->encoder) {
		p.num_planes = cpu_to_le32(1);
		p.plane_formats[0].plane_size =
			cpu_to_le32(pix->plane_fmt[0].sizeimage);
		p.plane_formats[0].stride =
			cpu_to_le32(pix->plane_fmt[0].bytesperline);
	}
	ret = vv_set_params(ctx, &p);
	if (ret)
		return ret;
	if (src) {
		ctx->colorspace = pix->colorspace;
		ctx->xfer_func = pix->xfer_func;
		ctx->ycbcr_enc = pix->ycbcr_enc;
		ctx->quantization = pix->quantization;
	}
	/* S_FMT resets the crop: the default is the visible size it set */
	if (enc_raw)
		vv_params_crop(&ctx->in, &ctx->enc_crop_def);
	vv_params_to_fmt(ctx, src, f);
	return 0;
}

static int vv_enum_framesizes(struct file *file, void *fh,
			      struct v4l2_frmsizeenum *fs)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	const struct vv_fmt *fmt = NULL;
	int idx;

	if (fs->index)
		return -EINVAL;
	idx = vv_find_fmt(&ctx->dev->in_fmts, fs->pixel_format);
	if (idx >= 0) {
		fmt = &ctx->dev->in_fmts.fmt[idx];
	} else {
		idx = vv_find_fmt(&ctx->dev->out_fmts, fs->pixel_format);
		if (idx < 0)
			return -EINVAL;
		fmt = &ctx->dev->out_fmts.fmt[idx];
	}
	if (fmt->width.min == fmt->width.max &&
	    fmt->height.min == fmt->height.max) {
		fs->type = V4L2_FRMSIZE_TYPE_DISCRETE;
		fs->discrete.width = fmt->width.max;
		fs->discrete.height = fmt->height.max;
		return 0;
	}
	fs->type = V4L2_FRMSIZE_TYPE_STEPWISE;
	fs->stepwise.min_width = fmt->width.min;
	fs->stepwise.max_width = fmt->width.max;
	fs->stepwise.step_width = fmt->width.step ? fmt->width.step : 1;
	fs->stepwise.min_height = fmt->height.min;
	fs->stepwise.max_height = fmt->height.max;
	fs->stepwise.step_height = fmt->height.step ? fmt->height.step : 1;
	if (fs->stepwise.step_width == 1 && fs->stepwise.step_height == 1)
		fs->type = V4L2_FRMSIZE_TYPE_CONTINUOUS;
	return 0;
}

static int vv_querycap(struct file *file, void *fh,
		       struct v4l2_capability *cap)
{
	struct vv_ctx *ctx = file_to_ctx(file);

	strscpy(cap->driver, VV_DRIVER_NAME, sizeof(cap->driver));
	snprintf(cap->card, sizeof(cap->card), "%s %s", ctx->dev->name,
		 ctx->dev->encoder ? "encoder" : "decoder");
	snprintf(cap->bus_info, sizeof(cap->bus_info), "platform:%s",
		 dev_name(&ctx->dev->vdev->dev));
	return 0;
}

/* Selection */

static int vv_g_selection(struct file *file, void *fh,
			  struct v4l2_selection *s)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_format f;
	struct vv_params *p;
	u32 w, h;

	vv_refresh(ctx, true);
	if (!ctx->dev->encoder) {
		if (s->type != V4L2_BUF_TYPE_VIDEO_CAPTURE)
			return -EINVAL;
		p = &ctx->out;
		w = P(p->frame_width);
		h = P(p->frame_height);
		switch (s->target) {
		case V4L2_SEL_TGT_COMPOSE:
		case V4L2_SEL_TGT_COMPOSE_DEFAULT:
		case V4L2_SEL_TGT_CROP:
		case V4L2_SEL_TGT_CROP_DEFAULT:
			vv_params_crop(p, &s->r);
			return 0;
		case V4L2_SEL_TGT_CROP_BOUNDS:
		case V4L2_SEL_TGT_COMPOSE_BOUNDS:
		case V4L2_SEL_TGT_COMPOSE_PADDED:
			s->r.left = 0;
			s->r.top = 0;
			s->r.width = w;
			s->r.height = h;
			return 0;
		default:
			return -EINVAL;
		}
	}

	/*
	 * Encoder, raw queue: CROP is the rectangle the device encodes (its
	 * INPUT crop), CROP_DEFAULT the visible size S_FMT set, CROP_BOUNDS
	 * the whole buffer of the format.
	 */
	if (s->type != V4L2_BUF_TYPE_VIDEO_OUTPUT)
		return -EINVAL;
	switch (s->target) {
	case V4L2_SEL_TGT_CROP:
		vv_params_crop(&ctx->in, &s->r);
		return 0;
	case V4L2_SEL_TGT_CROP_DEFAULT:
		s->r = ctx->enc_crop_def;
		return 0;
	case V4L2_SEL_TGT_CROP_BOUNDS:
		vv_params_to_fmt(ctx, true, &f);
		s->r.left = 0;
		s->r.top = 0;
		s->r.width = f.fmt.pix_mp.width;
		s->r.height = f.fmt.pix_mp.height;
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Encoder: the visible rectangle of the raw frames, the picture size of
 * the stream.  The rectangle is fitted into the buffer (the format's
 * width and height), its offsets made even (4:2:0 chroma), and sent to
 * the device as the crop of its INPUT queue, the other parameters as the
 * device reported them; the device may adjust it further, and what it
 * reports back is returned.
 */
static int vv_s_selection(struct file *file, void *fh,
			  struct v4l2_selection *s)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_fmt_list *l = &ctx->dev->in_fmts;
	s32 w, h, min_w = 2, min_h = 2;
	struct v4l2_format f;
	struct v4l2_rect r;
	struct vv_params p;
	int idx, ret;

	if (!ctx->dev->encoder || s->type != V4L2_BUF_TYPE_VIDEO_OUTPUT ||
	    s->target != V4L2_SEL_TGT_CROP)
		return -EINVAL;
	if (vb2_is_busy(&ctx->src_vq))
		return -EBUSY;
	vv_params_to_fmt(ctx, true, &f);
	w = f.fmt.pix_mp.width;
	h = f.fmt.pix_mp.height;
	idx = vv_find_fmt(l, f.fmt.pix_mp.pixelformat);
	if (idx >= 0) {
		min_w = max_t(s32, min_w, l->fmt[idx].width.min);
		min_h = max_t(s32, min_h, l->fmt[idx].height.min);
	}
	min_w = min(min_w, w);
	min_h = min(min_h, h);
	r.left = clamp_t(s32, s->r.left, 0, w - min_w) & ~1;
	r.top = clamp_t(s32, s->r.top, 0, h - min_h) & ~1;
	r.width = clamp_t(s32, s->r.width, min_w, w - r.left);
	r.height = clamp_t(s32, s->r.height, min_h, h - r.top);

	p = ctx->in;
	p.crop.left = cpu_to_le32(r.left);
	p.crop.top = cpu_to_le32(r.top);
	p.crop.width = cpu_to_le32(r.width);
	p.crop.height = cpu_to_le32(r.height);
	ret = vv_set_params(ctx, &p);
	if (ret)
		return ret;
	vv_params_crop(&ctx->in, &s->r);
	return 0;
}

/*
 * Frame rate (encoder).  The raw queue's (OUTPUT) only: the device has one
 * rate, and the coded queue has no frame intervals to enumerate, so the
 * stateful encoder interface wants G/S_PARM(CAPTURE) refused.
 */

static int vv_g_parm(struct file *file, void *fh, struct v4l2_streamparm *a)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_fract *tpf = &a->parm.output.timeperframe;
	u32 fps = P(ctx->in.frame_rate);

	if (!V4L2_TYPE_IS_OUTPUT(a->type))
		return -EINVAL;
	a->parm.output.capability = V4L2_CAP_TIMEPERFRAME;
	tpf->numerator = 1;
	tpf->denominator = fps ? fps : 30;
	return 0;
}

static int vv_s_parm(struct file *file, void *fh, struct v4l2_streamparm *a)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct v4l2_fract *tpf = &a->parm.output.timeperframe;
	int idx = vv_find_fmt(&ctx->dev->in_fmts,
			      vv_fourcc(P(ctx->in.format)));
	struct vv_params p;
	u32 fps;

	if (!V4L2_TYPE_IS_OUTPUT(a->type))
		return -EINVAL;
	if (!tpf->numerator || !tpf->denominator)
		fps = 30;
	else
		fps = DIV_ROUND_CLOSEST(tpf->denominator, tpf->numerator);
	if (idx >= 0 && ctx->dev->in_fmts.fmt[idx].has_rates)
		fps = clamp(fps, max(1u, ctx->dev->in_fmts.fmt[idx].rate_min),
			    ctx->dev->in_fmts.fmt[idx].rate_max);
	fps = max(fps, 1u);
	if (fps != P(ctx->in.frame_rate)) {
		p = ctx->in;
		p.frame_rate = cpu_to_le32(fps);
		vv_set_params(ctx, &p);
	}
	return vv_g_parm(file, fh, a);
}

/* Buffers and streaming */

static struct vb2_queue *vv_queue(struct vv_ctx *ctx, u32 type)
{
	if (type == V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE)
		return &ctx->src_vq;
	if (type == V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE)
		return &ctx->dst_vq;
	return NULL;
}

static void vv_adjust_offsets(struct v4l2_buffer *b)
{
	unsigned int i;

	if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE ||
	    b->memory != V4L2_MEMORY_MMAP)
		return;
	for (i = 0; i < b->length; i++)
		b->m.planes[i].m.mem_offset += VV_DST_OFF_BASE;
}

static int vv_reqbufs(struct file *file, void *fh,
		      struct v4l2_requestbuffers *rb)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vb2_queue *q = vv_queue(ctx, rb->type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vv_ensure_stream(ctx);
	return ret ? ret : vb2_reqbufs(q, rb);
}

static int vv_create_bufs(struct file *file, void *fh,
			  struct v4l2_create_buffers *cb)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vb2_queue *q = vv_queue(ctx, cb->format.type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vv_ensure_stream(ctx);
	return ret ? ret : vb2_create_bufs(q, cb);
}

static int vv_querybuf(struct file *file, void *fh, struct v4l2_buffer *b)
{
	struct vb2_queue *q = vv_queue(file_to_ctx(file), b->type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vb2_querybuf(q, b);
	if (!ret)
		vv_adjust_offsets(b);
	return ret;
}

static int vv_qbuf(struct file *file, void *fh, struct v4l2_buffer *b)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vb2_queue *q = vv_queue(ctx, b->type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vb2_qbuf(q, ctx->fh.vdev->v4l2_dev->mdev, b);
	if (!ret)
		vv_adjust_offsets(b);
	return ret;
}

static int vv_dqbuf(struct file *file, void *fh, struct v4l2_buffer *b)
{
	struct vb2_queue *q = vv_queue(file_to_ctx(file), b->type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vb2_dqbuf(q, b, file->f_flags & O_NONBLOCK);
	if (!ret)
		vv_adjust_offsets(b);
	return ret;
}

static int vv_prepare_buf(struct file *file, void *fh, struct v4l2_buffer *b)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vb2_queue *q = vv_queue(ctx, b->type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vb2_prepare_buf(q, ctx->fh.vdev->v4l2_dev->mdev, b);
	if (!ret)
		vv_adjust_offsets(b);
	return ret;
}

static int vv_expbuf(struct file *file, void *fh,
		     struct v4l2_exportbuffer *eb)
{
	struct vb2_queue *q = vv_queue(file_to_ctx(file), eb->type);

	return q ? vb2_expbuf(q, eb) : -EINVAL;
}

static void vv_apply_enc_ctrls(struct vv_ctx *ctx);

static int vv_streamon(struct file *file, void *fh, enum v4l2_buf_type type)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vb2_queue *q = vv_queue(ctx, type);
	int ret;

	if (!q)
		return -EINVAL;
	ret = vv_ensure_stream(ctx);
	if (ret)
		return ret;
	if (ctx->dev->encoder && !vb2_is_streaming(&ctx->src_vq) &&
	    !vb2_is_streaming(&ctx->dst_vq))
		vv_apply_enc_ctrls(ctx);
	return vb2_streamon(q, type);
}

static int vv_streamoff(struct file *file, void *fh,
			enum v4l2_buf_type type)
{
	struct vb2_queue *q = vv_queue(file_to_ctx(file), type);

	return q ? vb2_streamoff(q, type) : -EINVAL;
}

/* Drain: V4L2_DEC_CMD_STOP / V4L2_ENC_CMD_STOP and START */

static void vv_send_src(struct vv_ctx *ctx, struct vv_buf *buf);

static int vv_stop_cmd(struct vv_ctx *ctx)
{
	struct vv_hdr req = {
		.type = cpu_to_le32(VV_CMD_STREAM_DRAIN),
		.stream_id = cpu_to_le32(ctx->stream_id),
	};
	int ret;

	/*
	 * Nothing to drain without input.  CAPTURE need not be streaming
	 * yet: a device that signals the stream format only with its first
	 * picture (the QEMU device does, after the decoder's reordering
	 * delay) must be able to flush a stream shorter than that delay;
	 * the pictures then wait for CAPTURE buffers.
	 */
	if (!vb2_is_streaming(&ctx->src_vq))
		return 0;
	if (ctx->state == VV_STATE_DRAINING || ctx->state == VV_STATE_STOPPED)
		return 0;
	ret = vv_cmd_async(ctx->dev, &req, sizeof(req), sizeof(struct vv_hdr),
			   NULL, NULL, 0);
	if (!ret)
		ctx->state = VV_STATE_DRAINING;
	return ret;
}

static int vv_start_cmd(struct vv_ctx *ctx)
{
	struct vv_buf *buf, *tmp;
	LIST_HEAD(pending);
	unsigned long flags;

	if (ctx->state == VV_STATE_DRAINING)
		return -EBUSY;
	if (ctx->state == VV_STATE_STOPPED)
		ctx->state = ctx->got_source_change || ctx->dev->encoder ?
			     VV_STATE_RUNNING : VV_STATE_INIT;
	vb2_clear_last_buffer_dequeued(&ctx->dst_vq);
	spin_lock_irqsave(&ctx->buf_lock, flags);
	list_splice_init(&ctx->src_pending, &pending);
	spin_unlock_irqrestore(&ctx->buf_lock, flags);
	list_for_each_entry_safe(buf, tmp, &pending, list) {
		list_del_init(&buf->list);
		vv_send_src(ctx, buf);
	}
	return 0;
}

static int vv_try_decoder_cmd(struct file *file, void *fh,
			      struct v4l2_decoder_cmd *dc)
{
	if (dc->cmd != V4L2_DEC_CMD_STOP && dc->cmd != V4L2_DEC_CMD_START)
		return -EINVAL;
	dc->flags = 0;	/* no STOP_TO_BLACK, STOP_IMMEDIATELY, MUTE_AUDIO */
	if (dc->cmd == V4L2_DEC_CMD_STOP) {
		dc->stop.pts = 0;
	} else {
		dc->start.speed = 0;
		dc->start.format = V4L2_DEC_START_FMT_NONE;
	}
	return 0;
}

static int vv_decoder_cmd(struct file *file, void *fh,
			  struct v4l2_decoder_cmd *dc)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret = vv_try_decoder_cmd(file, fh, dc);

	if (ret)
		return ret;
	return dc->cmd == V4L2_DEC_CMD_STOP ? vv_stop_cmd(ctx) :
					      vv_start_cmd(ctx);
}

static int vv_try_encoder_cmd(struct file *file, void *fh,
			      struct v4l2_encoder_cmd *ec)
{
	if (ec->cmd != V4L2_ENC_CMD_STOP && ec->cmd != V4L2_ENC_CMD_START)
		return -EINVAL;
	ec->flags = 0;	/* no STOP_AT_GOP_END */
	return 0;
}

static int vv_encoder_cmd(struct file *file, void *fh,
			  struct v4l2_encoder_cmd *ec)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	int ret = vv_try_encoder_cmd(file, fh, ec);

	if (ret)
		return ret;
	return ec->cmd == V4L2_ENC_CMD_STOP ? vv_stop_cmd(ctx) :
					      vv_start_cmd(ctx);
}

static int vv_subscribe_event(struct v4l2_fh *fh,
			      const struct v4l2_event_subscription *sub)
{
	struct vv_ctx *ctx = container_of(fh, struct vv_ctx, fh);

	switch (sub->type) {
	case V4L2_EVENT_EOS:
		return v4l2_event_subscribe(fh, sub, 2, NULL);
	case V4L2_EVENT_SOURCE_CHANGE:
		if (ctx->dev->encoder)
			return -EINVAL;
		return v4l2_src_change_event_subscribe(fh, sub);
	default:
		return v4l2_ctrl_subscribe_event(fh, sub);
	}
}

static const struct v4l2_ioctl_ops vv_ioctl_ops = {
	.vidioc_querycap = vv_querycap,
	.vidioc_enum_fmt_vid_cap = vv_enum_fmt,
	.vidioc_enum_fmt_vid_out = vv_enum_fmt,
	.vidioc_g_fmt_vid_cap_mplane = vv_g_fmt,
	.vidioc_g_fmt_vid_out_mplane = vv_g_fmt,
	.vidioc_try_fmt_vid_cap_mplane = vv_try_fmt,
	.vidioc_try_fmt_vid_out_mplane = vv_try_fmt,
	.vidioc_s_fmt_vid_cap_mplane = vv_s_fmt,
	.vidioc_s_fmt_vid_out_mplane = vv_s_fmt,
	.vidioc_enum_framesizes = vv_enum_framesizes,
	.vidioc_g_selection = vv_g_selection,
	.vidioc_s_selection = vv_s_selection,
	.vidioc_reqbufs = vv_reqbufs,
	.vidioc_create_bufs = vv_create_bufs,
	.vidioc_querybuf = vv_querybuf,
	.vidioc_qbuf = vv_qbuf,
	.vidioc_dqbuf = vv_dqbuf,
	.vidioc_prepare_buf = vv_prepare_buf,
	.vidioc_expbuf = vv_expbuf,
	.vidioc_streamon = vv_streamon,
	.vidioc_streamoff = vv_streamoff,
	.vidioc_g_parm = vv_g_parm,
	.vidioc_s_parm = vv_s_parm,
	.vidioc_try_decoder_cmd = vv_try_decoder_cmd,
	.vidioc_decoder_cmd = vv_decoder_cmd,
	.vidioc_try_encoder_cmd = vv_try_encoder_cmd,
	.vidioc_encoder_cmd = vv_encoder_cmd,
	.vidioc_subscribe_event = vv_subscribe_event,
	.vidioc_unsubscribe_event = v4l2_event_unsubscribe,
};

/* vb2 */

static int vv_queue_setup(struct vb2_queue *vq, unsigned int *nbuffers,
			  unsigned int *nplanes, unsigned int sizes[],
			  struct device *alloc_devs[])
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vq);
	bool src = V4L2_TYPE_IS_OUTPUT(vq->type);
	struct vv_params *p;
	u32 size;

	vv_refresh(ctx, true);
	p = vv_qparams(ctx, src);
	size = vv_total_size(p);
	if (*nplanes)
		return *nplanes != 1 || sizes[0] < size ? -EINVAL : 0;
	*nplanes = 1;
	sizes[0] = size;
	if (!src && vv_num_buffers(vq) + *nbuffers < P(p->min_buffers))
		*nbuffers = P(p->min_buffers) - vv_num_buffers(vq);
	return 0;
}

/*
 * A DMABUF buffer exported by a virtio device that names its objects by
 * UUID (virtio-gpu with VIRTIO_GPU_F_RESOURCE_UUID) is passed to a device
 * with VIRTIO_OBJECT as that object: the device then reads or writes the
 * object's memory itself.  Fills @ents (one entry per memory plane, or one
 * for all when every plane is the same object) and returns their number;
 * 0 when the buffer goes as guest pages (any other dma-buf, MMAP, USERPTR).
 */
static unsigned int vv_buf_objects(struct vv_ctx *ctx, struct vb2_buffer *vb,
				   struct vv_object_entry *ents)
{
#if IS_ENABLED(CONFIG_VIRTIO_DMA_SHARED_BUFFER)
	unsigned int i, n = 0;
	bool same = true;
	uuid_t uuid;

	if (!ctx->dev->virtio_obj || vb->memory != VB2_MEMORY_DMABUF)
		return 0;
	for (i = 0; i < vb->num_planes; i++) {
		struct dma_buf *dbuf = vb->planes[i].dbuf;

		/* -ENODEV: the GPU gave this resource no UUID */
		if (!dbuf || !is_virtio_dma_buf(dbuf) ||
		    virtio_dma_buf_get_uuid(dbuf, &uuid))
			return 0;
		export_uuid(ents[n].uuid, &uuid);
		if (n && memcmp(ents[n].uuid, ents[0].uuid, 16))
			same = false;
		n++;
	}
	return same ? 1 : n;
#else
	return 0;
#endif
}

/* The guest pages of a buffer's (only) memory plane */
static int vv_buf_pages(struct vv_dev *dev, struct vb2_buffer *vb,
			struct vv_mem_entry **entsp)
{
	struct vv_mem_entry *ents;
	unsigned int n = 0, i;

	if (dev->use_sg) {
		struct sg_table *sgt = vb2_dma_sg_plane_desc(vb, 0);
		struct scatterlist *sg;
		bool phys = virtio_has_dma_quirk(dev->vdev);

		ents = kcalloc(phys ? sgt->orig_nents : sgt->nents,
			       sizeof(*ents), GFP_KERNEL);
		if (!ents)
			return -ENOMEM;
		if (phys) {
			for_each_sgtable_sg(sgt, sg, i) {
				ents[n].addr = cpu_to_le64(sg_phys(sg));
				ents[n++].length = cpu_to_le32(sg->length);
			}
		} else {
			for_each_sgtable_dma_sg(sgt, sg, i) {
				ents[n].addr =
					cpu_to_le64(sg_dma_address(sg));
				ents[n++].length =
					cpu_to_le32(sg_dma_len(sg));
			}
		}
	} else {
		ents = kzalloc(sizeof(*ents), GFP_KERNEL);
		if (!ents)
			return -ENOMEM;
		ents[0].addr =
			cpu_to_le64(vb2_dma_contig_plane_dma_addr(vb, 0));
		ents[0].length = cpu_to_le32(vb2_plane_size(vb, 0));
		n = 1;
	}
	*entsp = ents;
	return n;
}

static int vv_buf_init(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	struct vv_dev *dev = ctx->dev;
	bool src = V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type);
	u32 queue = src ? VV_QUEUE_INPUT : VV_QUEUE_OUTPUT;
	struct vv_buf *buf = to_vv_buf(vb);
	struct vv_resource_create req = {
		.hdr.type = cpu_to_le32(VV_CMD_RESOURCE_CREATE),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.queue_type = cpu_to_le32(queue),
		.planes_layout = cpu_to_le32(VV_PLANES_SINGLE_BUFFER),
		.num_planes = cpu_to_le32(vb->num_planes),
	};
	struct vv_object_entry objs[VB2_MAX_PLANES];
	struct vv_mem_entry *ents = NULL;
	unsigned int nobj, i;
	const void *extra;
	size_t extra_len;
	struct vv_hdr resp;
	int id, n, ret;

	/*
	 * vb2 calls this again whenever the memory behind a slot changes
	 * (a DMABUF slot given another dma-buf).  Virtio objects go by
	 * UUID; everything else (MMAP, USERPTR, other dma-bufs) as the
	 * guest addresses of its pages, as mapped for the device.
	 */
	nobj = vv_buf_objects(ctx, vb, objs);
	if (nobj) {
		ret = vv_set_mem_type(ctx, queue, VV_MEM_VIRTIO_OBJECT);
		if (ret) {
			/* this queue takes no objects: use the pages */
			dev_warn_ratelimited(&dev->vdev->dev,
					     "stream %u: no virtio objects on queue 0x%x (%d), using guest pages\n",
					     ctx->stream_id, queue, ret);
			nobj = 0;
		}
	}
	if (nobj) {
		for (i = 0; i < vb->num_planes; i++) {
			req.plane_offsets[i] =
				cpu_to_le32(vb->planes[i].data_offset);
			req.num_entries[i] = cpu_to_le32(1);
		}
		extra = objs;
		extra_len = nobj * sizeof(objs[0]);
	} else {
		ret = vv_set_mem_type(ctx, queue, VV_MEM_GUEST_PAGES);
		if (ret)
			return ret;
		/* our formats have one memory plane */
		req.num_planes = cpu_to_le32(1);
		n = vv_buf_pages(dev, vb, &ents);
		if (n < 0)
			return n;
		req.num_entries[0] = cpu_to_le32(n);
		extra = ents;
		extra_len = n * sizeof(*ents);
	}
	id = ida_alloc_min(&dev->res_ids, 1, GFP_KERNEL);
	if (id < 0) {
		kfree(ents);
		return id;
	}
	req.resource_id = cpu_to_le32(id);
	ret = vv_cmd_sync(dev, &req, sizeof(req), extra, extra_len,
			  &resp, sizeof(resp));
	kfree(ents);
	if (ret) {
		ida_free(&dev->res_ids, id);
		if (nobj) {
			/*
			 * An unknown UUID, an object without guest backing or
			 * one too small for the frame: QBUF fails.
			 */
			dev_warn_ratelimited(&dev->vdev->dev,
					     "stream %u: device refused virtio object %pUb (%d)\n",
					     ctx->stream_id, objs[0].uuid, ret);
			ret = ret == -ENOMEM ? ret : -EINVAL;
		}
		return ret;
	}
	buf->res_id = id;
	INIT_LIST_HEAD(&buf->list);
	if (src)
		ctx->src_res++;
	else
		ctx->dst_res++;
	return 0;
}

static void vv_buf_cleanup(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	bool src = V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type);
	struct vv_buf *buf = to_vv_buf(vb);
	unsigned int *count = src ? &ctx->src_res : &ctx->dst_res;

	if (!buf->res_id)
		return;
	ida_free(&ctx->dev->res_ids, buf->res_id);
	buf->res_id = 0;
	if (!--*count)
		vv_simple_cmd(ctx, VV_CMD_RESOURCE_DESTROY_ALL,
			      src ? VV_QUEUE_INPUT : VV_QUEUE_OUTPUT);
}

static int vv_buf_out_validate(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	vbuf->field = V4L2_FIELD_NONE;
	return 0;
}

static int vv_buf_prepare(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	bool src = V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type);
	struct vv_params *p = vv_qparams(ctx, src);
	bool raw = !vv_is_coded(P(p->format));

	/*
	 * CAPTURE buffers of an older size may still be queued after a
	 * resolution change (the device hands them back at QUEUE_CLEAR);
	 * raw OUTPUT buffers must hold a whole frame.
	 */
	if (src && raw) {
		if (vb2_plane_size(vb, 0) < vv_total_size(p))
			return -EINVAL;
		vb2_set_plane_payload(vb, 0, vv_total_size(p));
	}
	return 0;
}

/* Completion of a RESOURCE_QUEUE (interrupt context) */
static void vv_buf_complete(struct vv_dev *dev, void *priv,
			    unsigned long data, void *resp_buf,
			    unsigned int len)
{
	struct vv_ctx *ctx = priv;
	struct vv_resource_queue_resp *resp = resp_buf;
	bool src = data & VV_TAG_SRC;
	u32 res_id = data & ~VV_TAG_SRC;
	struct list_head *busy = src ? &ctx->src_busy : &ctx->dst_busy;
	enum vb2_buffer_state state = VB2_BUF_STATE_DONE;
	struct vb2_v4l2_buffer *vbuf;
	struct vv_buf *buf, *target = NULL;
	unsigned long irqf;
	u32 flags;

	/* ignore a buffer that was already given back (QUEUE_CLEAR) */
	spin_lock_irqsave(&ctx->buf_lock, irqf);
	list_for_each_entry(buf, busy, list) {
		if (buf->res_id == res_id) {
			target = buf;
			list_del_init(&buf->list);
			break;
		}
	}
	spin_unlock_irqrestore(&ctx->buf_lock, irqf);
	if (!target)
		return;
	vbuf = &target->vb;

	if (len >= sizeof(*resp) &&
	    le32_to_cpu(resp->hdr.type) == VV_RESP_OK_RESOURCE_QUEUE)
		flags = le32_to_cpu(resp->flags);
	else
		flags = VV_BUF_ERR;

	vbuf->field = V4L2_FIELD_NONE;
	if (src) {
		vbuf->sequence = ctx->src_seq++;
		if (flags & VV_BUF_ERR)
			state = VB2_BUF_STATE_ERROR;
		vb2_buffer_done(&vbuf->vb2_buf, state);
		return;
	}

	vbuf->flags &= ~(V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME |
			 V4L2_BUF_FLAG_BFRAME | V4L2_BUF_FLAG_LAST);
	vbuf->flags &= ~VV_META_FLAGS;
	vbuf->sequence = ctx->dst_seq++;
	vbuf->vb2_buf.timestamp = le64_to_cpu(resp->timestamp);
	if (!(flags & VV_BUF_EOS)) {
		unsigned int m;

		spin_lock_irqsave(&ctx->buf_lock, irqf);
		for (m = 0; m < ARRAY_SIZE(ctx->meta); m++) {
			if (ctx->meta[m].ts == vbuf->vb2_buf.timestamp) {
				vbuf->flags |= ctx->meta[m].flags;
				vbuf->timecode = ctx->meta[m].tc;
				break;
			}
		}
		spin_unlock_irqrestore(&ctx->buf_lock, irqf);
	}
	if (flags & VV_BUF_EOS) {
		static const struct v4l2_event eos = {
			.type = V4L2_EVENT_EOS,
		};

		vbuf->flags |= V4L2_BUF_FLAG_LAST;
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
		ctx->state = VV_STATE_STOPPED;
		v4l2_event_queue_fh(&ctx->fh, &eos);
		if (flags & VV_BUF_ERR)
			state = VB2_BUF_STATE_ERROR;
	} else if (flags & VV_BUF_ERR) {
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, 0);
		state = VB2_BUF_STATE_ERROR;
	} else if (ctx->dev->encoder) {
		u32 size = le32_to_cpu(resp->size);

		if (size > vb2_plane_size(&vbuf->vb2_buf, 0)) {
			size = 0;
			state = VB2_BUF_STATE_ERROR;
		}
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, size);
		if (flags & VV_BUF_IFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_KEYFRAME;
		if (flags & VV_BUF_PFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_PFRAME;
		if (flags & VV_BUF_BFRAME)
			vbuf->flags |= V4L2_BUF_FLAG_BFRAME;
	} else {
		vb2_set_plane_payload(&vbuf->vb2_buf, 0,
				      min_t(u32, vv_total_size(&ctx->out),
					    vb2_plane_size(&vbuf->vb2_buf, 0)));
	}
	spin_lock_irqsave(&ctx->buf_lock, irqf);
	ctx->dst_done++;
	spin_unlock_irqrestore(&ctx->buf_lock, irqf);
	vb2_buffer_done(&vbuf->vb2_buf, state);
}

static void vv_send(struct vv_ctx *ctx, struct vv_buf *buf, bool src)
{
	struct vb2_buffer *vb = &buf->vb.vb2_buf;
	struct vv_resource_queue req = {
		.hdr.type = cpu_to_le32(VV_CMD_RESOURCE_QUEUE),
		.hdr.stream_id = cpu_to_le32(ctx->stream_id),
		.queue_type = cpu_to_le32(src ? VV_QUEUE_INPUT :
					  VV_QUEUE_OUTPUT),
		.resource_id = cpu_to_le32(buf->res_id),
		.timestamp = cpu_to_le64(src ? vb->timestamp : 0),
		.num_data_sizes = cpu_to_le32(1),
		.data_sizes[0] = cpu_to_le32(src ?
					     vb2_get_plane_payload(vb, 0) : 0),
	};
	unsigned long tag = buf->res_id | (src ? VV_TAG_SRC : 0);
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&ctx->buf_lock, flags);
	list_add_tail(&buf->list, src ? &ctx->src_busy : &ctx->dst_busy);
	if (src) {
		unsigned int m = ctx->meta_pos++ % ARRAY_SIZE(ctx->meta);

		ctx->meta[m].ts = vb->timestamp;
		ctx->meta[m].flags = buf->vb.flags & VV_META_FLAGS;
		ctx->meta[m].tc = buf->vb.timecode;
	}
	spin_unlock_irqrestore(&ctx->buf_lock, flags);
	ret = vv_cmd_async(ctx->dev, &req, sizeof(req),
			   sizeof(struct vv_resource_queue_resp),
			   vv_buf_complete, ctx, tag);
	if (ret) {
		struct vv_resource_queue_resp err = {
			.hdr.type = cpu_to_le32(VV_RESP_ERR_INVALID_OPERATION),
		};

		vv_buf_complete(ctx->dev, ctx, tag, &err, sizeof(err));
	}
}

static void vv_send_src(struct vv_ctx *ctx, struct vv_buf *buf)
{
	/* encoder GOP: ask for a keyframe every gop_size frames */
	if (ctx->dev->encoder && ctx->gop_ctrl) {
		u32 gop = ctx->gop_ctrl->val;

		if (gop && ctx->gop_count && !(ctx->gop_count % gop))
			vv_set_control(ctx, VV_CTRL_FORCE_KEYFRAME, 0, false);
		ctx->gop_count++;
	}
	vv_send(ctx, buf, true);
}

static void vv_buf_queue(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	struct vv_buf *buf = to_vv_buf(vb);
	unsigned long flags;

	if (!V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type)) {
		/*
		 * After a resolution change the device fills the buffers
		 * queued from then on with pictures of the new size: hold
		 * them back until user space has seen the new format.
		 */
		spin_lock_irqsave(&ctx->buf_lock, flags);
		if (ctx->hold_dst) {
			list_add_tail(&buf->list, &ctx->dst_pending);
			spin_unlock_irqrestore(&ctx->buf_lock, flags);
			return;
		}
		spin_unlock_irqrestore(&ctx->buf_lock, flags);
		vv_send(ctx, buf, false);
		return;
	}
	if (ctx->state == VV_STATE_DRAINING ||
	    ctx->state == VV_STATE_STOPPED) {
		spin_lock_irqsave(&ctx->buf_lock, flags);
		list_add_tail(&buf->list, &ctx->src_pending);
		spin_unlock_irqrestore(&ctx->buf_lock, flags);
		return;
	}
	vv_send_src(ctx, buf);
}

static int vv_start_streaming(struct vb2_queue *q, unsigned int count)
{
	/*
	 * vb2 hands the buffers queued before STREAMON to buf_queue before
	 * it calls this, and the device may have completed some of them
	 * already: the per-stream counters are reset when streaming stops,
	 * never here.
	 */
	return 0;
}

static void vv_stop_streaming(struct vb2_queue *q)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(q);
	bool src = V4L2_TYPE_IS_OUTPUT(q->type);
	struct list_head *busy = src ? &ctx->src_busy : &ctx->dst_busy;
	struct vv_buf *buf, *tmp;
	bool deferred = false;
	LIST_HEAD(left);
	unsigned long flags;

	vv_simple_cmd(ctx, VV_CMD_QUEUE_CLEAR,
		      src ? VV_QUEUE_INPUT : VV_QUEUE_OUTPUT);
	/* the device returned what it held; give back anything left */
	spin_lock_irqsave(&ctx->buf_lock, flags);
	list_splice_init(busy, &left);
	if (src) {
		list_splice_init(&ctx->src_pending, &left);
	} else {
		list_splice_init(&ctx->dst_pending, &left);
		ctx->hold_dst = false;
		ctx->dst_done = 0;
		deferred = ctx->src_change_deferred;
		ctx->src_change_deferred = false;
	}
	spin_unlock_irqrestore(&ctx->buf_lock, flags);
	if (deferred)
		v4l2_event_queue_fh(&ctx->fh, &vv_src_change_ev);
	list_for_each_entry_safe(buf, tmp, &left, list) {
		list_del_init(&buf->list);
		vb2_buffer_done(&buf->vb.vb2_buf, VB2_BUF_STATE_ERROR);
	}
	/*
	 * Sequence numbers count the frames of a stream: restarting CAPTURE
	 * alone (after a source change) does not reset them.
	 */
	if (src) {
		ctx->src_seq = 0;
		ctx->gop_count = 0;
		if (!vb2_is_streaming(&ctx->dst_vq))
			ctx->dst_seq = 0;
	} else if (!vb2_is_streaming(&ctx->src_vq)) {
		ctx->dst_seq = 0;
	}
	/*
	 * A drain in progress is cancelled by either clear, and a stopped
	 * codec restarts: send the input held back meanwhile.
	 */
	if (ctx->state == VV_STATE_DRAINING || ctx->state == VV_STATE_STOPPED) {
		ctx->state = ctx->got_source_change || ctx->dev->encoder ?
			     VV_STATE_RUNNING : VV_STATE_INIT;
		if (!src) {
			spin_lock_irqsave(&ctx->buf_lock, flags);
			list_splice_init(&ctx->src_pending, &left);
			spin_unlock_irqrestore(&ctx->buf_lock, flags);
			list_for_each_entry_safe(buf, tmp, &left, list) {
				list_del_init(&buf->list);
				vv_send_src(ctx, buf);
			}
		}
	}
}

/* DQBUF (and queue cancel) */
static void vv_buf_finish(struct vb2_buffer *vb)
{
	struct vv_ctx *ctx = vb2_get_drv_priv(vb->vb2_queue);
	unsigned long flags;
	bool send = false;

	if (V4L2_TYPE_IS_OUTPUT(vb->vb2_queue->type))
		return;
	spin_lock_irqsave(&ctx->buf_lock, flags);
	if (ctx->dst_done)
		ctx->dst_done--;
	if (!ctx->dst_done && ctx->src_change_deferred) {
		ctx->src_change_deferred = false;
		send = true;
	}
	spin_unlock_irqrestore(&ctx->buf_lock, flags);
	if (send)
		v4l2_event_queue_fh(&ctx->fh, &vv_src_change_ev);
}

static const struct vb2_ops vv_qops = {
	.buf_finish = vv_buf_finish,
	.queue_setup = vv_queue_setup,
	.buf_init = vv_buf_init,
	.buf_cleanup = vv_buf_cleanup,
	.buf_out_validate = vv_buf_out_validate,
	.buf_prepare = vv_buf_prepare,
	.buf_queue = vv_buf_queue,
	.start_streaming = vv_start_streaming,
	.stop_streaming = vv_stop_streaming,
	.wait_prepare = vb2_ops_wait_prepare,
	.wait_finish = vb2_ops_wait_finish,
};

static int vv_init_queue(struct vv_ctx *ctx, struct vb2_queue *q, u32 type)
{
	struct vv_dev *dev = ctx->dev;

	q->type = type;
	/* user memory is pinned page by page: scatter-gather devices only */
	q->io_modes = VB2_MMAP | VB2_DMABUF | (dev->use_sg ? VB2_USERPTR : 0);
	q->drv_priv = ctx;
	q->buf_struct_size = sizeof(struct vv_buf);
	q->ops = &vv_qops;
	q->mem_ops = dev->use_sg ? &vb2_dma_sg_memops :
				   &vb2_dma_contig_memops;
	q->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_COPY;
	q->lock = &dev->lock;
	q->dev = dev->dma_dev;
	return vb2_queue_init(q);
}

/* Controls */

static int vv_s_ctrl(struct v4l2_ctrl *ctrl)
{
	struct vv_ctx *ctx = container_of(ctrl->handler, struct vv_ctx,
					  ctrls);

	switch (ctrl->id) {
	case V4L2_CID_MPEG_VIDEO_BITRATE:
		return vv_set_control(ctx, VV_CTRL_BITRATE, ctrl->val, true);
	case V4L2_CID_MPEG_VIDEO_BITRATE_PEAK:
		return vv_set_control(ctx, VV_CTRL_BITRATE_PEAK, ctrl->val,
				      true);
	case V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME:
		return vv_set_control(ctx, VV_CTRL_FORCE_KEYFRAME, 0, true);
	default:
		/* the others are sent before streaming starts */
		return 0;
	}
}

static int vv_g_volatile_ctrl(struct v4l2_ctrl *ctrl)
{
	struct vv_ctx *ctx = container_of(ctrl->handler, struct vv_ctx,
					  ctrls);
	struct vv_params *p = ctx->dev->encoder ? &ctx->in : &ctx->out;

	switch (ctrl->id) {
	case V4L2_CID_MIN_BUFFERS_FOR_CAPTURE:
	case V4L2_CID_MIN_BUFFERS_FOR_OUTPUT:
		vv_refresh(ctx, false);
		ctrl->val = clamp_t(u32, P(p->min_buffers), 1, 32);
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct v4l2_ctrl_ops vv_ctrl_ops = {
	.s_ctrl = vv_s_ctrl,
	.g_volatile_ctrl = vv_g_volatile_ctrl,
};

static u32 vv_h264_profile(s32 v)
{
	switch (v) {
	case V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE:
	case V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE:
		return VV_PROFILE_H264_BASELINE;
	case V4L2_MPEG_VIDEO_H264_PROFILE_MAIN:
		return VV_PROFILE_H264_MAIN;
	case V4L2_MPEG_VIDEO_H264_PROFILE_EXTENDED:
		return VV_PROFILE_H264_EXTENDED;
	default:
		return VV_PROFILE_H264_HIGH;
	}
}

static u32 vv_h264_level(s32 v)
{
	/* V4L2 has level 1b at index 1; virtio-video has no 1b */
	return VV_LEVEL_H264_1_0 + (v >= 2 ? v - 1 : 0);
}

static void vv_apply_enc_ctrls(struct vv_ctx *ctx)
{
	struct v4l2_ctrl *c;
	u32 fmt = P(ctx->out.format);

	c = v4l2_ctrl_find(&ctx->ctrls, V4L2_CID_MPEG_VIDEO_BITRATE_MODE);
	if (c)
		vv_set_control(ctx, VV_CTRL_BITRATE_MODE,
			       c->cur.val == V4L2_MPEG_VIDEO_BITRATE_MODE_CBR,
			       true);
	c = v4l2_ctrl_find(&ctx->ctrls, V4L2_CID_MPEG_VIDEO_BITRATE);
	if (c)
		vv_set_control(ctx, VV_CTRL_BITRATE, c->cur.val, true);
	c = v4l2_ctrl_find(&ctx->ctrls, V4L2_CID_MPEG_VIDEO_BITRATE_PEAK);
	if (c)
		vv_set_control(ctx, VV_CTRL_BITRATE_PEAK, c->cur.val, true);
	if (fmt == VV_FMT_H264) {
		c = v4l2_ctrl_find(&ctx->ctrls,
				   V4L2_CID_MPEG_VIDEO_H264_PROFILE);
		if (c)
			vv_set_control(ctx, VV_CTRL_PROFILE,
				       vv_h264_profile(c->cur.val), true);
		c = v4l2_ctrl_find(&ctx->ctrls,
				   V4L2_CID_MPEG_VIDEO_H264_LEVEL);
		if (c)
			vv_set_control(ctx, VV_CTRL_LEVEL,
				       vv_h264_level(c->cur.val), true);
	}
}

static int vv_init_ctrls(struct vv_ctx *ctx)
{
	struct v4l2_ctrl_handler *h = &ctx->ctrls;
	struct vv_dev *dev = ctx->dev;
	const struct v4l2_ctrl_ops *ops = &vv_ctrl_ops;

	v4l2_ctrl_handler_init(h, 16);
	if (!dev->encoder) {
		ctx->min_bufs_ctrl =
			v4l2_ctrl_new_std(h, ops,
					  V4L2_CID_MIN_BUFFERS_FOR_CAPTURE,
					  1, 32, 1, 1);
	} else {
		u64 pmask = 0, lmask = 0;
		s32 l;

		ctx->min_bufs_ctrl =
			v4l2_ctrl_new_std(h, ops,
					  V4L2_CID_MIN_BUFFERS_FOR_OUTPUT,
					  1, 32, 1, 1);
		v4l2_ctrl_new_std(h, ops, V4L2_CID_MPEG_VIDEO_BITRATE,
				  1, 400000000, 1, 2000000);
		v4l2_ctrl_new_std(h, ops, V4L2_CID_MPEG_VIDEO_BITRATE_PEAK,
				  1, 400000000, 1, 4000000);
		v4l2_ctrl_new_std_menu(h, ops, V4L2_CID_MPEG_VIDEO_BITRATE_MODE,
				       V4L2_MPEG_VIDEO_BITRATE_MODE_CBR,
				       ~(BIT(V4L2_MPEG_VIDEO_BITRATE_MODE_VBR) |
					 BIT(V4L2_MPEG_VIDEO_BITRATE_MODE_CBR)),
				       V4L2_MPEG_VIDEO_BITRATE_MODE_VBR);
		v4l2_ctrl_new_std(h, ops, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME,
				  0, 0, 0, 0);
		ctx->gop_ctrl = v4l2_ctrl_new_std(h, ops,
						  V4L2_CID_MPEG_VIDEO_GOP_SIZE,
						  0, 1000, 1, 0);
		if (vv_find_fmt(&dev->out_fmts, V4L2_PIX_FMT_H264) >= 0) {
			if (!dev->h264_profiles)
				dev->h264_profiles = BIT(0) | BIT(1) | BIT(3);
			if (dev->h264_profiles & BIT(0))
				pmask |= BIT(V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE) |
				  BIT(V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE);
			if (dev->h264_profiles & BIT(1))
				pmask |= BIT(V4L2_MPEG_VIDEO_H264_PROFILE_MAIN);
			if (dev->h264_profiles & BIT(3))
				pmask |= BIT(V4L2_MPEG_VIDEO_H264_PROFILE_HIGH);
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_H264_PROFILE,
				V4L2_MPEG_VIDEO_H264_PROFILE_HIGH, ~pmask,
				pmask & BIT(V4L2_MPEG_VIDEO_H264_PROFILE_MAIN) ?
				V4L2_MPEG_VIDEO_H264_PROFILE_MAIN :
				__ffs(pmask));
			if (!dev->h264_levels)
				dev->h264_levels = GENMASK(14, 0);
			for (l = V4L2_MPEG_VIDEO_H264_LEVEL_1_0;
			     l <= V4L2_MPEG_VIDEO_H264_LEVEL_5_1; l++)
				if (l != V4L2_MPEG_VIDEO_H264_LEVEL_1B &&
				    dev->h264_levels &
				    BIT(vv_h264_level(l) - VV_LEVEL_H264_1_0))
					lmask |= BIT(l);
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_H264_LEVEL,
				V4L2_MPEG_VIDEO_H264_LEVEL_5_1, ~lmask,
				lmask & BIT(V4L2_MPEG_VIDEO_H264_LEVEL_4_0) ?
				V4L2_MPEG_VIDEO_H264_LEVEL_4_0 :
				__fls(lmask));
		}
		/*
		 * The other coded formats: the device encodes 8-bit 4:2:0,
		 * that is HEVC Main and VP8/VP9 profile 0, which the menus
		 * say (clients such as GStreamer's encoders read them before
		 * encoding).  The protocol has no HEVC levels: HEVC_LEVEL is
		 * accepted, never sent; the device picks the stream's level.
		 */
		if (vv_find_fmt(&dev->out_fmts, V4L2_PIX_FMT_HEVC) >= 0) {
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_HEVC_PROFILE,
				V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN, 0,
				V4L2_MPEG_VIDEO_HEVC_PROFILE_MAIN);
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_HEVC_LEVEL,
				V4L2_MPEG_VIDEO_HEVC_LEVEL_6_2, 0,
				V4L2_MPEG_VIDEO_HEVC_LEVEL_6_2);
		}
		if (vv_find_fmt(&dev->out_fmts, V4L2_PIX_FMT_VP8) >= 0)
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_VP8_PROFILE,
				V4L2_MPEG_VIDEO_VP8_PROFILE_0, 0,
				V4L2_MPEG_VIDEO_VP8_PROFILE_0);
		if (vv_find_fmt(&dev->out_fmts, V4L2_PIX_FMT_VP9) >= 0)
			v4l2_ctrl_new_std_menu(h, ops,
				V4L2_CID_MPEG_VIDEO_VP9_PROFILE,
				V4L2_MPEG_VIDEO_VP9_PROFILE_0, 0,
				V4L2_MPEG_VIDEO_VP9_PROFILE_0);
	}
	if (ctx->min_bufs_ctrl)
		ctx->min_bufs_ctrl->flags |= V4L2_CTRL_FLAG_VOLATILE;
	if (h->error) {
		int ret = h->error;

		v4l2_ctrl_handler_free(h);
		return ret;
	}
	ctx->fh.ctrl_handler = h;
	return 0;
}

static void vv_update_min_bufs(struct vv_ctx *ctx)
{
	struct vv_params *p = ctx->dev->encoder ? &ctx->in : &ctx->out;
	u32 n = clamp_t(u32, P(p->min_buffers), 1, 32);

	if (ctx->min_bufs_ctrl)
		v4l2_ctrl_s_ctrl(ctx->min_bufs_ctrl, n);
}

static int vv_stream_id_alloc(struct vv_dev *dev, struct vv_ctx *ctx)
{
	unsigned long flags;
	int ret;

	idr_preload(GFP_KERNEL);
	spin_lock_irqsave(&dev->streams_lock, flags);
	ret = idr_alloc(&dev->streams, ctx, 1, 0, GFP_NOWAIT);
	spin_unlock_irqrestore(&dev->streams_lock, flags);
	idr_preload_end();
	return ret;
}

static void vv_stream_id_free(struct vv_dev *dev, u32 id)
{
	unsigned long flags;

	spin_lock_irqsave(&dev->streams_lock, flags);
	idr_remove(&dev->streams, id);
	spin_unlock_irqrestore(&dev->streams_lock, flags);
}

/*
 * An event arrived (interrupt context).  A resolution change is passed
 * to user space at once, before any buffer of the new size; the new
 * parameters are read when user space (or the event work) needs them.
 */
void vv_event_irq(struct vv_dev *dev, u32 type, u32 stream_id)
{
	struct vv_ctx *ctx;
	unsigned long flags;

	if (type != VV_EVENT_RESOLUTION_CHANGED)
		return;
	spin_lock_irqsave(&dev->streams_lock, flags);
	ctx = idr_find(&dev->streams, stream_id);
	if (ctx) {
		bool now;

		/*
		 * Pictures of the old size that are done but not dequeued
		 * yet go first: the event follows the last of them (see
		 * vv_buf_finish()), so that clients that reconfigure at once
		 * lose none.
		 */
		spin_lock(&ctx->buf_lock);
		ctx->hold_dst = true;
		now = !ctx->dst_done;
		ctx->src_change_deferred = !now;
		spin_unlock(&ctx->buf_lock);
		ctx->params_stale = true;
		ctx->got_source_change = true;
		if (ctx->state == VV_STATE_INIT)
			ctx->state = VV_STATE_RUNNING;
		if (now)
			v4l2_event_queue_fh(&ctx->fh, &vv_src_change_ev);
	}
	spin_unlock_irqrestore(&dev->streams_lock, flags);
}

/* Re-read the parameters after a resolution change; dev->lock held */
static void vv_refresh(struct vv_ctx *ctx, bool update_ctrl)
{
	struct vv_buf *buf, *tmp;
	unsigned long flags;
	LIST_HEAD(held);

	if (!ctx->params_stale)
		return;
	ctx->params_stale = false;
	vv_get_all_params(ctx);
	if (update_ctrl)
		vv_update_min_bufs(ctx);
	spin_lock_irqsave(&ctx->buf_lock, flags);
	ctx->hold_dst = false;
	list_splice_init(&ctx->dst_pending, &held);
	spin_unlock_irqrestore(&ctx->buf_lock, flags);
	list_for_each_entry_safe(buf, tmp, &held, list) {
		list_del_init(&buf->list);
		vv_send(ctx, buf, false);
	}
}

/* Events from the device (process context, from the event work) */

void vv_handle_event(struct vv_dev *dev, u32 type, u32 stream_id)
{
	struct vv_ctx *ctx;

	mutex_lock(&dev->lock);
	ctx = idr_find(&dev->streams, stream_id);
	if (!ctx) {
		mutex_unlock(&dev->lock);
		return;
	}
	switch (type) {
	case VV_EVENT_RESOLUTION_CHANGED:
		/* handled in vv_event_irq() and vv_refresh() */
		break;
	case VV_EVENT_ERROR:
		dev_warn(&dev->vdev->dev, "stream %u: device error\n",
			 stream_id);
		ctx->error = true;
		vb2_queue_error(&ctx->src_vq);
		vb2_queue_error(&ctx->dst_vq);
		break;
	default:
		dev_warn(&dev->vdev->dev, "unknown event 0x%x\n", type);
	}
	mutex_unlock(&dev->lock);
}

/* File operations */

static int vv_open(struct file *file)
{
	struct vv_dev *dev = video_drvdata(file);
	struct vv_ctx *ctx;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->dev = dev;
	spin_lock_init(&ctx->buf_lock);
	INIT_LIST_HEAD(&ctx->src_busy);
	INIT_LIST_HEAD(&ctx->dst_busy);
	INIT_LIST_HEAD(&ctx->src_pending);
	INIT_LIST_HEAD(&ctx->dst_pending);
	ctx->colorspace = V4L2_COLORSPACE_REC709;
	ctx->in = dev->def_in;
	ctx->out = dev->def_out;
	v4l2_fh_init(&ctx->fh, video_devdata(file));
	file->private_data = &ctx->fh;

	if (mutex_lock_interruptible(&dev->lock)) {
		ret = -ERESTARTSYS;
		goto err_free;
	}
	ret = vv_stream_id_alloc(dev, ctx);
	if (ret < 0)
		goto err_unlock;
	ctx->stream_id = ret;
	ctx->state = dev->encoder ? VV_STATE_RUNNING : VV_STATE_INIT;
	if (dev->encoder)
		vv_params_crop(&ctx->in, &ctx->enc_crop_def);
	ret = vv_init_ctrls(ctx);
	if (ret)
		goto err_idr;
	vv_update_min_bufs(ctx);
	ret = vv_init_queue(ctx, &ctx->src_vq,
			    V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE);
	if (!ret)
		ret = vv_init_queue(ctx, &ctx->dst_vq,
				    V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE);
	if (ret)
		goto err_ctrls;
	v4l2_fh_add(&ctx->fh);
	mutex_unlock(&dev->lock);
	return 0;

err_ctrls:
	v4l2_ctrl_handler_free(&ctx->ctrls);
err_idr:
	vv_stream_id_free(dev, ctx->stream_id);
err_unlock:
	mutex_unlock(&dev->lock);
err_free:
	v4l2_fh_exit(&ctx->fh);
	kfree(ctx);
	return ret;
}

static int vv_release(struct file *file)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	struct vv_dev *dev = ctx->dev;

	mutex_lock(&dev->lock);
	v4l2_fh_del(&ctx->fh);
	vb2_queue_release(&ctx->src_vq);
	vb2_queue_release(&ctx->dst_vq);
	if (ctx->created)
		vv_simple_cmd(ctx, VV_CMD_STREAM_DESTROY, 0);
	vv_stream_id_free(dev, ctx->stream_id);
	mutex_unlock(&dev->lock);
	v4l2_ctrl_handler_free(&ctx->ctrls);
	v4l2_fh_exit(&ctx->fh);
	kfree(ctx);
	return 0;
}

static __poll_t vv_poll(struct file *file, poll_table *wait)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	__poll_t req = poll_requested_events(wait), rc = 0;
	bool any = false;

	/*
	 * Register on every wait queue at the first call, even the ones of
	 * queues not streaming yet: epoll only polls once.
	 */
	poll_wait(file, &ctx->fh.wait, wait);
	poll_wait(file, &ctx->src_vq.done_wq, wait);
	poll_wait(file, &ctx->dst_vq.done_wq, wait);
	/*
	 * Buffers first, events second: the EOS and SOURCE_CHANGE events are
	 * queued before the buffer that goes with them is done, so a poll
	 * that sees the buffer also sees its event.  The other order loses
	 * the event when both arrive between the two checks.
	 */
	if (req & (EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM)) {
		if (vb2_is_streaming(&ctx->src_vq)) {
			any = true;
			rc |= vb2_core_poll(&ctx->src_vq, file, wait) &
			      (EPOLLOUT | EPOLLWRNORM | EPOLLERR);
		}
		if (vb2_is_streaming(&ctx->dst_vq)) {
			any = true;
			rc |= vb2_core_poll(&ctx->dst_vq, file, wait) &
			      (EPOLLIN | EPOLLRDNORM | EPOLLERR);
		}
		if (!any)
			rc |= EPOLLERR;
	}
	if ((req & EPOLLPRI) && v4l2_event_pending(&ctx->fh))
		rc |= EPOLLPRI;
	return rc;
}

static int vv_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vv_ctx *ctx = file_to_ctx(file);
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;

	if (off < VV_DST_OFF_BASE)
		return vb2_mmap(&ctx->src_vq, vma);
	vma->vm_pgoff -= VV_DST_OFF_BASE >> PAGE_SHIFT;
	return vb2_mmap(&ctx->dst_vq, vma);
}

static const struct v4l2_file_operations vv_fops = {
	.owner = THIS_MODULE,
	.open = vv_open,
	.release = vv_release,
	.poll = vv_poll,
	.unlocked_ioctl = video_ioctl2,
	.mmap = vv_mmap,
};

/* Learn the parameters a new stream starts with */
static int vv_probe_defaults(struct vv_dev *dev)
{
	struct vv_fmt_list *coded = dev->encoder ? &dev->out_fmts :
						   &dev->in_fmts;
	struct vv_ctx *ctx;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->dev = dev;
	ret = vv_stream_id_alloc(dev, NULL);
	if (ret < 0)
		goto out;
	ctx->stream_id = ret;
	if (dev->encoder)
		ctx->out.format = cpu_to_le32(coded->fmt[0].vformat);
	else
		ctx->in.format = cpu_to_le32(coded->fmt[0].vformat);
	ret = vv_fmt_at(dev->encoder ? &dev->in_fmts : &dev->out_fmts, 0);
	if (ret >= 0)
		dev->def_raw = (dev->encoder ? &dev->in_fmts :
				&dev->out_fmts)->fmt[ret].vformat;
	ret = vv_create_stream(ctx);
	if (ctx->created)
		vv_simple_cmd(ctx, VV_CMD_STREAM_DESTROY, 0);
	vv_stream_id_free(dev, ctx->stream_id);
	dev->def_in = ctx->in;
	dev->def_out = ctx->out;
out:
	kfree(ctx);
	return ret;
}

#ifdef CONFIG_MEDIA_CONTROLLER
/*
 * Media controller topology of a memory-to-memory codec, as user space
 * (v4l2-compliance, libcamera-style tools) expects it: an I/O entity
 * feeding the codec entity, which feeds a second I/O entity; both I/O
 * entities are reached through the video node's interface.
 */
static int vv_mc_register(struct vv_dev *dev)
{
	struct media_device *mdev = &dev->mdev;
	struct video_device *vfd = &dev->vfd;
	struct media_entity *src = &vfd->entity;
	const u32 lflags = MEDIA_LNK_FL_IMMUTABLE | MEDIA_LNK_FL_ENABLED;
	int ret;

	src->obj_type = MEDIA_ENTITY_TYPE_VIDEO_DEVICE;
	src->function = MEDIA_ENT_F_IO_V4L;
	src->name = kasprintf(GFP_KERNEL, "%s-source", vfd->name);
	dev->proc.obj_type = MEDIA_ENTITY_TYPE_BASE;
	dev->proc.function = dev->encoder ? MEDIA_ENT_F_PROC_VIDEO_ENCODER :
					    MEDIA_ENT_F_PROC_VIDEO_DECODER;
	dev->proc.name = kasprintf(GFP_KERNEL, "%s-proc", vfd->name);
	dev->sink.obj_type = MEDIA_ENTITY_TYPE_BASE;
	dev->sink.function = MEDIA_ENT_F_IO_V4L;
	dev->sink.name = kasprintf(GFP_KERNEL, "%s-sink", vfd->name);
	if (!src->name || !dev->proc.name || !dev->sink.name)
		return -ENOMEM;

	dev->src_pad.flags = MEDIA_PAD_FL_SOURCE;
	dev->proc_pads[0].flags = MEDIA_PAD_FL_SINK;
	dev->proc_pads[1].flags = MEDIA_PAD_FL_SOURCE;
	dev->sink_pad.flags = MEDIA_PAD_FL_SINK;
	ret = media_entity_pads_init(src, 1, &dev->src_pad);
	if (!ret)
		ret = media_entity_pads_init(&dev->proc, 2, dev->proc_pads);
	if (!ret)
		ret = media_entity_pads_init(&dev->sink, 1, &dev->sink_pad);
	if (!ret)
		ret = media_device_register_entity(mdev, src);
	if (!ret)
		ret = media_device_register_entity(mdev, &dev->proc);
	if (!ret)
		ret = media_device_register_entity(mdev, &dev->sink);
	if (!ret)
		ret = media_create_pad_link(src, 0, &dev->proc, 0, lflags);
	if (!ret)
		ret = media_create_pad_link(&dev->proc, 1, &dev->sink, 0,
					    lflags);
	if (ret)
		return ret;
	dev->intf = media_devnode_create(mdev, MEDIA_INTF_T_V4L_VIDEO, 0,
					 VIDEO_MAJOR, vfd->minor);
	if (!dev->intf)
		return -ENOMEM;
	if (!media_create_intf_link(src, &dev->intf->intf, lflags) ||
	    !media_create_intf_link(&dev->sink, &dev->intf->intf, lflags))
		return -ENOMEM;
	return media_device_register(mdev);
}

static void vv_mc_unregister(struct vv_dev *dev)
{
	media_device_unregister(&dev->mdev);
	if (dev->intf) {
		media_remove_intf_links(&dev->intf->intf);
		media_devnode_remove(dev->intf);
		dev->intf = NULL;
	}
	media_device_unregister_entity(&dev->vfd.entity);
	media_device_unregister_entity(&dev->proc);
	media_device_unregister_entity(&dev->sink);
	kfree(dev->vfd.entity.name);
	kfree(dev->proc.name);
	kfree(dev->sink.name);
	media_device_cleanup(&dev->mdev);
}
#endif

int vv_v4l2_register(struct vv_dev *dev)
{
	struct video_device *vfd = &dev->vfd;
	int ret;

	ret = vv_probe_defaults(dev);
	if (ret)
		return ret;
#ifdef CONFIG_MEDIA_CONTROLLER
	dev->mdev.dev = &dev->vdev->dev;
	strscpy(dev->mdev.model, dev->encoder ? "virtio-video-encoder" :
		"virtio-video-decoder", sizeof(dev->mdev.model));
	snprintf(dev->mdev.bus_info, sizeof(dev->mdev.bus_info),
		 "platform:%s", dev_name(&dev->vdev->dev));
	media_device_init(&dev->mdev);
	dev->v4l2_dev.mdev = &dev->mdev;
#endif
	ret = v4l2_device_register(&dev->vdev->dev, &dev->v4l2_dev);
	if (ret)
		return ret;
	strscpy(vfd->name, dev->encoder ? "virtio-video-enc" :
		"virtio-video-dec", sizeof(vfd->name));
	vfd->fops = &vv_fops;
	vfd->ioctl_ops = &vv_ioctl_ops;
	vfd->release = video_device_release_empty;
	vfd->lock = &dev->lock;
	vfd->v4l2_dev = &dev->v4l2_dev;
	vfd->vfl_dir = VFL_DIR_M2M;
	vfd->device_caps = V4L2_CAP_VIDEO_M2M_MPLANE | V4L2_CAP_STREAMING;
	if (dev->encoder) {
		v4l2_disable_ioctl(vfd, VIDIOC_DECODER_CMD);
		v4l2_disable_ioctl(vfd, VIDIOC_TRY_DECODER_CMD);
	} else {
		v4l2_disable_ioctl(vfd, VIDIOC_ENCODER_CMD);
		v4l2_disable_ioctl(vfd, VIDIOC_TRY_ENCODER_CMD);
		v4l2_disable_ioctl(vfd, VIDIOC_S_SELECTION);
		v4l2_disable_ioctl(vfd, VIDIOC_G_PARM);
		v4l2_disable_ioctl(vfd, VIDIOC_S_PARM);
	}
	video_set_drvdata(vfd, dev);
	ret = video_register_device(vfd, VFL_TYPE_VIDEO, -1);
	if (ret) {
		v4l2_device_unregister(&dev->v4l2_dev);
		return ret;
	}
#ifdef CONFIG_MEDIA_CONTROLLER
	ret = vv_mc_register(dev);
	if (ret) {
		vv_mc_unregister(dev);
		video_unregister_device(vfd);
		v4l2_device_unregister(&dev->v4l2_dev);
		return ret;
	}
#endif
	return 0;
}

void vv_v4l2_unregister(struct vv_dev *dev)
{
#ifdef CONFIG_MEDIA_CONTROLLER
	vv_mc_unregister(dev);
#endif
	video_unregister_device(&dev->vfd);
	v4l2_device_unregister(&dev->v4l2_dev);
}
