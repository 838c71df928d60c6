#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks that the CASIO uapi is usable from user space C with only the
# installed kernel headers: installs the headers of the patched tree and
# builds the example program of Documentation/scheduler/sched-casio.rst.
# The tree is KDIR, or the cache's tree of the base KERNEL (default 6.1).
set -euo pipefail
CASIO_TAG=uapi
. "$(dirname "$0")/lib.sh"

kernel_kdir
SRC="$KDIR/src"
[ -f "$SRC/Makefile" ] || die "no patched kernel tree in $KDIR (run scripts/build-kernel.sh first)"
work=$(mktemp -d "${TMPDIR:-/tmp}/casio-uapi.XXXXXX")
trap 'rm -rf "$work"' EXIT

make -s -C "$SRC" O="$work/obj" ARCH=x86_64 INSTALL_HDR_PATH="$work/usr" headers_install >"$work/hdr.log" 2>&1 ||
	{ tail -n 20 "$work/hdr.log"; die "headers_install failed"; }

# The example is the literal block after the "Example" heading.
awk '/^Example$/ { ex = 1; next } ex && /^[^ ]/ && !/^=+$/ && !/^::$/ { exit } ex && /^  / { print substr($0, 3); next } ex && /^$/ { print }' \
	"$CASIO_ROOT/rust_casio/docs/sched-casio.rst" >"$work/example.c"
[ -s "$work/example.c" ] || die "no example program found in sched-casio.rst"
cc -std=gnu11 -Wall -Werror -nostdinc -isystem "$work/usr/include" \
	-isystem "$(cc -print-file-name=include)" -isystem /usr/include/x86_64-linux-gnu -isystem /usr/include \
	-o "$work/example" "$work/example.c" 2>&1 || die "the documented example does not build against the installed headers"
grep -q 'SCHED_CASIO' "$work/usr/include/linux/sched.h" || die "SCHED_CASIO missing from the installed linux/sched.h"
grep -q 'struct sched_casio_param' "$work/usr/include/linux/sched/types.h" ||
	die "struct sched_casio_param missing from the installed linux/sched/types.h"
log "uapi: the documented example builds against the installed headers"
