#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Review checks on the patch series, run on the patched and built tree:
#  - scripts/checkpatch.pl --strict on every patch: no ERROR or WARNING;
#    a CHECK is accepted only if the patch's message explains it;
#  - make rustfmtcheck: the Rust in the tree is rustfmt-clean;
#  - a CLIPPY=1 build of the CASIO class (and the Rust it depends on).
# Needs a tree built by scripts/build-kernel.sh: KDIR, or the cache's tree
# of the base KERNEL (default 6.1); DEBUG selects the object tree.
set -euo pipefail
CASIO_TAG=patches
. "$(dirname "$0")/lib.sh"

DEBUG="${DEBUG:-1}"
flavor=$([ "$DEBUG" = 1 ] && echo debug || echo base)
kernel_kdir
SRC="$KDIR/src" BUILD="$KDIR/build-$flavor"
base=$(basename "$KDIR" | sed -E 's/^linux-([0-9]+\.[0-9]+).*/\1/')
[ -f "$BUILD/.config" ] || die "no built tree at $BUILD (run KERNEL=$base DEBUG=$DEBUG scripts/build-kernel.sh first)"

[ -d "$CASIO_ROOT/patches/$base" ] || die "no CASIO series for linux $base (patches/$base/)"
find_kernel_toolchain "$base" || die "kernel Rust toolchain of linux $base not found (run scripts/setup.sh)"

fail=0
cd "$SRC"  # checkpatch reads its data files from the tree
for p in "$CASIO_ROOT/patches/$base"/*.patch; do
	out=$("$SRC/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types "$p" 2>&1 || true)
	bad=$(grep -E '^(ERROR|WARNING):' <<<"$out" || true)
	checks=$(grep -E '^CHECK:' <<<"$out" || true)
	if [ -n "$bad" ]; then
		echo "$out"; warn "checkpatch: $(basename "$p") has errors or warnings"; fail=1
	elif [ -n "$checks" ] && ! sed -n '1,/^---$/p' "$p" | grep -qi checkpatch; then
		echo "$out"; warn "checkpatch: $(basename "$p") has CHECKs its message does not explain"; fail=1
	else
		log "checkpatch: $(basename "$p"): clean${checks:+ (CHECKs explained in the message)}"
	fi
done

kernel_make_cmd "$SRC" "$BUILD" || die "kernel Rust toolchain of linux $base not found (run scripts/setup.sh)"
if "${KMAKE[@]}" -s rustfmtcheck >"$KDIR/rustfmtcheck.log" 2>&1; then
	log "rustfmtcheck: clean"
else
	head -n 40 "$KDIR/rustfmtcheck.log"; warn "make rustfmtcheck reports differences"; fail=1
fi

# The series applies with git am to the pristine tree of its base, and
# goes through git and back unchanged: --export makes a branch of one
# commit per patch, --import --check compares it with rust_casio/. The
# tree holds only the files the series touches, which is all git am needs,
# and .gitattributes, which tells git how to name the functions in hunks.
rt=$(mktemp -d)
(cd "$KDIR/pristine" && { grep -h '^--- a/' "$CASIO_ROOT/patches/$base"/*.patch | sed 's|^--- a/||'
	[ -f .gitattributes ] && echo .gitattributes; } | sort -u | xargs cp --parents -t "$rt")
if python3 "$CASIO_ROOT/scripts/gen-series.py" --base "$base" --export "$rt" >"$KDIR/roundtrip.log" 2>&1 &&
	python3 "$CASIO_ROOT/scripts/gen-series.py" --base "$base" --import "$rt" --check >>"$KDIR/roundtrip.log" 2>&1; then
	log "series $base: applies with git am, and exports to git and imports back unchanged"
else
	cat "$KDIR/roundtrip.log"; warn "series $base: the git round trip failed"; fail=1
fi
rm -rf "$rt"

# clippy-driver outside rustup finds its sysroot through SYSROOT. The class
# and the Rust it depends on are rebuilt with clippy, and again with rustc by
# the next kernel build (kbuild sees the changed command lines).
# Only the class's own findings count: the kernel crate it depends on may
# bring some of its own (7.3's rust/kernel/cpufreq.rs has one).
rm -f "$BUILD/kernel/sched/casio/sched_casio.o"
if SYSROOT=$("$K_RUSTC" --print sysroot) "${KMAKE[@]}" -s CLIPPY=1 kernel/sched/casio/sched_casio.o \
	>"$KDIR/clippy.log" 2>&1; then
	findings=$(awk '/^(warning|error)/ { w = $0; next }
		w != "" && /^ *--> / { if ($2 ~ /kernel\/sched\/casio\//) print w " (" $2 ")"; w = "" }' \
		"$KDIR/clippy.log")
	if [ -z "$findings" ]; then
		others=$(grep -c '^ *--> ' "$KDIR/clippy.log" || true)
		log "clippy: the CASIO class builds clean with CLIPPY=1${others:+ ($others findings outside it)}"
	else
		echo "$findings"; warn "CLIPPY=1 build of the class is not clean (log: $KDIR/clippy.log)"; fail=1
	fi
else
	head -n 60 "$KDIR/clippy.log"; warn "CLIPPY=1 build of the class failed"; fail=1
fi

[ "$fail" = 0 ] || die "patch review checks failed"
log "patch review checks passed"
