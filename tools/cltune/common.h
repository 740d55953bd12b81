// Minimal OpenCL helpers for the cltune harness (PoCL or any OpenCL 1.2 platform).
#ifndef CLTUNE_COMMON_H
#define CLTUNE_COMMON_H
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#define CHECK(x) do { cl_int e_ = (x); if (e_ != CL_SUCCESS) { fprintf(stderr, "%s:%d: %s = %d\n", __FILE__, __LINE__, #x, e_); exit(1); } } while (0)

extern cl_context ctx;
extern cl_command_queue q;
extern cl_device_id dev;

void cl_init(void);
cl_program cl_build(const char* path, const char* options);
cl_kernel cl_kern(cl_program p, const char* name);
cl_mem cl_buf(size_t floats, const float* init);
void cl_read(cl_mem m, size_t floats, float* out);
double now_s(void);
// Process CPU time (all threads): robust to other processes sharing the cores.
double cpu_s(void);
void rand_fill(float* x, size_t n, unsigned seed);
int cmp_double(const void* a, const void* b);
double median(double* v, int n);
#endif
