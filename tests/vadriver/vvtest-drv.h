/*
 * virtio-video VA-API test driver: shared declarations
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VVTEST_DRV_H
#define VVTEST_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <va/va.h>
#include <va/va_backend.h>

/* Inner software codec (one per VA context). */
typedef struct VvCodec VvCodec;

/*
 * A view of planar 4:2:0 8-bit memory: a luma plane and two chroma planes
 * whose samples are cstep bytes apart (2 for NV12, 1 for I420/YV12).
 */
typedef struct VvView {
    uint8_t *y;
    uint8_t *u;
    uint8_t *v;
    uint32_t ypitch;
    uint32_t cpitch;
    uint32_t cstep;
    uint32_t width;
    uint32_t height;
} VvView;

/* Uncompressed VP9 frame header, as far as the driver needs it. */
typedef struct VvVp9Header {
    int profile;
    bool show_existing_frame;
    int frame_to_show;
    bool key_frame;
    bool show_frame;
    bool intra_only;
    uint8_t refresh_frame_flags;
} VvVp9Header;

typedef struct VvEncParams {
    uint32_t width;
    uint32_t height;
    bool key_frame;
    bool cqp;
    int qindex;
    uint32_t bits_per_second;
    uint32_t target_percentage;
    uint32_t fr_num;
    uint32_t fr_den;
} VvEncParams;

/* Copy a w x h rectangle between two views (4:2:0, any layout). */
void vv_view_copy(const VvView *dst, uint32_t dx, uint32_t dy,
                  const VvView *src, uint32_t sx, uint32_t sy,
                  uint32_t w, uint32_t h);

int vv_vp9_parse_header(const uint8_t *data, size_t size, VvVp9Header *h);

VvCodec *vv_vp9_decoder_new(void);
VvCodec *vv_vp9_encoder_new(void);
void vv_codec_free(VvCodec *c);

/*
 * Decode one VP9 frame (a whole frame, uncompressed header included) and
 * write the picture it produces into @out.  For hidden frames the picture
 * is fetched with a synthesized show_existing_frame.
 */
VAStatus vv_vp9_decode(VvCodec *c, const uint8_t *data, size_t size,
                       const VvView *out);

/*
 * Encode @in; on success *pkt / *pkt_size describe the packet (owned by
 * the codec, valid until the next call).
 */
VAStatus vv_vp9_encode(VvCodec *c, const VvEncParams *p, const VvView *in,
                       const uint8_t **pkt, size_t *pkt_size);

/*
 * The entry point libva looks up (libva 2.x tries every 1_<minor> down to
 * 1_0); the only symbol the module exports.
 */
__attribute__((visibility("default")))
VAStatus __vaDriverInit_1_0(VADriverContextP ctx);

#endif
