#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Installs everything the CASIO kernel build, QEMU boot and userspace crates
# need. Idempotent: checks first, installs only what is missing.
#
# Env: KERNEL (the kernel base to install for, default 6.1; "all" = every
#      base with toolchain pins), KERNELS (several bases, e.g. "6.1 6.12";
#      wins over KERNEL), CASIO_RUST_TOOLCHAIN / CASIO_BINDGEN_VERSION
#      (override the pins of scripts/lib.sh, kernel_pins), KERNEL_SRC /
#      KERNEL_TARBALL (if set, no linux-source-<base> is installed or
#      fetched), CASIO_LLVM_VERSION (override the base's clang-N; see
#      kernel_pins), CASIO_DEBIAN_MIRROR (the Debian archive to fetch a
#      linux-source-<base> of another suite from; default: the system's).
set -euo pipefail
# Parse the whole script before running it, so editing it (git pull) during a
# long build cannot break the running instance.
{
. "$(dirname "$0")/lib.sh"

did=()

# The kernel bases to install for.
bases=()
for k in ${KERNELS:-${KERNEL:-6.1}}; do
	if [ "$k" = all ]; then
		# shellcheck disable=SC2206
		bases+=($CASIO_KERNELS)
		continue
	fi
	[[ "$k" =~ ^[0-9]+\.[0-9]+$ ]] || die "kernel base '$k': expected a major.minor version such as 6.1, or all"
	bases+=("$k")
done
mapfile -t bases < <(printf '%s\n' "${bases[@]}" | awk '!seen[$0]++')
[ ${#bases[@]} -gt 0 ] || die "no kernel base selected (KERNEL=${KERNEL:-}, KERNELS=${KERNELS:-})"
for b in "${bases[@]}"; do
	kernel_pins "$b" || die "no Rust toolchain pins for linux $b (bases with pins: $CASIO_KERNELS)"
done
log "kernel bases: ${bases[*]}"

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
# The LLVM of each base (kernel_pins: Debian's default clang above, or a
# versioned clang-N, lld-N, ...), and its source: Debian's linux-source-<base>
# from the system's suites, or (K_SOURCE_SUITE) fetched below.
fetch=()
for b in "${bases[@]}"; do
	kernel_pins "$b"
	# shellcheck disable=SC2206
	debs+=($K_LLVM_DEBS)
	if [ -n "${KERNEL_SRC:-}" ] || [ -n "${KERNEL_TARBALL:-}" ]; then
		continue
	elif [ -z "$K_SOURCE_SUITE" ]; then
		debs+=("linux-source-$b")
	else
		debs+=(debian-archive-keyring)
		fetch+=("$b")
	fi
done
mapfile -t debs < <(printf '%s\n' "${debs[@]}" | awk '!seen[$0]++')
mapfile -t missing < <(missing_debs "${debs[@]}")
if [ ${#missing[@]} -gt 0 ]; then
	apt_install "${missing[@]}"
	did+=("apt: ${missing[*]}")
else
	log "apt packages: all ${#debs[@]} present"
fi
for b in "${fetch[@]}"; do
	kernel_pins "$b"
	if t=$(kernel_source_tarball "$b"); then
		log "linux $b source: $t"
		continue
	fi
	fetch_kernel_source "$b" || die "cannot fetch linux-source-$b from $K_SOURCE_SUITE (log: $CASIO_CACHE/logs/apt.log)"
	did+=("linux-source-$b from $K_SOURCE_SUITE: $(kernel_source_tarball "$b")")
done

# ---- 2. Rust toolchains ---------------------------------------------------------
# Default toolchain: for the project's userspace crates (cargo test, guest
# binaries). Pinned toolchains, one per kernel base: only for the kernel build.
if ! command -v cargo >/dev/null 2>&1; then
	die "cargo not found (expected rustup's default toolchain in $CARGO_HOME/bin)"
fi

# install_rustup_toolchain TC COMPONENTS...: returns 1 if rustup cannot.
install_rustup_toolchain() {
	local tc=$1 installed c need=(); shift
	command -v rustup >/dev/null 2>&1 || return 1
	if ! rustup toolchain list 2>/dev/null | grep -q "^$tc-"; then
		log "rustup toolchain install $tc"
		if rustup toolchain install "$tc" --profile minimal --no-self-update; then
			did+=("rustup: toolchain $tc")
		else
			warn "rustup could not install toolchain $tc"
			return 1
		fi
	fi
	installed=$(rustup component list --installed --toolchain "$tc" 2>/dev/null || true)
	for c in "$@"; do
		grep -q "^$c" <<<"$installed" || need+=("$c")
	done
	if [ ${#need[@]} -gt 0 ]; then
		log "rustup component add ${need[*]} --toolchain $tc"
		rustup component add "${need[@]}" --toolchain "$tc" || die "rustup component add failed"
		did+=("rustup: components ${need[*]} for $tc")
	fi
}

fallback=0
for b in "${bases[@]}"; do
	kernel_pins "$b"
	# shellcheck disable=SC2086
	if ! install_rustup_toolchain "$K_TOOLCHAIN" $K_RUST_COMPONENTS; then
		warn "linux $b: rustup toolchain $K_TOOLCHAIN unavailable: falling back to Debian's rustc (not the kernel's pin)"
		fallback=1
		continue
	fi

	# ---- 3. bindgen (pinned), one install root per version -----------------------------
	if ! pinned_bindgen >/dev/null; then
		mkdir -p "$K_BINDGEN_ROOT"
		root=$(cd "$K_BINDGEN_ROOT" && pwd -P)
		log "linux $b: cargo install --locked --root $root $K_BINDGEN_CRATE --version $K_BINDGEN_VERSION (about 2 minutes)"
		# The default toolchain's cargo (the pinned ones may not read the
		# current registry index format), run outside the checkout so that
		# no toolchain file there selects another.
		(cd "$root" && cargo install --locked --force --root "$root" \
			"$K_BINDGEN_CRATE" --version "$K_BINDGEN_VERSION") ||
			die "cargo install $K_BINDGEN_CRATE $K_BINDGEN_VERSION failed"
		pinned_bindgen >/dev/null ||
			die "$K_BINDGEN_ROOT/bin/bindgen does not report version $K_BINDGEN_VERSION"
		did+=("cargo install: $K_BINDGEN_CRATE $K_BINDGEN_VERSION (bindgen for linux $b)")
	fi
done
if [ "$fallback" = 1 ]; then
	mapfile -t missing < <(missing_debs rustc rust-src rustfmt bindgen)
	if [ ${#missing[@]} -gt 0 ]; then
		apt_install "${missing[@]}"
		did+=("apt (fallback toolchain): ${missing[*]}")
	fi
fi

# ---- 4. Report versions ---------------------------------------------------------
v() { "$@" 2>&1 | head -n 1; }
for b in "${bases[@]}"; do
	find_kernel_toolchain "$b" ||
		die "kernel Rust toolchain of linux $b (rustc $K_TOOLCHAIN + bindgen $K_BINDGEN_VERSION) not found after setup"
	srcdir="$("$K_RUSTC" --print sysroot)/lib/rustlib/src/rust/library/core"
	log "linux $b kernel toolchain: $(v "$K_RUSTC" --version) | $(v "$K_BINDGEN" --version) ($K_BINDGEN) | rust-src: $(
		[ -d "$srcdir" ] && echo yes || echo MISSING)"
	[ -d "$srcdir" ] || die "rust-src is missing for $K_RUSTC"
done
log "default toolchain: $(v rustc --version) | $(v cargo --version)"
for b in "${bases[@]}"; do
	kernel_pins "$b"
	sfx=${K_LLVM_VERSION:+-$K_LLVM_VERSION}
	log "linux $b LLVM (LLVM=$K_LLVM): $(v "$K_CLANG" --version) | ld.lld: $(v "ld.lld$sfx" --version) | libclang: $(llvm_libdir || echo '?')"
done
log "qemu: $(v qemu-system-x86_64 --version) | busybox: $(v busybox | cut -d' ' -f1-2) | ccache: $(v ccache --version)"

if [ ${#did[@]} -eq 0 ]; then
	log "setup: nothing to do, everything present"
else
	for d in "${did[@]}"; do log "setup: installed $d"; done
fi
exit
}
