/*
 * Virtio video PCI bindings
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/virtio-video.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qom/object.h"

typedef struct VirtIOVideoPCI VirtIOVideoPCI;

#define TYPE_VIRTIO_VIDEO_PCI "virtio-video-pci-base"
DECLARE_INSTANCE_CHECKER(VirtIOVideoPCI, VIRTIO_VIDEO_PCI,
                         TYPE_VIRTIO_VIDEO_PCI)

struct VirtIOVideoPCI {
    VirtIOPCIProxy parent_obj;
    VirtIOVideo vdev;
};

static const Property virtio_video_pci_properties[] = {
    DEFINE_PROP_BIT("ioeventfd", VirtIOPCIProxy, flags,
                    VIRTIO_PCI_FLAG_USE_IOEVENTFD_BIT, true),
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors,
                       DEV_NVECTORS_UNSPECIFIED),
};

static void virtio_video_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIOVideoPCI *vvideo = VIRTIO_VIDEO_PCI(vpci_dev);
    DeviceState *vdev = DEVICE(&vvideo->vdev);

    if (vpci_dev->nvectors == DEV_NVECTORS_UNSPECIFIED) {
        /* one per virtqueue plus config changes */
        vpci_dev->nvectors = 3;
    }
    /*
     * There is no legacy virtio-video: modern only, so the PCI device ID
     * is 0x1040 + the virtio ID (0x105f decoder, 0x105e encoder).
     */
    virtio_pci_force_virtio_1(vpci_dev);
    qdev_realize(vdev, BUS(&vpci_dev->bus), errp);
}

static void virtio_video_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    k->realize = virtio_video_pci_realize;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    device_class_set_props(dc, virtio_video_pci_properties);
    pcidev_k->class_id = PCI_CLASS_MULTIMEDIA_VIDEO;
}

static void virtio_video_pci_instance_init(Object *obj)
{
    VirtIOVideoPCI *dev = VIRTIO_VIDEO_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_VIDEO);
}

static const VirtioPCIDeviceTypeInfo virtio_video_pci_info = {
    .base_name     = TYPE_VIRTIO_VIDEO_PCI,
    .generic_name  = "virtio-video-pci",
    .instance_size = sizeof(VirtIOVideoPCI),
    .instance_init = virtio_video_pci_instance_init,
    .class_init    = virtio_video_pci_class_init,
};

static void virtio_video_pci_register(void)
{
    virtio_pci_types_register(&virtio_video_pci_info);
}

type_init(virtio_video_pci_register)
