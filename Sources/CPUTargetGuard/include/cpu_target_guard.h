#ifndef DDPM_CPU_TARGET_GUARD_H
#define DDPM_CPU_TARGET_GUARD_H

/// The `-target-cpu` the CPU kernels were compiled for ("" for a portable build), so
/// `ddpm devices` can say what the build assumes.
const char *ddpm_cpu_kernel_target(void);

#endif
