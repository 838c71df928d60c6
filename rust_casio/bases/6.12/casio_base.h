/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CASIO files shared by every kernel base need to know of this
 * one, Linux 6.12: a sysctl handler takes a const table, registration a
 * writable one, and a table has no terminating entry (registration counts
 * its entries).
 */
#ifndef _KERNEL_SCHED_CASIO_BASE_H
#define _KERNEL_SCHED_CASIO_BASE_H

#define CASIO_CTL_TABLE		const struct ctl_table
#define CASIO_CTL_TABLE_ARRAY	struct ctl_table
#define CASIO_CTL_TABLE_END

#endif /* _KERNEL_SCHED_CASIO_BASE_H */
