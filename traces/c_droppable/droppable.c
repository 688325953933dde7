/*
 * MAP_DROPPABLE (0x08, Linux 6.11+) as glibc 2.41 uses it for the vDSO getrandom() state, one
 * mapping per batch of threads, among ordinary private memory; then the calls that treat it
 * apart: MADV_KEEPONFORK (EINVAL), mlock (not locked), fork (the child sees zeros), mremap.
 * strace 6.1 prints the type as "0x8 /" "* MAP_??? *" "/". Recorded with traces/record.sh
 * (see traces/README.md).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define DROPPABLE 0x08

int main(void) {
  const long P = 4096;
  const int RW = PROT_READ | PROT_WRITE;
  char *state[6];
  for (int i = 0; i < 6; i++) {
    state[i] = mmap(0, 2 * P, RW, DROPPABLE | MAP_ANONYMOUS, -1, 0);
    state[i][0] = 1;
    char *heap = mmap(0, 8 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    heap[0] = 1;
  }
  madvise(state[0], 2 * P, MADV_KEEPONFORK);
  mlock(state[1], 2 * P);
  char *moved = mremap(state[2], 2 * P, 6 * P, MREMAP_MAYMOVE);
  moved[5 * P] = 1;
  pid_t pid = fork();
  if (pid == 0) _exit(state[3][0]);
  waitpid(pid, 0, 0);
  munmap(state[4], 2 * P);
  return 0;
}
