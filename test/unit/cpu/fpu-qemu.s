# x87 instruction and operand pointers, run both by QEMU (as a multiboot kernel) and by
# Hangar's CPU (fpu-qemu.test.ts); each writes what FNSTENV reports as dwords to the debug
# console port 0xE9 and the two streams must match. Ends by writing to isa-debug-exit (0xF4).
#
# Only what QEMU's TCG models is compared: FIP, FCS, FDP and FDS as FNSTENV stores them.
# QEMU leaves FOP at 0, stores no pointers in FXSAVE images, does not load them with FLDENV
# and lets FNSTSW AX move FIP (a control instruction on Intel); fpu-pointers.test.ts checks
# those against the manual instead.
	.code32
	.text
	.globl _start
	.align 4
mbhdr:
	.long 0x1BADB002, 0, -0x1BADB002

_start:
	cli
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x18, %ax		# a flat data segment with base 0x1000
	mov %ax, %fs
	mov $stack_top, %esp

	# 1: an FS operand (FDP is its offset, FDS the FS selector), then control instructions
	# that must leave the pointers alone.
	fninit
	fldl %fs:data - 0x1000
	fabs
	fnstcw cw
	fldcw cw
	fwait
	fnclex
	fnstenv env
	call putenv

	# 2: a register instruction behind a segment prefix: FIP points at the prefix, FDP stays.
	fninit
	fldl data
	.byte 0x3e
	fchs
	fnstenv env
	call putenv

	# 3: FNINIT clears them.
	fninit
	fnstenv env
	call putenv

	# 4: the 16-bit protected-mode environment.
	fninit
	fldl data + 8
	fld1
	data16 fnstenv env
	mov $3, %ecx
	mov $env + 6, %esi
2:	movzwl (%esi), %eax
	call putd
	add $2, %esi
	inc %ecx
	cmp $7, %ecx
	jne 2b

	mov $0xdeadbeef, %eax
	call putd
	mov $0, %eax
	out %eax, $0xf4
	hlt

# FIP, FCS, FDP, FDS of the 28-byte environment at env.
putenv:
	mov env + 12, %eax
	call putd
	movzwl env + 16, %eax
	call putd
	mov env + 20, %eax
	call putd
	movzwl env + 24, %eax
	call putd
	ret

	.include "qemu-lib32.s"

	.data
	.align 16
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cf92001000ffff
gdtr:
	.word gdtr - gdt - 1
	.long gdt
	.align 16
data:
	.double 2.5, -7.0
cw:
	.word 0
	.align 16
env:
	.fill 32, 1, 0
	.align 16
	.fill 4096, 1, 0
stack_top:
