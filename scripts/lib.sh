# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the CASIO build scripts. Source it, don't run it.
# shellcheck shell=bash

CASIO_ROOT="${CASIO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CASIO_CACHE="${CASIO_CACHE:-$HOME/.cache/casio}"
# The kernel bases that have toolchain pins (kernel_pins), for KERNEL=all.
CASIO_KERNELS="6.1 6.12 7.3"
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
case ":$PATH:" in *":$CARGO_HOME/bin:"*) ;; *) PATH="$CARGO_HOME/bin:$PATH" ;; esac
export CASIO_ROOT CASIO_CACHE PATH

_casio_t0=$SECONDS
_casio_tag="${CASIO_TAG:-$(basename "$0" .sh)}"

log()  { printf '[%s %s] %s\n' "$_casio_tag" "$(elapsed $((SECONDS - _casio_t0)))" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$_casio_tag" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$_casio_tag" "$*" >&2; exit 1; }

elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# run_step "description" LOGFILE cmd args...
# Runs a long command with its output appended to LOGFILE, printing a progress
# line (elapsed time + last log line) every CASIO_PROGRESS seconds. On failure
# prints the last 60 log lines and returns the command's status.
run_step() {
	local desc=$1 logf=$2; shift 2
	local t0=$SECONDS every="${CASIO_PROGRESS:-30}" rc=0 pid ticker
	log "$desc ... (log: $logf)"
	printf '\n===== %s: %s\n===== %s\n' "$(date -u +%FT%TZ)" "$desc" "$*" >>"$logf"
	"$@" >>"$logf" 2>&1 &
	pid=$!
	# The ticker's sleep must not hold our stdout (a pipe reader would wait
	# for it) nor the caller's lock fd 9.
	(
		while sleep "$every" </dev/null >/dev/null 2>&1 9>&-; do
			kill -0 "$pid" 2>/dev/null || exit 0
			last=$(tail -n 1 "$logf" 2>/dev/null | cut -c1-100)
			printf '[%s]   ... %s: %s elapsed | %s\n' "$_casio_tag" "$desc" \
				"$(elapsed $((SECONDS - t0)))" "$last"
		done
	) 9>&- &
	ticker=$!
	wait "$pid" || rc=$?
	kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
	if [ "$rc" -ne 0 ]; then
		printf '[%s] FAILED (exit %d) after %s: %s\n' "$_casio_tag" "$rc" \
			"$(elapsed $((SECONDS - t0)))" "$desc" >&2
		printf -- '----- last 60 lines of %s -----\n' "$logf" >&2
		tail -n 60 "$logf" >&2
		printf -- '----- end of log tail -----\n' >&2
		return "$rc"
	fi
	log "$desc done in $(elapsed $((SECONDS - t0)))"
}

# version_lt A B: true if version A sorts before version B.
version_lt() {
	[ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

# kernel_pins BASE: the Rust toolchain that the kernel base BASE (major.minor)
# pins in its scripts/min-tool-version.sh. Sets K_TOOLCHAIN (rustup
# toolchain), K_RUST_COMPONENTS, K_BINDGEN_VERSION, K_BINDGEN_CRATE (the crate
# with the bindgen binary) and K_BINDGEN_ROOT (its `cargo install --root`, one
# per version so that versions do not overwrite each other).
# CASIO_RUST_TOOLCHAIN and CASIO_BINDGEN_VERSION override the pins of
# whatever base is selected. Returns 1 for a base without pins.
#
# It also sets the LLVM of the base and where its source comes from:
#   K_LLVM_VERSION  Debian's versioned clang-N that the base needs, or empty
#                   for Debian's default clang (clang 14 on Debian 12);
#                   CASIO_LLVM_VERSION overrides it
#   K_LLVM          kbuild's LLVM= value: 1, or the suffix -N
#   K_CLANG         the clang binary (clang or clang-N)
#   K_LLVM_DEBS     the Debian packages of that LLVM (setup installs them)
#   K_SOURCE_SUITE  the Debian suite with linux-source-BASE when the
#                   system's own suites lack it (fetched into the cache,
#                   fetch_kernel_source), or empty (apt-get install)
kernel_pins() {
	local tc= bg= llvm= suite=
	case "$1" in
	6.1) tc=1.62.0 bg=0.56.0 ;;
	6.12) tc=1.78.0 bg=0.65.1 ;;
	# LLVM >= 17.0.1: Debian 12's clang-19.
	7.3) tc=1.85.0 bg=0.71.1 llvm=19 suite=trixie-backports ;;
	esac
	K_TOOLCHAIN=${CASIO_RUST_TOOLCHAIN:-$tc}
	K_BINDGEN_VERSION=${CASIO_BINDGEN_VERSION:-$bg}
	K_RUST_COMPONENTS="rust-src rustfmt clippy"
	K_LLVM_VERSION=${CASIO_LLVM_VERSION:-$llvm}
	if [ -n "$K_LLVM_VERSION" ]; then
		K_LLVM=-$K_LLVM_VERSION
		K_CLANG=clang-$K_LLVM_VERSION
		K_LLVM_DEBS="clang-$K_LLVM_VERSION lld-$K_LLVM_VERSION llvm-$K_LLVM_VERSION libclang-$K_LLVM_VERSION-dev"
	else
		K_LLVM=1
		K_CLANG=clang
		K_LLVM_DEBS="clang lld llvm libclang-dev"
	fi
	K_SOURCE_SUITE=$suite
	[ -n "$K_TOOLCHAIN" ] && [ -n "$K_BINDGEN_VERSION" ] || return 1
	# From 0.64.0 on, bindgen's command line is the crate bindgen-cli.
	if version_lt "$K_BINDGEN_VERSION" 0.64.0; then
		K_BINDGEN_CRATE=bindgen
	else
		K_BINDGEN_CRATE=bindgen-cli
	fi
	K_BINDGEN_ROOT=$CASIO_CACHE/tools/bindgen-$K_BINDGEN_VERSION
}

# llvm_libdir: prints the library directory of the LLVM that kernel_pins
# selected (where its libclang is), from its llvm-config; returns 1 if that
# llvm-config is missing.
llvm_libdir() {
	local lc=llvm-config${K_LLVM_VERSION:+-$K_LLVM_VERSION}
	command -v "$lc" >/dev/null 2>&1 || return 1
	"$lc" --libdir
}

# pinned_bindgen: prints the path of a bindgen of exactly K_BINDGEN_VERSION
# (kernel_pins first): the one in K_BINDGEN_ROOT, or one that an earlier
# setup installed in $CARGO_HOME/bin. Returns 1 if there is none.
pinned_bindgen() {
	local b
	for b in "$K_BINDGEN_ROOT/bin/bindgen" "$CARGO_HOME/bin/bindgen"; do
		if [ -x "$b" ] && "$b" --version 2>/dev/null | grep -q " $K_BINDGEN_VERSION\$"; then
			printf '%s\n' "$b"
			return 0
		fi
	done
	return 1
}

# find_kernel_toolchain BASE: locates the kernel-build Rust toolchain of the
# kernel base BASE (pinned, separate from the default toolchain that the
# project's userspace crates use). Sets K_RUSTC, K_RUSTDOC, K_RUSTFMT,
# K_CLIPPY, K_CARGO, K_BINDGEN (and what kernel_pins sets). Returns 1 if not
# found.
find_kernel_toolchain() {
	local rc base=${1:?find_kernel_toolchain: no kernel base}
	K_RUSTC= K_RUSTDOC= K_RUSTFMT= K_CLIPPY= K_CARGO= K_BINDGEN=
	if ! kernel_pins "$base"; then
		warn "no Rust toolchain pins for linux $base (bases with pins: $CASIO_KERNELS; or set CASIO_RUST_TOOLCHAIN and CASIO_BINDGEN_VERSION)"
		return 1
	fi
	if command -v rustup >/dev/null 2>&1 &&
		rc=$(rustup which --toolchain "$K_TOOLCHAIN" rustc 2>/dev/null) && [ -x "$rc" ]; then
		local bin; bin=$(dirname "$rc")
		K_RUSTC=$rc
		K_RUSTDOC=$bin/rustdoc
		K_RUSTFMT=$bin/rustfmt
		K_CLIPPY=$bin/clippy-driver
		K_CARGO=$bin/cargo
	elif [ -x /usr/bin/rustc ]; then
		# Fallback: Debian's rustc (1.63 on Debian 12; the kernel warns
		# it is newer, or refuses it if it is older than the base's pin).
		K_RUSTC=/usr/bin/rustc K_RUSTDOC=/usr/bin/rustdoc K_RUSTFMT=/usr/bin/rustfmt
		K_CLIPPY=/usr/bin/clippy-driver K_CARGO=/usr/bin/cargo
	else
		return 1
	fi
	if K_BINDGEN=$(pinned_bindgen); then
		:
	elif command -v bindgen >/dev/null 2>&1; then
		# Another version (Debian's fallback): make rustavailable judges it.
		K_BINDGEN=$(command -v bindgen)
	else
		return 1
	fi
	return 0
}

# tree_version DIR: the kernel version (6.1.192, ...) of the source tree DIR.
tree_version() {
	awk '/^VERSION *=/{v=$3} /^PATCHLEVEL *=/{p=$3} /^SUBLEVEL *=/{s=$3} /^EXTRAVERSION *=/{e=$3}
	     END{ if (v=="") exit 1; print v "." p "." s e }' "$1/Makefile"
}

# tree_base DIR: the kernel base (major.minor) of the source tree DIR.
tree_base() {
	local v
	v=$(tree_version "$1") || return 1
	echo "$v" | cut -d. -f1-2
}

# kernel_tree_dir BASE: prints the cache's directory of a tree of BASE,
# $CASIO_CACHE/linux-<version>, the most recently used one if the cache holds
# several versions of BASE. Returns 1 if there is none.
kernel_tree_dir() {
	local d
	d=$(ls -dt "$CASIO_CACHE/linux-$1".*/ 2>/dev/null | head -n 1)
	[ -n "$d" ] || return 1
	printf '%s\n' "${d%/}"
}

# selected_kernel: prints the one kernel base the scripts work on, KERNEL
# (default 6.1); dies if KERNEL is not a single major.minor.
selected_kernel() {
	local k=${KERNEL:-6.1}
	[[ "$k" =~ ^[0-9]+\.[0-9]+$ ]] || die "KERNEL=$k: expected one kernel base such as 6.1"
	printf '%s\n' "$k"
}

# kernel_kdir: sets KDIR, unless it is given, to the cache's tree of the
# base KERNEL (default 6.1); dies if there is none.
kernel_kdir() {
	local k
	if [ -n "${KDIR:-}" ]; then
		KDIR=${KDIR%/}
		return 0
	fi
	k=$(selected_kernel) || exit 1
	KDIR=$(kernel_tree_dir "$k") ||
		die "no linux $k tree in $CASIO_CACHE: run KERNEL=$k scripts/build-kernel.sh first"
}

# kernel_make_cmd SRC BUILD: sets the array KMAKE to the exact make invocation
# scripts/build-kernel.sh uses for the tree, with the toolchain of the tree's
# base. Anything else that runs make in a CASIO build tree should use it too:
# different CC/RUSTC/... values change the recorded command lines, and kbuild
# then rebuilds the affected objects. KMAKE starts with `env LIBCLANG_PATH=...`
# where the base's llvm-config is found: bindgen (clang-sys) otherwise loads
# the newest libclang installed, which need not be the base's.
kernel_make_cmd() {
	local base libdir
	base=$(tree_base "$1") || { warn "cannot read the kernel version of $1"; return 1; }
	find_kernel_toolchain "$base" || return 1
	KMAKE=()
	if libdir=$(llvm_libdir); then
		KMAKE=(env LIBCLANG_PATH="$libdir")
	else
		warn "llvm-config${K_LLVM_VERSION:+-$K_LLVM_VERSION} not found: bindgen picks a libclang itself"
	fi
	# LLVM=-N: clang-N, ld.lld-N, llvm-ar-N, ... (also as HOSTCC).
	KMAKE+=(make -C "$1" O="$2" ARCH=x86_64 LLVM="$K_LLVM"
		RUSTC="$K_RUSTC" HOSTRUSTC="$K_RUSTC" RUSTDOC="$K_RUSTDOC" RUSTFMT="$K_RUSTFMT"
		CLIPPY_DRIVER="$K_CLIPPY" BINDGEN="$K_BINDGEN" CARGO="$K_CARGO")
	if [ "${CASIO_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null 2>&1; then
		export CCACHE_DIR="${CCACHE_DIR:-$CASIO_CACHE/ccache}"
		export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
		# Not HOSTCC: from 6.12 on it is also rustc's linker for host programs.
		KMAKE+=(CC="ccache $K_CLANG")
	fi
}

# Missing Debian packages among "$@" (prints names, one per line).
missing_debs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

_casio_apt_updated=
apt_install() {
	[ $# -gt 0 ] || return 0
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	if [ -z "$_casio_apt_updated" ]; then
		log "apt-get update"
		$sudo apt-get update -qq || die "apt-get update failed"
		_casio_apt_updated=1
	fi
	log "apt-get install $*"
	mkdir -p "$CASIO_CACHE/logs"
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" \
		>>"$CASIO_CACHE/logs/apt.log" 2>&1; then
		tail -n 30 "$CASIO_CACHE/logs/apt.log" >&2
		die "apt-get install $* failed (log: $CASIO_CACHE/logs/apt.log)"
	fi
}

# debian_mirror_uri: prints the URI of the Debian archive that the system's
# apt sources use for its own release (deb822 .sources or one-line
# sources.list alike, as apt itself reads them), or CASIO_DEBIAN_MIRROR if
# set. Returns 1 if there is none.
debian_mirror_uri() {
	local codename='' uri
	if [ -n "${CASIO_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "${CASIO_DEBIAN_MIRROR%/}"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || return 1
	[ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	# The main archive: the suite that is the release itself (not -updates,
	# not the security archive); else the first that is not security's.
	# shellcheck disable=SC2016 # apt's format fields, not shell
	uri=$(apt-get indextargets --no-release-info --format '$(TARGET_OF) $(RELEASE) $(REPO_URI)' \
		'Identifier: Packages' 2>/dev/null | awk -v c="$codename" '
		$1 != "deb" { next }
		c != "" && $2 == c && !m { m = $3 }
		$2 !~ /security/ && $3 !~ /security/ && !f { f = $3 }
		END { if (m != "") print m; else if (f != "") print f; else exit 1 }') || return 1
	printf '%s\n' "${uri%/}"
}

# kernel_source_tarball BASE: prints the path of a linux-source-BASE tarball:
# Debian's installed one (/usr/src), else the one fetch_kernel_source left in
# the cache. Returns 1 if there is none.
kernel_source_tarball() {
	local t
	for t in "/usr/src/linux-source-$1.tar.xz" "$CASIO_CACHE/src/linux-source-$1.tar.xz"; do
		if [ -f "$t" ]; then
			printf '%s\n' "$t"
			return 0
		fi
	done
	return 1
}

# fetch_kernel_source BASE: provides Debian's linux-source-BASE tarball
# (kernel_pins BASE first; nothing to do if kernel_source_tarball finds it).
# A base whose source is in the system's suites is apt-get installed
# (/usr/src). One whose source is in another suite, K_SOURCE_SUITE, is
# downloaded with apt through a private sources list and state directory in
# $CASIO_CACHE/apt/<suite> (the archive is the system's, debian_mirror_uri),
# so that the system's sources, lists and package cache stay as they are.
# Nothing is installed: the .deb is unpacked and its tarball kept as
# $CASIO_CACHE/src/linux-source-BASE.tar.xz. Returns 1 if that fails.
fetch_kernel_source() {
	local base=$1 rc=0 lockfd
	kernel_source_tarball "$base" >/dev/null && return 0
	if [ -z "$K_SOURCE_SUITE" ]; then
		apt_install "linux-source-$base"
		return 0
	fi
	[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_install debian-archive-keyring
	mkdir -p "$CASIO_CACHE/apt" "$CASIO_CACHE/src" "$CASIO_CACHE/logs"
	# One fetch at a time (setup and a build may both want it).
	exec {lockfd}>"$CASIO_CACHE/apt/.lock-$K_SOURCE_SUITE"
	flock "$lockfd"
	kernel_source_tarball "$base" >/dev/null || _fetch_suite_source "$base" || rc=1
	exec {lockfd}>&-
	return "$rc"
}

_fetch_suite_source() {
	local base=$1 uri d opts debs tmp rc=0
	uri=$(debian_mirror_uri) || {
		warn "cannot find the Debian archive in the system's apt sources (set CASIO_DEBIAN_MIRROR to its URI)"
		return 1
	}
	d=$CASIO_CACHE/apt/$K_SOURCE_SUITE
	mkdir -p "$d/lists/partial" "$d/cache" "$d/deb"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $K_SOURCE_SUITE main" >"$d/sources.list"
	opts=(-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache")
	run_step "apt-get update ($K_SOURCE_SUITE, private lists)" "$CASIO_CACHE/logs/apt.log" \
		apt-get "${opts[@]}" update || return 1
	rm -f "$d/deb/"*.deb
	# About 170 MB.
	# shellcheck disable=SC2016 # the inner shell's arguments
	run_step "apt-get download linux-source-$base ($K_SOURCE_SUITE)" "$CASIO_CACHE/logs/apt.log" \
		bash -c 'cd "$1" && shift && exec apt-get "$@"' _ "$d/deb" "${opts[@]}" download "linux-source-$base" ||
		return 1
	debs=("$d/deb/linux-source-${base}_"*.deb)
	[ -f "${debs[0]}" ] || { warn "apt-get download left no linux-source-$base .deb in $d/deb"; return 1; }
	tmp=$CASIO_CACHE/src/.unpack.$$
	rm -rf "$tmp"
	run_step "dpkg-deb -x $(basename "${debs[0]}")" "$CASIO_CACHE/logs/apt.log" dpkg-deb -x "${debs[0]}" "$tmp" || rc=1
	if [ "$rc" = 0 ] && [ -f "$tmp/usr/src/linux-source-$base.tar.xz" ]; then
		mv -f "$tmp/usr/src/linux-source-$base.tar.xz" "$CASIO_CACHE/src/linux-source-$base.tar.xz"
		basename "${debs[0]}" .deb >"$CASIO_CACHE/src/linux-source-$base.package"
		log "linux-source-$base from $K_SOURCE_SUITE: $CASIO_CACHE/src/linux-source-$base.tar.xz ($(basename "${debs[0]}"))"
	else
		[ "$rc" = 0 ] && warn "$(basename "${debs[0]}") holds no usr/src/linux-source-$base.tar.xz"
		rc=1
	fi
	rm -rf "$tmp" "${debs[@]}"
	return "$rc"
}
