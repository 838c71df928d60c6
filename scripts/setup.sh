#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs everything the CASIO kernel build, QEMU boot and userspace crates
# need. Idempotent: checks first, installs only what is missing.
#
# Env: CASIO_RUST_TOOLCHAIN (default 1.62.0), CASIO_BINDGEN_VERSION (0.56.0),
#      KERNEL_SRC / KERNEL_TARBALL (if set, linux-source-6.1 is not installed).
set -euo pipefail
# Parse the whole script before running it, so editing it (git pull) during a
# long build cannot break the running instance.
{
. "$(dirname "$0")/lib.sh"

did=()

# ---- 1. Debian packages ------------------------------------------------------
debs=(
	make gcc libc6-dev patch quilt rsync flex bison bc cpio xz-utils gzip kmod
	libelf-dev libssl-dev
	clang lld llvm libclang-dev
	ccache
	qemu-system-x86 busybox-static
	cbindgen
	ca-certificates curl
)
if [ -z "${KERNEL_SRC:-}" ] && [ -z "${KERNEL_TARBALL:-}" ]; then
	debs+=(linux-source-6.1)
fi
mapfile -t missing < <(missing_debs "${debs[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	apt_install "${missing[@]}"
	did+=("apt: ${missing[*]}")
else
	log "apt packages: all ${#debs[@]} present"
fi

# ---- 2. Rust toolchains ---------------------------------------------------------
# Default toolchain: for the project's userspace crates (cargo test, guest
# binaries). Pinned toolchain: only for the kernel build.
if ! command -v cargo >/dev/null 2>&1; then
	die "cargo not found (expected rustup's default toolchain in $CARGO_HOME/bin)"
fi

rustup_ok=0
if command -v rustup >/dev/null 2>&1; then
	tc="$CASIO_RUST_TOOLCHAIN"
	if ! rustup toolchain list 2>/dev/null | grep -q "^$tc-"; then
		log "rustup toolchain install $tc"
		if rustup toolchain install "$tc" --profile minimal --no-self-update; then
			did+=("rustup: toolchain $tc")
		else
			warn "rustup could not install toolchain $tc"
		fi
	fi
	if rustup toolchain list 2>/dev/null | grep -q "^$tc-"; then
		installed=$(rustup component list --installed --toolchain "$tc" 2>/dev/null || true)
		need=()
		for c in rust-src rustfmt clippy; do
			grep -q "^$c" <<<"$installed" || need+=("$c")
		done
		if [ ${#need[@]} -gt 0 ]; then
			log "rustup component add ${need[*]} --toolchain $tc"
			rustup component add "${need[@]}" --toolchain "$tc" || die "rustup component add failed"
			did+=("rustup: components ${need[*]} for $tc")
		fi
		rustup_ok=1
	fi
fi
if [ "$rustup_ok" -eq 0 ]; then
	warn "rustup toolchain $CASIO_RUST_TOOLCHAIN unavailable: falling back to Debian's rustc (newer than the kernel's pin)"
	mapfile -t missing < <(missing_debs rustc rust-src rustfmt bindgen)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}"
		did+=("apt (fallback toolchain): ${missing[*]}")
	fi
fi

# ---- 3. bindgen (pinned) ------------------------------------------------------------
if [ "$rustup_ok" -eq 1 ]; then
	if "$CARGO_HOME/bin/bindgen" --version 2>/dev/null | grep -q " $CASIO_BINDGEN_VERSION\$"; then
		:
	else
		log "cargo install --locked bindgen --version $CASIO_BINDGEN_VERSION (about 2 minutes)"
		# Use the default toolchain's cargo: the pinned 1.62 cargo cannot read
		# the current registry index format.
		cargo install --locked --force bindgen --version "$CASIO_BINDGEN_VERSION" \
			|| die "cargo install bindgen $CASIO_BINDGEN_VERSION failed"
		did+=("cargo install: bindgen $CASIO_BINDGEN_VERSION")
	fi
fi

# ---- 4. Report versions ---------------------------------------------------------
find_kernel_toolchain || die "kernel Rust toolchain (rustc $CASIO_RUST_TOOLCHAIN + bindgen) not found after setup"
v() { "$@" 2>&1 | head -n 1; }
log "kernel toolchain: $(v "$K_RUSTC" --version) | $(v "$K_BINDGEN" --version) | rust-src: $(
	[ -d "$("$K_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core" ] && echo yes || echo MISSING)"
log "default toolchain: $(v rustc --version) | $(v cargo --version)"
log "clang: $(v clang --version) | ld.lld: $(v ld.lld --version)"
log "qemu: $(v qemu-system-x86_64 --version) | busybox: $(v busybox | cut -d' ' -f1-2) | ccache: $(v ccache --version)"
[ -d "$("$K_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core" ] ||
	die "rust-src is missing for $K_RUSTC"

if [ ${#did[@]} -eq 0 ]; then
	log "setup: nothing to do, everything present"
else
	for d in "${did[@]}"; do log "setup: installed $d"; done
fi
exit
}
