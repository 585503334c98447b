/*
 * libqos driver for virtio-video-pci (decoder and encoder)
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_VIDEO_H
#define TESTS_LIBQOS_VIRTIO_VIDEO_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"
#include "virtio-video-caps.h"
#include "standard-headers/linux/virtio_config.h"
#include "standard-headers/linux/virtio_video.h"
#include "../virtio-video-client.h"

typedef struct QVirtioVideo QVirtioVideo;
typedef struct QVirtioVideoDriver QVirtioVideoDriver;
typedef struct QVirtioVideoPCI QVirtioVideoPCI;

struct QVirtioVideo {
    QVirtioDevice *vdev;
    QPCIDevice *pdev;
    QGuestAllocator *alloc;
    bool encoder;               /* the node started it with mode=encoder */
    bool objects;               /* negotiate RESOURCE_VIRTIO_OBJECT too */
    unsigned poll_us;           /* current back-off while waiting */
    QVirtQueue *cmdq;
    QVirtQueue *eventq;
    QVirtioVideoDriver *drv;    /* split-ring driver over cmdq and eventq */
    bool shared_ram;            /* a bench node: map guest RAM here */
    uint8_t *ram;               /* guest RAM mapped here, or NULL: qtest */
    size_t ram_size;
    bool cmdq_kick, eventq_kick;    /* chains posted, device not notified */
};

struct QVirtioVideoPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioVideo video;
};

/* Features the driver accepts from what the device offers. */
#define QVIRTIO_VIDEO_DRIVER_FEATURES \
    ((1ull << VIRTIO_F_VERSION_1) | \
     (1ull << VIRTIO_VIDEO_F_RESOURCE_GUEST_PAGES) | \
     (1ull << VIRTIO_VIDEO_F_RESOURCE_NON_CONTIG))

QTestState *qvirtio_video_qts(QVirtioVideo *v);
/*
 * A virtio-video-pci the test plugged itself (device_add) in @slot of
 * @bus: found, enabled and started like a node's device.
 */
QVirtioVideo *qvirtio_video_pci_attach(QPCIBus *bus, QGuestAllocator *alloc,
                                       int slot, bool encoder);
/* After that device was unplugged: free the driver, touching no device. */
void qvirtio_video_pci_forget(QVirtioVideo *v);

/*
 * Talk to another QEMU from now on: the destination of a migration, whose
 * guest memory and device state are the source's.
 */
void qvirtio_video_set_qts(QVirtioVideo *v, QTestState *qts);

/*
 * make bench nodes only (their start_hw does it): reach guest memory
 * through a shared mapping of the guest's RAM instead of qtest commands,
 * and notify the device of asynchronous commands only when waiting (one
 * notification for all that were posted since).
 */
void qvirtio_video_map_ram(QVirtioVideo *v);

/*
 * (Re)start the driver over v->cmdq and v->eventq after they were set up
 * and DRIVER_OK was written: a descriptor free list for the command queue
 * (libqos's qvirtqueue_add never frees descriptors) and event buffers
 * posted on the event queue.  start_hw does it; call it again after
 * setting the queues up by hand.
 */
void qvirtio_video_queues_init(QVirtioVideo *v);

/*
 * The transport of virtio-video-client.h over this device (opaque: the
 * QVirtioVideo).  Any number of commands may be in flight; completions
 * and events are polled from the used rings.
 */
extern const VvcOps qvirtio_video_vvc_ops;

/*
 * Put one command on the command queue and wait for its completion.
 * @req is sent in descriptors of at most @split bytes (0: one descriptor);
 * @resp_size bytes of device-writable buffer follow (0: none at all).
 * Returns the used length the device reported; the response is copied to
 * @resp.
 */
uint32_t qvirtio_video_cmd_split(QVirtioVideo *v, const void *req,
                                 size_t req_len, size_t split,
                                 void *resp, size_t resp_size);
uint32_t qvirtio_video_cmd(QVirtioVideo *v, const void *req, size_t req_len,
                           void *resp, size_t resp_size);

/*
 * Post a QUERY_CAPABILITY and say whether it completed at once.  Under qtest
 * the device handles a kick synchronously, so false means it never will.
 */
bool qvirtio_video_cmd_completes(QVirtioVideo *v);

uint32_t qvirtio_video_max_caps_length(QVirtioVideo *v);

/*
 * QUERY_CAPABILITY for @queue_type with a max_caps_length response buffer;
 * fails the test if the response does not parse.
 */
void qvirtio_video_query_caps(QVirtioVideo *v, uint32_t queue_type,
                              QVVCaps *caps);

#endif
