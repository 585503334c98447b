# Sourced by run-check.sh and run-bench.sh: the device's codec backend for
# the qtests' default decoder and encoder nodes and the bench nodes.
#
#   BACKEND=auto|libavcodec|vaapi|cuda   (empty: the device's default, auto)
#   RENDER_NODE=/dev/dri/renderD129      (vaapi: which node; default the
#                                         device's choice)
#
# BACKEND=vaapi on a host without a render node runs with the project's VA
# test driver (tests/vadriver, built by make unit), which decodes and
# encodes VP9 only: the clips of other formats are then skipped as formats
# the device does not offer.  Exports VIRTIO_VIDEO_DEVICE_OPTS, which
# tests/qtest/libqos/virtio-video.c appends to those nodes' -device options.
#
# SPDX-License-Identifier: GPL-2.0-or-later

vv_backend_env() {
    local unit=$1 opts=
    BACKEND=${BACKEND:-}
    case $BACKEND in
    '') ;;
    auto|libavcodec|cuda) opts=",backend=$BACKEND" ;;
    vaapi)
        opts=",backend=vaapi"
        if [ -n "${RENDER_NODE:-}" ]; then
            opts="$opts,render-node=$RENDER_NODE"
        elif ! compgen -G '/dev/dri/renderD*' > /dev/null; then
            local drv=${VV_VADRIVER_DIR:-$unit/tests/vadriver}
            if [ ! -f "$drv/vvtest_drv_video.so" ]; then
                echo "# ERROR: BACKEND=vaapi without a GPU needs the VA test" \
                     "driver $drv/vvtest_drv_video.so (make unit)" >&2
                return 1
            fi
            echo "# BACKEND=vaapi: no /dev/dri render node here, so the VA" \
                 "test driver ($drv) serves: VP9 only, in software"
            # libva takes no display without a DRM node: the shim makes
            # /dev/null pass for one (tests/vadriver/README.md)
            export LIBVA_DRIVERS_PATH=$drv LIBVA_DRIVER_NAME=vvtest
            export LD_PRELOAD=$drv/vvtest_drmshim.so${LD_PRELOAD:+:$LD_PRELOAD}
            export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
            opts="$opts,render-node=/dev/null"
        fi
        ;;
    *)
        echo "# ERROR: BACKEND must be auto, libavcodec, vaapi or cuda," \
             "not '$BACKEND'" >&2
        return 1
        ;;
    esac
    export VIRTIO_VIDEO_DEVICE_OPTS=$opts
    [ -z "$BACKEND" ] || echo "# device backend: $BACKEND (-device ...$opts)"
}
