#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the static guest programs of tests/guest (cargo, default toolchain,
# crt-static) and collects them in $GUEST_BIN_DIR (default
# $CASIO_CACHE/guest-bin) for qemu/build-initramfs.sh. Without a tests/guest
# crate it leaves the directory empty and says so.
set -euo pipefail
CASIO_TAG=guest
. "$(dirname "$0")/lib.sh"

# The guest crates, each built if present: the test suites and demo, the
# casioctl tool, the benchmarks.
GUEST_CRATES="${GUEST_CRATES:-tests/guest tools/casioctl bench/guest}"
GUEST_BIN_DIR="${GUEST_BIN_DIR:-$CASIO_CACHE/guest-bin}"
TARGET="${GUEST_TARGET:-x86_64-unknown-linux-gnu}"
rm -rf "$GUEST_BIN_DIR"
mkdir -p "$GUEST_BIN_DIR"

# --target keeps RUSTFLAGS away from build scripts and proc macros.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
mkdir -p "$CASIO_CACHE/logs"
json="$CASIO_CACHE/logs/guest-build.json"
: >"$json"
for crate in $GUEST_CRATES; do
	if [ ! -f "$CASIO_ROOT/$crate/Cargo.toml" ]; then
		log "NOTE: no guest crate at $crate: skipped"
		continue
	fi
	log "cargo build --release --target $TARGET (crt-static) in $crate"
	(cd "$CASIO_ROOT/$crate" && cargo build --release --target "$TARGET" \
		--message-format=json-render-diagnostics) >>"$json" || die "guest build failed in $crate"
done

n=0
while IFS= read -r exe; do
	[ -n "$exe" ] && [ -x "$exe" ] || continue
	if ! file_out=$(LC_ALL=C od -An -c -N4 "$exe" | tr -d ' ') || [ "$file_out" != '177ELF' ]; then
		continue
	fi
	cp -f "$exe" "$GUEST_BIN_DIR/"
	n=$((n + 1))
	log "guest program: $(basename "$exe") ($(du -k "$exe" | cut -f1) KiB)"
done < <(grep '"reason":"compiler-artifact"' "$json" | grep '"kind":\["bin"\]' |
	sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | sort -u)
[ "$n" -gt 0 ] || warn "the guest crate produced no binaries"
for want in casio-tests casio-demo; do
	[ -x "$GUEST_BIN_DIR/$want" ] || warn "no '$want' binary (casio.run=${want#casio-} will fail in the guest)"
done
log "$n guest programs in $GUEST_BIN_DIR"
