#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks that the series is bisectable and applies with git am: in a
# scratch git tree of the pristine source, applies the patches one by one
# with `git am` and builds the kernel after each, with
# CONFIG_SCHED_CASIO_POLICY on and off (incrementally, one object tree per
# setting). Slow: about two full builds plus an incremental one per patch.
#   KERNEL (the base, default 6.1) or KDIR (its tree in the cache),
#   BISECT_CONFIGS="on off" (default), JOBS (default nproc)
set -euo pipefail
CASIO_TAG=bisect
. "$(dirname "$0")/lib.sh"

kernel_kdir
PRISTINE="$KDIR/pristine"
[ -f "$PRISTINE/Makefile" ] || die "no pristine tree in $KDIR (run scripts/build-kernel.sh first)"
WORK="$KDIR/bisect"
JOBS="${JOBS:-$(nproc)}"
base=$(basename "$KDIR" | sed -E 's/^linux-([0-9]+\.[0-9]+).*/\1/')
SERIES_DIR="$CASIO_ROOT/patches/$base"
[ -f "$SERIES_DIR/series" ] || die "no CASIO series for linux $base ($SERIES_DIR)"
find_kernel_toolchain "$base" || die "kernel Rust toolchain of linux $base not found (run scripts/setup.sh)"
mapfile -t patches < <(grep -v '^\s*#' "$SERIES_DIR/series" | sed '/^\s*$/d')

rm -rf "$WORK/src"
mkdir -p "$WORK"
cp -a --reflink=auto "$PRISTINE" "$WORK/src"
git -C "$WORK/src" init -q
git -C "$WORK/src" add -f -A >/dev/null
git -C "$WORK/src" -c user.name=casio -c user.email=casio@localhost commit -q -m base

mk() { # config-name target...
	local obj="$WORK/build-$1"; shift
	kernel_make_cmd "$WORK/src" "$obj" # the toolchain and ccache of the main build
	"${KMAKE[@]}" -j"$JOBS" "$@"
}

configure() { # on|off
	local obj="$WORK/build-$1"
	mkdir -p "$obj"
	mk "$1" tinyconfig >/dev/null
	frags=("$CASIO_ROOT/config/qemu-x86_64.config" "$CASIO_ROOT/Kconfig.fragment")
	KCONFIG_CONFIG="$obj/.config" "$WORK/src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		"$obj/.config" "${frags[@]}" >/dev/null
	mk "$1" olddefconfig >/dev/null
}

for i in "${!patches[@]}"; do
	p=${patches[$i]}
	git -C "$WORK/src" -c user.name=casio -c user.email=casio@localhost am -q "$SERIES_DIR/$p" ||
		die "git am failed on $p"
	for c in ${BISECT_CONFIGS:-on off}; do
		[ -f "$WORK/build-$c/.config" ] || configure "$c"
		# The option appears with the class patch; set it again every time.
		if [ "$c" = on ]; then
			"$WORK/src/scripts/config" --file "$WORK/build-$c/.config" -e SCHED_CASIO_POLICY
		else
			"$WORK/src/scripts/config" --file "$WORK/build-$c/.config" -d SCHED_CASIO_POLICY
		fi
		mk "$c" olddefconfig >/dev/null
		if grep -q '^config SCHED_CASIO_POLICY' "$WORK/src/init/Kconfig"; then
			want=$([ "$c" = on ] && echo y || echo n)
			have=$(grep -q '^CONFIG_SCHED_CASIO_POLICY=y' "$WORK/build-$c/.config" && echo y || echo n)
			[ "$want" = "$have" ] || die "CONFIG_SCHED_CASIO_POLICY is $have in the '$c' tree"
		fi
		run_step "patch $((i + 1))/${#patches[@]} $p, CASIO $c" "$WORK/build-$c.log" mk "$c" bzImage
	done
done
log "bisect: all ${#patches[@]} patches apply with git am and build with CASIO ${BISECT_CONFIGS:-on off}"
