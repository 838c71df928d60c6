#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# CASIO benchmarks, end to end:
#   1. build casio-bench (static) and an initramfs holding it,
#   2. boot the CASIO kernel in QEMU with casio.run=bench (casio-bench all),
#   3. run the host queue benchmark (bench/host),
#   4. render the report (bench/report/casio_report.py), with the stored
#      results of bench/overhead.sh if there are any.
#
#   bench/run.sh            full run (about 15 min in the guest); writes
#                           bench/REPORT.md, bench/plots/, bench/results/
#   bench/run.sh --quick    quick run (well under 3 min in the guest); writes
#                           the report to $BENCH_WORK/quick-report/ instead
#
# Env: CASIO_CACHE (default ~/.cache/casio), BZIMAGE (default
#      $CASIO_CACHE/bzImage.$KERNEL: the latest CASIO build of the base
#      KERNEL, default 6.1), BENCH_WORK (scratch, default $CASIO_CACHE/bench),
#      BENCH_OUT (report directory), QEMU_TIMEOUT (default 1500 s full,
#      600 s quick). Never builds a kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

quick=0
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
*) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

CASIO_CACHE="${CASIO_CACHE:-$HOME/.cache/casio}"
BZIMAGE="${BZIMAGE:-$CASIO_CACHE/bzImage.${KERNEL:-6.1}}"
BENCH_WORK="${BENCH_WORK:-$CASIO_CACHE/bench}"
if [ "$quick" = 1 ]; then
	BENCH_OUT="${BENCH_OUT:-$BENCH_WORK/quick-report}"
	QEMU_TIMEOUT="${QEMU_TIMEOUT:-600}"
	gargs=all,--quick
	hargs=(--quick)
else
	BENCH_OUT="${BENCH_OUT:-$here}"
	QEMU_TIMEOUT="${QEMU_TIMEOUT:-1500}"
	gargs=all
	hargs=()
fi
say() { echo "[bench] $*"; }
[ -f "$BZIMAGE" ] || { echo "bench: no kernel at $BZIMAGE (make kernel, or set BZIMAGE)" >&2; exit 1; }

mkdir -p "$BENCH_WORK/bin"
say "building casio-bench (static)"
(cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" \
	cargo build --release --target x86_64-unknown-linux-gnu -p casio-bench)
install -m 0755 "$root/target/x86_64-unknown-linux-gnu/release/casio-bench" "$BENCH_WORK/bin/casio-bench"
GUEST_BIN_DIR="$BENCH_WORK/bin" INITRAMFS="$BENCH_WORK/initramfs.cpio.gz" \
	bash "$root/qemu/build-initramfs.sh"

log="$BENCH_WORK/console.log"
say "booting $BZIMAGE: casio-bench $gargs (timeout ${QEMU_TIMEOUT}s, console: $log)"
t0=$SECONDS
judge=0
# tsc=reliable: under TCG the guest finds its vCPUs' TSCs unsynchronized
# and falls back to the HPET, which makes every clock read an emulated
# device access, a cost no machine with a usable TSC pays. The host's TSC
# is what the vCPUs read, so it is consistent; every policy runs in the
# same boot either way.
BZIMAGE="$BZIMAGE" INITRAMFS="$BENCH_WORK/initramfs.cpio.gz" CASIO_ARGS="$gargs" \
	QEMU_APPEND="tsc=reliable${QEMU_APPEND:+ $QEMU_APPEND}" \
	CONSOLE_LOG="$log" QEMU_TIMEOUT="$QEMU_TIMEOUT" bash "$root/qemu/run.sh" bench || judge=$?
say "guest run took $((SECONDS - t0)) s"
if ! grep -aq '^CASIO-BENCH-DONE' "$log"; then
	echo "bench: FAIL: the guest did not finish (no CASIO-BENCH-DONE in $log)" >&2
	exit 1
fi

say "host queue benchmark"
(cd "$root" && cargo run --release --quiet -p casio-queue-bench -- "${hargs[@]}") >"$BENCH_WORK/host-scaling.txt"

# Keep section 5 (bench/overhead.sh, two kernels) from its stored results.
oargs=()
[ -f "$BENCH_OUT/results/overhead.txt" ] && oargs=(--overhead "$BENCH_OUT/results/overhead.txt")
python3 "$here/report/casio_report.py" --guest "$log" --host "$BENCH_WORK/host-scaling.txt" \
	"${oargs[@]}" --out "$BENCH_OUT" --save-raw
if [ "$judge" != 0 ]; then
	echo "bench: FAIL: the guest run was judged failed (status $judge): see $log" >&2
	exit 1
fi
say "report: $BENCH_OUT/REPORT.md"
