/*
 * The Linux side of the benchmarks: the same workloads as bench/map.ts and bench/space.ts, done
 * by this machine's kernel, so that vmspace/Linux ratios come from one run on one machine.
 * Built and run by bench/run.ts when a C compiler is present (cc -O2); prints one JSON object.
 *
 * Times are CPU time of this process (CLOCK_PROCESS_CPUTIME_ID), best of several rounds,
 * divided by the operations done, in nanoseconds.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define ROUNDS 5

static double cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static double min2(double a, double b) { return a < b ? a : b; }

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Maps n one-page mappings with a one-page hole between each (so none merge); returns base. */
static char *many_vmas(size_t n) {
  size_t span = 2 * n * PAGE;
  char *base = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) die("mmap span");
  if (munmap(base, span) != 0) die("munmap span");
  for (size_t i = 0; i < n; i++)
    if (mmap(base + 2 * i * PAGE, PAGE, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
      die("mmap vma");
  return base;
}

/* mmap(NULL, 4 KiB) + munmap at n VMAs. */
static double mmap_munmap(size_t n, int ops) {
  char *base = many_vmas(n);
  double best = 1e30;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = cpu_ns();
    for (int k = 0; k < ops; k++) {
      void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED || munmap(p, PAGE) != 0) die("mmap+munmap");
    }
    best = min2(best, (cpu_ns() - t0) / ops);
  }
  munmap(base, 2 * n * PAGE);
  return best;
}

/* mprotect one page in the middle of a 3-page mapping and back (split then merge) at n VMAs. */
static double mprotect_split_merge(size_t n, int ops) {
  char *base = many_vmas(n);
  char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) die("mmap 3 pages");
  double best = 1e30;
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = cpu_ns();
    for (int k = 0; k < ops; k++)
      if (mprotect(m + PAGE, PAGE, PROT_READ) != 0 ||
          mprotect(m + PAGE, PAGE, PROT_READ | PROT_WRITE) != 0)
        die("mprotect");
    best = min2(best, (cpu_ns() - t0) / ops);
  }
  munmap(m, 3 * PAGE);
  munmap(base, 2 * n * PAGE);
  return best;
}

/* Demand-zero write fault per 4 KiB page over `bytes` (transparent huge pages off). */
static double zero_fill(size_t bytes) {
  double best = 1e30;
  size_t pages = bytes / PAGE;
  for (int r = 0; r < ROUNDS; r++) {
    char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) die("mmap zero");
    madvise(a, bytes, MADV_NOHUGEPAGE);
    double t0 = cpu_ns();
    for (size_t i = 0; i < pages; i++) a[i * PAGE] = 1;
    best = min2(best, (cpu_ns() - t0) / pages);
    munmap(a, bytes);
  }
  return best;
}

/* Copy-on-write fault per page: the parent writes every page after a fork (child waits). */
static double cow_fault(size_t bytes) {
  double best = 1e30;
  size_t pages = bytes / PAGE;
  char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) die("mmap cow");
  madvise(a, bytes, MADV_NOHUGEPAGE);
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t i = 0; i < pages; i++) a[i * PAGE] = (char)i;
    int fds[2];
    if (pipe(fds) != 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      char c;
      close(fds[1]);
      (void)!read(fds[0], &c, 1);
      _exit(0);
    }
    close(fds[0]);
    double t0 = cpu_ns();
    for (size_t i = 0; i < pages; i++) a[i * PAGE] = 9;
    best = min2(best, (cpu_ns() - t0) / pages);
    close(fds[1]);
    waitpid(pid, NULL, 0);
  }
  munmap(a, bytes);
  return best;
}

/* fork() as seen by the parent (CPU time of the call), child exits at once. */
static double fork_once(void) {
  double t0 = cpu_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) _exit(0);
  double t = cpu_ns() - t0;
  waitpid(pid, NULL, 0);
  return t;
}

static double fork_touched(size_t bytes) {
  char *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED) die("mmap fork");
  madvise(a, bytes, MADV_NOHUGEPAGE);
  double best = 1e30;
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t i = 0; i < bytes / PAGE; i++) a[i * PAGE] = (char)i;
    best = min2(best, fork_once());
  }
  munmap(a, bytes);
  return best;
}

static double fork_entries(size_t n) {
  char *base = many_vmas(n);
  double best = 1e30;
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t i = 0; i < n; i++) base[2 * i * PAGE] = 3;
    best = min2(best, fork_once());
  }
  munmap(base, 2 * n * PAGE);
  return best;
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  size_t region = (quick ? 16UL : 256UL) << 20;
  size_t touched = (quick ? 64UL : 1024UL) << 20;
  size_t entries = quick ? 1000 : 10000;
  printf("{\n");
  printf("  \"mmapMunmap60k\": %.1f,\n", mmap_munmap(60000, quick ? 2000 : 20000));
  printf("  \"mprotectSplitMerge60k\": %.1f,\n", mprotect_split_merge(60000, quick ? 2000 : 20000));
  printf("  \"zeroFill\": %.1f,\n", zero_fill(region));
  printf("  \"cowFault\": %.1f,\n", cow_fault(region));
  printf("  \"forkTouched\": %.1f,\n", fork_touched(touched));
  printf("  \"forkEntries\": %.1f,\n", fork_entries(entries));
  printf("  \"regionMiB\": %zu, \"touchedMiB\": %zu, \"entries\": %zu\n", region >> 20,
         touched >> 20, entries);
  printf("}\n");
  return 0;
}
