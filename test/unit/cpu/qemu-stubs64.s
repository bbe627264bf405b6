# Exception stubs for the 64-bit QEMU cross-check programs, 16 bytes apart (vector v at
# stubs + 16 * v): each pushes the vector and an error code (0 when the CPU pushes none) and
# jumps to the including program's `common`, which reports what it needs of the frame.
	.align 16
stubs:
	.set vec, 0
	.rept 32
	.align 16
	.if vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || vec == 14 || vec == 17
	pushq $vec
	.else
	pushq $0
	pushq $vec
	.endif
	jmp common
	.set vec, vec + 1
	.endr
