/*
 * Native side of Hangar's CPU differential tests. Reads test cases from stdin, runs each one
 * on the host CPU and writes the resulting state to stdout.
 *
 * Each case: initial GPRs, RFLAGS, MXCSR, XMM registers, x87 state, up to 64 code bytes, an 8 KiB
 * data window and the code size (64-bit, or 32-bit compatibility mode). The code is placed at CODE_ADDR + 0x100 in a page filled with INT3, the
 * window at WIN_ADDR. Registers are loaded by returning from a SIGUSR1 handler whose
 * ucontext we rewrite (so every register, RFLAGS and RIP are set exactly); the run ends at
 * the next trap or fault, whose handler captures the state and siglongjmps back. All
 * handlers run on an alternate stack because the test's RSP points into the window.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x20000000UL
#define WIN_ADDR 0x10000000UL
#define WIN_SIZE 8192

#pragma pack(push, 1)
/* x87 state as FXSAVE holds it: FCW, FSW (with TOP), abridged tag byte, ST(0..7) 80-bit. */
struct x87 {
  uint16_t fcw;
  uint16_t fsw;
  uint16_t ftw;
  uint16_t pad;
  uint8_t st[8][10];
};
struct input {
  uint64_t gpr[16]; /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
  uint64_t rflags;
  uint32_t mxcsr;
  uint16_t code_len;
  uint16_t flags; /* bit 0: run in 32-bit compatibility mode (CS = __USER32_CS) */
  uint8_t xmm[16][16];
  struct x87 x87;
  uint8_t code[64];
  uint8_t window[WIN_SIZE];
};
struct output {
  int32_t signo;
  int32_t pad;
  uint64_t gpr[16];
  uint64_t rip;
  uint64_t rflags;
  uint32_t mxcsr;
  uint32_t pad2;
  uint8_t xmm[16][16];
  struct x87 x87;
  uint8_t window[WIN_SIZE];
};
#pragma pack(pop)

static const int greg_of[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static struct input in;
static struct output out;
static sigjmp_buf env;

static void on_start(int sig, siginfo_t *si, void *ctx) {
  (void)sig; (void)si;
  ucontext_t *uc = ctx;
  for (int i = 0; i < 16; i++) uc->uc_mcontext.gregs[greg_of[i]] = (greg_t)in.gpr[i];
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(CODE_ADDR + 0x100);
  /* CS is the low 16 bits of REG_CSGSFS; sigreturn loads it (with RPL 3): 0x23 is Linux's
     32-bit user code segment, 0x33 the 64-bit one. */
  greg_t csgsfs = uc->uc_mcontext.gregs[REG_CSGSFS] & ~(greg_t)0xffff;
  uc->uc_mcontext.gregs[REG_CSGSFS] = csgsfs | ((in.flags & 1) ? 0x23 : 0x33);
  uc->uc_mcontext.gregs[REG_EFL] = (greg_t)((in.rflags & 0xcd5) | 0x202);
  struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
  fp->mxcsr = in.mxcsr;
  memcpy(fp->_xmm, in.xmm, sizeof in.xmm);
  fp->fop = 0; /* instruction and operand pointers start at zero, as the emulator keeps them */
  fp->rip = 0;
  fp->rdp = 0;
  fp->cwd = in.x87.fcw;
  fp->swd = in.x87.fsw;
  fp->ftw = in.x87.ftw & 0xff;
  for (int i = 0; i < 8; i++) {
    memset(&fp->_st[i], 0, sizeof fp->_st[i]);
    memcpy(&fp->_st[i], in.x87.st[i], 10);
  }
  /* With XSAVE frames, an x87 component marked "in init state" in XSTATE_BV would be
     restored as FNINIT left it, ignoring what we wrote: mark x87 and SSE as present. */
  uint32_t *sw_bytes = (uint32_t *)((uint8_t *)fp + 464);
  if (sw_bytes[0] == 0x46505853u) *(uint64_t *)((uint8_t *)fp + 512) |= 3;
}

static void on_stop(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  out.signo = sig;
  for (int i = 0; i < 16; i++) out.gpr[i] = (uint64_t)uc->uc_mcontext.gregs[greg_of[i]];
  out.rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
  out.rflags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
  struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
  out.mxcsr = fp->mxcsr;
  memcpy(out.xmm, fp->_xmm, sizeof out.xmm);
  out.x87.fcw = fp->cwd;
  out.x87.fsw = fp->swd;
  out.x87.ftw = fp->ftw & 0xff;
  for (int i = 0; i < 8; i++) memcpy(out.x87.st[i], &fp->_st[i], 10);
  siglongjmp(env, 1);
}

static int read_full(void *buf, size_t n) {
  uint8_t *p = buf;
  while (n > 0) {
    ssize_t r = read(0, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

int main(void) {
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 2; }
  uint8_t *code = mmap((void *)CODE_ADDR, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  uint8_t *win = mmap((void *)WIN_ADDR, WIN_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)CODE_ADDR || win != (void *)WIN_ADDR) { fprintf(stderr, "mmap failed\n"); return 2; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sa.sa_sigaction = on_start;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_sigaction = on_stop;
  int stops[] = {SIGTRAP, SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGALRM};
  for (unsigned i = 0; i < sizeof stops / sizeof stops[0]; i++) sigaction(stops[i], &sa, NULL);
  /* Compatibility-mode code addresses memory through DS/ES, which 64-bit Linux leaves null:
     load the user data selector (64-bit code ignores them). */
  __asm__ volatile("mov %0, %%ds\n\tmov %0, %%es" : : "r"((uint16_t)0x2b));
  uint32_t count;
  if (read_full(&count, 4) != 0) return 2;
  for (uint32_t t = 0; t < count; t++) {
    if (read_full(&in, sizeof in) != 0) { fprintf(stderr, "short input\n"); return 2; }
    memset(code, 0xcc, 8192);
    memcpy(code + 0x100, in.code, in.code_len > 64 ? 64 : in.code_len);
    memcpy(win, in.window, WIN_SIZE);
    memset(&out, 0, sizeof out);
    if (sigsetjmp(env, 1) == 0) {
      alarm(2);
      raise(SIGUSR1);
      /* not reached: the test ends in a signal */
      out.signo = -1;
    }
    alarm(0);
    memcpy(out.window, win, WIN_SIZE);
    if (fwrite(&out, sizeof out, 1, stdout) != 1) return 2;
  }
  fflush(stdout);
  return 0;
}
