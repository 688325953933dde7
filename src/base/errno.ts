/**
 * errno values of the two personalities (FreeBSD sys/sys/errno.h, Linux
 * include/uapi/asm-generic/errno*.h). A failed system call reports the symbolic code and the
 * personality's number.
 */

export type ErrnoName =
  | "EPERM"
  | "ESRCH"
  | "ENOENT"
  | "EIO"
  | "EBADF"
  | "ENOMEM"
  | "EACCES"
  | "EFAULT"
  | "EBUSY"
  | "EEXIST"
  | "ENODEV"
  | "EINVAL"
  | "ENOSPC"
  | "EAGAIN"
  | "ENOTSUP"
  | "EOPNOTSUPP"
  | "EOVERFLOW"
  | "ENAMETOOLONG"
  | "ENOSYS";

export const FREEBSD_ERRNO: Readonly<Record<ErrnoName, number>> = {
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
  ENOTSUP: 45,
  EOPNOTSUPP: 45,
  ENAMETOOLONG: 63,
  ENOSYS: 78,
  EOVERFLOW: 84,
};

export const LINUX_ERRNO: Readonly<Record<ErrnoName, number>> = {
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
  ENOTSUP: 95,
  EOPNOTSUPP: 95,
};
