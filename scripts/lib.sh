# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the CASIO build scripts. Source it, don't run it.
# shellcheck shell=bash

CASIO_ROOT="${CASIO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CASIO_CACHE="${CASIO_CACHE:-$HOME/.cache/casio}"
# The kernel's scripts/min-tool-version.sh pins these for 6.1.
CASIO_RUST_TOOLCHAIN="${CASIO_RUST_TOOLCHAIN:-1.62.0}"
CASIO_BINDGEN_VERSION="${CASIO_BINDGEN_VERSION:-0.56.0}"
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

# Locates the kernel-build Rust toolchain (pinned, separate from the default
# toolchain that the project's userspace crates use). Sets K_RUSTC, K_RUSTDOC,
# K_RUSTFMT, K_CLIPPY, K_CARGO, K_BINDGEN. Returns 1 if not found.
find_kernel_toolchain() {
	local rc
	K_RUSTC= K_RUSTDOC= K_RUSTFMT= K_CLIPPY= K_CARGO= K_BINDGEN=
	if command -v rustup >/dev/null 2>&1 &&
		rc=$(rustup which --toolchain "$CASIO_RUST_TOOLCHAIN" rustc 2>/dev/null) && [ -x "$rc" ]; then
		local bin; bin=$(dirname "$rc")
		K_RUSTC=$rc
		K_RUSTDOC=$bin/rustdoc
		K_RUSTFMT=$bin/rustfmt
		K_CLIPPY=$bin/clippy-driver
		K_CARGO=$bin/cargo
	elif [ -x /usr/bin/rustc ]; then
		# Fallback: Debian's rustc (1.63 on Debian 12; the kernel warns it is newer).
		K_RUSTC=/usr/bin/rustc K_RUSTDOC=/usr/bin/rustdoc K_RUSTFMT=/usr/bin/rustfmt
		K_CLIPPY=/usr/bin/clippy-driver K_CARGO=/usr/bin/cargo
	else
		return 1
	fi
	if [ -x "$CARGO_HOME/bin/bindgen" ] &&
		"$CARGO_HOME/bin/bindgen" --version 2>/dev/null | grep -q " $CASIO_BINDGEN_VERSION\$"; then
		K_BINDGEN=$CARGO_HOME/bin/bindgen
	elif command -v bindgen >/dev/null 2>&1; then
		K_BINDGEN=$(command -v bindgen)
	else
		return 1
	fi
	return 0
}

# kernel_make_cmd SRC BUILD: sets the array KMAKE to the exact make invocation
# scripts/build-kernel.sh uses for the tree. Anything else that runs make in a
# CASIO build tree should use it too: different CC/RUSTC/... values change the
# recorded command lines, and kbuild then rebuilds the affected objects.
kernel_make_cmd() {
	find_kernel_toolchain || return 1
	KMAKE=(make -C "$1" O="$2" ARCH=x86_64 LLVM=1
		RUSTC="$K_RUSTC" HOSTRUSTC="$K_RUSTC" RUSTDOC="$K_RUSTDOC" RUSTFMT="$K_RUSTFMT"
		CLIPPY_DRIVER="$K_CLIPPY" BINDGEN="$K_BINDGEN" CARGO="$K_CARGO")
	if [ "${CASIO_CCACHE:-1}" != 0 ] && command -v ccache >/dev/null 2>&1; then
		export CCACHE_DIR="${CCACHE_DIR:-$CASIO_CACHE/ccache}"
		export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
		# Not HOSTCC: from 6.12 on it is also rustc's linker for host programs.
		KMAKE+=(CC="ccache clang")
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
