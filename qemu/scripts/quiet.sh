#!/bin/bash
# Run a command with its output in a log; show the log's end if it fails.
#
#   qemu/scripts/quiet.sh LOG COMMAND...
#
# SPDX-License-Identifier: GPL-2.0-or-later
log=$1
shift
mkdir -p "$(dirname "$log")"
if ! "$@" > "$log" 2>&1; then
    grep -v -e '^\[[0-9]*/[0-9]*\] ' "$log" | tail -n 40 >&2
    echo "error: '$*' failed (full log: $log)" >&2
    exit 1
fi
