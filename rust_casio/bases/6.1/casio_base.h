/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CASIO files shared by every kernel base need to know of this
 * one, Linux 6.1: a sysctl handler takes a writable table, and a table
 * ends with an empty entry.
 */
#ifndef _KERNEL_SCHED_CASIO_BASE_H
#define _KERNEL_SCHED_CASIO_BASE_H

#define CASIO_CTL_TABLE		struct ctl_table
#define CASIO_CTL_TABLE_ARRAY	struct ctl_table
#define CASIO_CTL_TABLE_END	{}

#endif /* _KERNEL_SCHED_CASIO_BASE_H */
