/*
 * virtio-video VA-API test driver: DRM display shim (LD_PRELOAD)
 *
 * libva 2.17's vaGetDisplayDRM() refuses any file descriptor that libdrm's
 * drmGetNodeTypeFromFd() does not recognise as a DRM node, so without a
 * GPU there is no display to load vvtest_drv_video.so on.  Preloading this
 * module makes /dev/null (character device 1:3) pass as a render node;
 * every other descriptor gets libdrm's own answer.  Together with
 * LIBVA_DRIVER_NAME=vvtest no DRM ioctl is ever issued on it.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define VV_DRM_NODE_RENDER 2    /* libdrm's DRM_NODE_RENDER */

__attribute__((visibility("default"))) int drmGetNodeTypeFromFd(int fd);

__attribute__((visibility("default"))) int drmGetNodeTypeFromFd(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "drmGetNodeTypeFromFd");
    struct stat st;
    int ret = real ? real(fd) : -1;

    if (ret < 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
        major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
        return VV_DRM_NODE_RENDER;
    }
    return ret;
}
