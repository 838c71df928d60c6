// SPDX-License-Identifier: GPL-2.0
/*
 * The sched_casio_* tracepoints, with the rust_do_trace_*() functions
 * the class's Rust fires them through once it found them enabled
 * (report.rs).
 */
#define CREATE_TRACE_POINTS
#define CREATE_RUST_TRACE_POINTS
#include <trace/events/sched_casio.h>
