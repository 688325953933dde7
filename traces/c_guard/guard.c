/*
 * Guard pages as glibc 2.42 makes them for thread stacks on Linux 6.13+ (MADV_GUARD_INSTALL
 * instead of an mprotect(PROT_NONE) vma), then the calls that meet them: a removal, DONTNEED,
 * mremap moving a guarded mapping, mlock over a guard (ENOMEM, the range left locked), a fork
 * whose child unmaps what it inherited, and munmap. strace 6.1 prints the advice as
 * "0x66 /" "* MADV_??? *" "/". Recorded with traces/record.sh (see traces/README.md).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUARD_INSTALL 102
#define GUARD_REMOVE 103

int main(void) {
  const long P = 4096;
  const int RW = PROT_READ | PROT_WRITE, ANON = MAP_PRIVATE | MAP_ANONYMOUS;
  char *stack = 0;
  for (int t = 0; t < 6; t++) {
    /* One stack per thread, its lowest page the guard. */
    stack = mmap(0, 64 * P, RW, ANON | MAP_STACK, -1, 0);
    madvise(stack, P, GUARD_INSTALL);
    stack[63 * P] = 1;
  }
  char *b = mmap(0, 8 * P, RW, ANON, -1, 0);
  for (int i = 0; i < 8; i++) b[i * P] = (char)i;
  madvise(b + 2 * P, 2 * P, GUARD_INSTALL);
  madvise(b + 3 * P, P, GUARD_REMOVE);
  madvise(b, 8 * P, MADV_DONTNEED);
  char *c = mremap(b, 8 * P, 16 * P, MREMAP_MAYMOVE);
  c[12 * P] = 1;
  mlock(stack, 2 * P);
  madvise(stack + 2 * P, P, GUARD_INSTALL);
  pid_t pid = fork();
  if (pid == 0) {
    munmap(c, 16 * P);
    madvise(stack + 8 * P, P, GUARD_INSTALL);
    _exit(0);
  }
  waitpid(pid, 0, 0);
  madvise(c + 10 * P, 2 * P, GUARD_INSTALL);
  munmap(stack, 64 * P);
  return 0;
}
