#!/bin/bash
# Run every test of the project and print one TAP stream, ending with a
# "N passed, N failed" line.  Exits non-zero if anything failed; a group
# that executes no test (finds none, or skips them all) fails too.
#
#   tests/run-check.sh [group...]     groups: unit qtest cli guest deps
#                                     series
#                                     (default: all), media (decode-media
#                                     qtests only)
#
# VIRTIO_VIDEO_MEDIA names the folder of reference clips (default:
# ../shared/media next to the project); set it empty to run without.
#
# SPDX-License-Identifier: GPL-2.0-or-later
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
B=${VV_BUILD_DIR:-$top/build}
UNIT=${VV_UNIT_DIR:-$B/unit}
QEMU=$B/qemu-build/qemu-system-x86_64
QOS=$B/qemu-build/tests/qtest/qos-test
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(unit qtest cli guest deps series)

n=0 passed=0 failed=0 skipped=0

# The curated clips: decode tests compare every picture with them.
export VIRTIO_VIDEO_MEDIA=${VIRTIO_VIDEO_MEDIA-$top/../shared/media}
if [ -n "$VIRTIO_VIDEO_MEDIA" ] && [ ! -d "$VIRTIO_VIDEO_MEDIA" ]; then
    echo "# WARNING: media folder $VIRTIO_VIDEO_MEDIA does not exist:" \
         "the media decode tests will FAIL (set VIRTIO_VIDEO_MEDIA= to" \
         "skip them explicitly)"
fi

# Our VA-API test driver (tests/vadriver, built by make unit): the qtests of
# backend=vaapi load it through libva, with no GPU.
export VV_VADRIVER_DIR=${VV_VADRIVER_DIR-$UNIT/tests/vadriver}
# BACKEND= (make check-media): the default nodes' codec backend
. "$top/tests/backend-env.sh"
vv_backend_env "$UNIT" || exit 2

# Feed TAP from a command; renumber its results into ours.
# $1: label for a crash without a result line; rest: the command.
run_tap() {
    local label=$1 line rc seen=0 out
    shift
    out=$(mktemp)
    "$@" > "$out" 2>&1
    rc=$?
    while IFS= read -r line; do
        if [[ $line =~ ^(not )?ok\ [0-9]+\ ?(.*)$ ]]; then
            local rest=${BASH_REMATCH[2]}
            n=$((n + 1)); seen=$((seen + 1))
            if [ -n "${BASH_REMATCH[1]}" ]; then
                failed=$((failed + 1))
                echo "not ok $n $rest"
            else
                case "$rest" in
                *"# SKIP"*) skipped=$((skipped + 1)) ;;
                *) passed=$((passed + 1)) ;;
                esac
                echo "ok $n $rest"
            fi
        elif [[ $line == "Bail out!"* || $line == *ERROR:* ]]; then
            echo "# $line"
        fi
    done < "$out"
    if [ $rc != 0 ] && ! grep -q '^not ok' "$out"; then
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - $label exited with status $rc"
        tail -n 20 "$out" | sed 's/^/#   /'
    elif [ $seen = 0 ]; then
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - $label ran no test"
    fi
    rm -f "$out"
}

for g in "${groups[@]}"; do
    g_ran=$((passed + failed)) g_skipped=$skipped
    if [ -n "${VV_SANITIZE:-}" ]; then
        # LeakSanitizer on the engine's own tests only: QEMU under qtest
        # exits by being killed
        if [ "$g" = unit ]; then
            export ASAN_OPTIONS=detect_leaks=1
        else
            # a small quarantine: freed memory is reused soon enough for
            # cap-rss to see QEMU's resident size level off
            export ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=16
        fi
    fi
    case $g in
    unit)
        echo "# unit tests of the engine (standalone build in $UNIT)"
        for t in "$UNIT"/tests/unit/test-vv-*; do
            [ -f "$t" ] && [ -x "$t" ] || continue
            run_tap "$(basename "$t")" "$t" --tap
        done
        # the VA test driver checks itself through libva
        d=$UNIT/tests/vadriver
        LIBVA_DRIVERS_PATH=$d LIBVA_DRIVER_NAME=vvtest \
            LD_PRELOAD=$d/vvtest_drmshim.so \
            ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
            run_tap vvtest-probe "$d/vvtest-probe" --selftest
        # the engine's VP9 tests again on backend=vaapi, through that driver
        va=(env LIBVA_DRIVERS_PATH=$d LIBVA_DRIVER_NAME=vvtest
            LD_PRELOAD=$d/vvtest_drmshim.so
            ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
            VV_TEST_BACKEND=vaapi VV_TEST_RENDER_NODE=/dev/null)
        run_tap "test-vv-decode (vaapi)" "${va[@]}" \
            "$UNIT/tests/unit/test-vv-decode" --tap \
            -p /vv/decode/test-25fps.vp9.ivf \
            -p /vv/decode/vp90-2-10-show-existing-frame.vp9.ivf \
            -p /vv/decode/resolution_change_500frames-vp9.ivf \
            -p /vv/decode/client/test-25fps.vp9.ivf \
            -p /vv/decode/client/resolution_change_500frames-vp9.ivf \
            -p /vv/decode/frame-cap-vp9
        run_tap "test-vv-encode (vaapi)" "${va[@]}" \
            "$UNIT/tests/unit/test-vv-encode" --tap \
            -p /vv/encode/quality/VP9-NV12-320x240 \
            -p /vv/encode/quality/VP9-YVU420-320x240 \
            -p /vv/encode/cbr/VP9 -p /vv/encode/force-keyframe/VP9 \
            -p /vv/encode/migrate/VP9 -p /vv/encode/bitrate-change-vp9
        ;;
    qtest|media)
        echo "# qtests through virtqueues ($QOS), media: ${VIRTIO_VIDEO_MEDIA:-none}"
        if [ ! -x "$QOS" ] || [ ! -x "$QEMU" ]; then
            n=$((n + 1)); failed=$((failed + 1))
            echo "not ok $n - qos-test or qemu-system-x86_64 not built (run make)"
            continue
        fi
        # qos-test aborts while walking its graph if a node has too many
        # tests: then it lists none
        if ! list=$(QTEST_QEMU_BINARY=$QEMU "$QOS" -l 2>&1); then
            n=$((n + 1)); failed=$((failed + 1))
            echo "not ok $n - qos-test -l failed, no qtest listed"
            tail -n 5 <<<"$list" | sed 's/^/#   /'
        fi
        # GLib 2.84 (Debian 13) lists paths as TAP comments: "# /x86_64/..."
        paths=$(sed -n 's|^\(# \)\{0,1\}\(/[^ ]*virtio-video[^ ]*\)$|\2|p' \
                <<<"$list")
        if [ "$g" = media ]; then
            paths=$(grep 'decode-media/' <<<"$paths")
        fi
        for p in $paths; do
            QTEST_QEMU_BINARY=$QEMU run_tap "$p" timeout 600 "$QOS" --tap -p "$p"
        done
        # QEMU's own test of the shared-object table (qemu/patches/0002)
        if [ "$g" = qtest ]; then
            run_tap test-virtio-dmabuf "$B/qemu-build/tests/unit/test-virtio-dmabuf" --tap
        fi
        ;;
    cli)
        echo "# command line and properties"
        run_tap cli bash "$top/tests/cli/virtio-video-cli.sh" "$QEMU"
        ;;
    guest)
        echo "# guest boot tests: Debian kernel, guest/linux driver, device (TCG)"
        QEMU=$QEMU run_tap guest bash "$top/tests/guest/run-guest-tests.sh"
        ;;
    deps)
        echo "# every system header the build opened comes from deps.sh's packages"
        run_tap deps python3 "$top/tests/check-deps.py" "$B"
        ;;
    series)
        echo "# the QEMU series: MAINTAINERS lists every file it adds"
        run_tap series python3 "$top/tests/check-maintainers.py"
        ;;
    *)
        echo "run-check: unknown group $g" >&2
        exit 2
        ;;
    esac
    # a group that executed no test (none found, or all skipped) tested
    # nothing, whatever its commands said
    if [ $((passed + failed)) = "$g_ran" ]; then
        n=$((n + 1)); failed=$((failed + 1))
        echo "not ok $n - group $g executed no test" \
             "($((skipped - g_skipped)) skipped)"
    fi
done

echo "1..$n"
if [ $skipped -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ $failed = 0 ]
