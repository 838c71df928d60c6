#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of qemu/judge-log.sh on crafted console logs (no QEMU needed).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
judge="$here/judge-log.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ok=0 bad=0

check() { # name mode expected-exit expected-output-regex log-text
	local name=$1 mode=$2 want=$3 lastre=$4 out rc
	printf '%s\n' "$5" >"$tmp/$name.log"
	out=$("$judge" "$tmp/$name.log" "$mode" 2>&1); rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$lastre" ] || printf '%s\n' "$out" | grep -qE "$lastre"; }; then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
		echo "judge self-test '$name': exit $rc (wanted $want), output:"; printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

boot='[    0.000000] Linux version 6.1.192 (clang)
[    0.512000] Run /init as init process
casio-init: linux 6.1.192, 2 CPUs, casio.run=tests'

check pass tests 0 '^2 passed, 0 failed$' "$(printf '%s\r\nok 1 - a\r\nok 2 - b\r\n2 passed, 0 failed\r\nCASIO-TESTS-DONE\r\n' "$boot")"
check pass-skipped tests 0 '^summary: 5 passed, 0 failed, 1 skipped$' "$(printf '%s\nsummary: 5 passed, 0 failed, 1 skipped\nCASIO-TESTS-DONE\n' "$boot")"
# A console longer than a pipe buffer: the verdict must not depend on how
# far a reader in a pipeline gets before the sentinel.
long=$(for i in $(seq 1 3000); do printf '# diagnostic line %s of a long guest run\n' "$i"; done)
check pass-long-log tests 0 '^31 passed, 0 failed$' "$(printf '%s\n%s\n31 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot" "$long")"
check failed tests 1 '^3 passed, 1 failed$' "$(printf '%s\n3 passed, 1 failed\nCASIO-TESTS-DONE\n' "$boot")"
check no-sentinel tests 1 'no CASIO-TESTS-DONE sentinel' "$(printf '%s\nok 1 - a\n' "$boot")"
check result-no-sentinel tests 1 'no CASIO-TESTS-DONE' "$(printf '%s\n2 passed, 0 failed\n' "$boot")"
check sentinel-no-result tests 1 'no .N passed, N failed. result line' "$(printf '%s\nCASIO-TESTS-DONE\n' "$boot")"
check zero-tests tests 1 'ran no test' "$(printf '%s\n0 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot")"
check splat-warning tests 1 'kernel reported errors' "$(printf '%s\n[    3.1] WARNING: CPU: 1 PID: 42 at kernel/sched/core.c:123 foo+0x1/0x2\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot")"
check splat-atomic-sleep tests 1 'line 4:.*sleeping function' "$(printf '%s\n[    4.2] BUG: sleeping function called from invalid context at kernel/x.c:1\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot")"
check splat-lockdep tests 1 'possible circular locking' "$(printf '%s\n[    5.0] WARNING: possible circular locking dependency detected\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot")"
stock_warn='[  132.4] WARNING: CPU: 1 PID: 1492 at kernel/futex/pi.c:623 futex_unlock_pi+0x2a5/0x3a0
[  132.4] Call Trace:
[  132.4]  <TASK>
[  132.4] ---[ end trace 0000000000000000 ]---'
check known-stock-warning tests 0 '^2 passed, 0 failed$' "$(printf '%s\n%s\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot" "$stock_warn")"
check splat-after-known-warning tests 1 'line 8:.*BUG: unable' "$(printf '%s\n%s\n[  140.0] BUG: unable to handle page fault\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot" "$stock_warn")"
check rcu-stall tests 1 'rcu: INFO' "$(printf '%s\n[   30.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n' "$boot")"
check hung-task tests 1 'blocked for more than' "$(printf '%s\n[  130.0] INFO: task casio-tests:55 blocked for more than 60 seconds.\n2 passed, 0 failed\nCASIO-TESTS-DONE\n' "$boot")"
check panic tests 1 'Kernel panic' "$(printf '%s\n[    2.0] Kernel panic - not syncing: Attempted to kill init!\n' "$boot")"
check run-ok run 0 '' "$(printf '%s\ncasio-init: /bin/casio-demo exited with status 0\n' "$boot")"
check run-status run 1 'exited with status 3' "$(printf '%s\ncasio-init: /bin/casio-demo exited with status 3\n' "$boot")"
check run-timeout run 1 'did not finish' "$(printf '%s\ncasio-init: running /bin/casio-demo\n' "$boot")"

echo "judge self-test: $ok ok, $bad bad"
[ "$bad" -eq 0 ]
