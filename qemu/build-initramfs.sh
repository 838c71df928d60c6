#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the guest initramfs (newc cpio, gzip): static busybox with all its
# applets, qemu/init as /init, and the guest programs from $GUEST_BIN_DIR
# (scripts/build-guest.sh) in /bin.
# Env: CASIO_CACHE, GUEST_BIN_DIR (default $CASIO_CACHE/guest-bin),
#      INITRAMFS (output, default $CASIO_CACHE/initramfs.cpio.gz),
#      BUSYBOX (default: the static busybox from Debian's busybox-static).
set -euo pipefail
CASIO_TAG=initramfs
. "$(dirname "$0")/../scripts/lib.sh"

GUEST_BIN_DIR="${GUEST_BIN_DIR:-$CASIO_CACHE/guest-bin}"
INITRAMFS="${INITRAMFS:-$CASIO_CACHE/initramfs.cpio.gz}"
BUSYBOX="${BUSYBOX:-}"
if [ -z "$BUSYBOX" ]; then
	for b in /bin/busybox /usr/bin/busybox; do
		[ -x "$b" ] && { BUSYBOX=$b; break; }
	done
fi
[ -x "${BUSYBOX:-}" ] || die "busybox not found: run scripts/setup.sh (Debian package busybox-static)"
if LC_ALL=C readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'Requesting program interpreter' ||
	ldd "$BUSYBOX" 2>/dev/null | grep -q '=>'; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi
for t in cpio gzip; do command -v $t >/dev/null || die "$t not found: run scripts/setup.sh"; done

root=$(mktemp -d "${TMPDIR:-/tmp}/casio-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,etc,run}
cp "$BUSYBOX" "$root/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
install -m 0755 "$CASIO_ROOT/qemu/init" "$root/init"
install -m 0755 "$CASIO_ROOT/qemu/suite" "$root/bin/casio-suite"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'export PS1="casio-guest:\\w# "\n' >"$root/etc/profile"
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$root/dev/console" c 5 1
	mknod -m 666 "$root/dev/null" c 1 3
fi

n=0
if [ -d "$GUEST_BIN_DIR" ]; then
	for f in "$GUEST_BIN_DIR"/*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		install -m 0755 "$f" "$root/bin/$(basename "$f")"
		n=$((n + 1))
	done
fi
[ "$n" -gt 0 ] || log "NOTE: no guest programs in $GUEST_BIN_DIR (only busybox)"

mkdir -p "$(dirname "$INITRAMFS")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) |
	gzip -n -6 >"$INITRAMFS.tmp"
mv -f "$INITRAMFS.tmp" "$INITRAMFS"
log "initramfs: $INITRAMFS ($(du -k "$INITRAMFS" | cut -f1) KiB, busybox + $n guest programs: $(
	ls "$root/bin" | grep -E '^casio-' | tr '\n' ' '))"
