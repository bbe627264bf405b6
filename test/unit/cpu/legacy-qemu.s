# Legacy-mode system cases run both by QEMU (as a multiboot kernel) and by Hangar's CPU
# (legacy-qemu.test.ts); each writes what it observed as dwords to the debug console port
# 0xE9 and the two streams must match. Ends by writing to isa-debug-exit (0xF4).
#
# Cases: 32-bit paging with 4 KiB and 4 MiB pages (accessed and dirty bits, #PF error codes
# and CR2 for absent, read-only with CR0.WP, user vs supervisor directory, read-only
# directory; the I/D bit stays 0 without PAE even with EFER.NXE); PAE paging in protected
# mode (2 MiB pages, A/D, PDPTEs untouched, NX fetch, absent fetch); virtual-8086 mode (CLI
# at IOPL 0, the IOPL 3 CLI/STI/PUSHF/POPF sequence and INT n through the IDT with the v86
# frame and nulled segments, IRETD back, the TSS I/O bitmap, INT3 through a DPL 0 gate);
# SYSENTER/SYSEXIT and SYSENTER with SYSENTER_CS = 0.
#
# Exception stubs print: vector, error code, then `nframe` dwords of the frame.
	.code32
	.text
	.globl _start
	.align 4
mbhdr:
	.long 0x1BADB002, 0, -0x1BADB002

_start:
	cli
	mov $0xff, %al			# mask the PICs: no timer interrupt once IF is set
	out %al, $0x21
	out %al, $0xa1
	lgdt gdtr
	ljmp $0x08, $1f
1:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $kstack_top, %esp
	mov $gdt + 0x28, %edi; mov $tss, %eax; mov $tss_end - tss - 1, %edx; mov $0x0089, %ebx; call mkseg
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
	mov $idt + 0x40 * 8, %edi; mov $v86_int, %eax; mov $0x08, %edx; mov $0xee00, %ebx; call mkgate
	lidt idtr
	movl $kstack0_top, tss + 4
	movl $0x10, tss + 8
	movw $iomap - tss, tss + 0x66
	mov $0x28, %ax
	ltr %ax
	movl $3, nframe

	# ---- 32-bit paging: PD 0 -> pt0 (identity 0-4 MiB), PD 1 -> pt1, PD 2 = 4 MiB page at 0 ----
	mov $pt0, %edi
	mov $7, %eax
	mov $1024, %ecx
3:	mov %eax, (%edi)
	add $4096, %eax
	add $4, %edi
	loop 3b
	movl $pt0 + 7, pd
	movl $pt1 + 7, pd + 4
	movl $0x83, pd + 8
	movl $dpage0 + 7, pt1
	movl $dpage1 + 7, pt1 + 4
	movl $dpage2 + 5, pt1 + 8		# read-only
	movl $0, pt1 + 12			# absent
	movl $dpage4 + 7, pt1 + 16
	mov $pd, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x10, %eax				# PSE
	mov %eax, %cr4
	mov %cr0, %eax
	or $0x80010000, %eax			# PG | WP
	mov %eax, %cr0
	mov 0x400000, %eax			# read page 0
	movl $5, 0x401004			# write page 1
	movl $6, 0x800000 + dpage3		# write through the 4 MiB page
	mov pd + 4, %eax; and $0xfff, %eax; call putd
	mov pt1, %eax; and $0xfff, %eax; call putd
	mov pt1 + 4, %eax; and $0xfff, %eax; call putd
	mov pd + 8, %eax; and $0xfff, %eax; call putd
	mov dpage3, %eax; call putd

	movl $p1b, resume
	mov %esp, resume_esp
	movl $1, 0x402000			# read-only page with WP: #PF(3)
p1b:	mov %cr2, %eax; call putd
	mov pt1 + 8, %eax; and $0xfff, %eax; call putd
	movl $p1c, resume
	mov 0x403000, %eax			# absent: #PF(0)
p1c:	mov %cr2, %eax; call putd
	mov %cr0, %eax
	and $~0x10000, %eax			# WP off: the write goes through and sets D
	mov %eax, %cr0
	movl $9, 0x402008
	mov pt1 + 8, %eax; and $0xfff, %eax; call putd
	mov dpage2 + 8, %eax; call putd
	mov %cr0, %eax
	or $0x10000, %eax
	mov %eax, %cr0
	mov $0xc0000080, %ecx			# EFER.NXE: no I/D bit without PAE all the same
	rdmsr
	or $0x800, %eax
	wrmsr
	movl $p1d, resume
	mov $0x403000, %eax
	call *%eax
p1d:	mov %cr2, %eax; call putd

	movl $pt1 + 3, pd + 4			# supervisor directory entry over user PTEs
	mov %cr3, %eax
	mov %eax, %cr3
	movl $p1e, resume
	pushl $0x23; pushl $ustack_top; pushl $0x2; pushl $0x1b; pushl $user_read
	iret
user_read:
	mov $0x23, %ax
	mov %ax, %ds
	mov 0x400000, %eax			# #PF(5)
p1e:	mov %cr2, %eax; call putd
	movl $pt1 + 5, pd + 4			# read-only user directory entry
	mov %cr3, %eax
	mov %eax, %cr3
	movl $p1f, resume
	pushl $0x23; pushl $ustack_top; pushl $0x2; pushl $0x1b; pushl $user_write
	iret
user_write:
	mov $0x23, %ax
	mov %ax, %ds
	movl $1, 0x404000			# #PF(7)
p1f:	mov %cr2, %eax; call putd
	mov pt1 + 16, %eax; and $0xfff, %eax; call putd
	mov pd + 4, %eax; and $0xfff, %eax; call putd
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0

	# ---- PAE paging: PDPTE 0 -> pae_pd (identity 0-2 MiB in 4 KiB pages, 2-4 MiB one 2 MiB
	# page); PDPTE 1 -> pae_pd1 whose PDE 0 maps 2 MiB at physical 0 with NX ----
	mov $pae_pt, %edi
	mov $7, %eax
	mov $512, %ecx
4:	mov %eax, (%edi)
	movl $0, 4(%edi)
	add $4096, %eax
	add $8, %edi
	loop 4b
	movl $0, pae_pt + 0x1ff * 8		# linear 0x1FF000 absent
	movl $pae_pt + 7, pae_pd
	movl $0x200087, pae_pd + 8
	movl $pae_pd + 1, pdpt
	movl $pae_pd1 + 1, pdpt + 8
	movl $0x83, pae_pd1
	movl $0x80000000, pae_pd1 + 4
	mov $pdpt, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	mov 0x40000000 + dpage5, %eax		# reading an NX page is fine
	movl $3, 0x40000000 + dpage6
	mov pae_pd1, %eax; and $0xfff, %eax; call putd
	mov pae_pd1 + 4, %eax; call putd
	mov pdpt + 8, %eax; sub $pae_pd1, %eax; call putd
	mov pae_pd, %eax; and $0xfff, %eax; call putd
	mov pae_pd + 8, %eax; and $0xfff, %eax; call putd
	movl $p2b, resume
	mov %esp, resume_esp
	mov $0x40000000 + nx_target, %eax
	call *%eax				# #PF(0x11)
p2b:	mov %cr2, %eax; call putd
	movl $p2c, resume
	mov $0x1ff000, %eax
	call *%eax				# #PF(0x10)
p2c:	mov %cr2, %eax; call putd
	mov %cr0, %eax
	and $0x7fffffff, %eax
	mov %eax, %cr0
	mov %cr4, %eax
	and $~0x20, %eax
	mov %eax, %cr4

	# ---- virtual-8086 mode: the 16-bit code runs at 0x2000:xxxx ----
	mov $v86_code, %esi
	mov $0x20000, %edi
	mov $v86_end - v86_code, %ecx
	rep movsb
	movl $9, nframe
	movl $v1b, resume
	mov $v86_cli - v86_code, %eax; mov $0x20002, %ebx; jmp enter_v86	# IOPL 0: CLI is #GP(0)
v1b:	movl $v2b, resume
	mov $v86_seq - v86_code, %eax; mov $0x23002, %ebx; jmp enter_v86	# IOPL 3
v2b:	movl $v3b, resume
	mov $v86_io - v86_code, %eax; mov $0x23002, %ebx; jmp enter_v86
v3b:	movl $v4b, resume
	mov $v86_int3 - v86_code, %eax; mov $0x20002, %ebx; jmp enter_v86
v4b:	movl $v5b, resume
	movl $1, v86_iret
	mov $v86_back - v86_code, %eax; mov $0x23002, %ebx; jmp enter_v86
v5b:	movl $0, v86_iret

	# ---- SYSENTER / SYSEXIT ----
	movl $3, nframe
	mov $0x174, %ecx; mov $0x08, %eax; xor %edx, %edx; wrmsr
	mov $0x175, %ecx; mov $kstack2_top, %eax; wrmsr
	mov $0x176, %ecx; mov $sysenter_target, %eax; wrmsr
	movl $s1b, resume
	pushl $0x23; pushl $ustack_top; pushl $0x2; pushl $0x1b; pushl $user_sysenter
	iret
user_sysenter:
	mov $0x23, %ax
	mov %ax, %ds
	mov $0x1234, %ebp
	sysenter
sysenter_target:
	mov %cs, %eax; call putd
	mov %ss, %eax; call putd
	mov %esp, %eax; call putd
	mov %ebp, %eax; call putd
	pushf
	pop %eax
	call putd
	mov $user_after, %edx
	mov $ustack_top - 16, %ecx
	sysexit
user_after:
	int $0x30
s1b:	mov $0x174, %ecx; xor %eax, %eax; xor %edx, %edx; wrmsr
	movl $s1c, resume
	pushl $0x23; pushl $ustack_top; pushl $0x2; pushl $0x1b; pushl $user_sysenter0
	iret
user_sysenter0:
	sysenter				# SYSENTER_CS = 0: #GP(0)
s1c:
	mov $0xc7c7c7c7, %eax
	call putd
	xor %eax, %eax
	out %eax, $0xf4
	hlt

nx_target:
	ret

# IRETD to virtual-8086 mode at 0x2000:AX with EFLAGS EBX; the resume point is set.
enter_v86:
	mov %esp, resume_esp
	pushl $0x2300				# GS
	pushl $0x2200				# FS
	pushl $0x2000				# DS
	pushl $0x2100				# ES
	pushl $0x2000				# SS
	pushl $0x1000				# SP
	pushl %ebx
	pushl $0x2000				# CS
	pushl %eax
	iret

# INT 0x40 from v86 (DPL 3 gate): data segment selectors, EAX EBX ECX, the 9-dword frame;
# then IRETD back when v86_iret is set, else resume.
v86_int:
	mov %eax, %esi
	mov %ds, %eax; call putd
	mov %es, %eax; call putd
	mov %fs, %eax; call putd
	mov %gs, %eax; call putd
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %esi, %eax; call putd
	mov %ebx, %eax; call putd
	mov %ecx, %eax; call putd
	mov %esp, %esi
	mov $9, %ecx
6:	mov (%esi), %eax
	call putd
	add $4, %esi
	loop 6b
	cmpl $0, v86_iret
	je 7f
	iret
7:	mov resume_esp, %esp
	jmp *resume

	.code16
v86_code:
v86_cli:
	cli
	hlt
v86_seq:
	cli
	pushfl
	popl %eax
	sti
	pushf
	pop %bx
	push $0
	popf
	pushf
	pop %cx
	int $0x40
v86_io:
	mov $0x5a, %al
	out %al, $0x80				# allowed by the bitmap
	in $0x71, %ax				# 0x72 is not: #GP(0)
	hlt
v86_int3:
	nop
	int3					# not IOPL-sensitive; the DPL 0 gate refuses it
v86_back:
	int $0x40
	mov %ds, %cx
	hlt					# #GP(0) back in v86
v86_end:
	.code32

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
	mov nframe, %ecx
8:	pop %eax
	call putd
	loop 8b
	mov resume_esp, %esp
	jmp *resume

# INT 0x30 from ring 3: print EIP CS EFLAGS ESP SS and resume.
ring3_back:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov $5, %ecx
9:	pop %eax
	call putd
	loop 9b
	mov resume_esp, %esp
	jmp *resume

	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cffa000000ffff
	.quad 0x00cff2000000ffff
	.quad 0
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
nframe:
	.long 0
v86_iret:
	.long 0
	.align 16
tss:	.fill 0x68, 1, 0
iomap:	.fill 14, 1, 0xff			# ports 0x00-0x6F
	.byte 0xfc				# 0x70 and 0x71 allowed
	.byte 0xff
	.byte 0xfe				# 0x80 allowed
	.fill 0x80 - 17, 1, 0xff		# up to 0x3FF
	.byte 0xff
tss_end:
	.align 16
idt:	.fill 256 * 8, 1, 0
	.fill 1024, 1, 0
kstack_top:
	.fill 1024, 1, 0
kstack0_top:
	.fill 1024, 1, 0
kstack2_top:
	.fill 1024, 1, 0
ustack_top:
	.align 4096
pd:	.fill 4096, 1, 0
pt0:	.fill 4096, 1, 0
pt1:	.fill 4096, 1, 0
dpage0:	.fill 4096, 1, 0
dpage1:	.fill 4096, 1, 0
dpage2:	.fill 4096, 1, 0
dpage3:	.fill 4096, 1, 0
dpage4:	.fill 4096, 1, 0
dpage5:	.fill 4096, 1, 0
dpage6:	.fill 4096, 1, 0
pdpt:	.fill 4096, 1, 0
pae_pd:	.fill 4096, 1, 0
pae_pd1: .fill 4096, 1, 0
pae_pt:	.fill 4096, 1, 0
