# Long-mode system cases run by QEMU (multiboot, then into 64-bit mode) and by Hangar's CPU
# (long-qemu.test.ts), observations written as dwords to port 0xE9: accessed and dirty bits
# on all four paging levels and in 1 GiB and 2 MiB pages, NX in a PML4 entry, U/S in a PDPTE,
# LAR/LSL on IA-32e system descriptors, SYSCALL from compatibility mode through CSTAR with
# SYSRET back to it, and reserved bits in paging entries. The GDT follows Linux's layout (kernel CS 0x10, DS 0x18, user CS32 0x23,
# DS 0x2B, CS64 0x33).
	.code32
	.text
	.globl _start
	.align 4
mbhdr:
	.long 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)
	.long mbhdr, mbhdr, 0, 0, _start

_start:
	cli
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $kstack_top, %esp
	# Boot chain: identity 0-4 MiB in two 2 MiB pages.
	movl $pdpt + 7, pml4
	movl $pd + 7, pdpt
	movl $0x87, pd
	movl $0x200087, pd + 8
	# Test chain under PML4 entry 1 (linear 512 GiB), accessed bits all clear.
	movl $pdpt2 + 7, pml4 + 8
	movl $pd2 + 7, pdpt2
	movl $0x87, pdpt2 + 8			# 1 GiB page at 0 (linear 512 GiB + 1 GiB)
	movl $pt2 + 7, pd2
	movl $0x87, pd2 + 8			# 2 MiB page at 0 (linear 512 GiB + 2 MiB)
	movl $dpage0 + 7, pt2
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov $0xc0000080, %ecx
	rdmsr
	or $0x901, %eax				# LME, NXE, SCE
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $0x10, $long_entry

	.code64
long_entry:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $kstack_top, %rsp
	# 64-bit TSS at 0x38 (16 bytes), a 16-bit TSS descriptor at 0x48, a 64-bit call gate at 0x50.
	mov $tss, %eax
	mov %eax, %ecx
	shl $16, %ecx
	or $0x67, %ecx
	movl %ecx, gdt + 0x38
	mov %eax, %ecx
	shr $16, %ecx
	and $0xff, %ecx
	mov %eax, %edx
	and $0xff000000, %edx
	or %edx, %ecx
	or $0x8900, %ecx
	movl %ecx, gdt + 0x3c
	movl $0x67, gdt + 0x48
	movl $0x8100, gdt + 0x4c
	mov $gdt + 0x50, %edi
	mov $long_entry, %eax
	mov $0x10, %edx
	mov $0x8c00, %ebx
	call mkgate
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $4, %eax
	add $stubs, %eax
	mov %ecx, %edi
	shl $4, %edi
	add $idt, %edi
	mov $0x10, %edx
	mov $0x8e00, %ebx
	call mkgate
	inc %ecx
	cmp $32, %ecx
	jb 2b
	mov $idt + 0x30 * 16, %edi
	mov $ring3_back, %eax
	mov $0x10, %edx
	mov $0xee00, %ebx
	call mkgate
	lidt idtr
	movl $kstack0_top, tss + 4
	mov $0x38, %ax
	ltr %ax

	# ---- accessed and dirty bits ----
	mov $0x8000000000, %rsi
	mov (%rsi), %eax
	mov pml4 + 8, %eax; and $0xfff, %eax; call putd
	mov pdpt2, %eax; and $0xfff, %eax; call putd
	mov pd2, %eax; and $0xfff, %eax; call putd
	mov pt2, %eax; and $0xfff, %eax; call putd
	movl $1, 4(%rsi)
	mov pt2, %eax; and $0xfff, %eax; call putd
	mov pd2, %eax; and $0xfff, %eax; call putd
	movabs $0x8040000000 + dpage1, %rdi
	movl $2, (%rdi)				# write through the 1 GiB page
	movabs $0x8000200000 + dpage1, %rdi
	mov (%rdi), %eax			# read through the 2 MiB page
	call putd
	mov pdpt2 + 8, %eax; and $0xfff, %eax; call putd
	mov pd2 + 8, %eax; and $0xfff, %eax; call putd

	# ---- NX in the PML4 entry: a fetch is #PF(P|I/D), a read is not ----
	movl $0x80000000, pml4 + 12
	mov %cr3, %rax
	mov %rax, %cr3
	mov (%rsi), %eax
	call putd
	movl $c2, resume
	mov %rsp, resume_rsp
	call *%rsi
c2:	mov %cr2, %rax; call putd; shr $32, %rax; call putd
	movl $0, pml4 + 12

	# ---- U/S clear in the PDPTE: a ring-3 read is #PF(P|U) ----
	movl $pd2 + 3, pdpt2
	mov %cr3, %rax
	mov %rax, %cr3
	movl $c3, resume
	pushq $0x2b
	pushq $ustack_top
	pushq $0x2
	pushq $0x33
	pushq $user_read
	iretq
user_read:
	mov $0x8000000010, %rax
	mov (%rax), %eax
c3:	mov %cr2, %rax; call putd; shr $32, %rax; call putd

	# ---- LAR/LSL on IA-32e system descriptors ----
	mov $0xdeadbeef, %eax
	mov $0x48, %ecx
	lar %ecx, %eax				# 16-bit TSS: refused
	setz %bl
	call putd
	movzbl %bl, %eax; call putd
	mov $0x50, %ecx
	lar %ecx, %eax				# 64-bit call gate: accepted
	setz %bl
	and $0x00f0ff00, %eax; call putd
	movzbl %bl, %eax; call putd
	mov $0x38, %ecx
	lsl %ecx, %eax
	call putd

	# ---- SYSCALL from compatibility mode (CSTAR), SYSRET back ----
	mov $0xc0000081, %ecx			# STAR: SYSCALL CS 0x10, SYSRET base 0x23
	xor %eax, %eax
	mov $0x00230010, %edx
	wrmsr
	mov $0xc0000083, %ecx			# CSTAR
	mov $syscall_compat, %eax
	xor %edx, %edx
	wrmsr
	mov $0xc0000084, %ecx			# FMASK: DF
	mov $0x400, %eax
	wrmsr
	movl $c5, resume
	pushq $0x2b
	pushq $ustack_top
	pushq $0x2
	pushq $0x23
	pushq $user_compat
	iretq
syscall_compat:
	mov %rcx, %rax; call putd; shr $32, %rax; call putd
	mov %r11, %rax; call putd
	mov %cs, %eax; call putd
	mov %ss, %eax; call putd
	pushfq
	pop %rax
	call putd
	sysretl
	.code32
user_compat:
	std
	mov $5, %ebx
	syscall
	int $0x30
	.code64
c5:
	# ---- reserved bits: #PF(P|RSVD) for bit 40 in a PTE and PS in a PML4E; bit 52 is ignored ----
	mov $0x18, %ax
	mov %ax, %ss
	movl $pd2 + 7, pdpt2
	movl $1 << 8, pt2 + 4			# bit 40
	mov %cr3, %rax
	mov %rax, %cr3
	movl $c6, resume
	mov $0x8000000000, %rsi
	mov (%rsi), %eax
c6:	mov pt2, %eax; and $0xfff, %eax; call putd
	movl $0, pt2 + 4
	orl $0x80, pml4 + 8			# PS in the PML4E
	mov %cr3, %rax
	mov %rax, %cr3
	movl $c7, resume
	movl $1, (%rsi)
c7:	andl $~0x80, pml4 + 8
	movl $1 << 20, pt2 + 4			# bit 52: ignored in 4-level paging
	mov %cr3, %rax
	mov %rax, %cr3
	mov (%rsi), %eax
	call putd
	mov $0xc7c7c7c7, %eax
	call putd
	mov $0, %eax
	out %eax, $0xf4
	hlt

	.include "qemu-lib64.s"

	.include "qemu-stubs64.s"

# Reports the vector, the error code (0 when none), RIP, CS and RFLAGS (low dwords).
common:
	mov $5, %ecx
6:	pop %rax
	call putd
	loop 6b
	mov resume_rsp(%rip), %rsp
	jmp *resume(%rip)

# INT 0x30 from ring 3: RIP CS RFLAGS RSP SS (low dwords), then resume.
ring3_back:
	mov $5, %ecx
7:	pop %rax
	call putd
	loop 7b
	mov resume_rsp(%rip), %rsp
	jmp *resume(%rip)

	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff		# 0x08 code32 (boot)
	.quad 0x00af9a000000ffff		# 0x10 kernel code64
	.quad 0x00cf92000000ffff		# 0x18 kernel data
	.quad 0x00cffa000000ffff		# 0x20 user code32
	.quad 0x00cff2000000ffff		# 0x28 user data
	.quad 0x00affa000000ffff		# 0x30 user code64
	.fill 6, 8, 0				# 0x38 TSS, 0x48 16-bit TSS, 0x50 call gate
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
	.align 16
tss:	.fill 0x68, 1, 0
	.align 4096
pml4:	.fill 4096, 1, 0
pdpt:	.fill 4096, 1, 0
pd:	.fill 4096, 1, 0
pdpt2:	.fill 4096, 1, 0
pd2:	.fill 4096, 1, 0
pt2:	.fill 4096, 1, 0
dpage0:	.fill 4096, 1, 0
dpage1:	.fill 4096, 1, 0
idt:	.fill 256 * 16, 1, 0
	.fill 1024, 1, 0
kstack_top:
	.fill 1024, 1, 0
kstack0_top:
	.fill 1024, 1, 0
ustack_top:
