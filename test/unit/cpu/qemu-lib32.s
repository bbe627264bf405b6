# Subroutines shared by the 32-bit QEMU cross-check programs (protected-qemu.s, legacy-qemu.s,
# fpu-qemu.s), pulled in with .include in their .text (32-bit code).

# Write EAX to port 0xE9, low byte first.
putd:
	push %ecx
	push %eax
	mov $4, %ecx
5:	outb %al, $0xe9
	shr $8, %eax
	loop 5b
	pop %eax
	pop %ecx
	ret

# Segment descriptor at EDI: base EAX, byte-granular limit EDX, EBX = access | flags << 12.
mkseg:
	push %eax
	push %edx
	push %ecx
	mov %edx, %ecx
	and $0xffff, %ecx
	push %eax
	shl $16, %eax
	or %ecx, %eax
	mov %eax, (%edi)
	pop %eax
	mov %eax, %ecx
	and $0xff000000, %ecx
	shr $16, %eax
	and $0xff, %eax
	or %eax, %ecx
	and $0xf0000, %edx
	or %edx, %ecx
	mov %ebx, %eax
	shl $8, %eax
	or %eax, %ecx
	mov %ecx, 4(%edi)
	pop %ecx
	pop %edx
	pop %eax
	ret

# Gate at EDI: offset EAX, selector EDX, EBX = the high word's low half (P DPL type, count).
mkgate:
	push %eax
	push %ecx
	mov %eax, %ecx
	and $0xffff, %ecx
	shl $16, %edx
	or %edx, %ecx
	shr $16, %edx
	mov %ecx, (%edi)
	and $0xffff0000, %eax
	or %ebx, %eax
	mov %eax, 4(%edi)
	pop %ecx
	pop %eax
	ret
