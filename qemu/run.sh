#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boots the CASIO kernel + initramfs in QEMU (TCG) and judges the console.
#
#   qemu/run.sh tests    run every guest test suite (qemu/suite: casio-tests,
#                        casio-tool-tests, casio-smp-tests), pass/fail from the console
#                        ("N passed, N failed" + CASIO-TESTS-DONE, no splats)
#   qemu/run.sh demo     run /bin/casio-demo; fails on a non-zero exit or a splat;
#                        saves its Gantt chart as console-demo.svg beside the log
#   qemu/run.sh shell    interactive guest shell (Ctrl-A X quits QEMU)
#   qemu/run.sh NAME     run /bin/casio-NAME or /bin/NAME (e.g. "true", "uname")
#
# Env: BZIMAGE (default $CASIO_CACHE/bzImage.$KERNEL: the latest CASIO build
#      of the base KERNEL, default 6.1), INITRAMFS (default
#      $CASIO_CACHE/initramfs.cpio.gz), QEMU_TIMEOUT seconds (default 600;
#      0 = none; shell mode: none), QEMU_SMP (4 in mode tests, which has
#      SMP tests that need 4 CPUs; 2 otherwise), QEMU_MEM (1G), QEMU_KVM=1
#      (opt-in KVM; default is TCG), QEMU_CPU, QEMU_APPEND (extra kernel
#      arguments), QEMU_EXTRA (extra QEMU arguments), CASIO_ARGS (arguments
#      for the guest program, comma-separated), CONSOLE_LOG (default
#      $CASIO_CACHE/logs/console-MODE.log).
set -euo pipefail
CASIO_TAG=qemu
. "$(dirname "$0")/../scripts/lib.sh"

mode=${1:-demo}
[ -n "${BZIMAGE:-}" ] || BZIMAGE="$CASIO_CACHE/bzImage.$(selected_kernel)"
INITRAMFS="${INITRAMFS:-$CASIO_CACHE/initramfs.cpio.gz}"
# The SMP tests (casio-smp-tests, part of mode tests) need at least 4 CPUs.
if [ "$mode" = tests ]; then QEMU_SMP="${QEMU_SMP:-4}"; else QEMU_SMP="${QEMU_SMP:-2}"; fi
QEMU_MEM="${QEMU_MEM:-1G}"
CONSOLE_LOG="${CONSOLE_LOG:-$CASIO_CACHE/logs/console-$mode.log}"
if [ "$mode" = shell ]; then QEMU_TIMEOUT="${QEMU_TIMEOUT:-0}"; else QEMU_TIMEOUT="${QEMU_TIMEOUT:-600}"; fi

[ -f "$BZIMAGE" ] || die "no kernel at $BZIMAGE: run scripts/build-kernel.sh (make kernel${KERNEL:+ KERNEL=$KERNEL})"
[ -f "$INITRAMFS" ] || die "no initramfs at $INITRAMFS: run qemu/build-initramfs.sh (make initramfs)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found: run scripts/setup.sh"

accel=(-accel tcg)
if [ "${QEMU_KVM:-0}" = 1 ]; then
	accel=(-accel kvm -cpu host)
	warn "QEMU_KVM=1: using KVM (known to hang on some machines; the default is TCG)"
fi
cpu=()
[ -n "${QEMU_CPU:-}" ] && cpu=(-cpu "$QEMU_CPU")

run=$mode
# "tests" runs every in-guest suite (qemu/suite) and is judged as tests.
[ "$mode" = tests ] && run=suite
append="console=ttyS0 panic=-1 casio.run=$run"
[ -n "${CASIO_ARGS:-}" ] && append+=" casio.args=$CASIO_ARGS"
[ -n "${QEMU_APPEND:-}" ] && append+=" $QEMU_APPEND"

# shellcheck disable=SC2206
qemu=(qemu-system-x86_64 "${accel[@]}" "${cpu[@]}" -smp "$QEMU_SMP" -m "$QEMU_MEM"
	-nographic -no-reboot -kernel "$BZIMAGE" -initrd "$INITRAMFS" -append "$append"
	${QEMU_EXTRA:-})

mkdir -p "$(dirname "$CONSOLE_LOG")"
log "boot $(readlink -f "$BZIMAGE") (mode $mode, ${QEMU_SMP} CPUs, $QEMU_MEM, timeout ${QEMU_TIMEOUT}s)"
log "cmdline: $append; console log: $CONSOLE_LOG"

t0=$SECONDS
rc=0
if [ "$mode" = shell ]; then
	if [ "$QEMU_TIMEOUT" != 0 ]; then
		timeout --foreground "$QEMU_TIMEOUT" "${qemu[@]}" 2>&1 | tee "$CONSOLE_LOG" || rc=${PIPESTATUS[0]}
	else
		"${qemu[@]}" 2>&1 | tee "$CONSOLE_LOG" || rc=${PIPESTATUS[0]}
	fi
	log "QEMU exited ($rc) after $((SECONDS - t0)) s"
	exit 0
fi

if [ "$QEMU_TIMEOUT" != 0 ]; then
	timeout -k 10 "$QEMU_TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$CONSOLE_LOG" || rc=${PIPESTATUS[0]}
else
	"${qemu[@]}" </dev/null 2>&1 | tee "$CONSOLE_LOG" || rc=${PIPESTATUS[0]}
fi
secs=$((SECONDS - t0))
echo
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	log "QEMU killed by the ${QEMU_TIMEOUT}s timeout (QEMU_TIMEOUT)"
elif [ "$rc" != 0 ]; then
	log "QEMU exited with status $rc after ${secs}s"
else
	log "QEMU exited after ${secs}s"
fi

case "$mode" in
tests) judge_mode=tests ;;
*) judge_mode=run ;;
esac
verdict=0
"$(dirname "$0")/judge-log.sh" "$CONSOLE_LOG" "$judge_mode" || verdict=$?
if [ "$mode" = demo ]; then
	# The demo prints an SVG between two marker lines; kernel messages that
	# land in between are dropped.
	svg="${CONSOLE_LOG%.log}.svg"
	tr -d '\r' <"$CONSOLE_LOG" |
		sed -n '/^CASIO-SVG-BEGIN$/,/^CASIO-SVG-END$/p' |
		sed '1d;$d' | grep -v '^\[ *[0-9]*\.[0-9]*\]' >"$svg.tmp" || true
	if grep -q '</svg>' "$svg.tmp"; then
		mv "$svg.tmp" "$svg"
		log "Gantt chart of the demo (casioctl plot of /proc/casio_event): $svg"
	else
		rm -f "$svg.tmp"
		warn "the demo printed no chart"
	fi
fi
if [ "$rc" != 0 ]; then
	# Even with a good result, a guest that does not leave QEMU by itself
	# (hang at shutdown) or a QEMU error is a failure.
	echo "casio-run: FAIL: QEMU did not exit cleanly (status $rc${QEMU_TIMEOUT:+, timeout ${QEMU_TIMEOUT}s}); console: $CONSOLE_LOG"
	[ "$verdict" = 0 ] && verdict=1
fi
exit "$verdict"
