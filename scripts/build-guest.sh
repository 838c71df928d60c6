#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the static guest programs (cargo, default toolchain, crt-static) of
# the workspace members named in $GUEST_CRATES, in one `cargo build -p ...`
# at the repository root, and collects them in $GUEST_BIN_DIR (default
# $CASIO_CACHE/guest-bin) for qemu/build-initramfs.sh.
set -euo pipefail
CASIO_TAG=guest
. "$(dirname "$0")/lib.sh"

# The guest crates (workspace members, by directory): the test suites and
# demo, the casioctl tool, the benchmarks. A directory without a crate is
# skipped.
GUEST_CRATES="${GUEST_CRATES:-tests/guest tools/casioctl bench/guest}"
GUEST_BIN_DIR="${GUEST_BIN_DIR:-$CASIO_CACHE/guest-bin}"
TARGET="${GUEST_TARGET:-x86_64-unknown-linux-gnu}"
rm -rf "$GUEST_BIN_DIR"
mkdir -p "$GUEST_BIN_DIR"

pkgs=()
for crate in $GUEST_CRATES; do
	manifest="$CASIO_ROOT/$crate/Cargo.toml"
	if [ ! -f "$manifest" ]; then
		log "NOTE: no guest crate at $crate: skipped"
		continue
	fi
	name=$(sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$manifest" | head -n1)
	[ -n "$name" ] || die "no package name in $crate/Cargo.toml"
	pkgs+=(-p "$name")
done
[ "${#pkgs[@]}" -gt 0 ] || die "no guest crate found in: $GUEST_CRATES"

# --target keeps RUSTFLAGS away from build scripts and proc macros.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static"
mkdir -p "$CASIO_CACHE/logs"
json="$CASIO_CACHE/logs/guest-build.json"
log "cargo build --release --target $TARGET (crt-static) ${pkgs[*]}"
(cd "$CASIO_ROOT" && cargo build --release --target "$TARGET" "${pkgs[@]}" \
	--message-format=json-render-diagnostics) >"$json" || die "guest build failed (${pkgs[*]})"

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
