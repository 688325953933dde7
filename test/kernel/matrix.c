/*
 * Records what this machine's Linux answers to madvise, mprotect, msync, mlock, mremap and mmap
 * over each kind of mapping, and what a page holds after an advice,
 * for test/kernel.matrix.test.ts, which asks vmspace the same questions. Build and run:
 *   cc -O0 -o matrix matrix.c && ./matrix FILE > test/golden/kernel/matrix.linux.txt
 * FILE: a scratch file of at least 32 KiB (it is mapped, never written through write()).
 * Each line: "<call> <kind> <argument> <errno, 0 for success>". Every call is made on a fresh
 * mapping of 4 pages, on its middle 2 pages: madvise (the argument is the advice), mprotect
 * (the protection), msync (the flags), mlock (0: mlock, 1: mlock then munlock) and mremap
 * (0: larger in place, 1: larger with MREMAP_MAYMOVE, 2: the same size with MREMAP_MAYMOVE |
 * MREMAP_DONTUNMAP, 3: smaller).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kinds.h"

/* Zeroes the file: each section that reads bytes back starts from a zeroed file. */
static void reset_file(void) {
  if (ftruncate(rw, 0) != 0 || ftruncate(rw, 8 * P) != 0) { perror("ftruncate"); _exit(1); }
}

static void on_segv(int sig) {
  (void)sig;
  _exit(255);
}

static char *make(int k) {
  char *a = map_kind(k);
  if (writable(k)) a[0] = 1;
  return a;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
  rw = open(argv[1], O_RDWR);
  ro = open(argv[1], O_RDONLY);
  if (rw < 0 || ro < 0) { perror("open"); return 1; }
  for (int k = 0; k < 9; k++) {
    for (int adv = 0; adv <= 25; adv++) {
      char *a = make(k);
      int r = madvise(a + P, 2 * P, adv);
      printf("madvise %s %d %d\n", kinds[k], adv, r ? errno : 0);
      munmap(a, 4 * P);
    }
    const int prots[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 0x01000001, 0x02000001, 0x01000003};
    for (unsigned i = 0; i < sizeof prots / sizeof prots[0]; i++) {
      char *a = make(k);
      int r = mprotect(a + P, 2 * P, prots[i]);
      printf("mprotect %s 0x%x %d\n", kinds[k], prots[i], r ? errno : 0);
      munmap(a, 4 * P);
    }
    for (int flags = 0; flags <= 8; flags++) {
      char *a = make(k);
      int r = msync(a + P, 2 * P, flags);
      printf("msync %s %d %d\n", kinds[k], flags, r ? errno : 0);
      munmap(a, 4 * P);
    }
    for (int how = 0; how < 2; how++) {
      /* mlock, mlock then munlock */
      char *a = make(k);
      int r = mlock(a + P, 2 * P);
      if (r == 0 && how == 1) r = munlock(a + P, 2 * P);
      printf("mlock %s %d %d\n", kinds[k], how, r ? errno : 0);
      munmap(a, 4 * P);
    }
    /* mremap of the middle two pages: in place larger (0), moved larger (MAYMOVE), moved
       with MREMAP_DONTUNMAP at the same size (MAYMOVE | DONTUNMAP), shrunk (0, smaller). */
    const int mflags[] = {0, 1, 5, 0};
    for (int i = 0; i < 4; i++) {
      char *a = make(k);
      long nl = i == 3 ? P : i == 2 ? 2 * P : 3 * P;
      /* The fifth argument is given (NULL): with MREMAP_DONTUNMAP the kernel reads it. */
      void *r = mremap(a + P, 2 * P, nl, mflags[i], (void *)0);
      printf("mremap %s %d %d\n", kinds[k], i, r == MAP_FAILED ? errno : 0);
      if (r != MAP_FAILED && r != a + P) munmap(r, nl);
      munmap(a, 4 * P);
    }
  }
  /* mmap with no hint: each flag set (from the names the table has) with each protection, on
     no descriptor, the read-write one and the read-only one, at offsets 0, a page, and 100. */
  const int mmflags[] = {0x00,    0x01,    0x02,    0x03,    0x22,    0x21,    0x23,
                         0x2022,  0x8002,  0x4002,  0x20002, 0x0102,  0x40002, 0x80001,
                         0x80003, 0x0802,  0x1002,  0x40,    0x42,    0x62};
  const int mmprots[] = {0, 1, 3, 4, 7, 8};
  const int fds[] = {-1, rw, ro};
  const char *fdn[] = {"none", "rw", "ro"};
  const long offs[] = {0, 4096, 100};
  for (unsigned fi = 0; fi < 3; fi++)
    for (unsigned i = 0; i < sizeof mmflags / sizeof mmflags[0]; i++)
      for (unsigned j = 0; j < sizeof mmprots / sizeof mmprots[0]; j++)
        for (unsigned o = 0; o < 3; o++) {
          void *r = mmap(0, 2 * P, mmprots[j], mmflags[i], fds[fi], offs[o]);
          printf("mmap %s 0x%x:%d:%ld %d\n", fdn[fi], mmflags[i], mmprots[j], offs[o],
                 r == MAP_FAILED ? errno : 0);
          if (r != MAP_FAILED) munmap(r, 2 * P);
        }
  /* What a page holds after an advice: 0x5a written to the first byte of the middle pages,
     the advice given, then that byte read back ("value <kind> <advice> <byte>", or -1 when the
     advice failed). The file is zeroed first; its bytes then carry from case to case. */
  const int vadv[] = {0, 3, 4, 8, 9, 20, 21, 22, 23, 24};
  reset_file();
  for (int k = 0; k < 9; k++) {
    if (k == 4 || k == 5) continue; /* read-only, PROT_NONE: nothing to write */
    for (unsigned i = 0; i < sizeof vadv / sizeof vadv[0]; i++) {
      char *a = make(k);
      a[P] = 0x5a;
      int r = madvise(a + P, 2 * P, vadv[i]);
      printf("value %s %d %d\n", kinds[k], vadv[i], r ? -1 : (unsigned char)a[P]);
      munmap(a, 4 * P);
    }
  }
  /* fork: 0x5a in the middle pages; then plain (0), MADV_DONTFORK (1) or MADV_WIPEONFORK (2,
     EINVAL on shared and file memory: then a plain fork); the child reads the byte (255: the
     read faulted) and writes 0x11 there; the parent reads the byte after the child is gone.
     "fork <kind> <mode> <child's byte>*256 + <parent's byte after>" */
  reset_file();
  for (int k = 0; k < 9; k++) {
    if (k == 4 || k == 5) continue;
    for (int mode = 0; mode < 3; mode++) {
      char *a = make(k);
      a[P] = 0x5a;
      if (mode == 1) madvise(a + P, 2 * P, MADV_DONTFORK);
      if (mode == 2) madvise(a + P, 2 * P, MADV_WIPEONFORK);
      fflush(stdout);
      pid_t c = fork();
      if (c == 0) {
        signal(SIGSEGV, on_segv);
        unsigned char v = (unsigned char)a[P];
        a[P] = 0x11;
        _exit(v);
      }
      int st = 0;
      waitpid(c, &st, 0);
      int child = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      printf("fork %s %d %d\n", kinds[k], mode, child * 256 + (unsigned char)a[P]);
      munmap(a, 4 * P);
    }
  }
  /* What mremap carries: 0x5a in the middle pages, then the middle two pages moved larger
     (1), moved at the same size with MREMAP_DONTUNMAP (2: the old range stays mapped), or
     shrunk to one in place (3); "mremapv <kind> <case> <new byte>*256 + <old byte>" (the old
     byte only for case 2, where the old range is still mapped; else 0). */
  reset_file();
  for (int k = 0; k < 9; k++) {
    if (k == 4 || k == 5) continue;
    for (int i = 1; i < 4; i++) {
      char *a = make(k);
      a[P] = 0x5a;
      long nl = i == 3 ? P : i == 2 ? 2 * P : 3 * P;
      char *r = mremap(a + P, 2 * P, nl, i == 3 ? 0 : i == 2 ? 5 : 1, (void *)0);
      int v = r == MAP_FAILED ? -1 : (unsigned char)r[0] * 256 + (i == 2 ? (unsigned char)a[P] : 0);
      printf("mremapv %s %d %d\n", kinds[k], i, v);
      if (r != MAP_FAILED && r != a + P) munmap(r, nl);
      munmap(a, 4 * P);
    }
  }
  /* Ranges and holes: a fresh private anonymous mapping of 4 pages at a, its second page
     unmapped (a hole), then one call; "misc <name> - <errno>". */
  for (int c = 0; c < 22; c++) {
    char *a = mmap(0, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    a[0] = 1;
    munmap(a + P, P);
    unsigned char vec[8];
    long r = 0;
    const char *name = "";
    switch (c) {
      case 0: name = "munmap-unaligned"; r = munmap(a + 1, P); break;
      case 1: name = "munmap-len0"; r = munmap(a, 0); break;
      case 2: name = "munmap-hole"; r = munmap(a + P, P); break;
      case 3: name = "mprotect-over-hole"; r = mprotect(a, 4 * P, PROT_READ); break;
      case 4: name = "mprotect-unaligned"; r = mprotect(a + 1, P, PROT_READ); break;
      case 5: name = "mprotect-len0"; r = mprotect(a + P, 0, PROT_READ); break;
      case 6: name = "mprotect-in-hole"; r = mprotect(a + P, P, PROT_READ); break;
      case 7: name = "madvise-over-hole"; r = madvise(a, 4 * P, MADV_DONTNEED); break;
      case 8: name = "madvise-unaligned"; r = madvise(a + 1, P, MADV_DONTNEED); break;
      case 9: name = "mincore-unaligned"; r = mincore(a + 1, P, vec); break;
      case 10: name = "mincore-hole"; r = mincore(a, 4 * P, vec); break;
      case 11: name = "mincore-len0-hole"; r = mincore(a + P, 0, vec); break;
      case 12: name = "mlock-over-hole"; r = mlock(a, 4 * P); break;
      case 13: name = "munlock-over-hole"; r = munlock(a, 4 * P); break;
      case 14: name = "msync-over-hole"; r = msync(a, 4 * P, MS_SYNC); break;
      case 15: name = "msync-unaligned"; r = msync(a + 1, P, MS_SYNC); break;
      case 16: name = "mremap-old0-private"; r = (long)mremap(a, 0, P, MREMAP_MAYMOVE, (void *)0); break;
      case 17: name = "mremap-over-hole"; r = (long)mremap(a, 3 * P, 4 * P, MREMAP_MAYMOVE, (void *)0); break;
      case 18: name = "mremap-shrink-to0"; r = (long)mremap(a, P, 0, 0, (void *)0); break;
      case 19: name = "mmap-noreplace-over"; r = (long)mmap(a, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0); break;
      case 20: name = "mmap-noreplace-hole"; r = (long)mmap(a + P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0); break;
      case 21: name = "mmap-fixed-unaligned"; r = (long)mmap(a + 1, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); break;
    }
    printf("misc %s - %d\n", name, r == -1 ? errno : 0);
    munmap(a, 4 * P);
  }
  return 0;
}
