/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Virtio video device: wire format of the "v3" protocol as spoken by the
 * existing guest drivers (v3 RFC plus the GET/SET_PARAMS_EXT commands,
 * encoder controls 4-7 and the 44-byte config space with device_name).
 *
 * Every field is little-endian on the wire.  Sizes are checked by
 * tests/unit/test-vv-protocol.c.
 */
#ifndef _LINUX_VIRTIO_VIDEO_H
#define _LINUX_VIRTIO_VIDEO_H

/* Device-specific feature bits */
#define VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES     0
#define VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG      1
#define VIRTIO_VIDEO_F_RESOURCE_VIRTIO_OBJECT   2

/* Virtqueues */
#define VIRTIO_VIDEO_QUEUE_COMMAND  0
#define VIRTIO_VIDEO_QUEUE_EVENT    1
#define VIRTIO_VIDEO_QUEUE_NUM      2

/* Command and response codes (virtio_video_cmd_hdr.type) */
enum virtio_video_cmd_type {
    VIRTIO_VIDEO_CMD_UNDEFINED = 0,

    VIRTIO_VIDEO_CMD_QUERY_CAPABILITY = 0x0100,
    VIRTIO_VIDEO_CMD_STREAM_CREATE,
    VIRTIO_VIDEO_CMD_STREAM_DESTROY,
    VIRTIO_VIDEO_CMD_STREAM_DRAIN,
    VIRTIO_VIDEO_CMD_RESOURCE_CREATE,
    VIRTIO_VIDEO_CMD_RESOURCE_QUEUE,
    VIRTIO_VIDEO_CMD_RESOURCE_DESTROY_ALL,
    VIRTIO_VIDEO_CMD_QUEUE_CLEAR,
    VIRTIO_VIDEO_CMD_GET_PARAMS,
    VIRTIO_VIDEO_CMD_SET_PARAMS,
    VIRTIO_VIDEO_CMD_QUERY_CONTROL,
    VIRTIO_VIDEO_CMD_GET_CONTROL,
    VIRTIO_VIDEO_CMD_SET_CONTROL,
    VIRTIO_VIDEO_CMD_GET_PARAMS_EXT,
    VIRTIO_VIDEO_CMD_SET_PARAMS_EXT,

    VIRTIO_VIDEO_RESP_OK_NODATA = 0x0200,
    VIRTIO_VIDEO_RESP_OK_QUERY_CAPABILITY,
    VIRTIO_VIDEO_RESP_OK_RESOURCE_QUEUE,
    VIRTIO_VIDEO_RESP_OK_GET_PARAMS,
    VIRTIO_VIDEO_RESP_OK_QUERY_CONTROL,
    VIRTIO_VIDEO_RESP_OK_GET_CONTROL,

    VIRTIO_VIDEO_RESP_ERR_INVALID_OPERATION = 0x0300,
    VIRTIO_VIDEO_RESP_ERR_OUT_OF_MEMORY,
    VIRTIO_VIDEO_RESP_ERR_INVALID_STREAM_ID,
    VIRTIO_VIDEO_RESP_ERR_INVALID_RESOURCE_ID,
    VIRTIO_VIDEO_RESP_ERR_INVALID_PARAMETER,
    VIRTIO_VIDEO_RESP_ERR_UNSUPPORTED_CONTROL,
};

enum virtio_video_queue_type {
    VIRTIO_VIDEO_QUEUE_TYPE_INPUT = 0x0100,
    VIRTIO_VIDEO_QUEUE_TYPE_OUTPUT,
};

enum virtio_video_mem_type {
    VIRTIO_VIDEO_MEM_TYPE_GUEST_PAGES = 0,
    VIRTIO_VIDEO_MEM_TYPE_VIRTIO_OBJECT,
};

#define VIRTIO_VIDEO_PLANES_LAYOUT_SINGLE_BUFFER    (1 << 0)
#define VIRTIO_VIDEO_PLANES_LAYOUT_PER_PLANE        (1 << 1)

enum virtio_video_format {
    VIRTIO_VIDEO_FORMAT_UNDEFINED = 0,

    VIRTIO_VIDEO_FORMAT_RAW_MIN = 1,
    VIRTIO_VIDEO_FORMAT_ARGB8888 = VIRTIO_VIDEO_FORMAT_RAW_MIN,
    VIRTIO_VIDEO_FORMAT_BGRA8888,
    VIRTIO_VIDEO_FORMAT_NV12,
    VIRTIO_VIDEO_FORMAT_YUV420,
    VIRTIO_VIDEO_FORMAT_YVU420,
    VIRTIO_VIDEO_FORMAT_RAW_MAX = VIRTIO_VIDEO_FORMAT_YVU420,

    VIRTIO_VIDEO_FORMAT_CODED_MIN = 0x1000,
    VIRTIO_VIDEO_FORMAT_MPEG2 = VIRTIO_VIDEO_FORMAT_CODED_MIN,
    VIRTIO_VIDEO_FORMAT_MPEG4,
    VIRTIO_VIDEO_FORMAT_H264,
    VIRTIO_VIDEO_FORMAT_HEVC,
    VIRTIO_VIDEO_FORMAT_VP8,
    VIRTIO_VIDEO_FORMAT_VP9,
    VIRTIO_VIDEO_FORMAT_CODED_MAX = VIRTIO_VIDEO_FORMAT_VP9,
    /* 0x1006 is FWHT in the vhost-device-video dialect. */
    /* Project extension, only offered when enabled (no v3 driver knows it). */
    VIRTIO_VIDEO_FORMAT_AV1 = 0x1007,
};

enum virtio_video_profile {
    VIRTIO_VIDEO_PROFILE_UNDEFINED = 0,

    VIRTIO_VIDEO_PROFILE_H264_MIN = 0x100,
    VIRTIO_VIDEO_PROFILE_H264_BASELINE = VIRTIO_VIDEO_PROFILE_H264_MIN,
    VIRTIO_VIDEO_PROFILE_H264_MAIN,
    VIRTIO_VIDEO_PROFILE_H264_EXTENDED,
    VIRTIO_VIDEO_PROFILE_H264_HIGH,
    VIRTIO_VIDEO_PROFILE_H264_HIGH10PROFILE,
    VIRTIO_VIDEO_PROFILE_H264_HIGH422PROFILE,
    VIRTIO_VIDEO_PROFILE_H264_HIGH444PREDICTIVEPROFILE,
    VIRTIO_VIDEO_PROFILE_H264_SCALABLEBASELINE,
    VIRTIO_VIDEO_PROFILE_H264_SCALABLEHIGH,
    VIRTIO_VIDEO_PROFILE_H264_STEREOHIGH,
    VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH,
    VIRTIO_VIDEO_PROFILE_H264_MAX = VIRTIO_VIDEO_PROFILE_H264_MULTIVIEWHIGH,

    VIRTIO_VIDEO_PROFILE_HEVC_MIN = 0x200,
    VIRTIO_VIDEO_PROFILE_HEVC_MAIN = VIRTIO_VIDEO_PROFILE_HEVC_MIN,
    VIRTIO_VIDEO_PROFILE_HEVC_MAIN10,
    VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE,
    VIRTIO_VIDEO_PROFILE_HEVC_MAX = VIRTIO_VIDEO_PROFILE_HEVC_MAIN_STILL_PICTURE,

    VIRTIO_VIDEO_PROFILE_VP8_MIN = 0x300,
    VIRTIO_VIDEO_PROFILE_VP8_PROFILE0 = VIRTIO_VIDEO_PROFILE_VP8_MIN,
    VIRTIO_VIDEO_PROFILE_VP8_PROFILE1,
    VIRTIO_VIDEO_PROFILE_VP8_PROFILE2,
    VIRTIO_VIDEO_PROFILE_VP8_PROFILE3,
    VIRTIO_VIDEO_PROFILE_VP8_MAX = VIRTIO_VIDEO_PROFILE_VP8_PROFILE3,

    VIRTIO_VIDEO_PROFILE_VP9_MIN = 0x400,
    VIRTIO_VIDEO_PROFILE_VP9_PROFILE0 = VIRTIO_VIDEO_PROFILE_VP9_MIN,
    VIRTIO_VIDEO_PROFILE_VP9_PROFILE1,
    VIRTIO_VIDEO_PROFILE_VP9_PROFILE2,
    VIRTIO_VIDEO_PROFILE_VP9_PROFILE3,
    VIRTIO_VIDEO_PROFILE_VP9_MAX = VIRTIO_VIDEO_PROFILE_VP9_PROFILE3,
};

enum virtio_video_level {
    VIRTIO_VIDEO_LEVEL_UNDEFINED = 0,

    VIRTIO_VIDEO_LEVEL_H264_MIN = 0x100,
    VIRTIO_VIDEO_LEVEL_H264_1_0 = VIRTIO_VIDEO_LEVEL_H264_MIN,
    VIRTIO_VIDEO_LEVEL_H264_1_1,
    VIRTIO_VIDEO_LEVEL_H264_1_2,
    VIRTIO_VIDEO_LEVEL_H264_1_3,
    VIRTIO_VIDEO_LEVEL_H264_2_0,
    VIRTIO_VIDEO_LEVEL_H264_2_1,
    VIRTIO_VIDEO_LEVEL_H264_2_2,
    VIRTIO_VIDEO_LEVEL_H264_3_0,
    VIRTIO_VIDEO_LEVEL_H264_3_1,
    VIRTIO_VIDEO_LEVEL_H264_3_2,
    VIRTIO_VIDEO_LEVEL_H264_4_0,
    VIRTIO_VIDEO_LEVEL_H264_4_1,
    VIRTIO_VIDEO_LEVEL_H264_4_2,
    VIRTIO_VIDEO_LEVEL_H264_5_0,
    VIRTIO_VIDEO_LEVEL_H264_5_1,
    VIRTIO_VIDEO_LEVEL_H264_MAX = VIRTIO_VIDEO_LEVEL_H264_5_1,
};

enum virtio_video_bitrate_mode {
    VIRTIO_VIDEO_BITRATE_MODE_VBR = 0,
    VIRTIO_VIDEO_BITRATE_MODE_CBR = 1,
};

enum virtio_video_control_type {
    VIRTIO_VIDEO_CONTROL_UNDEFINED = 0,
    VIRTIO_VIDEO_CONTROL_BITRATE,
    VIRTIO_VIDEO_CONTROL_PROFILE,
    VIRTIO_VIDEO_CONTROL_LEVEL,
    VIRTIO_VIDEO_CONTROL_FORCE_KEYFRAME,
    VIRTIO_VIDEO_CONTROL_BITRATE_MODE,
    VIRTIO_VIDEO_CONTROL_BITRATE_PEAK,
    VIRTIO_VIDEO_CONTROL_PREPEND_SPSPPS_TO_IDR,
};

/* Buffer flags in virtio_video_resource_queue_resp.flags */
#define VIRTIO_VIDEO_BUFFER_FLAG_ERR        (1 << 0)
#define VIRTIO_VIDEO_BUFFER_FLAG_EOS        (1 << 1)
#define VIRTIO_VIDEO_BUFFER_FLAG_IFRAME     (1 << 2)
#define VIRTIO_VIDEO_BUFFER_FLAG_PFRAME     (1 << 3)
#define VIRTIO_VIDEO_BUFFER_FLAG_BFRAME     (1 << 4)

enum virtio_video_event_type {
    VIRTIO_VIDEO_EVENT_ERROR = 0x0100,
    VIRTIO_VIDEO_EVENT_DECODER_RESOLUTION_CHANGED = 0x0200,
};

#define VIRTIO_VIDEO_MAX_PLANES         8
#define VIRTIO_VIDEO_DEVICE_NAME_LEN    32
#define VIRTIO_VIDEO_TAG_LEN            64

/* Config space (44 bytes: v3's 12 plus the device_name extension) */
struct virtio_video_config {
    uint32_t version;
    uint32_t max_caps_length;
    uint32_t max_resp_length;
    uint8_t device_name[VIRTIO_VIDEO_DEVICE_NAME_LEN];
};

struct virtio_video_cmd_hdr {
    uint32_t type;
    uint32_t stream_id;
};

/* QUERY_CAPABILITY */
struct virtio_video_query_capability {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint8_t padding[4];
};

struct virtio_video_format_range {
    uint32_t min;
    uint32_t max;
    uint32_t step;
    uint8_t padding[4];
};

struct virtio_video_format_frame {
    struct virtio_video_format_range width;
    struct virtio_video_format_range height;
    uint32_t num_rates;
    uint8_t padding[4];
    /* followed by num_rates x struct virtio_video_format_range */
};

struct virtio_video_format_desc {
    uint64_t mask;
    uint32_t format;
    uint32_t planes_layout;
    uint32_t plane_align;
    uint32_t num_frames;
    /* followed by num_frames x struct virtio_video_format_frame */
};

struct virtio_video_query_capability_resp {
    struct virtio_video_cmd_hdr hdr;
    uint32_t num_descs;
    uint8_t padding[4];
    /* followed by num_descs x struct virtio_video_format_desc */
};

/* STREAM_CREATE; STREAM_DESTROY and STREAM_DRAIN are a bare header */
struct virtio_video_stream_create {
    struct virtio_video_cmd_hdr hdr;
    uint32_t in_mem_type;
    uint32_t out_mem_type;
    uint32_t coded_format;
    uint8_t padding[4];
    uint8_t tag[VIRTIO_VIDEO_TAG_LEN];
};

/* RESOURCE_CREATE */
struct virtio_video_mem_entry {
    uint64_t addr;
    uint32_t length;
    uint8_t padding[4];
};

struct virtio_video_object_entry {
    uint8_t uuid[16];
};

struct virtio_video_resource_create {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint32_t resource_id;
    uint32_t planes_layout;
    uint32_t num_planes;
    uint32_t plane_offsets[VIRTIO_VIDEO_MAX_PLANES];
    uint32_t num_entries[VIRTIO_VIDEO_MAX_PLANES];
    /* followed by the mem or object entries */
};

/* RESOURCE_QUEUE */
struct virtio_video_resource_queue {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint32_t resource_id;
    uint64_t timestamp;
    uint32_t num_data_sizes;
    uint32_t data_sizes[VIRTIO_VIDEO_MAX_PLANES];
    uint8_t padding[4];
};

struct virtio_video_resource_queue_resp {
    struct virtio_video_cmd_hdr hdr;
    uint64_t timestamp;
    uint32_t flags;
    uint32_t size;
};

/* RESOURCE_DESTROY_ALL */
struct virtio_video_resource_destroy_all {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint8_t padding[4];
};

/* QUEUE_CLEAR */
struct virtio_video_queue_clear {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint8_t padding[4];
};

/* GET_PARAMS(_EXT) / SET_PARAMS(_EXT) */
struct virtio_video_plane_format {
    uint32_t plane_size;
    uint32_t stride;
};

struct virtio_video_crop {
    uint32_t left;
    uint32_t top;
    uint32_t width;
    uint32_t height;
};

struct virtio_video_params {
    uint32_t queue_type;
    uint32_t format;
    uint32_t frame_width;
    uint32_t frame_height;
    uint32_t min_buffers;
    uint32_t max_buffers;
    struct virtio_video_crop crop;
    uint32_t frame_rate;
    uint32_t num_planes;
    struct virtio_video_plane_format plane_formats[VIRTIO_VIDEO_MAX_PLANES];
};

struct virtio_video_params_ext {
    struct virtio_video_params base;
    uint32_t resource_type;
    uint8_t padding[4];
};

struct virtio_video_get_params {
    struct virtio_video_cmd_hdr hdr;
    uint32_t queue_type;
    uint8_t padding[4];
};

struct virtio_video_get_params_resp {
    struct virtio_video_cmd_hdr hdr;
    struct virtio_video_params params;
};

struct virtio_video_get_params_ext_resp {
    struct virtio_video_cmd_hdr hdr;
    struct virtio_video_params_ext params;
};

struct virtio_video_set_params {
    struct virtio_video_cmd_hdr hdr;
    struct virtio_video_params params;
};

struct virtio_video_set_params_ext {
    struct virtio_video_cmd_hdr hdr;
    struct virtio_video_params_ext params;
};

/* QUERY_CONTROL / GET_CONTROL / SET_CONTROL */
struct virtio_video_query_control {
    struct virtio_video_cmd_hdr hdr;
    uint32_t control;
    uint8_t padding[4];
    /* followed by a control-specific record */
};

/* Record after QUERY_CONTROL(PROFILE) and QUERY_CONTROL(LEVEL) */
struct virtio_video_query_control_format {
    uint32_t format;
    uint8_t padding[4];
};

struct virtio_video_query_control_resp {
    struct virtio_video_cmd_hdr hdr;
    uint32_t num;
    uint8_t padding[4];
    /* followed by num x uint32_t values */
};

struct virtio_video_control_value {
    uint32_t value;
    uint8_t padding[4];
};

struct virtio_video_get_control {
    struct virtio_video_cmd_hdr hdr;
    uint32_t control;
    uint8_t padding[4];
};

struct virtio_video_get_control_resp {
    struct virtio_video_cmd_hdr hdr;
    struct virtio_video_control_value value;
};

/* 16 bytes for FORCE_KEYFRAME (no value), 24 otherwise */
struct virtio_video_set_control {
    struct virtio_video_cmd_hdr hdr;
    uint32_t control;
    uint8_t padding[4];
    struct virtio_video_control_value value;
};

/* Event queue element */
struct virtio_video_event {
    uint32_t event_type;
    uint32_t stream_id;
};

#endif /* _LINUX_VIRTIO_VIDEO_H */
