/**
 * The errno numbers of each kernel, restated from its headers, as an oracle independent of
 * src/base/errno.ts: a test that checks a VmError's number looks it up here, so a wrong entry
 * in the library's table cannot hide behind the same wrong entry in the test.
 */

/** FreeBSD sys/sys/errno.h. */
export const FREEBSD_ERRNO_H: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EAGAIN: 35,
  EOPNOTSUPP: 45,
  ENOTSUP: 45,
  ENAMETOOLONG: 63,
  ENOSYS: 78,
  EOVERFLOW: 84,
};

/** Linux include/uapi/asm-generic/errno-base.h and errno.h. */
export const LINUX_ERRNO_H: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
};

/** The table of a personality. */
export const ERRNO_H: Readonly<Record<"freebsd" | "linux", Readonly<Record<string, number>>>> = {
  freebsd: FREEBSD_ERRNO_H,
  linux: LINUX_ERRNO_H,
};
