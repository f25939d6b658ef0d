/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The errno values libbpf's bpf/usdt.bpf.h returns (include/uapi/
 * asm-generic/errno-base.h), here so that the BPF build needs no
 * architecture's asm/ headers: the system's <linux/errno.h> includes
 * <asm/errno.h>, which a -target bpf build does not find.
 */
#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define ENOENT 2
#define ESRCH 3
#define E2BIG 7
#define EINVAL 22

#endif
