/* Fixed compute workload for the CPU benchmark: table-driven CRC32 over a generated buffer
 * and a shell sort of 32-bit integers. Freestanding: the emulated run loads it as a flat
 * binary; the native run links it with native-main.c. */
#include <stdint.h>

#define N_BYTES 65536
#define N_INTS 8192

uint64_t work(uint8_t *mem, int rounds) {
  uint32_t *table = (uint32_t *)mem;
  uint8_t *buf = mem + 1024;
  int32_t *ints = (int32_t *)(mem + 1024 + N_BYTES);
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint64_t acc = 0;
  uint32_t seed = 12345;
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < N_BYTES; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = (uint8_t)(seed >> 16);
    }
    uint32_t crc = 0xffffffffu;
    for (int i = 0; i < N_BYTES; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    acc = acc * 31 + (crc ^ 0xffffffffu);
    for (int i = 0; i < N_INTS; i++) {
      seed = seed * 1103515245u + 12345u;
      ints[i] = (int32_t)seed;
    }
    for (int gap = N_INTS / 2; gap > 0; gap /= 2) {
      for (int i = gap; i < N_INTS; i++) {
        int32_t v = ints[i];
        int j = i;
        while (j >= gap && ints[j - gap] > v) {
          ints[j] = ints[j - gap];
          j -= gap;
        }
        ints[j] = v;
      }
    }
    for (int i = 0; i < N_INTS; i += 97) acc = acc * 17 + (uint32_t)ints[i];
  }
  return acc;
}
