#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the CASIO kernel (bzImage) for the QEMU guest.
#
#  1. find the kernel source: $KERNEL_SRC (unpacked tree), $KERNEL_TARBALL, or
#     /usr/src/linux-source-$KERNEL.tar.xz (Debian's linux-source-$KERNEL,
#     installed with apt if missing; KERNEL is the base, default 6.1), or
#     for a base whose linux-source is in another Debian suite (7.3:
#     trixie-backports) $CASIO_CACHE/src/linux-source-$KERNEL.tar.xz,
#     fetched there if missing (scripts/lib.sh, fetch_kernel_source);
#  2. keep a pristine copy and a patched source mirror in
#     $CASIO_CACHE/linux-<version>/ and apply patches/<base>/series to it so that only
#     files whose content changed get a new mtime (incremental rebuilds);
#  3. configure an out-of-tree build dir: tinyconfig + config/qemu-x86_64.config
#     + Kconfig.fragment (+ config/debug.config and debug-<base>.config when
#     DEBUG=1), olddefconfig, and
#     verify that every requested option made it into .config;
#  4. make LLVM=1 bzImage (LLVM=-19 for 7.3: the base's clang, kernel_pins)
#     with the Rust toolchain the base pins (scripts/lib.sh, kernel_pins)
#     and ccache.
#
# Env: KERNEL (the base, default 6.1; KERNEL_SRC or KERNEL_TARBALL, if given,
#      decide the base instead: their Makefile's version), KERNEL_SRC,
#      KERNEL_TARBALL, CASIO_CACHE (default ~/.cache/casio),
#      DEBUG=0|1, CASIO=n (the stock kernel: no series, no CASIO options;
#      bzImage.<base>-stock-<flavor>), CASIO=off (the series applied but every
#      CONFIG_SCHED_CASIO_* option off, to measure what the series costs
#      tasks that never use CASIO; bzImage.<base>-off-<flavor>), JOBS (default
#      nproc), ALLOW_MISSING_CASIO=1 (tolerate a
#      missing CONFIG_SCHED_CASIO_POLICY), CASIO_CCACHE=0 (no ccache),
#      PATCH_FUZZ (default 0), CASIO_RESYNC=1 (re-create the patched mirror),
#      CASIO_PATCHES_DIR (default patches/<base>/, <base> the tree's major.minor),
#      KCONFIG_ONLY=1 (stop after config).
# Output: $CASIO_CACHE/bzImage.<base>-<flavor> and config.<base>-<flavor>
# (e.g. bzImage.6.1-debug); for CASIO=y also bzImage.<base> (the latest
# CASIO build of the base) and bzImage (the latest of any base).
set -euo pipefail
# Parse the whole script before running it, so editing it (git pull) during a
# long build cannot break the running instance.
{
CASIO_TAG=kernel
. "$(dirname "$0")/lib.sh"

DEBUG="${DEBUG:-0}"
JOBS="${JOBS:-$(nproc)}"
PATCH_FUZZ="${PATCH_FUZZ:-0}"
case "$DEBUG" in 1|y|yes|on|true) DEBUG=1; flavor=debug ;; *) DEBUG=0; flavor=base ;; esac
# CASIO=n builds the reference kernel: the same base, config and toolchain
# without the series and its options (flavor stock-base or stock-debug), in
# a source mirror of its own, for "is it CASIO's fault?" comparisons.
# CASIO=off builds the same patched tree as CASIO=y (same source mirror)
# with every CONFIG_SCHED_CASIO_* option off (flavor off-base or off-debug):
# the "=n" side of the overhead benchmark (bench/overhead.sh).
case "${CASIO:-y}" in
n|no|0|false) CASIO=n; flavor="stock-$flavor" ;;
off) CASIO=off; flavor="off-$flavor" ;;
*) CASIO=y ;;
esac

mkdir -p "$CASIO_CACHE"

# ---- 1. kernel source ----------------------------------------------------------------
kernel=$(selected_kernel)
src_kind= origin= version= extracted=
if [ -n "${KERNEL_SRC:-}" ]; then
	[ -f "$KERNEL_SRC/Makefile" ] && [ -d "$KERNEL_SRC/kernel/sched" ] ||
		die "KERNEL_SRC=$KERNEL_SRC is not a Linux source tree (no Makefile or kernel/sched/)"
	KERNEL_SRC=$(cd "$KERNEL_SRC" && pwd -P)
	src_kind=tree
	origin="tree:$KERNEL_SRC"
	version=$(tree_version "$KERNEL_SRC") || die "cannot read the version from $KERNEL_SRC/Makefile"
else
	tarball="${KERNEL_TARBALL:-}"
	if [ -z "$tarball" ]; then
		kernel_pins "$kernel" || die "KERNEL=$kernel: no Rust toolchain pins for linux $kernel (bases with pins: $CASIO_KERNELS)"
		if ! tarball=$(kernel_source_tarball "$kernel") && command -v apt-get >/dev/null 2>&1; then
			if [ -z "$K_SOURCE_SUITE" ]; then
				log "no kernel source given and /usr/src/linux-source-$kernel.tar.xz missing: installing Debian's linux-source-$kernel"
			else
				log "no kernel source given: fetching Debian's linux-source-$kernel from $K_SOURCE_SUITE into $CASIO_CACHE/src"
			fi
			fetch_kernel_source "$kernel" || true
			tarball=$(kernel_source_tarball "$kernel") || true
		fi
		[ -n "$tarball" ] && [ -f "$tarball" ] || die "no kernel source found. Set KERNEL_SRC=/path/to/linux-$kernel (an unpacked tree), or KERNEL_TARBALL=/path/to/linux-$kernel.y.tar.xz, or $(
			if [ -z "$K_SOURCE_SUITE" ]; then
				echo "install Debian's package linux-source-$kernel (provides /usr/src/linux-source-$kernel.tar.xz)."
			else
				echo "run KERNEL=$kernel scripts/setup.sh, which fetches Debian's linux-source-$kernel from $K_SOURCE_SUITE (to $CASIO_CACHE/src/linux-source-$kernel.tar.xz)."
			fi)"
	fi
	[ -f "$tarball" ] || die "KERNEL_TARBALL=$tarball: no such file"
	tarball=$(cd "$(dirname "$tarball")" && pwd -P)/$(basename "$tarball")
	src_kind=tarball
	origin="tarball:$tarball:$(stat -c '%s:%Y' "$tarball")"
	idx="$CASIO_CACHE/sources.idx"
	version=$(awk -v o="$origin" '$1 == o { v = $2 } END { print v }' "$idx" 2>/dev/null || true)
	if [ -z "$version" ]; then
		extracted="$CASIO_CACHE/.extract.$$"
		rm -rf "$extracted"; mkdir -p "$extracted"
		trap 'rm -rf "$extracted"' EXIT
		mkdir -p "$CASIO_CACHE/logs"
		run_step "extract $(basename "$tarball")" "$CASIO_CACHE/logs/extract.log" \
			tar -xf "$tarball" -C "$extracted" || die "cannot extract $tarball"
		top=$(find "$extracted" -mindepth 1 -maxdepth 1 -type d)
		[ "$(printf '%s\n' "$top" | wc -l)" -eq 1 ] && [ -f "$top/Makefile" ] ||
			die "$tarball does not contain a single top-level kernel directory"
		version=$(tree_version "$top") || die "cannot read the kernel version from $tarball"
		echo "$origin $version" >>"$idx"
	fi
fi
# The series and the toolchain of the tree's base (major.minor): patches/<base>/.
base=$(echo "$version" | cut -d. -f1-2)
if [ "$base" != "$kernel" ] && [ -n "${KERNEL:-}" ]; then
	warn "KERNEL=$KERNEL, but the source given is linux $version: building base $base (bzImage.$base-$flavor)"
fi
find_kernel_toolchain "$base" || die "kernel Rust toolchain of linux $base not found (rustc ${K_TOOLCHAIN:-?} via rustup, bindgen ${K_BINDGEN_VERSION:-?}): run KERNEL=$base scripts/setup.sh (make setup KERNEL=$base)"
command -v "ld.lld${K_LLVM_VERSION:+-$K_LLVM_VERSION}" >/dev/null && command -v "$K_CLANG" >/dev/null ||
	die "$K_CLANG or ld.lld${K_LLVM_VERSION:+-$K_LLVM_VERSION} not found (linux $base builds with LLVM=$K_LLVM): run KERNEL=$base scripts/setup.sh (make setup KERNEL=$base)"
log "linux $base: rustc $K_TOOLCHAIN ($K_RUSTC), bindgen $K_BINDGEN_VERSION ($K_BINDGEN), LLVM=$K_LLVM"
if [ -z "${CASIO_PATCHES_DIR:-}" ] && [ "${CASIO:-y}" != n ] && [ ! -f "$CASIO_ROOT/patches/$base/series" ]; then
	die "no CASIO series for linux $base (patches/$base/); supported bases: $(cd "$CASIO_ROOT/patches" && ls -d */ | tr -d / | tr '\n' ' ')"
fi

KDIR="$CASIO_CACHE/linux-$version"
PRISTINE="$KDIR/pristine"
# The stock kernel keeps its own mirror (src-stock), so that switching
# between the two does not rebuild everything that the series touches.
msfx=; [ "$CASIO" = n ] && msfx=-stock
SRC="$KDIR/src$msfx"
BUILD="$KDIR/build-$flavor"
LOGF="$KDIR/build-$flavor.log"
mkdir -p "$KDIR" "$BUILD"
exec 9>"$KDIR/.lock"
if ! flock -n 9; then
	log "another build holds $KDIR/.lock; waiting"
	flock 9
fi
[ -f "$LOGF" ] && mv -f "$LOGF" "$LOGF.prev"
: >"$LOGF"
log "linux $version ($src_kind) -> $KDIR, flavor=$flavor"

# Pristine copy of the unpatched source.
full_resync=0
[ "${CASIO_RESYNC:-0}" = 1 ] && full_resync=1
if [ "$src_kind" = tree ]; then
	# Cheap when unchanged (size+mtime quick check); any change -> full resync.
	changed=$(rsync -a --delete --exclude=/.git --out-format='%n' "$KERNEL_SRC/" "$PRISTINE/" | head -n 5)
	if [ -n "$changed" ]; then
		full_resync=1
		if [ -e "$PRISTINE/.config" ] || [ -d "$PRISTINE/include/config" ]; then
			warn "KERNEL_SRC has build artifacts; cleaning the copy (make mrproper). Run 'make mrproper' in KERNEL_SRC to avoid this."
			make -s -C "$PRISTINE" mrproper >>"$LOGF" 2>&1 || die "make mrproper failed in $PRISTINE"
		fi
	fi
	echo "$origin" >"$KDIR/pristine.origin"
elif [ "$(cat "$KDIR/pristine.origin" 2>/dev/null)" != "$origin" ] || [ ! -f "$PRISTINE/Makefile" ]; then
	if [ -z "$extracted" ]; then
		extracted="$CASIO_CACHE/.extract.$$"
		rm -rf "$extracted"; mkdir -p "$extracted"
		trap 'rm -rf "$extracted"' EXIT
		run_step "extract $(basename "$tarball")" "$LOGF" tar -xf "$tarball" -C "$extracted" ||
			die "cannot extract $tarball"
	fi
	rm -rf "$PRISTINE"
	mv "$(find "$extracted" -mindepth 1 -maxdepth 1 -type d)" "$PRISTINE"
	echo "$origin" >"$KDIR/pristine.origin"
	full_resync=1
fi
[ -n "$extracted" ] && rm -rf "$extracted"

# ---- 2. patches --------------------------------------------------------------------------
SERIES_DIR="${CASIO_PATCHES_DIR:-$CASIO_ROOT/patches/$base}"
SERIES="$SERIES_DIR/series"
patches=() strips=()
if [ -s "$SERIES" ]; then
	while read -r name opt _; do
		[ -n "$name" ] || continue
		p=1
		case "${opt:-}" in -p[0-9]*) p=${opt#-p} ;; esac
		[ -f "$SERIES_DIR/$name" ] || die "${SERIES#"$CASIO_ROOT"/} lists '$name' but $SERIES_DIR/$name does not exist"
		patches+=("$name"); strips+=("$p")
	done < <(sed -e 's/#.*//' "$SERIES")
fi
if [ "$CASIO" = n ]; then
	patches=() strips=()
	log "CASIO=n: the stock kernel, without the series"
elif [ "$CASIO" = off ]; then
	[ ${#patches[@]} -gt 0 ] || die "CASIO=off needs the patch series (patches/series is missing or empty)"
	log "CASIO=off: patch series of ${#patches[@]} patches, every CONFIG_SCHED_CASIO_* option off"
elif [ ${#patches[@]} -eq 0 ]; then
	log "NOTE: ${SERIES#"$CASIO_ROOT"/} is missing or empty: building the kernel without CASIO patches"
else
	log "patch series: ${#patches[@]} patches"
fi

# Files a patch touches (paths relative to the tree), from its diff headers.
touched_files() { # patchfile strip
	awk -v strip="$2" '
	function out(p,   i) {
		sub(/\t.*/, "", p)
		if (p == "/dev/null" || p == "") return
		for (i = 0; i < strip; i++) sub(/^[^\/]*\//, "", p)
		if (p ~ /^\// || p ~ /(^|\/)\.\.(\/|$)/) { print "unsafe path in patch: " p > "/dev/stderr"; exit 2 }
		print p
	}
	/^diff --git / { a = $3; b = $4; sub(/^a\//, "", a); sub(/^b\//, "", b); print a; print b; prev = ""; next }
	/^\+\+\+ / && prev ~ /^--- / { out(substr(prev, 5)); out(substr($0, 5)) }
	{ prev = $0 }' "$1"
}

apply_series() { # dir
	local i pf out
	for i in "${!patches[@]}"; do
		pf="$SERIES_DIR/${patches[$i]}"
		if ! out=$(patch -d "$1" -p"${strips[$i]}" --forward --batch --fuzz="$PATCH_FUZZ" \
			--no-backup-if-mismatch --reject-file=- <"$pf" 2>&1); then
			printf '%s\n' "$out" >&2
			if grep -q 'Reversed (or previously applied) patch detected' <<<"$out"; then
				echo "[kernel] hint: the base tree already contains this change: KERNEL_SRC/KERNEL_TARBALL must be an unpatched $base.y tree" >&2
			fi
			die "patch ${patches[$i]} (#$((i + 1)) in ${SERIES#"$CASIO_ROOT"/}) does not apply to linux $version"
		fi
		printf '%s\n' "$out" >>"$LOGF"
		if grep -q '^Hunk .* succeeded at .*fuzz' <<<"$out"; then
			warn "patch ${patches[$i]} applied with fuzz"
		fi
	done
}

new_touched="$SRC.touched.new"
: >"$new_touched"
for i in "${!patches[@]}"; do
	touched_files "$SERIES_DIR/${patches[$i]}" "${strips[$i]}" >>"$new_touched" ||
		die "cannot parse patches/${patches[$i]}"
done
sort -u -o "$new_touched" "$new_touched"

STAGE="$KDIR/stage"
rm -rf "$STAGE"
if [ "$full_resync" = 1 ] || [ ! -f "$SRC.touched" ] || [ -e "$SRC.dirty" ] || [ ! -f "$SRC/Makefile" ]; then
	# Full path: stage = pristine + series, then copy into the mirror only the
	# files whose content differs (rsync --checksum without -t keeps mtimes of
	# unchanged files), deleting files that are gone.
	log "staging pristine + series (full)"
	cp -a --reflink=auto "$PRISTINE" "$STAGE"
	apply_series "$STAGE"
	touch "$SRC.dirty"
	if [ ! -d "$SRC" ]; then
		# First time: the staged tree becomes the mirror (everything is new anyway).
		mv "$STAGE" "$SRC"
		log "source mirror created: pristine + ${#patches[@]} patches"
	else
		log "preparing patched source mirror (full sync)"
		nchg=$(rsync -rlp --checksum --delete --out-format='%n' "$STAGE/" "$SRC/" | grep -vc '/$' || true)
		log "source mirror synced: $nchg files updated"
	fi
else
	# Fast path: stage only the files the new series touches, apply the series
	# there, then update each file touched by the old or the new series.
	mkdir -p "$STAGE"
	while IFS= read -r f; do
		if [ -e "$PRISTINE/$f" ] || [ -L "$PRISTINE/$f" ]; then
			mkdir -p "$STAGE/$(dirname "$f")"
			cp -a "$PRISTINE/$f" "$STAGE/$f"
		fi
	done <"$new_touched"
	apply_series "$STAGE"
	touch "$SRC.dirty"
	nchg=0
	while IFS= read -r f; do
		want=
		if [ -e "$STAGE/$f" ]; then want="$STAGE/$f"
		elif grep -qxF -- "$f" "$new_touched"; then want=
		elif [ -e "$PRISTINE/$f" ]; then want="$PRISTINE/$f"
		fi
		if [ -n "$want" ]; then
			if [ -d "$want" ]; then continue; fi
			if [ ! -f "$SRC/$f" ] || ! cmp -s "$want" "$SRC/$f"; then
				mkdir -p "$SRC/$(dirname "$f")"
				cp "$want" "$SRC/$f.casio-tmp" && mv -f "$SRC/$f.casio-tmp" "$SRC/$f"
				nchg=$((nchg + 1)); echo "updated $f" >>"$LOGF"
			fi
			chmod --reference="$want" "$SRC/$f"
		elif [ -e "$SRC/$f" ] && [ ! -d "$SRC/$f" ]; then
			rm -f "$SRC/$f"; nchg=$((nchg + 1)); echo "removed $f" >>"$LOGF"
			d=$(dirname "$f")
			while [ "$d" != . ] && rmdir "$SRC/$d" 2>/dev/null; do d=$(dirname "$d"); done
		fi
	done < <(sort -u "$new_touched" "$SRC.touched")
	log "source mirror: $nchg files changed by the series update"
fi
mv -f "$new_touched" "$SRC.touched"
rm -f "$SRC.dirty"
rm -rf "$STAGE"

# ---- 3. configuration -------------------------------------------------------------------
kernel_make_cmd "$SRC" "$BUILD" || die "kernel Rust toolchain of linux $base not found: run KERNEL=$base scripts/setup.sh"
MK=("${KMAKE[@]}")

# The kernel's own check of the Rust toolchain (rustc/bindgen versions, rust-src).
if ! ra=$("${MK[@]}" -s rustavailable 2>&1); then
	printf '%s\n' "$ra" >&2
	die "make LLVM=$K_LLVM rustavailable failed with rustc $K_TOOLCHAIN and bindgen $K_BINDGEN_VERSION: run KERNEL=$base scripts/setup.sh (make setup KERNEL=$base)"
fi
log "rustavailable: $(printf '%s' "$ra" | grep -v '^\*\*\*$' | tr '\n' ' ' | sed 's/\*\*\* //g' | cut -c1-160)"

fragments=("$CASIO_ROOT/config/qemu-x86_64.config" "$CASIO_ROOT/Kconfig.fragment")
if [ "$CASIO" = n ]; then
	# Kconfig.fragment without the options the series adds.
	grep -v '^CONFIG_SCHED_CASIO_' "$CASIO_ROOT/Kconfig.fragment" >"$KDIR/Kconfig.stock"
	fragments=("$CASIO_ROOT/config/qemu-x86_64.config" "$KDIR/Kconfig.stock")
elif [ "$CASIO" = off ]; then
	# Kconfig.fragment with every option of the series requested off; the
	# verification below checks that none of them is set.
	sed -E 's/^(CONFIG_SCHED_CASIO_[A-Za-z0-9_]+)=.*$/# \1 is not set/' \
		"$CASIO_ROOT/Kconfig.fragment" >"$KDIR/Kconfig.off"
	grep -q '^# CONFIG_SCHED_CASIO_POLICY is not set$' "$KDIR/Kconfig.off" ||
		die "Kconfig.fragment does not set CONFIG_SCHED_CASIO_POLICY: cannot build CASIO=off"
	fragments=("$CASIO_ROOT/config/qemu-x86_64.config" "$KDIR/Kconfig.off")
fi
# What differs by base (options renamed between releases): config/base-<base>.config.
[ -f "$CASIO_ROOT/config/base-$base.config" ] &&
	fragments=("${fragments[0]}" "$CASIO_ROOT/config/base-$base.config" "${fragments[@]:1}")
[ "$DEBUG" = 1 ] && fragments+=("$CASIO_ROOT/config/debug.config")
# Debug options of one base (7.3: KUnit, which runs the class's Rust tests).
[ "$DEBUG" = 1 ] && [ -f "$CASIO_ROOT/config/debug-$base.config" ] &&
	fragments+=("$CASIO_ROOT/config/debug-$base.config")
for f in "${fragments[@]}"; do [ -f "$f" ] || die "config fragment $f missing"; done

[ -f "$BUILD/.config" ] && cp -p "$BUILD/.config" "$BUILD/.config.prev"
do_config() {
	"${MK[@]}" tinyconfig || return 1
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "${fragments[@]}" || return 1
	"${MK[@]}" olddefconfig || return 1
}
run_step "config: tinyconfig + $(for f in "${fragments[@]}"; do printf '%s ' "${f#"$CASIO_ROOT"/}"; done)" "$LOGF" \
	do_config || die "kernel configuration failed"

# Options a base no longer has: config/base-<base>.config lists them as
# "# gone: CONFIG_FOO ..." (no "# CONFIG_" at the start of the line, which
# merge_config.sh would take for a setting), and they are not verified,
# whatever the other fragments ask. A "gone" option that the tree's Kconfig
# still defines is an error of that file.
mapfile -t gone < <(cat "${fragments[@]}" | sed -nE 's/^# gone: (CONFIG_[A-Za-z0-9_]+).*$/\1/p' | sort -u)
if [ ${#gone[@]} -gt 0 ]; then
	re=$(printf '%s\n' "${gone[@]#CONFIG_}" | paste -sd '|')
	still=$(find "$SRC" -name 'Kconfig*' -type f -print0 |
		xargs -0 grep -hoE "^[[:space:]]*(menu)?config[[:space:]]+($re)[[:space:]]*$" |
		awk '{ print "CONFIG_" $2 }' | sort -u | tr '\n' ' ' || true)
	[ -z "$still" ] || die "config/base-$base.config lists as gone what linux $version still has: $still"
fi

# Verify: the last fragment that mentions a symbol decides what is requested.
missing=() casio_missing=0
while IFS=' ' read -r sym want; do
	if [ "$want" = "n" ]; then
		if grep -q "^$sym=" "$BUILD/.config"; then missing+=("$sym (requested off, is $(grep "^$sym=" "$BUILD/.config"))"); fi
	elif ! grep -qxF -- "$sym=$want" "$BUILD/.config"; then
		got=$(grep -E "^(# )?${sym}[= ]" "$BUILD/.config" || echo "absent")
		if [ "$sym" = CONFIG_SCHED_CASIO_POLICY ]; then casio_missing=1; fi
		missing+=("$sym=$want (got: $got)")
	fi
done < <(cat "${fragments[@]}" | sed -nE 's/^(CONFIG_[A-Za-z0-9_]+)=(.*)$/\1 \2/p; s/^# (CONFIG_[A-Za-z0-9_]+) is not set$/\1 n/p' |
	awk -v gone=" ${gone[*]} " 'index(gone, " " $1 " ") { next }
	     { v[$1] = $2; if (!($1 in o)) { o[$1] = n++ ; k[o[$1]] = $1 } } END { for (i = 0; i < n; i++) print k[i], v[k[i]] }')
nreq=$(cat "${fragments[@]}" | sed -nE 's/^(# )?(CONFIG_[A-Za-z0-9_]+)(=.*| is not set)$/\2/p' |
	awk -v gone=" ${gone[*]} " '!index(gone, " " $1 " ")' | wc -l)
if [ ${#missing[@]} -gt 0 ]; then
	printf '[kernel] requested option not in the final .config: %s\n' "${missing[@]}" >&2
	if printf '%s\n' "${missing[@]}" | grep -q '^CONFIG_RUST='; then
		echo "[kernel] CONFIG_RUST did not stick; 'make rustavailable' says:" >&2
		"${MK[@]}" rustavailable >&2 || true
	fi
	# Only options of the series missing (every CONFIG_SCHED_CASIO_*)?
	others=$(printf '%s\n' "${missing[@]}" | grep -vc '^CONFIG_SCHED_CASIO_' || true)
	if [ "$others" = 0 ] && [ "$casio_missing" = 1 ] && [ "${ALLOW_MISSING_CASIO:-0}" = 1 ]; then
		warn "the CASIO options do not exist in this tree (are the CASIO patches in patches/series?); continuing because ALLOW_MISSING_CASIO=1"
	else
		[ "$casio_missing" = 1 ] && echo "[kernel] CONFIG_SCHED_CASIO_POLICY comes from the CASIO patches (patches/series); CASIO=n builds the stock kernel, ALLOW_MISSING_CASIO=1 tolerates a tree without them" >&2
		die "${#missing[@]} requested config option(s) missing (see above; full log: $LOGF)"
	fi
else
	log "config verified: all $nreq requested options set as asked${gone[0]:+ (gone in linux $base, not verified: ${gone[*]})}"
fi
if [ -f "$BUILD/.config.prev" ] && cmp -s "$BUILD/.config" "$BUILD/.config.prev"; then
	touch -r "$BUILD/.config.prev" "$BUILD/.config"   # unchanged: keep the old mtime
else
	log "config changed since the last build"
fi
rm -f "$BUILD/.config.prev" "$BUILD/.config.old"
if [ "${KCONFIG_ONLY:-0}" = 1 ]; then
	log "KCONFIG_ONLY=1: stopping after the configuration ($BUILD/.config)"
	exit 0
fi

# ---- 4. build ----------------------------------------------------------------------------------
BZ="$BUILD/arch/x86/boot/bzImage"
before=$(stat -c %Y.%s "$BZ" 2>/dev/null || echo none)
ccache_counts() { # "hits misses" of our ccache dir
	ccache --print-stats 2>/dev/null | awk -F'\t' '
		/^(direct|preprocessed)_cache_hit\t/ { h += $2 } /^cache_miss\t/ { m += $2 }
		END { print h + 0, m + 0 }'
}
[ -n "${CCACHE_DIR:-}" ] && read -r cc_h0 cc_m0 < <(ccache_counts)
run_step "make LLVM=$K_LLVM -j$JOBS bzImage ($flavor)" "$LOGF" "${MK[@]}" -j"$JOBS" bzImage ||
	die "kernel build failed (full log: $LOGF)"
[ -f "$BZ" ] || die "build finished but $BZ is missing"
after=$(stat -c %Y.%s "$BZ")
[ "$before" = "$after" ] && log "bzImage up to date (nothing rebuilt)"
if [ -n "${CCACHE_DIR:-}" ]; then
	read -r cc_h1 cc_m1 < <(ccache_counts)
	log "ccache (this build): $((cc_h1 - cc_h0)) hits, $((cc_m1 - cc_m0)) misses ($CCACHE_DIR)"
fi
# Named by base and flavor, so that the kernels of different bases do not
# replace each other. The stock and off kernels are only for comparisons:
# "the latest build" of the base (bzImage.<base>) and of any base
# (bzImage) stays CASIO's.
out="$CASIO_CACHE/bzImage.$base-$flavor"
ln -sfn "$BZ" "$out"
if [ "$CASIO" = y ]; then
	ln -sfn "$BZ" "$CASIO_CACHE/bzImage.$base"
	ln -sfn "$BZ" "$CASIO_CACHE/bzImage"
fi
cp -f "$BUILD/.config" "$CASIO_CACHE/config.$base-$flavor"
log "bzImage: $BZ"
log "linked as $out$([ "$CASIO" = y ] && echo ", $CASIO_CACHE/bzImage.$base and $CASIO_CACHE/bzImage"); config: $CASIO_CACHE/config.$base-$flavor"
exit
}
