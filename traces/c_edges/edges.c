/*
 * c_edges: edge cases of the Linux memory system calls, one after another, each printing its
 * result (recorded as traces/c_edges with traces/record.sh; built with gcc -O1). Locking a
 * PROT_NONE range (ENOMEM, yet the range stays locked), MADV_DONTNEED/FREE on locked memory,
 * MADV_REMOVE on private and shared memory, mremap grow/move, DONTUNMAP, shrink, an
 * overlapping MREMAP_FIXED, WIPEONFORK/DONTFORK, MAP_GROWSDOWN and PROT_GROWSDOWN, brk up and
 * down, MAP_FIXED_NOREPLACE over a mapping, MAP_POPULATE, MAP_LOCKED, bad arguments,
 * mlockall(MCL_CURRENT|MCL_FUTURE) and a PROT_NONE mapping made under it, munlockall, fork.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#define P 4096
static void r(const char *w, long v) { printf("%s = %ld (%s)\n", w, v, v == -1 ? strerror(errno) : "ok"); }
int main(void) {
  char *a = mmap(NULL, 64 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(a, 1, 64 * P);
  r("mprotect split", mprotect(a + 8 * P, 8 * P, PROT_READ));
  r("mprotect none", mprotect(a + 20 * P, 4 * P, PROT_NONE));
  r("mlock prot none", mlock(a + 20 * P, 4 * P));
  r("madvise dontneed locked?", madvise(a + 20 * P, 4 * P, MADV_DONTNEED));
  r("munlock", munlock(a + 20 * P, 4 * P));
  r("madvise dontneed", madvise(a + 20 * P, 4 * P, MADV_DONTNEED));
  r("mlock rw", mlock(a + 32 * P, 4 * P));
  r("madvise dontneed on locked", madvise(a + 32 * P, 4 * P, MADV_DONTNEED));
  r("madvise free on locked", madvise(a + 32 * P, 4 * P, MADV_FREE));
  r("madvise remove private", madvise(a, P, MADV_REMOVE));
  char *b = mremap(a + 40 * P, 8 * P, 16 * P, MREMAP_MAYMOVE);
  r("mremap grow move", (long)b);
  char *c = mremap(a + 48 * P, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
  r("mremap dontunmap", (long)c);
  r("mremap shrink", (long)mremap(a, 8 * P, 2 * P, 0));
  r("mremap fixed overlap", (long)mremap(a + 56 * P, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, a + 57 * P));
  r("madvise wipeonfork", madvise(a + 60 * P, 2 * P, MADV_WIPEONFORK));
  r("madvise dontfork", madvise(a + 62 * P, 2 * P, MADV_DONTFORK));
  char *g = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
  r("growsdown", (long)g);
  r("mprotect growsdown", mprotect(g + 8 * P, P, PROT_READ | PROT_GROWSDOWN));
  char *s = mmap(NULL, 8 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  r("shared", (long)s);
  r("madvise remove shared", madvise(s + P, P, MADV_REMOVE));
  r("mremap shared grow", (long)mremap(s, 8 * P, 12 * P, MREMAP_MAYMOVE));
  void *brk0 = sbrk(0);
  r("brk grow", (long)sbrk(10 * P));
  r("brk shrink", (long)sbrk(-5 * P));
  r("mmap fixed noreplace clash", (long)mmap(a + 10 * P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  r("mmap populate", (long)mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0));
  r("mmap locked", (long)mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0));
  r("munmap unaligned", munmap(a + 1, P));
  r("mprotect beyond", mprotect(a, 200 * P, PROT_READ));
  r("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE));
  char *f = mmap(NULL, 4 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  r("mmap after mlockall prot none", (long)f);
  r("mprotect after mlockall", mprotect(f, 4 * P, PROT_READ | PROT_WRITE));
  r("madvise dontneed after mlockall", madvise(f, 4 * P, MADV_DONTNEED));
  r("munlockall", munlockall());
  pid_t pid = fork();
  if (pid == 0) { r("child munmap", munmap(a + 60 * P, 4 * P)); _exit(0); }
  waitpid(pid, NULL, 0);
  (void)brk0;
  return 0;
}
