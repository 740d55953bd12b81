// OpenCL 1.2 is the floor: PoCL, GPU drivers and NPU stand-ins all expose it.
#ifndef DDPM_COPENCL_SHIM_H
#define DDPM_COPENCL_SHIM_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#endif
