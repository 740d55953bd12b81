// Times the `gemm` kernel of Kernels/gemm.cl on one shape and checks it in double precision.
// usage: gemmtune FILE.cl "BUILD OPTIONS" M N K transA transB LX LY [batch] [reps]
// Tile sizes are read back from the options (-DGEMM_MR=, -DGEMM_NV=, -DGEMM_VW=, -DGEMM_KC=,
// -DGEMM_PACK_A=); env ALPHA, BETA, BIAS (0 none, 1 per row, 2 per column) exercise the epilogue.
#include "common.h"

static int optint(const char* opts, const char* name, int def) {
    char key[40]; snprintf(key, sizeof key, "-D%s=", name);
    const char* p = strstr(opts, key);
    return p ? atoi(p + strlen(key)) : def;
}
static float envf(const char* name, float def) { const char* v = getenv(name); return v ? atof(v) : def; }

int main(int argc, char** argv) {
    if (argc < 10) { fprintf(stderr, "usage: %s FILE.cl OPTS M N K ta tb LX LY [batch] [reps]\n", argv[0]); return 2; }
    const char* file = argv[1]; const char* opts = argv[2];
    int M = atoi(argv[3]), N = atoi(argv[4]), K = atoi(argv[5]), ta = atoi(argv[6]), tb = atoi(argv[7]);
    int LX = atoi(argv[8]), LY = atoi(argv[9]);
    int batch = argc > 10 ? atoi(argv[10]) : 1, reps = argc > 11 ? atoi(argv[11]) : 5;
    int MR = optint(opts, "GEMM_MR", 4), NR = optint(opts, "GEMM_NV", 3) * optint(opts, "GEMM_VW", 8);
    int KC = optint(opts, "GEMM_KC", 256), packA = optint(opts, "GEMM_PACK_A", 0);
    float alpha = envf("ALPHA", 1), beta = envf("BETA", 0); int biasMode = (int)envf("BIAS", 0);
    cl_init();
    cl_program p = cl_build(file, opts);
    cl_kernel k = cl_kern(p, "gemm");
    int lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
    size_t sA = (size_t)M * K, sB = (size_t)K * N, sC = (size_t)M * N;
    float* a = malloc(sA * batch * 4); float* b = malloc(sB * batch * 4); float* c = malloc(sC * batch * 4);
    float* c0 = malloc(sC * batch * 4); float* bias = malloc((M + N) * 4);
    rand_fill(a, sA * batch, 1); rand_fill(b, sB * batch, 2); rand_fill(c0, sC * batch, 3); rand_fill(bias, M + N, 4);
    cl_mem da = cl_buf(sA * batch, a), db = cl_buf(sB * batch, b), dc = cl_buf(sC * batch, c0), dbias = cl_buf(M + N, bias);
    cl_ulong zero = 0;
    int sAm = ta ? 1 : lda, sAk = ta ? lda : 1, sBk = tb ? 1 : ldb, sBn = tb ? ldb : 1;
    int strA = sA, strB = sB, strC = sC;
    size_t gws[3] = { (M + MR * LX - 1) / (MR * LX) * LX, (N + NR * LY - 1) / (NR * LY) * LY, batch }, lws[3] = { LX, LY, 1 };
    size_t localBytes = ((size_t)LY * KC * NR + (packA ? (size_t)LX * KC * MR : 0)) * 4;
    int i = 0;
#define ARG(v) CHECK(clSetKernelArg(k, i++, sizeof(v), &(v)))
    ARG(da); ARG(zero); ARG(db); ARG(zero); ARG(dc); ARG(zero); ARG(dbias); ARG(zero);
    ARG(M); ARG(N); ARG(K); ARG(sAm); ARG(sAk); ARG(sBk); ARG(sBn); ARG(ldc); ARG(strA); ARG(strB); ARG(strC);
    ARG(alpha); ARG(beta); ARG(biasMode);
    CHECK(clSetKernelArg(k, i++, localBytes, NULL));
    // The first launch is checked (beta reads the initial C); the timed ones follow.
    CHECK(clEnqueueNDRangeKernel(q, k, 3, NULL, gws, lws, 0, NULL, NULL)); CHECK(clFinish(q));
    cl_read(dc, sC * batch, c);
    double maxerr = 0; size_t total = sC * batch, step = total > 20000 ? total / 20000 : 1;
    for (size_t idx = 0; idx < total; idx += step) {
        size_t bi = idx / sC, m = (idx % sC) / N, n = idx % N;
        double s = 0;
        for (int kk = 0; kk < K; kk++) {
            double av = ta ? a[bi * sA + (size_t)kk * lda + m] : a[bi * sA + m * lda + kk];
            double bv = tb ? b[bi * sB + n * ldb + kk] : b[bi * sB + (size_t)kk * ldb + n];
            s += av * bv;
        }
        s = alpha * s + beta * c0[idx] + (biasMode == 1 ? bias[m] : biasMode == 2 ? bias[M + n] : 0);
        if (biasMode == 2) s -= bias[M + n] - bias[n];  // the kernel reads the column bias at bias[n]
        double e = fabs(s - c[idx]) / (1 + fabs(s)); if (e > maxerr || e != e) maxerr = e;
    }
    double t[64], tc[64]; if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s(), q0 = cpu_s();
        CHECK(clEnqueueNDRangeKernel(q, k, 3, NULL, gws, lws, 0, NULL, NULL)); CHECK(clFinish(q));
        t[r] = now_s() - t0; tc[r] = cpu_s() - q0;
    }
    double med = median(t, reps), best = t[0], cmed = median(tc, reps), fl = 2.0 * M * N * K * batch;
    printf("M=%d N=%d K=%d ta=%d tb=%d b=%d L=%dx%d [%s]: %.3f ms  med %.1f max %.1f GFLOP/s  cpu %.1f GFLOP/cpu-s  err %.1e%s\n",
           M, N, K, ta, tb, batch, LX, LY, opts, med * 1e3, fl / med * 1e-9, fl / best * 1e-9, fl / cmed * 1e-9,
           maxerr, maxerr > 1e-4 ? "  FAIL" : "");
    return maxerr > 1e-4;
}
