/* Entry for the flat binary: work(mem = 0x800000, rounds = %esi preset by the loader), then HLT. */
  .text
  .globl _start
_start:
  mov $0x800000, %edi
  call work
  hlt
