#include "common.h"

cl_context ctx;
cl_command_queue q;
cl_device_id dev;

void cl_init(void) {
    cl_platform_id plat;
    cl_uint n;
    CHECK(clGetPlatformIDs(1, &plat, &n));
    CHECK(clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, &n));
    cl_int err;
    ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err); CHECK(err);
    q = clCreateCommandQueue(ctx, dev, 0, &err); CHECK(err);
}

cl_program cl_build(const char* path, const char* options) {
    FILE* f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END); long len = ftell(f); fseek(f, 0, SEEK_SET);
    char* src = malloc(len + 1);
    if (fread(src, 1, len, f) != (size_t)len) { perror(path); exit(1); }
    src[len] = 0; fclose(f);
    cl_int err;
    cl_program p = clCreateProgramWithSource(ctx, 1, (const char**)&src, NULL, &err); CHECK(err);
    double t = now_s();
    err = clBuildProgram(p, 1, &dev, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        size_t sz; clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &sz);
        char* log = malloc(sz + 1); clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_LOG, sz, log, NULL);
        fprintf(stderr, "build of %s failed (%d):\n%s\n", path, err, log); exit(1);
    }
    fprintf(stderr, "# built %s [%s] in %.2fs\n", path, options, now_s() - t);
    free(src);
    return p;
}

cl_kernel cl_kern(cl_program p, const char* name) {
    cl_int err; cl_kernel k = clCreateKernel(p, name, &err); CHECK(err); return k;
}

cl_mem cl_buf(size_t floats, const float* init) {
    cl_int err;
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, floats * 4 + 64, NULL, &err); CHECK(err);
    if (init) CHECK(clEnqueueWriteBuffer(q, m, CL_TRUE, 0, floats * 4, init, 0, NULL, NULL));
    return m;
}

void cl_read(cl_mem m, size_t floats, float* out) {
    CHECK(clEnqueueReadBuffer(q, m, CL_TRUE, 0, floats * 4, out, 0, NULL, NULL));
}

double now_s(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void rand_fill(float* x, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; x[i] = (float)((s >> 8) * (1.0 / 16777216.0) * 2 - 1); }
}

int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y;
}

double median(double* v, int n) { qsort(v, n, sizeof(double), cmp_double); return v[n / 2]; }

#include <sys/resource.h>
double cpu_s(void) {
    struct rusage u; getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}
