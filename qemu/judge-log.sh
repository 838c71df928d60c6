#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Judges a guest serial-console log.
#   qemu/judge-log.sh LOG tests   test run: needs "N passed, N failed" then the
#                                 CASIO-TESTS-DONE sentinel, failed == 0, no splat
#   qemu/judge-log.sh LOG run     any other program: needs casio-init's
#                                 "... exited with status 0", no splat
#   qemu/judge-log.sh LOG splats  only the kernel splat check
# Prints the guest's result line (tests mode) so the host output ends with it,
# prints every matched splat line, and exits 0 (pass) or 1 (fail).
set -uo pipefail

log=${1:?usage: judge-log.sh LOG [tests|run|splats]}
mode=${2:-tests}
[ -f "$log" ] || { echo "casio-judge: no console log $log"; exit 1; }

# Kernel splats; extended regular expressions, matched anywhere in a line.
SPLAT_RE='BUG:|WARNING:|Oops|Kernel panic|general protection fault|kernel BUG at|Unable to handle kernel|possible circular locking|inconsistent lock state|possible recursive locking|suspicious RCU usage|INFO: lockdep|rcu_sched self-detected stall|rcu_preempt self-detected stall|rcu: INFO:|detected stall|blocked for more than|sleeping function called from invalid context|soft lockup|hard LOCKUP|UBSAN|Call Trace:|list_add corruption|list_del corruption|stack-protector|ODEBUG:'

clean=$(tr -d '\r' <"$log")
fail=0
reasons=()

result= sentinel=0
if [ "$mode" = tests ]; then
	# The last result line before the sentinel (", N skipped" and a leading
	# "word:" are allowed, as in the CI closing-line format).
	result=$(printf '%s\n' "$clean" | sed -n '/CASIO-TESTS-DONE/q;p' |
		grep -E '^[[:space:]]*([A-Za-z0-9_-]+:[[:space:]]*)?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?[[:space:]]*$' |
		tail -n 1 | sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//')
	# A here-string, not a pipe: grep -q stops reading at the first match,
	# and with pipefail the writer's SIGPIPE would turn a match into a miss.
	grep -qE '^[[:space:]]*CASIO-TESTS-DONE[[:space:]]*$' <<<"$clean" && sentinel=1
	if [ "$sentinel" = 0 ]; then
		fail=1
		reasons+=("no CASIO-TESTS-DONE sentinel: the guest tests did not finish (timeout, panic or crash)")
	fi
	if [ -z "$result" ]; then
		fail=1
		reasons+=("no 'N passed, N failed' result line from the guest")
	else
		nfail=$(grep -oE '[0-9]+ failed' <<<"$result" | grep -oE '^[0-9]+')
		npass=$(grep -oE '[0-9]+ passed' <<<"$result" | grep -oE '^[0-9]+')
		if [ "$nfail" -gt 0 ]; then fail=1; reasons+=("$nfail guest test(s) failed"); fi
		if [ "$npass" -eq 0 ] && [ "$nfail" -eq 0 ]; then fail=1; reasons+=("the guest ran no test"); fi
	fi
elif [ "$mode" = run ]; then
	st=$(printf '%s\n' "$clean" | sed -nE 's/^casio-init: .* exited with status ([0-9]+).*/\1/p' | tail -n 1)
	if [ -z "$st" ]; then
		fail=1; reasons+=("the guest program did not finish (no 'exited with status' line: timeout, panic or missing program)")
	elif [ "$st" != 0 ]; then
		fail=1; reasons+=("the guest program exited with status $st")
	fi
	grep -q 'casio-init: ERROR' <<<"$clean" && { fail=1; reasons+=("$(grep -m1 'casio-init: ERROR' <<<"$clean")"); }
fi

# Warnings that the stock kernel of the same base and config gives under
# the same load (README, reliability): listed, not failed. A block runs from
# its WARNING line to the "---[ end trace" line (80 lines at most); its lines
# are blanked, so that line numbers stay those of the log.
KNOWN_STOCK_RE='WARNING: CPU: [0-9]+ PID: [0-9]+ at kernel/futex/pi[.]c:[0-9]+ futex_unlock_pi'
known=$(grep -cE "$KNOWN_STOCK_RE" <<<"$clean" || true)
if [ "$known" -gt 0 ]; then
	echo "casio-judge: $known warning(s) the stock kernel gives too, not counted:"
	grep -nE "$KNOWN_STOCK_RE" <<<"$clean" | head -n 5 | sed 's/^/  line /'
	clean=$(printf '%s\n' "$clean" | awk -v re="$KNOWN_STOCK_RE" '
		$0 ~ re { skip = 80; print ""; next }
		skip > 0 { skip--; if ($0 ~ /---\[ end trace/) skip = 0; print ""; next }
		{ print }')
fi

splats=$(printf '%s\n' "$clean" | grep -nE "$SPLAT_RE" || true)
if [ -n "$splats" ]; then
	echo "casio-judge: kernel splats on the console ($log):"
	printf '%s\n' "$splats" | head -n 40 | sed 's/^/  line /'
	n=$(printf '%s\n' "$splats" | wc -l)
	[ "$n" -gt 40 ] && echo "  ... and $((n - 40)) more"
fi

for r in "${reasons[@]}"; do echo "casio-judge: FAIL: $r"; done
[ -n "$result" ] && echo "$result"
if [ -n "$splats" ]; then
	echo "casio-judge: FAIL: the kernel reported errors (splat lines above) although the tests' own result was '${result:-none}'"
	fail=1
fi
if [ "$fail" = 0 ] && [ "$mode" != tests ]; then
	echo "casio-judge: PASS ($mode: program exited with status 0, no kernel splats)"
fi
exit "$fail"
