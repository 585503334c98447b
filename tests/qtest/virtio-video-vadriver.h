/*
 * virtio-video qtests on the project's VA-API test driver (tests/vadriver)
 *
 * The driver is a libva module found through LIBVA_DRIVERS_PATH and
 * LIBVA_DRIVER_NAME=vvtest and configured by VVTEST_* variables, all read
 * when QEMU starts.  A test registered with qvv_hw_add_test() gets them
 * set for its QEMU only: its QOSGraphTestOptions.before hook sets them
 * (and makes the command line unique to the test, so that a fresh QEMU
 * starts with them), and the test puts the process's environment back as
 * soon as it runs.
 *
 * Copyright (c) 2026 The virtio-video for QEMU authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_QTEST_VIRTIO_VIDEO_VADRIVER_H
#define TESTS_QTEST_VIRTIO_VIDEO_VADRIVER_H

#include "libqos/qgraph.h"

/* How the test driver is to behave; NULL fields: unset (its default). */
typedef struct QvvDriverEnv {
    const char *profiles;       /* VVTEST_PROFILES */
    const char *fail;           /* VVTEST_FAIL */
    const char *max_width;      /* VVTEST_MAX_WIDTH */
    const char *max_height;     /* VVTEST_MAX_HEIGHT */
    const char *driver;         /* LIBVA_DRIVER_NAME; NULL: "vvtest" */
} QvvDriverEnv;

/*
 * The folder of vvtest_drv_video.so: $VV_VADRIVER_DIR, else
 * <project top>/build/unit/tests/vadriver.  NULL and *why when the driver
 * is not there.
 */
char *qvv_vadriver_dir(char **why);

/*
 * Set the driver's environment for a child process, in @envp (a
 * g_get_environ() array, returned updated).  NULL and *why when the driver
 * is missing.
 */
char **qvv_vadriver_environ(char **envp, const QvvDriverEnv *env,
                            char **why);

/*
 * Add qos test @name on @interface: @fn(obj, @arg, alloc) runs on a QEMU
 * started with the driver configured as @env says, and the trace event
 * virtio_video_stream_backend logged for qvv_hw_backends().  Without the
 * driver the test fails, saying so.
 */
void qvv_hw_add_test(const char *name, const char *interface,
                     QOSTestFunc fn, void *arg, const QvvDriverEnv *env);

/*
 * The backends the running test's QEMU reported for stream @stream_id
 * (virtio_video_stream_backend), in order, comma separated; "" if none.
 */
char *qvv_hw_backends(uint32_t stream_id);

#endif
