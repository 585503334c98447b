/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-video wire format ("v3" with the GET/SET_PARAMS_EXT commands,
 * encoder controls 4-7 and the 44-byte config space), as documented in
 * the project's protocol reference.  All fields are little-endian.
 */
#ifndef VV_PROTO_H
#define VV_PROTO_H

#include <linux/types.h>

#define VIRTIO_ID_VIDEO_ENCODER		30
#define VIRTIO_ID_VIDEO_DECODER		31

#define VV_F_GUEST_PAGES		0
#define VV_F_NON_CONTIG			1
#define VV_F_VIRTIO_OBJECT		2

enum {
	VV_CMD_QUERY_CAPABILITY = 0x100,
	VV_CMD_STREAM_CREATE,
	VV_CMD_STREAM_DESTROY,
	VV_CMD_STREAM_DRAIN,
	VV_CMD_RESOURCE_CREATE,
	VV_CMD_RESOURCE_QUEUE,
	VV_CMD_RESOURCE_DESTROY_ALL,
	VV_CMD_QUEUE_CLEAR,
	VV_CMD_GET_PARAMS,
	VV_CMD_SET_PARAMS,
	VV_CMD_QUERY_CONTROL,
	VV_CMD_GET_CONTROL,
	VV_CMD_SET_CONTROL,
	VV_CMD_GET_PARAMS_EXT,
	VV_CMD_SET_PARAMS_EXT,

	VV_RESP_OK_NODATA = 0x200,
	VV_RESP_OK_QUERY_CAPABILITY,
	VV_RESP_OK_RESOURCE_QUEUE,
	VV_RESP_OK_GET_PARAMS,
	VV_RESP_OK_QUERY_CONTROL,
	VV_RESP_OK_GET_CONTROL,

	VV_RESP_ERR_INVALID_OPERATION = 0x300,
	VV_RESP_ERR_OUT_OF_MEMORY,
	VV_RESP_ERR_INVALID_STREAM_ID,
	VV_RESP_ERR_INVALID_RESOURCE_ID,
	VV_RESP_ERR_INVALID_PARAMETER,
	VV_RESP_ERR_UNSUPPORTED_CONTROL,
};

#define VV_QUEUE_INPUT			0x100
#define VV_QUEUE_OUTPUT			0x101

#define VV_MEM_GUEST_PAGES		0
#define VV_MEM_VIRTIO_OBJECT		1

#define VV_PLANES_SINGLE_BUFFER		1

enum {
	VV_FMT_ARGB8888 = 1,
	VV_FMT_BGRA8888,
	VV_FMT_NV12,
	VV_FMT_YUV420,
	VV_FMT_YVU420,
	VV_FMT_MPEG2 = 0x1000,
	VV_FMT_MPEG4,
	VV_FMT_H264,
	VV_FMT_HEVC,
	VV_FMT_VP8,
	VV_FMT_VP9,
};

#define VV_PROFILE_H264_BASELINE	0x100
#define VV_PROFILE_H264_MAIN		0x101
#define VV_PROFILE_H264_EXTENDED	0x102
#define VV_PROFILE_H264_HIGH		0x103
#define VV_PROFILE_HEVC_MAIN		0x200
#define VV_PROFILE_HEVC_MAIN10		0x201
#define VV_PROFILE_HEVC_MAIN_STILL	0x202
#define VV_PROFILE_VP8_0		0x300
#define VV_PROFILE_VP9_0		0x400
#define VV_LEVEL_H264_1_0		0x100	/* ... 0x10e = 5.1, no 1b */

enum {
	VV_CTRL_BITRATE = 1,
	VV_CTRL_PROFILE,
	VV_CTRL_LEVEL,
	VV_CTRL_FORCE_KEYFRAME,
	VV_CTRL_BITRATE_MODE,
	VV_CTRL_BITRATE_PEAK,
	VV_CTRL_PREPEND_SPSPPS_TO_IDR,
};

#define VV_BUF_ERR			BIT(0)
#define VV_BUF_EOS			BIT(1)
#define VV_BUF_IFRAME			BIT(2)
#define VV_BUF_PFRAME			BIT(3)
#define VV_BUF_BFRAME			BIT(4)

#define VV_EVENT_ERROR			0x100
#define VV_EVENT_RESOLUTION_CHANGED	0x200

#define VV_MAX_PLANES			8

struct vv_config {
	__le32 version;
	__le32 max_caps_length;
	__le32 max_resp_length;
	u8 device_name[32];
};

struct vv_hdr {
	__le32 type;
	__le32 stream_id;
};

struct vv_query_caps {
	struct vv_hdr hdr;
	__le32 queue_type;
	u8 pad[4];
};

struct vv_range {
	__le32 min;
	__le32 max;
	__le32 step;
	u8 pad[4];
};

struct vv_frame {
	struct vv_range width;
	struct vv_range height;
	__le32 num_rates;
	u8 pad[4];
};

struct vv_desc {
	__le64 mask;
	__le32 format;
	__le32 planes_layout;
	__le32 plane_align;
	__le32 num_frames;
};

struct vv_caps_resp {
	struct vv_hdr hdr;
	__le32 num_descs;
	u8 pad[4];
};

struct vv_stream_create {
	struct vv_hdr hdr;
	__le32 in_mem_type;
	__le32 out_mem_type;
	__le32 coded_format;
	u8 pad[4];
	char tag[64];
};

struct vv_mem_entry {
	__le64 addr;
	__le32 length;
	u8 pad[4];
};

/* a virtio object (VV_MEM_VIRTIO_OBJECT): the exporter's UUID, raw bytes */
struct vv_object_entry {
	u8 uuid[16];
};

struct vv_resource_create {
	struct vv_hdr hdr;
	__le32 queue_type;
	__le32 resource_id;
	__le32 planes_layout;
	__le32 num_planes;
	__le32 plane_offsets[VV_MAX_PLANES];
	__le32 num_entries[VV_MAX_PLANES];
};

struct vv_resource_queue {
	struct vv_hdr hdr;
	__le32 queue_type;
	__le32 resource_id;
	__le64 timestamp;
	__le32 num_data_sizes;
	__le32 data_sizes[VV_MAX_PLANES];
	u8 pad[4];
};

struct vv_resource_queue_resp {
	struct vv_hdr hdr;
	__le64 timestamp;
	__le32 flags;
	__le32 size;
};

/* RESOURCE_DESTROY_ALL, QUEUE_CLEAR, GET_PARAMS(_EXT) */
struct vv_queue_cmd {
	struct vv_hdr hdr;
	__le32 queue_type;
	u8 pad[4];
};

struct vv_plane_format {
	__le32 plane_size;
	__le32 stride;
};

struct vv_crop {
	__le32 left;
	__le32 top;
	__le32 width;
	__le32 height;
};

struct vv_params {
	__le32 queue_type;
	__le32 format;
	__le32 frame_width;
	__le32 frame_height;
	__le32 min_buffers;
	__le32 max_buffers;
	struct vv_crop crop;
	__le32 frame_rate;
	__le32 num_planes;
	struct vv_plane_format plane_formats[VV_MAX_PLANES];
	/* _EXT forms only */
	__le32 resource_type;
	u8 pad[4];
};

struct vv_params_msg {
	struct vv_hdr hdr;
	struct vv_params params;
};

struct vv_query_control {
	struct vv_hdr hdr;
	__le32 control;
	u8 pad[4];
	__le32 format;
	u8 pad2[4];
};

struct vv_query_control_resp {
	struct vv_hdr hdr;
	__le32 num;
	u8 pad[4];
	/* num x __le32 */
};

struct vv_control_msg {
	struct vv_hdr hdr;
	__le32 control;
	u8 pad[4];
	__le32 value;
	u8 pad2[4];
};

struct vv_get_control_resp {
	struct vv_hdr hdr;
	__le32 value;
	u8 pad[4];
};

struct vv_event {
	__le32 event_type;
	__le32 stream_id;
};

#endif /* VV_PROTO_H */
