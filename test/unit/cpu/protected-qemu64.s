# Long-mode cases run by QEMU (multiboot, then into 64-bit mode) and by Hangar's CPU
# (protected-qemu.test.ts), observations written as dwords to port 0xE9: a 64-bit call gate
# from ring 3 (stack switch to RSP0 with a null SS, 8-byte slots) and RETFQ back, the same
# gate called from ring 0 (no stack switch), and a far JMP to a TSS (#GP: no task switches
# in long mode).
	.code32
	.text
	.globl _start
	.align 4
# Multiboot header with the load addresses (flag 16): the image is a flat binary, since
# QEMU's multiboot loader takes no 64-bit ELF files.
mbhdr:
	.long 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)
	.long mbhdr, mbhdr, 0, 0, _start

_start:
	cli
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $kstack_top, %esp
	# Identity map the first 4 MiB with user-accessible 2 MiB pages.
	movl $pdpt + 7, pml4
	movl $pd + 7, pdpt
	movl $0x87, pd
	movl $0x200087, pd + 8
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x18, $long_entry

	.code64
long_entry:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $kstack_top, %rsp
	# 64-bit TSS descriptor at 0x30 (16 bytes), call gate (DPL 3) at 0x40.
	mov $tss, %eax
	mov %eax, %ecx
	shl $16, %ecx
	or $0x67, %ecx
	movl %ecx, gdt + 0x30
	mov %eax, %ecx
	shr $16, %ecx
	and $0xff, %ecx
	mov %eax, %edx
	and $0xff000000, %edx
	or %edx, %ecx
	or $0x8900, %ecx
	movl %ecx, gdt + 0x34
	mov $gdt + 0x40, %edi
	mov $gate_target, %eax
	mov $0x18, %edx
	mov $0xec00, %ebx
	call mkgate
	# IDT: vectors 0-31 to their stubs, 0x30 (DPL 3) back to ring 0.
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	mov %ecx, %edi
	shl $4, %edi
	add $idt, %edi
	mov $0x18, %edx
	mov $0x8e00, %ebx
	call mkgate
	inc %ecx
	cmp $32, %ecx
	jb 2b
	mov $idt + 0x30 * 16, %edi
	mov $ring3_back, %eax
	mov $0x18, %edx
	mov $0xee00, %ebx
	call mkgate
	lidt idtr
	movl $kstack0_top, tss + 4
	mov $0x30, %ax
	ltr %ax

	# ---- case 1: ring 3 -> ring 0 through the 64-bit gate, RETFQ back ----
	movl $case2, resume
	mov %rsp, resume_rsp
	pushq $0x23
	pushq $ustack_top
	pushq $0x3002
	pushq $0x2b
	pushq $user1
	iretq
user1:
	lcall *ptr_gate(%rip)
	mov %rsp, %rax
	call putd
	mov %ss, %eax
	call putd
	mov %cs, %eax
	call putd
	int $0x30

gate_target:
	mov %rsp, %rax
	call putd
	mov $4, %ecx
	mov %rsp, %rsi
3:	mov (%rsi), %rax
	call putd
	shr $32, %rax
	call putd
	add $8, %rsi
	loop 3b
	mov %ss, %eax
	call putd
	mov %cs, %eax
	call putd
	lretq

	# ---- case 2: the same gate from ring 0: no stack switch ----
case2:
	movl $case3, resume
	mov %rsp, %rbx
	lcall *ptr_gate(%rip)
	sub %rsp, %rbx
	mov %rbx, %rax
	call putd
	jmp *resume(%rip)

	# ---- case 3: far JMP to a TSS in long mode: #GP(selector) ----
case3:
	movl $done, resume
	ljmp *ptr_tss(%rip)

done:
	mov $0xdeadbeef, %eax
	call putd
	mov $0, %eax
	out %eax, $0xf4
	hlt

	.include "qemu-lib64.s"

	.include "qemu-stubs64.s"

common:
	pop %rax
	call putd
	pop %rax
	call putd
	pop %rax
	call putd
	pop %rax
	call putd
	mov resume_rsp(%rip), %rsp
	jmp *resume(%rip)

ring3_back:
	mov resume_rsp(%rip), %rsp
	jmp *resume(%rip)

	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00af9a000000ffff
	.quad 0x00cff2000000ffff
	.quad 0x00affa000000ffff
	.fill 4, 8, 0
gdt_end:
gdtr:
	.word gdt_end - gdt - 1
	.long gdt
	.align 8
idtr:
	.word 256 * 16 - 1
	.quad idt
	.align 8
resume:
	.quad 0
resume_rsp:
	.quad 0
ptr_gate:
	.long 0
	.word 0x43
ptr_tss:
	.long 0
	.word 0x30
	.align 16
tss:	.fill 0x68, 1, 0
	.align 4096
pml4:	.fill 4096, 1, 0
pdpt:	.fill 4096, 1, 0
pd:	.fill 4096, 1, 0
idt:	.fill 256 * 16, 1, 0
	.fill 1024, 1, 0
kstack_top:
	.fill 1024, 1, 0
kstack0_top:
	.fill 1024, 1, 0
ustack_top:
