/*
 * Records what this machine's Linux does with MAP_DROPPABLE (0x08, a mapping type of Linux
 * 6.11+; glibc 2.41 allocates getrandom()'s vDSO state with it) for
 * test/kernel.droppable.test.ts, which makes the same calls on vmspace. Build and run:
 *   cc -O0 -o droppable droppable.c && ./droppable FILE > test/golden/kernel/droppable.linux.txt
 * FILE: a scratch file of at least 32 KiB. Reads of the pages of a mapping print the byte or
 * S / B (SIGSEGV / SIGBUS), each from a forked child, so that they show what fork passes on;
 * "core" is mincore's bit 0 per page; "locked" is the change of VmLck in pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kinds.h"

#define DROPPABLE 0x08
static const int RW = PROT_READ | PROT_WRITE;

static char *try_mmap(const char *what, int prot, int flags, int fd) {
  char *a = mmap(0, 4 * P, prot, flags, fd, 0);
  printf("mmap %s %d\n", what, a == MAP_FAILED ? errno : 0);
  return a;
}

static void reads(const char *what, char *a, int n) {
  printf("%s", what);
  page_reads(a, n);
  printf("\n");
}

static void core(const char *what, char *a, int n) {
  unsigned char v[16];
  mincore(a, n * P, v);
  printf("%s core ", what);
  for (int i = 0; i < n; i++) printf("%d", v[i] & 1);
  printf("\n");
}

static long vmlck(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmLck:", 6)) sscanf(line + 6, "%ld", &kb);
  fclose(f);
  return kb / 4;
}

/* The vmas (start-end perms) inside [r, r + n pages), relative to r, in pages. */
static void vmas(const char *what, char *r, int n) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  printf("%s", what);
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perm[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perm) == 3 && lo >= (unsigned long)r &&
        hi <= (unsigned long)(r + n * P))
      printf(" %lu-%lu:%s", (lo - (unsigned long)r) / P, (hi - (unsigned long)r) / P, perm);
  }
  fclose(f);
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: %s FILE\n", argv[0]); return 2; }
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror(argv[1]); return 1; }

  const int A = DROPPABLE | MAP_ANONYMOUS;
  char *a = try_mmap("anon", RW, A, -1);
  try_mmap("file", RW, DROPPABLE, fd);
  try_mmap("locked", RW, A | MAP_LOCKED, -1);
  try_mmap("growsdown", RW, A | MAP_GROWSDOWN, -1);
  try_mmap("stack", RW, A | MAP_STACK, -1);
  try_mmap("noreserve", RW, A | MAP_NORESERVE, -1);
  try_mmap("none", PROT_NONE, A, -1);
  try_mmap("type-0xb", RW, 0x0b | MAP_ANONYMOUS, -1);
  char *p = try_mmap("populate", RW, A | MAP_POPULATE, -1);
  core("populate", p, 4);
  a[0] = 5;
  a[P] = 6;
  reads("fork", a, 2);
  rc("keeponfork", madvise(a, 4 * P, MADV_KEEPONFORK));
  rc("wipeonfork", madvise(a, 4 * P, MADV_WIPEONFORK));
  rc("dontfork", madvise(a, 4 * P, MADV_DONTFORK));
  rc("dofork", madvise(a, 4 * P, MADV_DOFORK));
  reads("fork after dofork", a, 2);
  rc("free", madvise(a + 2 * P, P, MADV_FREE));
  rc("remove", madvise(a, 4 * P, MADV_REMOVE));
  rc("pageout", madvise(a + 3 * P, P, MADV_PAGEOUT));
  rc("mprotect", mprotect(a + 3 * P, P, PROT_READ));
  rc("mprotect back", mprotect(a + 3 * P, P, RW));
  long l0 = vmlck();
  rc("mlock", mlock(a, 4 * P));
  printf("mlock locked %ld\n", vmlck() - l0);
  core("mlock", a, 4);
  rc("munlock", munlock(a, 4 * P));
  char *b = mremap(a, 4 * P, 8 * P, MREMAP_MAYMOVE);
  printf("mremap %d\n", b == MAP_FAILED ? errno : 0);
  printf("mremap kept %d %d\n", b[0], b[P]);
  reads("fork after mremap", b, 6);
  char *u = mremap(b, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
  printf("dontunmap %d\n", u == MAP_FAILED ? errno : 0);
  rc("keeponfork old range", madvise(b, P, MADV_KEEPONFORK));
  /* Neighbours: two droppable mappings side by side are one vma, a private one stays apart. */
  char *r = mmap(0, 8 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mmap(r, 2 * P, RW, A | MAP_FIXED, -1, 0);
  mmap(r + 2 * P, 2 * P, RW, A | MAP_FIXED, -1, 0);
  mmap(r + 4 * P, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  vmas("vmas", r, 8);
  mprotect(r + P, 2 * P, PROT_READ);
  vmas("vmas after mprotect", r, 8);
  mprotect(r + P, 2 * P, RW);
  vmas("vmas after mprotect back", r, 8);
  /* mlockall: MCL_CURRENT populates a droppable mapping without locking it; under MCL_FUTURE a
   * new one is populated, not locked. */
  char *q = mmap(0, 4 * P, RW, A, -1, 0);
  l0 = vmlck();
  rc("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE));
  core("mlockall", q, 4);
  long l1 = vmlck();
  char *w = mmap(0, 4 * P, RW, A, -1, 0);
  printf("future mmap %d locked %ld\n", w == MAP_FAILED ? errno : 0, vmlck() - l1);
  core("future", w, 4);
  munlockall();
  (void)l0;
  return 0;
}
