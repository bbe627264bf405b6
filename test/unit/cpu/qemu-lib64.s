# Subroutines shared by the 64-bit QEMU cross-check programs (protected-qemu64.s, long-qemu.s),
# pulled in with .include in their .text (64-bit code).

# Write EAX to port 0xE9, low byte first.
putd:
	push %rcx
	push %rax
	mov $4, %ecx
5:	outb %al, $0xe9
	shr $8, %eax
	loop 5b
	pop %rax
	pop %rcx
	ret

# 16-byte gate at RDI: offset EAX (below 4 GiB), selector EDX, EBX = P DPL type (and IST).
mkgate:
	push %rax
	push %rcx
	mov %eax, %ecx
	and $0xffff, %ecx
	shl $16, %edx
	or %edx, %ecx
	shr $16, %edx
	mov %ecx, (%rdi)
	and $0xffff0000, %eax
	or %ebx, %eax
	mov %eax, 4(%rdi)
	movl $0, 8(%rdi)
	movl $0, 12(%rdi)
	pop %rcx
	pop %rax
	ret
