/* 32-bit entry for the flat binary (bench/cpu/run32.ts): work(mem = 0x800000, rounds = %esi
   preset by the loader) with the i386 stack convention, then HLT (result in EDX:EAX). */
  .text
  .globl _start
_start:
  push %esi
  push $0x800000
  call work
  hlt
