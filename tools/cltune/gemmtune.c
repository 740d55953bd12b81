// Times Kernels/gemm.cl on one GEMM shape and checks it against a double-precision reference.
// usage: gemmtune FILE.cl "BUILD OPTIONS" M N K transA transB LX LY [batch] [reps]
#include "common.h"

static int optint(const char* opts, const char* name, int def) {
    char key[32]; snprintf(key, sizeof key, "-D%s=", name);
    const char* p = strstr(opts, key);
    return p ? atoi(p + strlen(key)) : def;
}

int main(int argc, char** argv) {
    if (argc < 10) { fprintf(stderr, "usage: %s FILE.cl OPTS M N K ta tb LX LY [batch] [reps]\n", argv[0]); return 2; }
    const char* file = argv[1]; const char* opts = argv[2];
    int M = atoi(argv[3]), N = atoi(argv[4]), K = atoi(argv[5]), ta = atoi(argv[6]), tb = atoi(argv[7]);
    int LX = atoi(argv[8]), LY = atoi(argv[9]);
    int batch = argc > 10 ? atoi(argv[10]) : 1, reps = argc > 11 ? atoi(argv[11]) : 5;
    int MR = optint(opts, "MR", 6), NV = optint(opts, "NV", 2), VW = optint(opts, "VW", 8);
    int DM = optint(opts, "DM", 3), DN = optint(opts, "DN", 3);
    const char* kname = getenv("KERNEL") ? getenv("KERNEL") : "auto";
    int tiled = strcmp(kname, "tiled") == 0;
    char fullopts[1024];
    snprintf(fullopts, sizeof fullopts, "%s -DLX=%d -DLY=%d", opts, LX, LY);
    cl_init();
    cl_program p = cl_build(file, fullopts);
    int lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
    size_t sA = (size_t)M * K, sB = (size_t)K * N, sC = (size_t)M * N;
    float* a = malloc(sA * batch * 4); float* b = malloc(sB * batch * 4); float* c = malloc(sC * batch * 4);
    rand_fill(a, sA * batch, 1); rand_fill(b, sB * batch, 2);
    cl_mem da = cl_buf(sA * batch, a), db = cl_buf(sB * batch, b), dc = cl_buf(sC * batch, NULL), dbias = cl_buf(N + M, NULL);
    cl_kernel k; size_t gws[3], lws[3] = {LX, LY, 1};
    cl_ulong zero = 0; float alpha = 1, beta = 0; int biasMode = 0;
    cl_long strA = sA, strB = sB, strC = sC;
    if (tiled) {
        k = cl_kern(p, "gemm_tiled");
        int sAm = ta ? 1 : lda, sAk = ta ? lda : 1, sBk = tb ? 1 : ldb, sBn = tb ? ldb : 1;
        int NR = NV * VW;
        gws[0] = (M + MR * LX - 1) / (MR * LX) * LX; gws[1] = (N + NR * LY - 1) / (NR * LY) * LY; gws[2] = batch;
        int i = 0;
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &da)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &db)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dc)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dbias)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, 4, &M)); CHECK(clSetKernelArg(k, i++, 4, &N)); CHECK(clSetKernelArg(k, i++, 4, &K));
        CHECK(clSetKernelArg(k, i++, 4, &sAm)); CHECK(clSetKernelArg(k, i++, 4, &sAk));
        CHECK(clSetKernelArg(k, i++, 4, &sBk)); CHECK(clSetKernelArg(k, i++, 4, &sBn)); CHECK(clSetKernelArg(k, i++, 4, &ldc));
        CHECK(clSetKernelArg(k, i++, 8, &strA)); CHECK(clSetKernelArg(k, i++, 8, &strB)); CHECK(clSetKernelArg(k, i++, 8, &strC));
        CHECK(clSetKernelArg(k, i++, 4, &alpha)); CHECK(clSetKernelArg(k, i++, 4, &beta)); CHECK(clSetKernelArg(k, i++, 4, &biasMode));
    } else if (!(!ta && tb)) {
        k = cl_kern(p, "gemm_bv");
        int Mp = M, Np = N, sSm, sSk, ldv, sCm, sCn; cl_mem S = da, V = db; cl_long strS = strA, strV = strB;
        if (!tb) { sSm = ta ? 1 : lda; sSk = ta ? lda : 1; ldv = ldb; sCm = ldc; sCn = 1; }
        else { Mp = N; Np = M; S = db; V = da; strS = strB; strV = strA; sSm = ldb; sSk = 1; ldv = lda; sCm = 1; sCn = ldc; }
        int NR = NV * VW;
        gws[0] = ((Mp + MR - 1) / MR + LX - 1) / LX * LX; gws[1] = ((Np + NR - 1) / NR + LY - 1) / LY * LY; gws[2] = batch;
        int i = 0;
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &S)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &V)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dc)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dbias)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, 4, &Mp)); CHECK(clSetKernelArg(k, i++, 4, &Np)); CHECK(clSetKernelArg(k, i++, 4, &K));
        CHECK(clSetKernelArg(k, i++, 4, &sSm)); CHECK(clSetKernelArg(k, i++, 4, &sSk)); CHECK(clSetKernelArg(k, i++, 4, &ldv));
        CHECK(clSetKernelArg(k, i++, 4, &sCm)); CHECK(clSetKernelArg(k, i++, 4, &sCn));
        CHECK(clSetKernelArg(k, i++, 8, &strS)); CHECK(clSetKernelArg(k, i++, 8, &strV)); CHECK(clSetKernelArg(k, i++, 8, &strC));
        CHECK(clSetKernelArg(k, i++, 4, &alpha)); CHECK(clSetKernelArg(k, i++, 4, &beta)); CHECK(clSetKernelArg(k, i++, 4, &biasMode));
    } else {
        k = cl_kern(p, "gemm_dot");
        gws[0] = ((M + DM - 1) / DM + LX - 1) / LX * LX; gws[1] = ((N + DN - 1) / DN + LY - 1) / LY * LY; gws[2] = batch;
        int i = 0;
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &da)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &db)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dc)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, sizeof(cl_mem), &dbias)); CHECK(clSetKernelArg(k, i++, 8, &zero));
        CHECK(clSetKernelArg(k, i++, 4, &M)); CHECK(clSetKernelArg(k, i++, 4, &N)); CHECK(clSetKernelArg(k, i++, 4, &K));
        CHECK(clSetKernelArg(k, i++, 4, &lda)); CHECK(clSetKernelArg(k, i++, 4, &ldb)); CHECK(clSetKernelArg(k, i++, 4, &ldc));
        CHECK(clSetKernelArg(k, i++, 8, &strA)); CHECK(clSetKernelArg(k, i++, 8, &strB)); CHECK(clSetKernelArg(k, i++, 8, &strC));
        CHECK(clSetKernelArg(k, i++, 4, &alpha)); CHECK(clSetKernelArg(k, i++, 4, &beta)); CHECK(clSetKernelArg(k, i++, 4, &biasMode));
    }
    double t[64], tc[64]; if (reps > 64) reps = 64;
    CHECK(clEnqueueNDRangeKernel(q, k, 3, NULL, gws, lws, 0, NULL, NULL)); CHECK(clFinish(q));
    for (int r = 0; r < reps; r++) {
        double t0 = now_s(), c0 = cpu_s();
        CHECK(clEnqueueNDRangeKernel(q, k, 3, NULL, gws, lws, 0, NULL, NULL)); CHECK(clFinish(q));
        t[r] = now_s() - t0; tc[r] = cpu_s() - c0;
    }
    double med = median(t, reps), best = t[0], cmed = median(tc, reps);
    cl_read(dc, sC * batch, c);
    // Check a sample of entries (all of them for small problems) in double precision.
    double maxerr = 0; size_t total = sC * batch, step = total > 20000 ? total / 20000 : 1;
    for (size_t idx = 0; idx < total; idx += step) {
        size_t bi = idx / sC, m = (idx % sC) / N, n = idx % N;
        double s = 0;
        for (int kk = 0; kk < K; kk++) {
            double av = ta ? a[bi * sA + (size_t)kk * lda + m] : a[bi * sA + m * lda + kk];
            double bv = tb ? b[bi * sB + n * ldb + kk] : b[bi * sB + (size_t)kk * ldb + n];
            s += av * bv;
        }
        double e = fabs(s - c[idx]) / (1 + fabs(s)); if (e > maxerr || e != e) maxerr = e;
    }
    double gf = 2.0 * M * N * K * batch / med * 1e-9, gfmax = 2.0 * M * N * K * batch / best * 1e-9, gfcpu = 2.0 * M * N * K * batch / cmed * 1e-9;
    printf("%s M=%d N=%d K=%d ta=%d tb=%d b=%d L=%dx%d [%s]: %.3f ms  med %.1f max %.1f GFLOP/s cpu %.1f GFLOP/cpu-s  err %.2e%s\n", kname,
           M, N, K, ta, tb, batch, LX, LY, opts, med * 1e3, gf, gfmax, gfcpu, maxerr, maxerr > 1e-4 ? "  FAIL" : "");
    return maxerr > 1e-4;
}
