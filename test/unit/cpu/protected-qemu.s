# Protected-mode system cases run both by QEMU (as a multiboot kernel) and by Hangar's CPU
# (protected-qemu.test.ts); each writes what it observed as dwords to the debug console
# port 0xE9 and the two byte streams must match. Ends by writing to isa-debug-exit (0xF4).
#
# Cases: a 32-bit call gate from ring 3 with two parameters and RETF 8 back (data-segment
# nulling), a 16-bit call gate with one parameter, CALL to a TSS and IRET back (NT, busy bits,
# back link, CR0.TS, saved state), a double fault taken by a task gate, #TS for a too-small
# TSS, #GP for a ring-3 CALL through a DPL 0 gate, JMP between tasks, INT n through a task
# gate, #TS for IRET to a task that is not busy, and a data access beyond a DS limit.
# (Each ring-3 part loads its own DS: QEMU's TCG does not fault on a null DS, hardware does.)
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
	mov %ax, %fs
	mov %ax, %gs
	mov $kstack_top, %esp
	# Descriptors whose bases are link-time addresses are built here.
	mov $gdt + 0x28, %edi; mov $tss1, %eax; mov $0x67, %edx; mov $0x0089, %ebx; call mkseg
	mov $gdt + 0x30, %edi; mov $tss2, %eax; mov $0x67, %edx; mov $0x0089, %ebx; call mkseg
	mov $gdt + 0x38, %edi; mov $tss3, %eax; mov $0x67, %edx; mov $0x0089, %ebx; call mkseg
	mov $gdt + 0x58, %edi; mov $tss2, %eax; mov $0x50, %edx; mov $0x0089, %ebx; call mkseg
	mov $gdt + 0x50, %edi; mov $0x100000, %eax; mov $0xfffff, %edx; mov $0x409a, %ebx; call mkseg
	mov $gdt + 0x68, %edi; mov $0, %eax; mov $0xfff, %edx; mov $0x4092, %ebx; call mkseg
	mov $gdt + 0x40, %edi; mov $gate32_target, %eax; mov $0x08, %edx; mov $0xec02, %ebx; call mkgate
	mov $gdt + 0x48, %edi; mov $gate16_target - 0x100000, %eax; mov $0x50, %edx; mov $0xe401, %ebx; call mkgate
	mov $gdt + 0x60, %edi; mov $0, %eax; mov $0x30, %edx; mov $0x8500, %ebx; call mkgate
	mov $gdt + 0x70, %edi; mov $gate32_target, %eax; mov $0x08, %edx; mov $0x8c00, %ebx; call mkgate
	# IDT: vectors 0-31 to their stubs, 0x30 (DPL 3) back to ring 0, 8 a task gate.
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	lea idt(,%ecx,8), %edi
	mov $0x08, %edx
	mov $0x8e00, %ebx
	call mkgate
	inc %ecx
	cmp $32, %ecx
	jb 2b
	mov $idt + 0x30 * 8, %edi; mov $ring3_back, %eax; mov $0x08, %edx; mov $0xee00, %ebx; call mkgate
	mov $idt + 8 * 8, %edi; mov $0, %eax; mov $0x38, %edx; mov $0x8500, %ebx; call mkgate
	mov $idt + 0x31 * 8, %edi; mov $0, %eax; mov $0x30, %edx; mov $0x8500, %ebx; call mkgate
	lidt idtr
	movl $kstack0_top, tss1 + 4
	movl $0x10, tss1 + 8
	mov $0x28, %ax
	ltr %ax

	# ---- case 1: 32-bit call gate, ring 3 -> ring 0, two parameters ----
	movl $case2, resume
	mov %esp, resume_esp
	pushl $0x23
	pushl $ustack_top
	pushl $0x3002
	pushl $0x1b
	pushl $user1
	iret
user1:
	mov $0x23, %ax
	mov %ax, %ds
	mov %ax, %es
	pushl $0x1111
	pushl $0x2222
	lcall $0x43, $0
ret1:
	mov %ds, %eax
	call putd
	mov %es, %eax
	call putd
	mov %fs, %eax
	call putd
	mov %gs, %eax
	call putd
	mov %esp, %eax
	call putd
	int $0x30

gate32_target:
	mov %esp, %eax
	call putd
	mov $6, %ecx
	mov %esp, %esi
3:	mov (%esi), %eax
	call putd
	add $4, %esi
	loop 3b
	mov %cs, %eax
	call putd
	mov %ss, %eax
	call putd
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %fs
	mov $0x23, %ax
	mov %ax, %gs
	lret $8

	# ---- case 2: 16-bit call gate, one parameter ----
case2:
	movl $case3, resume
	pushl $0x23
	pushl $ustack_top
	pushl $0x3002
	pushl $0x1b
	pushl $user2
	iret
user2:
	mov $0x23, %ax
	mov %ax, %ds
	pushl $0xbeef
	lcall $0x4b, $0
	int $0x30

gate16_target:
	mov %esp, %eax
	call putd
	mov %esp, %esi
	mov $5, %ecx
4:	movzwl (%esi), %eax
	call putd
	add $2, %esi
	loop 4b
	mov %cs, %eax
	call putd
	ljmp $0x08, $ring3_back

	# ---- case 3: CALL to a TSS, IRET back ----
case3:
	movl $case4, resume
	movl $task2, tss2 + 0x20
	movl $2, tss2 + 0x24
	movl $0xa, tss2 + 0x28
	movl $t2stack_top, tss2 + 0x38
	movl $0x10, tss2 + 0x48
	movl $0x08, tss2 + 0x4c
	movl $0x10, tss2 + 0x50
	movl $0x10, tss2 + 0x54
	mov $0x11111111, %eax
	lcall $0x30, $0
after_call:
	call putd
	pushf
	pop %eax
	and $0x4000, %eax
	call putd
	str %ax
	movzwl %ax, %eax
	call putd
	movzbl gdt + 0x35, %eax
	and $0xf, %eax
	call putd
	mov tss2 + 0x20, %eax
	call putd
	mov tss2 + 0x24, %eax
	and $0x4000, %eax
	call putd
	jmp *resume

task2:
	call putd
	mov %esp, %eax
	call putd
	pushf
	pop %eax
	and $0x4000, %eax
	call putd
	mov %cr0, %eax
	and $8, %eax
	call putd
	str %ax
	movzwl %ax, %eax
	call putd
	movzwl tss2, %eax
	call putd
	movzbl gdt + 0x2d, %eax
	and $0xf, %eax
	call putd
	movzbl gdt + 0x35, %eax
	and $0xf, %eax
	call putd
	mov tss1 + 0x20, %eax
	call putd
	mov tss1 + 0x28, %eax
	call putd
	clts
	iret

	# ---- case 4: #GP with IDT[13] not present -> #DF through a task gate ----
case4:
	movl $case5, resume
	movl $task3, tss3 + 0x20
	movl $2, tss3 + 0x24
	movl $t3stack_top, tss3 + 0x38
	movl $0x10, tss3 + 0x48
	movl $0x08, tss3 + 0x4c
	movl $0x10, tss3 + 0x50
	movl $0x10, tss3 + 0x54
	andb $0x7f, idt + 13 * 8 + 5
	mov $0x200, %ax
df_here:
	mov %ax, %ds
after_df:
	str %ax
	movzwl %ax, %eax
	call putd
	mov %ds, %eax
	call putd
	movzbl gdt + 0x3d, %eax
	and $0xf, %eax
	call putd
	jmp *resume

task3:
	pop %eax
	call putd
	mov %esp, %eax
	call putd
	str %ax
	movzwl %ax, %eax
	call putd
	movzwl tss3, %eax
	call putd
	mov tss1 + 0x20, %eax
	call putd
	pushf
	pop %eax
	and $0x4000, %eax
	call putd
	movl $after_df, tss1 + 0x20
	orb $0x80, idt + 13 * 8 + 5
	iret

	# ---- case 5: #TS for a TSS whose limit is below 0x67 ----
case5:
	movl $case6, resume
	mov %esp, resume_esp
	lcall $0x58, $0

	# ---- case 6: ring-3 CALL through a DPL 0 gate -> #GP(gate) ----
case6:
	movl $case8, resume
	pushl $0x23
	pushl $ustack_top
	pushl $0x3002
	pushl $0x1b
	pushl $user6
	iret
user6:
	lcall $0x73, $0
	int $0x30

	# ---- case 8: JMP to a TSS and JMP back ----
case8:
	movl $case9, resume
	movl $task2j, tss2 + 0x20
	movl $2, tss2 + 0x24
	movl $t2stack_top, tss2 + 0x38
	ljmp $0x30, $0
	str %ax
	movzwl %ax, %eax
	call putd
	movzbl gdt + 0x35, %eax
	and $0xf, %eax
	call putd
	jmp *resume

task2j:
	str %ax
	movzwl %ax, %eax
	call putd
	pushf
	pop %eax
	and $0x4000, %eax
	call putd
	movzbl gdt + 0x2d, %eax
	and $0xf, %eax
	call putd
	movzbl gdt + 0x35, %eax
	and $0xf, %eax
	call putd
	ljmp $0x28, $0

	# ---- case 9: INT n through a task gate ----
case9:
	movl $case10, resume
	movl $task2i, tss2 + 0x20
	movl $2, tss2 + 0x24
	movl $t2stack_top, tss2 + 0x38
	int $0x31
	mov tss1 + 0x20, %eax
	call putd
	jmp *resume

task2i:
	mov %esp, %eax
	call putd
	movzwl tss2, %eax
	call putd
	pushf
	pop %eax
	and $0x4000, %eax
	call putd
	iret

	# ---- case 10: IRET with NT to a task that is not busy -> #TS(link) ----
case10:
	movl $case7, resume
	movw $0x30, tss1
	pushf
	orl $0x4000, (%esp)
	popf
	iret

	# ---- case 7: a load beyond the DS limit (QEMU's TCG does not check data limits) ----
case7:
	mov $0xc7c7c7c7, %eax
	call putd
	movl $done, resume
	mov $0x68, %ax
	mov %ax, %ds
	mov 0x1000, %eax
	mov $0x10, %ax
	mov %ax, %ds
	mov $0x7777, %eax
	call putd

done:
	mov $0xdeadbeef, %eax
	call putd
	mov $0, %eax
	out %eax, $0xf4
	hlt

	.include "qemu-lib32.s"

	.include "qemu-stubs32.s"

common:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	pop %eax
	call putd
	pop %eax
	call putd
	pop %eax
	call putd
	pop %eax
	call putd
	mov resume_esp, %esp
	jmp *resume

ring3_back:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov resume_esp, %esp
	jmp *resume

	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cffa000000ffff
	.quad 0x00cff2000000ffff
	.fill 10, 8, 0
gdt_end:
gdtr:
	.word gdt_end - gdt - 1
	.long gdt
	.align 8
idtr:
	.word 256 * 8 - 1
	.long idt
resume:
	.long 0
resume_esp:
	.long 0
	.align 16
tss1:	.fill 0x68, 1, 0
tss2:	.fill 0x68, 1, 0
tss3:	.fill 0x68, 1, 0
	.align 16
idt:	.fill 256 * 8, 1, 0
	.fill 1024, 1, 0
kstack_top:
	.fill 1024, 1, 0
kstack0_top:
	.fill 1024, 1, 0
ustack_top:
	.fill 1024, 1, 0
t2stack_top:
	.fill 1024, 1, 0
t3stack_top:
