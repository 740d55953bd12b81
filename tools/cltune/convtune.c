// Times Kernels/conv.cl (and, for the im2col modes, Kernels/gemm.cl) on one convolution and
// checks the result against a double-precision reference on a sample of outputs.
// usage: convtune FILE.cl "OPTS" MODE N Cin Cout H W KH KW PH PW LX LY [reps]
//   MODE: fwd | bwdd | bwdw        the direct kernels (conv_direct, conv_wgrad), as the host runs them
//         fwdg | bwddg | bwdwg     im2col + gemm (+ axis swap), the path for small images
//   OPTS: conv.cl tile options (-DCONV_MR= -DCONV_NV= -DCONV_VW= -DWGRAD_DM= -DWGRAD_DT=)
//   env:  GEMMOPTS (gemm.cl options for the im2col modes), SPLITPOS (positions per weight-gradient
//         split, default 1024), LZ (images per work-group of conv_direct)
// Prints the median wall time of the whole sequence, each launch's median in parentheses, and
// GFLOP/s by wall time (median, best) and per CPU-second (robust when other processes share the cores).
#include "common.h"

static int optint(const char* opts, const char* name, int def) {
    char key[32]; snprintf(key, sizeof key, "-D%s=", name);
    const char* p = strstr(opts, key);
    return p ? atoi(p + strlen(key)) : def;
}

static int Nb, Ci, Co, H, W, KH, KW, PH, PW, OH, OW;
static float *x, *w, *dy;

// Reference values in double precision.
static double ref_fwd(int n, int co, int oh, int ow) {
    double s = 0;
    for (int c = 0; c < Ci; c++) for (int kh = 0; kh < KH; kh++) for (int kw = 0; kw < KW; kw++) {
        int ih = oh + kh - PH, iw = ow + kw - PW;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        s += (double)w[((co * Ci + c) * KH + kh) * KW + kw] * x[((n * Ci + c) * H + ih) * W + iw];
    }
    return s;
}
static double ref_bwdd(int n, int c, int ih, int iw) {
    double s = 0;
    for (int co = 0; co < Co; co++) for (int kh = 0; kh < KH; kh++) for (int kw = 0; kw < KW; kw++) {
        int oh = ih - kh + PH, ow = iw - kw + PW;
        if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
        s += (double)w[((co * Ci + c) * KH + kh) * KW + kw] * dy[((n * Co + co) * OH + oh) * OW + ow];
    }
    return s;
}
static double ref_bwdw(int co, int c, int kh, int kw) {
    double s = 0;
    for (int n = 0; n < Nb; n++) for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++) {
        int ih = oh + kh - PH, iw = ow + kw - PW;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        s += (double)dy[((n * Co + co) * OH + oh) * OW + ow] * x[((n * Ci + c) * H + ih) * W + iw];
    }
    return s;
}

typedef struct { cl_kernel k; size_t gws[3], lws[3]; } launch_t;
static void run(launch_t* l, int n) { for (int i = 0; i < n; i++) CHECK(clEnqueueNDRangeKernel(q, l[i].k, 3, NULL, l[i].gws, l[i].lws[0] ? l[i].lws : NULL, 0, NULL, NULL)); }
#define ARG(k, i, v) CHECK(clSetKernelArg(k, i, sizeof(v), &(v)))

static launch_t pad_launch(cl_program p, cl_mem in, cl_mem out, int planes, int h, int wd, int hp, int wp, int top, int left, int slack) {
    launch_t l = { cl_kern(p, "conv_pad"), {hp, planes, 1}, {0} };
    cl_ulong z = 0; int i = 0;
    ARG(l.k, i++, in); ARG(l.k, i++, z); ARG(l.k, i++, out); ARG(l.k, i++, z);
    ARG(l.k, i++, planes); ARG(l.k, i++, h); ARG(l.k, i++, wd); ARG(l.k, i++, hp); ARG(l.k, i++, wp); ARG(l.k, i++, top); ARG(l.k, i++, left); ARG(l.k, i++, slack);
    return l;
}

// One launch of gemm.cl's `gemm` (tile sizes from its build options, group LXxLY).
static launch_t gemm_launch(cl_program pg, const char* gopts, cl_mem a, cl_mem b, cl_mem c, cl_mem bias, int biasMode,
                            int M, int N, int K, int sAm, int sAk, int sBk, int sBn, int ldc) {
    int MR = optint(gopts, "GEMM_MR", 4), NR = optint(gopts, "GEMM_NV", 3) * optint(gopts, "GEMM_VW", 8);
    int KC = optint(gopts, "GEMM_KC", 256), LX = 16, LY = 4;
    while (LX > 1 && (M + MR - 1) / MR <= LX / 2) LX /= 2;
    while (LY > 1 && (N + NR - 1) / NR <= LY / 2) LY /= 2;
    launch_t l = { cl_kern(pg, "gemm"), { (M + MR * LX - 1) / (MR * LX) * LX, (N + NR * LY - 1) / (NR * LY) * LY, 1 }, { LX, LY, 1 } };
    cl_ulong z = 0; int zero = 0; float one = 1, fzero = 0; int i = 0; cl_kernel k = l.k;
    ARG(k, i++, a); ARG(k, i++, z); ARG(k, i++, b); ARG(k, i++, z); ARG(k, i++, c); ARG(k, i++, z); ARG(k, i++, bias); ARG(k, i++, z);
    ARG(k, i++, M); ARG(k, i++, N); ARG(k, i++, K); ARG(k, i++, sAm); ARG(k, i++, sAk); ARG(k, i++, sBk); ARG(k, i++, sBn); ARG(k, i++, ldc);
    ARG(k, i++, zero); ARG(k, i++, zero); ARG(k, i++, zero); ARG(k, i++, one); ARG(k, i++, fzero); ARG(k, i++, biasMode);
    size_t localFloats = (size_t)LY * KC * NR + (optint(gopts, "GEMM_PACK_A", 0) ? (size_t)LX * KC * MR : 0);
    CHECK(clSetKernelArg(k, i++, localFloats * 4, NULL));
    return l;
}

int main(int argc, char** argv) {
    if (argc < 15) { fprintf(stderr, "usage: %s FILE.cl OPTS MODE N Cin Cout H W KH KW PH PW LX LY [reps]\n", argv[0]); return 2; }
    const char* file = argv[1]; const char* opts = argv[2]; const char* mode = argv[3];
    Nb = atoi(argv[4]); Ci = atoi(argv[5]); Co = atoi(argv[6]); H = atoi(argv[7]); W = atoi(argv[8]);
    KH = atoi(argv[9]); KW = atoi(argv[10]); PH = atoi(argv[11]); PW = atoi(argv[12]);
    int LX = atoi(argv[13]), LY = atoi(argv[14]), reps = argc > 15 ? atoi(argv[15]) : 5;
    OH = H + 2 * PH - KH + 1; OW = W + 2 * PW - KW + 1;
    int VW = optint(opts, "CONV_VW", 8);
    cl_init();
    cl_program p = cl_build(file, opts);
    size_t nx = (size_t)Nb * Ci * H * W, nw = (size_t)Co * Ci * KH * KW, ny = (size_t)Nb * Co * OH * OW;
    x = malloc(nx * 4); w = malloc(nw * 4); dy = malloc(ny * 4);
    rand_fill(x, nx, 1); rand_fill(w, nw, 2); rand_fill(dy, ny, 3);
    cl_mem dx_ = cl_buf(nx, x), dw_ = cl_buf(nw, w), ddy = cl_buf(ny, dy), dbias = cl_buf(Co + Ci, NULL);
    launch_t l[6]; int nl = 0; cl_mem out; size_t nout; cl_ulong z = 0; int hasBias = 0;
    int MR = optint(opts, "CONV_MR", 4), NR = optint(opts, "CONV_NV", 3) * VW;
    if (!strcmp(mode, "fwd") || !strcmp(mode, "bwdd")) {
        int fwd = !strcmp(mode, "fwd");
        // The direct kernel correlates a padded input: x (fwd) or dy (bwdd, padded by K-1-P).
        int C = fwd ? Ci : Co, M = fwd ? Co : Ci, ih = fwd ? H : OH, iw = fwd ? W : OW;
        int top = fwd ? PH : KH - 1 - PH, left = fwd ? PW : KW - 1 - PW;
        int oh = fwd ? OH : H, ow = fwd ? OW : W;
        int Hp = oh + KH - 1, Wp = ow + KW - 1;
        cl_mem xp = fwd ? dx_ : ddy;
        int readable = Nb * C * Hp * Wp;
        if (top != 0 || left != 0 || Hp != ih || Wp != iw) {
            readable += NR + KW;
            xp = cl_buf((size_t)readable, NULL);
            l[nl++] = pad_launch(p, fwd ? dx_ : ddy, xp, Nb * C, ih, iw, Hp, Wp, top, left, NR + KW);
        }
        int Mp = (M + MR - 1) / MR * MR, KK = KH * KW;
        int sWm = fwd ? Ci * KK : KK, sWc = fwd ? KK : Ci * KK, tapBase = fwd ? 0 : KK - 1, tapStep = fwd ? 1 : -1;
        cl_mem wk = cl_buf((size_t)Mp * C * KK, NULL);
        launch_t pw = { cl_kern(p, "conv_pack_weights"), {C * KK, 1, 1}, {0} };
        int i = 0; cl_kernel k = pw.k;
        ARG(k, i++, dw_); ARG(k, i++, z); ARG(k, i++, wk); ARG(k, i++, z);
        ARG(k, i++, M); ARG(k, i++, Mp); ARG(k, i++, C); ARG(k, i++, KK); ARG(k, i++, sWm); ARG(k, i++, sWc); ARG(k, i++, tapBase); ARG(k, i++, tapStep);
        l[nl++] = pw;
        nout = fwd ? ny : nx; out = cl_buf(nout, NULL);
        int LZ = getenv("LZ") ? atoi(getenv("LZ")) : 1;
        launch_t c = { cl_kern(p, "conv_direct"), {0}, {LX, LY, LZ} };
        int Q = oh * Wp;
        c.gws[0] = ((M + MR - 1) / MR + LX - 1) / LX * LX; c.gws[1] = ((Q + NR - 1) / NR + LY - 1) / LY * LY; c.gws[2] = (Nb + LZ - 1) / LZ * LZ;
        i = 0; k = c.k;
        ARG(k, i++, xp); ARG(k, i++, z); ARG(k, i++, wk); ARG(k, i++, z); ARG(k, i++, out); ARG(k, i++, z); ARG(k, i++, dbias); ARG(k, i++, z);
        ARG(k, i++, C); ARG(k, i++, M); ARG(k, i++, Mp); ARG(k, i++, Hp); ARG(k, i++, Wp); ARG(k, i++, KH); ARG(k, i++, KW); ARG(k, i++, oh); ARG(k, i++, ow); ARG(k, i++, hasBias); ARG(k, i++, readable);
        l[nl++] = c;
    } else if (!strcmp(mode, "fwdg") || !strcmp(mode, "bwddg")) {
        // im2col + GEMM + axis swap.
        const char* gopts = getenv("GEMMOPTS") ? getenv("GEMMOPTS") : "-DGEMM_MR=4 -DGEMM_NV=3";
        cl_program pg = cl_build("../../Kernels/gemm.cl", gopts);
        int fwd = !strcmp(mode, "fwdg");
        int C = fwd ? Ci : Co, M = fwd ? Co : Ci, ih = fwd ? H : OH, iw = fwd ? W : OW;
        int top = fwd ? PH : KH - 1 - PH, left = fwd ? PW : KW - 1 - PW;
        int oh = fwd ? OH : H, ow = fwd ? OW : W, KK = KH * KW, P = oh * ow, i; cl_kernel k;
        cl_mem col = cl_buf((size_t)C * KK * Nb * P, NULL), out2 = cl_buf((size_t)M * Nb * P, NULL);
        launch_t ic = { cl_kern(p, "conv_im2col"), {Nb, C * KK, 1}, {0} };
        i = 0; k = ic.k;
        cl_mem src = fwd ? dx_ : ddy; ARG(k, i++, src); ARG(k, i++, z); ARG(k, i++, col); ARG(k, i++, z);
        ARG(k, i++, Nb); ARG(k, i++, C); ARG(k, i++, ih); ARG(k, i++, iw); ARG(k, i++, KH); ARG(k, i++, KW); ARG(k, i++, oh); ARG(k, i++, ow); ARG(k, i++, top); ARG(k, i++, left);
        l[nl++] = ic;
        cl_mem wa = dw_; int sAm = Ci * KK, sAk = 1;
        if (!fwd) {
            int depth = C * KK;
            wa = cl_buf((size_t)M * depth, NULL);
            launch_t pw = { cl_kern(p, "conv_flip_weights"), {M, C, 1}, {0} };
            i = 0; k = pw.k;
            ARG(k, i++, dw_); ARG(k, i++, z); ARG(k, i++, wa); ARG(k, i++, z); ARG(k, i++, M); ARG(k, i++, C); ARG(k, i++, KK);
            l[nl++] = pw; sAm = depth; sAk = 1;
        }
        l[nl++] = gemm_launch(pg, gopts, wa, col, out2, dbias, 0, M, Nb * P, C * KK, sAm, sAk, Nb * P, 1, Nb * P);
        nout = fwd ? ny : nx; out = cl_buf(nout, NULL);
        launch_t sw = { cl_kern(p, "conv_swap_outer"), {Nb, M, 1}, {0} };
        i = 0; k = sw.k;
        ARG(k, i++, out2); ARG(k, i++, z); ARG(k, i++, out); ARG(k, i++, z); ARG(k, i++, M); ARG(k, i++, Nb); ARG(k, i++, P);
        l[nl++] = sw;
    } else if (!strcmp(mode, "bwdwg")) {
        const char* gopts = getenv("GEMMOPTS") ? getenv("GEMMOPTS") : "-DGEMM_MR=4 -DGEMM_NV=3";
        cl_program pg = cl_build("../../Kernels/gemm.cl", gopts);
        int KK = KH * KW, P = OH * OW, R = Ci * KK, J = Nb * P, i; cl_kernel k;
        cl_mem col = cl_buf((size_t)R * J, NULL), dyp = cl_buf((size_t)Co * J, NULL);
        launch_t ic = { cl_kern(p, "conv_im2col"), {Nb, R, 1}, {0} };
        i = 0; k = ic.k;
        ARG(k, i++, dx_); ARG(k, i++, z); ARG(k, i++, col); ARG(k, i++, z);
        ARG(k, i++, Nb); ARG(k, i++, Ci); ARG(k, i++, H); ARG(k, i++, W); ARG(k, i++, KH); ARG(k, i++, KW); ARG(k, i++, OH); ARG(k, i++, OW); ARG(k, i++, PH); ARG(k, i++, PW);
        l[nl++] = ic;
        launch_t sw = { cl_kern(p, "conv_swap_outer"), {Co, Nb, 1}, {0} };
        i = 0; k = sw.k;
        ARG(k, i++, ddy); ARG(k, i++, z); ARG(k, i++, dyp); ARG(k, i++, z); ARG(k, i++, Nb); ARG(k, i++, Co); ARG(k, i++, P);
        l[nl++] = sw;
        nout = nw; out = cl_buf(nout, NULL);
        l[nl++] = gemm_launch(pg, gopts, dyp, col, out, dbias, 0, Co, R, J, J, 1, 1, J, R);
    } else if (!strcmp(mode, "bwdw")) {
        int DM = optint(opts, "WGRAD_DM", 4), DT = optint(opts, "WGRAD_DT", 3);
        int Hp = OH + KH - 1, Wp = OW + KW - 1, R = Ci * KH * KW, P = OH * OW, i; cl_kernel k;
        cl_mem xp = dx_, dyq = ddy;
        if (PH != 0 || PW != 0 || Hp != H || Wp != W || KW != 1) {
            xp = cl_buf((size_t)Nb * Ci * Hp * Wp + KW, NULL);
            l[nl++] = pad_launch(p, dx_, xp, Nb * Ci, H, W, Hp, Wp, PH, PW, KW);
        }
        if (Wp != OW) {
            dyq = cl_buf((size_t)Nb * Co * OH * Wp, NULL);
            l[nl++] = pad_launch(p, ddy, dyq, Nb * Co, OH, OW, OH, Wp, 0, 0, 0);
        }
        int target = getenv("SPLITPOS") ? atoi(getenv("SPLITPOS")) : 1024;
        int rows = target / Wp; if (rows < 1) rows = 1;
        int splits = (Nb * OH + rows - 1) / rows;
        nout = nw; out = cl_buf(nout, NULL);
        cl_mem part = splits > 1 ? cl_buf((size_t)splits * R * Co, NULL) : out;
        launch_t wg = { cl_kern(p, "conv_wgrad"), {0}, {LX, LY, 1} };
        wg.gws[0] = ((R + DT - 1) / DT + LX - 1) / LX * LX; wg.gws[1] = ((Co + DM - 1) / DM + LY - 1) / LY * LY; wg.gws[2] = splits;
        i = 0; k = wg.k;
        ARG(k, i++, xp); ARG(k, i++, z); ARG(k, i++, dyq); ARG(k, i++, z); ARG(k, i++, part); ARG(k, i++, z);
        ARG(k, i++, Nb); ARG(k, i++, Ci); ARG(k, i++, Co); ARG(k, i++, Hp); ARG(k, i++, Wp); ARG(k, i++, KH); ARG(k, i++, KW); ARG(k, i++, OH); ARG(k, i++, rows);
        l[nl++] = wg;
        if (splits > 1) {
            int count = R * Co;
            launch_t rd = { cl_kern(p, "conv_wgrad_reduce"), {count, 1, 1}, {0} };
            i = 0; k = rd.k;
            ARG(k, i++, part); ARG(k, i++, z); ARG(k, i++, out); ARG(k, i++, z); ARG(k, i++, splits); ARG(k, i++, count);
            l[nl++] = rd;
        }
        launch_t bg = { cl_kern(p, "conv_bias_grad"), {Co, 1, 1}, {0} };
        i = 0; k = bg.k;
        ARG(k, i++, ddy); ARG(k, i++, z); ARG(k, i++, dbias); ARG(k, i++, z); ARG(k, i++, Nb); ARG(k, i++, Co); ARG(k, i++, P);
        l[nl++] = bg;
        fprintf(stderr, "# splits %d rows %d\n", splits, rows);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode); return 2;
    }
    double t[64], tc[64], tl[6][64]; if (reps > 64) reps = 64;
    run(l, nl); CHECK(clFinish(q));
    for (int r = 0; r < reps; r++) {
        double t0 = now_s(), c0 = cpu_s();
        run(l, nl); CHECK(clFinish(q));
        t[r] = now_s() - t0; tc[r] = cpu_s() - c0;
        for (int j = 0; j < nl; j++) { t0 = now_s(); run(l + j, 1); CHECK(clFinish(q)); tl[j][r] = now_s() - t0; }
    }
    double med = median(t, reps), best = t[0], cmed = median(tc, reps);
    char parts[256] = ""; 
    for (int j = 0; j < nl; j++) { char b[32]; snprintf(b, sizeof b, "%s%.2f", j ? "+" : "", median(tl[j], reps) * 1e3); strcat(parts, b); }
    float* res = malloc(nout * 4); cl_read(out, nout, res);
    double maxerr = 0; size_t step = nout > 4000 ? nout / 4000 : 1;
    for (size_t idx = 0; idx < nout; idx += step) {
        double r;
        if (!strcmp(mode, "fwd") || !strcmp(mode, "fwdg")) { int ow = idx % OW, oh = (idx / OW) % OH, co = (idx / OW / OH) % Co, n = idx / OW / OH / Co; r = ref_fwd(n, co, oh, ow); }
        else if (!strcmp(mode, "bwdd") || !strcmp(mode, "bwddg")) { int iw = idx % W, ih = (idx / W) % H, c = (idx / W / H) % Ci, n = idx / W / H / Ci; r = ref_bwdd(n, c, ih, iw); }
        else { int kw = idx % KW, kh = (idx / KW) % KH, c = (idx / KW / KH) % Ci, co = idx / KW / KH / Ci; r = ref_bwdw(co, c, kh, kw); }
        double e = fabs(r - res[idx]) / (1 + fabs(r)); if (e > maxerr || e != e) maxerr = e;
    }
    double fl = 2.0 * Nb * Co * OH * OW * Ci * KH * KW;
    printf("%s N=%d %d->%d %dx%d k%dx%d p%d,%d L=%dx%d [%s]: %.3f ms (%s) med %.1f max %.1f GFLOP/s cpu %.1f  err %.1e%s\n",
           mode, Nb, Ci, Co, H, W, KH, KW, PH, PW, LX, LY, opts, med * 1e3, parts, fl / med * 1e-9, fl / best * 1e-9,
           fl / cmed * 1e-9, maxerr, maxerr > 1e-4 ? "  FAIL" : "");
    return maxerr > 1e-4;
}
