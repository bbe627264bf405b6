#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
uint64_t work(uint8_t *mem, int rounds);
int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 1;
  uint8_t *mem = aligned_alloc(4096, 1 << 20);
  struct timespec a, b;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  uint64_t r = work(mem, rounds);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  printf("%llu %.9f\n", (unsigned long long)r, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
  return 0;
}
