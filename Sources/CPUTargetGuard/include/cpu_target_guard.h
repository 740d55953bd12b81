#ifndef DDPM_CPU_TARGET_GUARD_H
#define DDPM_CPU_TARGET_GUARD_H

/// The `-target-cpu` the CPU kernels were compiled for ("" for a portable build), so
/// `ddpm devices` can say what the build assumes.
const char *ddpm_cpu_kernel_target(void);

/// A spin-wait hint (x86 `pause`, ARM `yield`): tells the core a loop is polling memory, so it
/// slows the loop and leaves the pipeline to a sibling hyperthread. Swift has no intrinsic for it.
static inline void ddpm_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
