#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What the CASIO series costs tasks that never use CASIO: the same patched
# tree built with CONFIG_SCHED_CASIO_POLICY=y (BZIMAGE_ON) and =n
# (BZIMAGE_OFF, scripts/build-kernel.sh CASIO=off), booted alternately on
# this machine, each boot running `casio-bench overhead` (pipe ping-pong
# under FIFO and NORMAL, fork+exit+wait, hackbench's pattern).
#
#   bench/overhead.sh          full run: OVERHEAD_ROUNDS (default 2 with
#                              OVERHEAD_ICOUNT=1, else 16) boots of
#                              each kernel in ABBA order; writes
#                              bench/results/overhead.txt and re-renders
#                              bench/REPORT.md with the stored results
#   bench/overhead.sh --quick  one boot of each with `overhead --quick`; the
#                              report goes to $BENCH_WORK/overhead-quick-report/
#
# Round r boots y then n for even r and n then y for odd r (y n n y y n ...),
# so a slow drift of the machine's speed cancels out in the y/n ratio of a
# round. A boot fails the run if QEMU's console judge fails (splat, non-zero
# exit), if it does not print CASIO-BENCH-DONE, or if the kernel does not
# match its side (SCHED_CASIO present on y, absent on n).
#
# Env: CASIO_CACHE (default ~/.cache/casio), KERNEL (the base of the default
#      kernels, default 6.1), BZIMAGE_ON (default
#      $CASIO_CACHE/bzImage.$KERNEL-base), BZIMAGE_OFF (default
#      $CASIO_CACHE/bzImage.$KERNEL-off-base), OVERHEAD_ROUNDS, BENCH_WORK (scratch,
#      default $CASIO_CACHE/bench), BENCH_OUT (report directory),
#      QEMU_TIMEOUT (per boot; default 300 s full, 900 s with the
#      instruction count, 180 s quick),
#      CASIO_QEMU_LOCK (a lock file: each boot runs under `flock` on it, so
#      other QEMU users can take turns between boots), OVERHEAD_ICOUNT (1,
#      the default: QEMU counts instructions, -icount shift=OVERHEAD_SHIFT,
#      default 0, sleep=off, and the guest's clock follows them; 0: the
#      guest's clock is the host's). Never builds a kernel.
#
# With OVERHEAD_ICOUNT=1 the guest's clock advances by 2^shift ns per
# executed instruction (and jumps over idle time), so µs per operation
# measured in the guest is a count of instructions, the same whatever the
# host's load: one boot of each kernel decides what the wall clock of a
# shared host needs dozens of pairs for, and the control loop's y/n is 1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

quick=0
case "${1:-}" in
--quick) quick=1 ;;
"") ;;
*) echo "usage: bench/overhead.sh [--quick]" >&2; exit 2 ;;
esac

CASIO_CACHE="${CASIO_CACHE:-$HOME/.cache/casio}"
BZIMAGE_ON="${BZIMAGE_ON:-$CASIO_CACHE/bzImage.${KERNEL:-6.1}-base}"
BZIMAGE_OFF="${BZIMAGE_OFF:-$CASIO_CACHE/bzImage.${KERNEL:-6.1}-off-base}"
BENCH_WORK="${BENCH_WORK:-$CASIO_CACHE/bench}"
if [ "$quick" = 1 ]; then
	BENCH_OUT="${BENCH_OUT:-$BENCH_WORK/overhead-quick-report}"
	QEMU_TIMEOUT="${QEMU_TIMEOUT:-180}"
	OVERHEAD_ROUNDS="${OVERHEAD_ROUNDS:-1}"
	gargs=overhead,--quick
else
	BENCH_OUT="${BENCH_OUT:-$here}"
	# One vCPU and no multi-threaded TCG with the instruction count.
	QEMU_TIMEOUT="${QEMU_TIMEOUT:-$([ "${OVERHEAD_ICOUNT:-1}" = 1 ] && echo 900 || echo 300)}"
	# With the instruction count, boots of one kernel agree: two rounds
	# (y n n y) show that they do.
	if [ "${OVERHEAD_ICOUNT:-1}" = 1 ]; then OVERHEAD_ROUNDS="${OVERHEAD_ROUNDS:-2}"; fi
	OVERHEAD_ROUNDS="${OVERHEAD_ROUNDS:-16}"
	gargs=overhead
fi
say() { echo "[overhead] $*"; }
for k in "$BZIMAGE_ON" "$BZIMAGE_OFF"; do
	[ -f "$k" ] || { echo "overhead: no kernel at $k (scripts/build-kernel.sh, CASIO=off for the =n one; or set BZIMAGE_ON / BZIMAGE_OFF)" >&2; exit 1; }
done
OVERHEAD_ICOUNT="${OVERHEAD_ICOUNT:-1}"
OVERHEAD_SHIFT="${OVERHEAD_SHIFT:-0}"
case "$OVERHEAD_ICOUNT" in 0 | 1) ;; *) echo "overhead: OVERHEAD_ICOUNT must be 0 or 1" >&2; exit 2 ;; esac
case "$OVERHEAD_SHIFT" in '' | *[!0-9]*) echo "overhead: OVERHEAD_SHIFT must be an integer (0..10)" >&2; exit 2 ;; esac
icount=() clock=host kargs="tsc=reliable"
if [ "$OVERHEAD_ICOUNT" = 1 ]; then
	icount=(-icount "shift=$OVERHEAD_SHIFT,sleep=off")
	clock="icount-shift$OVERHEAD_SHIFT"
	# One vCPU: with icount, QEMU 7.2 runs the vCPUs in turn and switches
	# only at the next timer deadline, and Linux's bring-up of a second CPU
	# (the boot CPU spinning until it answers) never completes.
	QEMU_SMP="${QEMU_SMP:-1}"
	# Without address-space randomization: where the stack and the
	# mappings land changes how many page tables a fork copies.
	kargs+=" norandmaps"
fi
export QEMU_SMP
case "$OVERHEAD_ROUNDS" in '' | *[!0-9]* | 0) echo "overhead: OVERHEAD_ROUNDS must be a positive integer" >&2; exit 2 ;; esac

work="$BENCH_WORK/overhead"
mkdir -p "$work/bin"
say "building casio-bench (static)"
(cd "$root" && RUSTFLAGS="-C target-feature=+crt-static" \
	cargo build --release --target x86_64-unknown-linux-gnu -p casio-bench)
install -m 0755 "$root/target/x86_64-unknown-linux-gnu/release/casio-bench" "$work/bin/casio-bench"
GUEST_BIN_DIR="$work/bin" INITRAMFS="$work/initramfs.cpio.gz" \
	bash "$root/qemu/build-initramfs.sh"

out="$work/overhead.txt"
: >"$out"
# The QEMU lock is taken for each boot and released between boots.
[ -n "${CASIO_QEMU_LOCK:-}" ] && exec 8>>"$CASIO_QEMU_LOCK"

# boot SEQ ROUND SIDE BZIMAGE: one guest run, its BENCH lines appended to $out.
boot() {
	local seq=$1 round=$2 side=$3 bz=$4 log judge=0 t0 secs want got
	log="$work/console-$seq-$side.log"
	say "boot $seq (round $round, CASIO=$side): $(readlink -f "$bz")"
	if [ -n "${CASIO_QEMU_LOCK:-}" ]; then
		flock -n 8 || { say "waiting for $CASIO_QEMU_LOCK"; flock 8; }
	fi
	t0=$SECONDS
	# tsc=reliable as in bench/run.sh: without it the guest falls back to
	# the HPET and every clock read is an emulated device access.
	BZIMAGE="$bz" INITRAMFS="$work/initramfs.cpio.gz" CASIO_ARGS="$gargs" \
		QEMU_APPEND="$kargs${QEMU_APPEND:+ $QEMU_APPEND}" \
		QEMU_EXTRA="${icount[*]}${QEMU_EXTRA:+ $QEMU_EXTRA}" \
		CONSOLE_LOG="$log" QEMU_TIMEOUT="$QEMU_TIMEOUT" bash "$root/qemu/run.sh" bench 8>&- || judge=$?
	secs=$((SECONDS - t0))
	[ -n "${CASIO_QEMU_LOCK:-}" ] && flock -u 8
	say "boot $seq took $secs s"
	if [ "$judge" != 0 ]; then
		echo "overhead: FAIL: boot $seq ($side) was judged failed (status $judge): see $log" >&2
		exit 1
	fi
	if ! grep -aq '^CASIO-BENCH-DONE' "$log"; then
		echo "overhead: FAIL: boot $seq ($side) did not finish (no CASIO-BENCH-DONE in $log)" >&2
		exit 1
	fi
	want=present; [ "$side" = n ] && want=absent
	got=$(tr -d '\r' <"$log" | sed -n 's/.*BENCH overhead_config .*casio=\([a-z]*\).*/\1/p' | head -n 1)
	if [ "$got" != "$want" ]; then
		echo "overhead: FAIL: boot $seq is the CASIO=$side kernel but SCHED_CASIO is '${got:-unknown}' in it (want $want): check BZIMAGE_ON / BZIMAGE_OFF" >&2
		exit 1
	fi
	{
		echo "BENCH overhead_boot seq=$seq round=$round side=$side kernel=$(basename "$bz") clock=$clock host_seconds=$secs"
		tr -d '\r' <"$log" | grep -ao 'BENCH .*'
		echo "CASIO-BENCH-DONE"
	} >>"$out"
}

t_all=$SECONDS
seq=0
for ((r = 0; r < OVERHEAD_ROUNDS; r++)); do
	if ((r % 2 == 0)); then order=(y n); else order=(n y); fi
	for side in "${order[@]}"; do
		bz=$BZIMAGE_ON; [ "$side" = n ] && bz=$BZIMAGE_OFF
		boot "$seq" "$r" "$side" "$bz"
		seq=$((seq + 1))
	done
done
say "$seq boots took $((SECONDS - t_all)) s"

if [ "$quick" = 1 ]; then
	python3 "$here/report/casio_report.py" --overhead "$out" --out "$BENCH_OUT"
else
	# Re-render the whole report from the stored results, this run's
	# overhead lines included.
	mkdir -p "$BENCH_OUT/results"
	cp "$out" "$BENCH_OUT/results/overhead.txt"
	args=(--overhead "$BENCH_OUT/results/overhead.txt")
	[ -f "$BENCH_OUT/results/guest-bench.txt" ] && args+=(--guest "$BENCH_OUT/results/guest-bench.txt")
	[ -f "$BENCH_OUT/results/host-scaling.txt" ] && args+=(--host "$BENCH_OUT/results/host-scaling.txt")
	python3 "$here/report/casio_report.py" "${args[@]}" --out "$BENCH_OUT"
fi
say "report: $BENCH_OUT/REPORT.md"
