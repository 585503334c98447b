// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-video guest driver: virtio transport, commands, events, probe.
 */
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/virtio_config.h>

#include "vv.h"

static bool force_contig;
module_param(force_contig, bool, 0444);
MODULE_PARM_DESC(force_contig,
		 "Use physically contiguous buffers even if the device takes scatter-gather lists");

struct vv_cmd {
	refcount_t ref;
	struct completion comp;
	vv_done_fn done;
	void *priv;
	unsigned long data;
	unsigned int len;	/* bytes the device wrote */
	void *req, *extra, *resp;
	size_t req_len, extra_len, resp_len;
	u8 mem[];
};

static void vv_cmd_put(struct vv_cmd *cmd)
{
	if (refcount_dec_and_test(&cmd->ref))
		kfree(cmd);
}

static struct vv_cmd *vv_cmd_alloc(const void *req, size_t req_len,
				   const void *extra, size_t extra_len,
				   size_t resp_len)
{
	struct vv_cmd *cmd;

	cmd = kzalloc(sizeof(*cmd) + req_len + extra_len + resp_len,
		      GFP_KERNEL);
	if (!cmd)
		return NULL;
	refcount_set(&cmd->ref, 1);
	init_completion(&cmd->comp);
	cmd->req = cmd->mem;
	cmd->extra = cmd->mem + req_len;
	cmd->resp = cmd->mem + req_len + extra_len;
	cmd->req_len = req_len;
	cmd->extra_len = extra_len;
	cmd->resp_len = resp_len;
	memcpy(cmd->req, req, req_len);
	if (extra_len)
		memcpy(cmd->extra, extra, extra_len);
	return cmd;
}

static int vv_cmd_submit(struct vv_dev *dev, struct vv_cmd *cmd)
{
	struct scatterlist sg_req, sg_extra, sg_resp;
	struct scatterlist *sgs[3];
	unsigned int nout = 0, need;
	unsigned long flags;
	int ret;

	sg_init_one(&sg_req, cmd->req, cmd->req_len);
	sgs[nout++] = &sg_req;
	if (cmd->extra_len) {
		sg_init_one(&sg_extra, cmd->extra, cmd->extra_len);
		sgs[nout++] = &sg_extra;
	}
	sg_init_one(&sg_resp, cmd->resp, cmd->resp_len);
	sgs[nout] = &sg_resp;
	need = nout + 1;

	for (;;) {
		if (dev->broken)
			return -EIO;
		spin_lock_irqsave(&dev->cmdq_lock, flags);
		ret = virtqueue_add_sgs(dev->cmdq, sgs, nout, 1, cmd,
					GFP_ATOMIC);
		if (!ret)
			virtqueue_kick(dev->cmdq);
		spin_unlock_irqrestore(&dev->cmdq_lock, flags);
		if (ret != -ENOSPC)
			return ret;
		wait_event_timeout(dev->cmdq_wait,
				   dev->cmdq->num_free >= need, HZ);
	}
}

static void vv_cmdq_cb(struct virtqueue *vq)
{
	struct vv_dev *dev = vq->vdev->priv;
	struct vv_cmd *cmd;
	unsigned long flags;
	unsigned int len;

	for (;;) {
		spin_lock_irqsave(&dev->cmdq_lock, flags);
		cmd = virtqueue_get_buf(vq, &len);
		spin_unlock_irqrestore(&dev->cmdq_lock, flags);
		if (!cmd)
			break;
		cmd->len = len;
		if (cmd->done)
			cmd->done(dev, cmd->priv, cmd->data, cmd->resp, len);
		complete(&cmd->comp);
		vv_cmd_put(cmd);
	}
	wake_up(&dev->cmdq_wait);
}

/* 0 for an OK_* response, a negative errno for an error response */
int vv_resp_status(const void *resp)
{
	const struct vv_hdr *hdr = resp;

	switch (le32_to_cpu(hdr->type)) {
	case VV_RESP_OK_NODATA ... VV_RESP_OK_GET_CONTROL:
		return 0;
	case VV_RESP_ERR_OUT_OF_MEMORY:
		return -ENOMEM;
	case VV_RESP_ERR_INVALID_PARAMETER:
	case VV_RESP_ERR_INVALID_STREAM_ID:
	case VV_RESP_ERR_INVALID_RESOURCE_ID:
		return -EINVAL;
	case VV_RESP_ERR_UNSUPPORTED_CONTROL:
		return -EOPNOTSUPP;
	case VV_RESP_ERR_INVALID_OPERATION:
		return -EBUSY;
	default:
		return -EIO;
	}
}

/*
 * Send a command and wait for its response.  Returns the response status
 * (see vv_resp_status()); the response is copied to @resp.
 */
int vv_cmd_sync(struct vv_dev *dev, const void *req, size_t req_len,
		const void *extra, size_t extra_len, void *resp,
		size_t resp_len)
{
	struct vv_cmd *cmd;
	int ret;

	cmd = vv_cmd_alloc(req, req_len, extra, extra_len, resp_len);
	if (!cmd)
		return -ENOMEM;
	refcount_inc(&cmd->ref);	/* one for us, one for the device */
	ret = vv_cmd_submit(dev, cmd);
	if (ret) {
		kfree(cmd);
		return ret;
	}
	if (!wait_for_completion_timeout(&cmd->comp, VV_CMD_TIMEOUT)) {
		dev_err(&dev->vdev->dev, "command 0x%x timed out\n",
			le32_to_cpu(((struct vv_hdr *)req)->type));
		vv_cmd_put(cmd);
		return -ETIMEDOUT;
	}
	if (cmd->len < sizeof(struct vv_hdr)) {
		ret = -EIO;
	} else {
		memcpy(resp, cmd->resp, resp_len);
		ret = vv_resp_status(resp);
	}
	vv_cmd_put(cmd);
	return ret;
}

/* Send a command; @done runs (in interrupt context) with the response. */
int vv_cmd_async(struct vv_dev *dev, const void *req, size_t req_len,
		 size_t resp_len, vv_done_fn done, void *priv,
		 unsigned long data)
{
	struct vv_cmd *cmd;
	int ret;

	cmd = vv_cmd_alloc(req, req_len, NULL, 0, resp_len);
	if (!cmd)
		return -ENOMEM;
	cmd->done = done;
	cmd->priv = priv;
	cmd->data = data;
	ret = vv_cmd_submit(dev, cmd);
	if (ret)
		kfree(cmd);
	return ret;
}

/* Events */

static int vv_post_event(struct vv_dev *dev, struct vv_event *ev)
{
	struct scatterlist sg;

	sg_init_one(&sg, ev, sizeof(*ev));
	return virtqueue_add_inbuf(dev->evq, &sg, 1, ev, GFP_ATOMIC);
}

static void vv_evq_cb(struct virtqueue *vq)
{
	struct vv_dev *dev = vq->vdev->priv;
	struct vv_event *ev;
	unsigned long flags;
	unsigned int len;
	bool any = false;

	/*
	 * The device returns every picture of the old size before it posts
	 * a resolution change: complete what the command queue already
	 * holds first, so that user space gets those buffers before the
	 * SOURCE_CHANGE event.
	 */
	vv_cmdq_cb(dev->cmdq);

	spin_lock_irqsave(&dev->ev_lock, flags);
	while ((ev = virtqueue_get_buf(vq, &len))) {
		if (len >= sizeof(*ev))
			vv_event_irq(dev, le32_to_cpu(ev->event_type),
				     le32_to_cpu(ev->stream_id));
		if (len >= sizeof(*ev) &&
		    dev->ev_head - dev->ev_tail < VV_EVENT_BUFS) {
			dev->evpending[dev->ev_head % VV_EVENT_BUFS] = *ev;
			dev->ev_head++;
			any = true;
		}
		vv_post_event(dev, ev);
	}
	virtqueue_kick(vq);
	spin_unlock_irqrestore(&dev->ev_lock, flags);
	if (any)
		schedule_work(&dev->ev_work);
}

static void vv_ev_work(struct work_struct *work)
{
	struct vv_dev *dev = container_of(work, struct vv_dev, ev_work);
	struct vv_event ev;
	unsigned long flags;

	for (;;) {
		spin_lock_irqsave(&dev->ev_lock, flags);
		if (dev->ev_tail == dev->ev_head) {
			spin_unlock_irqrestore(&dev->ev_lock, flags);
			break;
		}
		ev = dev->evpending[dev->ev_tail % VV_EVENT_BUFS];
		dev->ev_tail++;
		spin_unlock_irqrestore(&dev->ev_lock, flags);
		vv_handle_event(dev, le32_to_cpu(ev.event_type),
				le32_to_cpu(ev.stream_id));
	}
}

/* Capabilities */

static int vv_parse_caps(struct vv_dev *dev, const u8 *buf, size_t len,
			 struct vv_fmt_list *list)
{
	const struct vv_caps_resp *head = (const void *)buf;
	size_t off = sizeof(*head);
	u32 i, j, n;

	if (len < sizeof(*head))
		return -EIO;
	n = le32_to_cpu(head->num_descs);
	for (i = 0; i < n; i++) {
		const struct vv_desc *d = (const void *)(buf + off);
		struct vv_fmt *f = &list->fmt[list->num];
		u32 nframes;

		if (off + sizeof(*d) > len)
			return -EIO;
		off += sizeof(*d);
		nframes = le32_to_cpu(d->num_frames);
		memset(f, 0, sizeof(*f));
		f->vformat = le32_to_cpu(d->format);
		f->fourcc = vv_fourcc(f->vformat);
		f->mask = le64_to_cpu(d->mask);
		f->plane_align = le32_to_cpu(d->plane_align);
		for (j = 0; j < nframes; j++) {
			const struct vv_frame *fr = (const void *)(buf + off);
			const struct vv_range *r;
			u32 k, nrates;

			if (off + sizeof(*fr) > len)
				return -EIO;
			off += sizeof(*fr);
			nrates = le32_to_cpu(fr->num_rates);
			if (off + nrates * sizeof(*r) > len)
				return -EIO;
			r = (const void *)(buf + off);
			off += nrates * sizeof(*r);
			if (j)
				continue;	/* we use the first frame entry */
			f->width.min = le32_to_cpu(fr->width.min);
			f->width.max = le32_to_cpu(fr->width.max);
			f->width.step = le32_to_cpu(fr->width.step);
			f->height.min = le32_to_cpu(fr->height.min);
			f->height.max = le32_to_cpu(fr->height.max);
			f->height.step = le32_to_cpu(fr->height.step);
			for (k = 0; k < nrates; k++) {
				u32 lo = le32_to_cpu(r[k].min);
				u32 hi = le32_to_cpu(r[k].max);

				if (!f->has_rates || lo < f->rate_min)
					f->rate_min = lo;
				if (!f->has_rates || hi > f->rate_max)
					f->rate_max = hi;
				f->has_rates = true;
			}
		}
		/* keep the position in the device's list (masks index it) */
		if (list->num < VV_MAX_FORMATS)
			list->num++;
	}
	return 0;
}

static int vv_query_caps(struct vv_dev *dev, u32 queue,
			 struct vv_fmt_list *list)
{
	struct vv_query_caps req = {
		.hdr.type = cpu_to_le32(VV_CMD_QUERY_CAPABILITY),
		.queue_type = cpu_to_le32(queue),
	};
	u8 *resp;
	int ret;

	resp = kzalloc(dev->max_caps_len, GFP_KERNEL);
	if (!resp)
		return -ENOMEM;
	ret = vv_cmd_sync(dev, &req, sizeof(req), NULL, 0, resp,
			  dev->max_caps_len);
	if (!ret)
		ret = vv_parse_caps(dev, resp, dev->max_caps_len, list);
	kfree(resp);
	if (!ret && !list->num)
		ret = -ENODEV;
	return ret;
}

static u32 vv_query_control(struct vv_dev *dev, u32 control, u32 format)
{
	struct vv_query_control req = {
		.hdr.type = cpu_to_le32(VV_CMD_QUERY_CONTROL),
		.control = cpu_to_le32(control),
		.format = cpu_to_le32(format),
	};
	struct vv_query_control_resp *resp;
	u32 bits = 0, i, n, v;

	resp = kzalloc(dev->max_resp_len, GFP_KERNEL);
	if (!resp)
		return 0;
	if (!vv_cmd_sync(dev, &req, sizeof(req), NULL, 0, resp,
			 dev->max_resp_len)) {
		__le32 *vals = (__le32 *)(resp + 1);

		n = le32_to_cpu(resp->num);
		n = min_t(u32, n, (dev->max_resp_len - sizeof(*resp)) / 4);
		for (i = 0; i < n; i++) {
			v = le32_to_cpu(vals[i]);
			if (v >= 0x100 && v < 0x120)
				bits |= BIT(v - 0x100);
		}
	}
	kfree(resp);
	return bits;
}

static int vv_probe(struct virtio_device *vdev)
{
	struct virtqueue *vqs[2];
	vq_callback_t *cbs[] = { vv_cmdq_cb, vv_evq_cb };
	static const char * const names[] = { "commandq", "eventq" };
	struct vv_dev *dev;
	unsigned int i;
	int ret;

	if (!virtio_has_feature(vdev, VV_F_GUEST_PAGES)) {
		dev_err(&vdev->dev, "device does not take guest pages\n");
		return -ENODEV;
	}
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	vdev->priv = dev;
	dev->vdev = vdev;
	dev->encoder = vdev->id.device == VIRTIO_ID_VIDEO_ENCODER;
	dev->use_sg = virtio_has_feature(vdev, VV_F_NON_CONTIG) &&
		      !force_contig;
	dev->virtio_obj = IS_ENABLED(CONFIG_VIRTIO_DMA_SHARED_BUFFER) &&
			  virtio_has_feature(vdev, VV_F_VIRTIO_OBJECT);
	dev->dma_dev = vdev->dev.parent;
	spin_lock_init(&dev->cmdq_lock);
	spin_lock_init(&dev->ev_lock);
	init_waitqueue_head(&dev->cmdq_wait);
	INIT_WORK(&dev->ev_work, vv_ev_work);
	mutex_init(&dev->lock);
	idr_init(&dev->streams);
	spin_lock_init(&dev->streams_lock);
	ida_init(&dev->res_ids);

	virtio_cread_le(vdev, struct vv_config, max_caps_length,
			&dev->max_caps_len);
	virtio_cread_le(vdev, struct vv_config, max_resp_length,
			&dev->max_resp_len);
	for (i = 0; i < 32; i++)
		dev->name[i] = virtio_cread8(vdev,
				offsetof(struct vv_config, device_name) + i);
	if (dev->max_caps_len < sizeof(struct vv_caps_resp) ||
	    dev->max_resp_len < sizeof(struct vv_hdr)) {
		dev_err(&vdev->dev, "bad config space\n");
		ret = -ENODEV;
		goto err_free;
	}
	if (!dev->name[0])
		strscpy(dev->name, "virtio-video", sizeof(dev->name));

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	{
		struct virtqueue_info info[] = {
			{ names[0], cbs[0] },
			{ names[1], cbs[1] },
		};

		ret = virtio_find_vqs(vdev, 2, vqs, info, NULL);
	}
#else
	ret = virtio_find_vqs(vdev, 2, vqs, cbs, names, NULL);
#endif
	if (ret)
		goto err_free;
	dev->cmdq = vqs[0];
	dev->evq = vqs[1];
	virtio_device_ready(vdev);

	for (i = 0; i < VV_EVENT_BUFS; i++)
		if (vv_post_event(dev, &dev->evbuf[i]))
			break;
	virtqueue_kick(dev->evq);

	ret = vv_query_caps(dev, VV_QUEUE_INPUT, &dev->in_fmts);
	if (!ret)
		ret = vv_query_caps(dev, VV_QUEUE_OUTPUT, &dev->out_fmts);
	if (ret) {
		dev_err(&vdev->dev, "QUERY_CAPABILITY failed: %d\n", ret);
		goto err_vqs;
	}
	if (dev->encoder) {
		dev->h264_profiles = vv_query_control(dev, VV_CTRL_PROFILE,
						      VV_FMT_H264);
		dev->h264_levels = vv_query_control(dev, VV_CTRL_LEVEL,
						    VV_FMT_H264);
	}

	ret = vv_v4l2_register(dev);
	if (ret)
		goto err_vqs;
	dev_info(&vdev->dev, "%s %s: %u input / %u output formats, %s buffers%s\n",
		 dev->name, dev->encoder ? "encoder" : "decoder",
		 dev->in_fmts.num, dev->out_fmts.num,
		 dev->use_sg ? "scatter-gather" : "contiguous",
		 dev->virtio_obj ? ", virtio objects" : "");
	return 0;

err_vqs:
	dev->broken = true;
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
err_free:
	kfree(dev);
	return ret;
}

static void vv_remove(struct virtio_device *vdev)
{
	struct vv_dev *dev = vdev->priv;

	vv_v4l2_unregister(dev);
	vv_dev_release(dev);
}

void vv_dev_release(struct vv_dev *dev)
{
	struct virtio_device *vdev = dev->vdev;

	dev->broken = true;
	virtio_reset_device(vdev);
	cancel_work_sync(&dev->ev_work);
	vdev->config->del_vqs(vdev);
	idr_destroy(&dev->streams);
	ida_destroy(&dev->res_ids);
	kfree(dev);
}

static const struct virtio_device_id vv_id_table[] = {
	{ VIRTIO_ID_VIDEO_ENCODER, VIRTIO_DEV_ANY_ID },
	{ VIRTIO_ID_VIDEO_DECODER, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static const unsigned int vv_features[] = {
	VV_F_GUEST_PAGES,
	VV_F_NON_CONTIG,
#if IS_ENABLED(CONFIG_VIRTIO_DMA_SHARED_BUFFER)
	VV_F_VIRTIO_OBJECT,
#endif
};

static struct virtio_driver vv_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = vv_id_table,
	.feature_table = vv_features,
	.feature_table_size = ARRAY_SIZE(vv_features),
	.probe = vv_probe,
	.remove = vv_remove,
};
module_virtio_driver(vv_driver);

MODULE_DEVICE_TABLE(virtio, vv_id_table);
MODULE_DESCRIPTION("virtio-video V4L2 stateful decoder and encoder");
MODULE_LICENSE("GPL");
