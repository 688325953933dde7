/*
 * c_mseal: mseal(2) (Linux 6.10+) and what it refuses, one case after another, each printing
 * its result (recorded as traces/c_mseal with traces/record.sh on Linux 6.18, whose strace 6.1
 * prints mseal as syscall_0x1ce; built with gcc -O1). Bad arguments and a hole (nothing
 * sealed); then on a sealed vma: munmap (also of a range that only ends in it), MAP_FIXED,
 * MAP_FIXED_NOREPLACE, mremap (its own size, a shrink, a growth, onto it), mprotect (the vma
 * before it changes; its own protection again), madvise discarding read-only anonymous memory
 * (the vma before it advised), advice that is still allowed, mlock; a fork child's copy.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#define P 4096
static long ms(void *a, size_t l, unsigned long f) { return syscall(462, a, l, f); }
static void r(const char *w, long v) { printf("%s = %ld (%s)\n", w, v, v == -1 ? strerror(errno) : "ok"); fflush(stdout); }
static char *region(int n) { char *p = mmap(NULL, n * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); munmap(p, n * P); return p; }
static char *at(char *a, int n, int prot, int fl) { return mmap(a, n * P, prot, fl | MAP_ANONYMOUS | MAP_FIXED, -1, 0); }
int main(void) {
  const int RW = PROT_READ | PROT_WRITE, PR = MAP_PRIVATE;
  char *a = region(32);
  at(a, 4, RW, PR); memset(a, 1, 4 * P);
  r("mseal flags 1", ms(a, P, 1));
  r("mseal unaligned", ms(a + 1, P, 0));
  r("mseal len 0", ms(a, 0, 0));
  r("mseal over a hole", ms(a, 8 * P, 0));
  r("mseal middle", ms(a + P, 2 * P, 0));
  r("munmap sealed", munmap(a + P, P));
  r("munmap ending in sealed", munmap(a, 2 * P));
  r("mmap fixed over sealed", (long)mmap(a, 2 * P, PROT_READ, PR | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  r("mmap fixed_noreplace over sealed", (long)mmap(a + P, P, PROT_READ, PR | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  r("mremap sealed same size", (long)mremap(a + P, P, P, 0));
  r("mremap sealed shrink", (long)mremap(a + P, 2 * P, P, 0));
  r("mremap sealed grow", (long)mremap(a + P, P, 4 * P, MREMAP_MAYMOVE));
  r("mremap onto sealed", (long)mremap(a + 3 * P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, a + P));
  r("mprotect over [rw][sealed]", mprotect(a, 2 * P, PROT_READ));
  r("mprotect sealed, its own prot", mprotect(a + P, P, RW));
  r("mlock sealed", mlock(a + P, P));
  r("munlock sealed", munlock(a + P, P));
  r("madvise dontneed sealed rw", madvise(a + P, P, MADV_DONTNEED));
  char *b = region(8);
  at(b, 2, RW, PR); memset(b, 2, 2 * P);
  at(b + 2 * P, 2, PROT_READ, PR);
  r("mseal ro", ms(b + 2 * P, 2 * P, 0));
  r("madvise dontneed [rw][sealed ro]", madvise(b, 4 * P, MADV_DONTNEED));
  r("madvise free sealed ro", madvise(b + 2 * P, P, MADV_FREE));
  r("madvise dontfork sealed ro", madvise(b + 2 * P, P, MADV_DONTFORK));
  r("madvise wipeonfork sealed ro", madvise(b + 2 * P, P, MADV_WIPEONFORK));
  r("madvise willneed sealed ro", madvise(b + 2 * P, P, MADV_WILLNEED));
  r("madvise cold sealed ro", madvise(b + 2 * P, P, MADV_COLD));
  r("mseal again", ms(b + 2 * P, 2 * P, 0));
  pid_t pid = fork();
  if (pid == 0) {
    r("child munmap sealed", munmap(a + P, P));
    r("child mprotect sealed", mprotect(b + 2 * P, P, PROT_NONE));
    r("child munmap unsealed", munmap(b, P));
    _exit(0);
  }
  waitpid(pid, 0, 0);
  r("munmap unsealed", munmap(a + 3 * P, P));
  return 0;
}
