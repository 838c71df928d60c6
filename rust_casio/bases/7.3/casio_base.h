/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CASIO files shared by every kernel base need to know of this
 * one, Linux 7.3: sysctl handlers and registration take const tables, and
 * a table has no terminating entry (registration counts its entries).
 */
#ifndef _KERNEL_SCHED_CASIO_BASE_H
#define _KERNEL_SCHED_CASIO_BASE_H

#define CASIO_CTL_TABLE		const struct ctl_table
#define CASIO_CTL_TABLE_ARRAY	const struct ctl_table
#define CASIO_CTL_TABLE_END

#endif /* _KERNEL_SCHED_CASIO_BASE_H */
