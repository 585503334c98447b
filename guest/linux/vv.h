/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-video guest driver: shared definitions.
 */
#ifndef VV_H
#define VV_H

#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <media/media-device.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-device.h>
#include <media/v4l2-fh.h>
#include <media/videobuf2-v4l2.h>

#include "vv_proto.h"

#define VV_DRIVER_NAME		"virtio-video"
#define VV_MAX_FORMATS		32
#define VV_EVENT_BUFS		32
#define VV_CMD_TIMEOUT		(10 * HZ)
/* mmap offsets of CAPTURE buffers start here (OUTPUT ones start at 0) */
#define VV_DST_OFF_BASE		(1UL << 30)

struct vv_fmt {
	u32 vformat;		/* VV_FMT_* */
	u32 fourcc;
	u64 mask;		/* formats of the other queue it pairs with */
	u32 plane_align;
	struct vv_range width;	/* host order, from the first frame entry */
	struct vv_range height;
	bool has_rates;
	u32 rate_min, rate_max;
};

struct vv_fmt_list {
	unsigned int num;
	struct vv_fmt fmt[VV_MAX_FORMATS];
};

struct vv_dev {
	struct virtio_device *vdev;
	bool encoder;
	bool use_sg;		/* NON_CONTIG: vb2 dma-sg, else dma-contig */
	bool virtio_obj;	/* VIRTIO_OBJECT: dma-bufs named by UUID */
	struct device *dma_dev;

	struct virtqueue *cmdq;
	spinlock_t cmdq_lock;	/* cmdq add/get */
	wait_queue_head_t cmdq_wait;	/* room on the cmdq */

	struct virtqueue *evq;
	struct vv_event evbuf[VV_EVENT_BUFS];
	spinlock_t ev_lock;
	struct vv_event evpending[VV_EVENT_BUFS];
	unsigned int ev_head, ev_tail;
	struct work_struct ev_work;

	u32 max_caps_len;
	u32 max_resp_len;
	char name[33];

	struct vv_fmt_list in_fmts;	/* device INPUT queue */
	struct vv_fmt_list out_fmts;	/* device OUTPUT queue */
	u32 h264_profiles;	/* bitmap of VV_PROFILE_H264_* - 0x100 */
	u32 h264_levels;	/* bitmap of VV_LEVEL_H264_* - 0x100 */

	struct mutex lock;	/* serialises ioctls, vb2, events */
	struct idr streams;	/* stream id -> struct vv_ctx */
	spinlock_t streams_lock;	/* streams, for the event interrupt */
	struct ida res_ids;
	struct vv_params def_in, def_out;	/* a new stream's params */
	u32 def_raw;				/* a new stream's raw format */
	struct v4l2_device v4l2_dev;
	struct video_device vfd;
#ifdef CONFIG_MEDIA_CONTROLLER
	struct media_device mdev;
	struct media_entity proc, sink;
	struct media_pad src_pad, proc_pads[2], sink_pad;
	struct media_intf_devnode *intf;
#endif
	bool broken;
};

enum vv_state {
	VV_STATE_INIT,		/* no stream info yet (decoder) */
	VV_STATE_RUNNING,	/* headers known / encoder configured */
	VV_STATE_DRAINING,	/* STREAM_DRAIN sent, waiting for EOS */
	VV_STATE_STOPPED,	/* EOS delivered */
};

struct vv_ctx {
	struct v4l2_fh fh;
	struct vv_dev *dev;
	u32 stream_id;
	bool created;			/* the device stream exists */
	struct vb2_queue src_vq;	/* V4L2 OUTPUT = device INPUT */
	struct vb2_queue dst_vq;	/* V4L2 CAPTURE = device OUTPUT */
	struct vv_params in;		/* host-order copies of GET_PARAMS */
	struct vv_params out;
	enum vv_state state;
	bool got_source_change;
	bool params_stale;		/* a resolution change was signalled */
	bool hold_dst;			/* keep new CAPTURE buffers back */
	bool src_change_deferred;	/* SOURCE_CHANGE waits for DQBUF */
	unsigned int dst_done;		/* CAPTURE buffers done, not dequeued */
	bool error;
	unsigned int src_res, dst_res;	/* resources created per queue */
	/* the device's memory type of its INPUT [0] and OUTPUT [1] queue */
	u32 mem_type[2];

	struct v4l2_ctrl_handler ctrls;
	struct v4l2_ctrl *min_bufs_ctrl;
	struct v4l2_ctrl *gop_ctrl;
	u32 gop_count;

	u32 src_seq, dst_seq;
	u32 colorspace, xfer_func, ycbcr_enc, quantization;
	/* encoder: CROP_DEFAULT, the visible size the last S_FMT gave */
	struct v4l2_rect enc_crop_def;

	/* per-input metadata, carried to the outputs with its timestamp */
	struct {
		u64 ts;
		u32 flags;
		struct v4l2_timecode tc;
	} meta[32];
	unsigned int meta_pos;

	spinlock_t buf_lock;		/* the lists below and meta */
	struct list_head src_busy;	/* buffers held by the device */
	struct list_head dst_busy;
	struct list_head src_pending;	/* input held back during a drain */
	/* output held back after a resolution change until user space */
	/* has read the new format */
	struct list_head dst_pending;
};

struct vv_buf {
	struct vb2_v4l2_buffer vb;
	struct list_head list;
	u32 res_id;
	bool at_device;
};

static inline struct vv_buf *to_vv_buf(struct vb2_buffer *vb)
{
	return container_of(to_vb2_v4l2_buffer(vb), struct vv_buf, vb);
}

/* vv_virtio.c */
typedef void (*vv_done_fn)(struct vv_dev *dev, void *priv,
			   unsigned long data, void *resp, unsigned int len);
int vv_cmd_sync(struct vv_dev *dev, const void *req, size_t req_len,
		const void *extra, size_t extra_len, void *resp,
		size_t resp_len);
int vv_cmd_async(struct vv_dev *dev, const void *req, size_t req_len,
		 size_t resp_len, vv_done_fn done, void *priv,
		 unsigned long data);
int vv_resp_status(const void *resp);

void vv_dev_release(struct vv_dev *dev);

/* vv_v4l2.c */
int vv_v4l2_register(struct vv_dev *dev);
void vv_v4l2_unregister(struct vv_dev *dev);
void vv_handle_event(struct vv_dev *dev, u32 type, u32 stream_id);
void vv_event_irq(struct vv_dev *dev, u32 type, u32 stream_id);
u32 vv_fourcc(u32 vformat);

#endif /* VV_H */
