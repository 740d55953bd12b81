// Strided batched GEMM: C_b = alpha * op(A_b) * op(B_b) + beta * C_b (+ bias), row-major.
//
// Every tensor is passed as (__global float* base, ulong offset) with the offset in elements
// (docs/kernel-abi.md). The host folds transA/transB into element strides:
//   op(A)[m, k] = A[m*sAm + k*sAk]      op(B)[k, n] = B[k*sBk + n*sBn]      C[m, n] = C[m*ldc + n]
//
// Tiling (sizes are compiled in with -D, chosen per device by OpenCLTuning):
//   a work-item holds a GEMM_MR x (GEMM_NV*GEMM_VW) block of C in registers (GEMM_NV vectors of
//   GEMM_VW floats per row); a work-group of (LX, LY) work-items (the launch's local size)
//   covers (LX*GEMM_MR) x (LY*NR) of C and walks K in blocks of GEMM_KC. Each block of op(B) is
//   packed into local memory as [LY][GEMM_KC][NR], zero-filled past N, so the inner loop reads it
//   with aligned vector loads whatever the layout of B. op(A) is read with scalar broadcasts
//   straight from global memory (rows past M re-read row M-1 and are never stored), or, with
//   GEMM_PACK_A, packed as [LX][GEMM_KC][GEMM_MR] too (worth it where local memory is on-chip).
//
// On CPU drivers such as PoCL a work-group runs as a loop over its work-items on one core, so
// the register block is the SIMD micro-kernel and the local tile is an L1/L2-resident panel.

#ifndef GEMM_MR
#define GEMM_MR 4
#endif
#ifndef GEMM_NV
#define GEMM_NV 3
#endif
#ifndef GEMM_VW
#define GEMM_VW 8
#endif
#ifndef GEMM_KC
#define GEMM_KC 256
#endif
#ifndef GEMM_PACK_A
#define GEMM_PACK_A 0
#endif
#ifndef GEMM_DM
#define GEMM_DM 4
#endif
#ifndef GEMM_DN
#define GEMM_DN 3
#endif

#define GEMM_CAT_(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT_(a, b)
#define gfloatV GEMM_CAT(float, GEMM_VW)
#define gvload GEMM_CAT(vload, GEMM_VW)
#define gvstore GEMM_CAT(vstore, GEMM_VW)
#define GEMM_NR (GEMM_NV * GEMM_VW)

/// Local floats a work-group of (lx, ly) needs; the host passes the same amount.
#define GEMM_LOCAL_FLOATS(lx, ly) ((ly) * GEMM_KC * GEMM_NR + (GEMM_PACK_A ? (lx) * GEMM_KC * GEMM_MR : 0))

// Epilogue of a work-item's GEMM_MR × GEMM_NR block at (m0, n0): alpha*acc (+ beta*C) (+ bias);
// C is not read when beta == 0. Rows past M and columns past N are not stored.
inline void gemm_epilogue(gfloatV acc[GEMM_MR][GEMM_NV], __global float* c, __global const float* bp, int m0, int n0,
                          int M, int N, int ldc, float alpha, float beta, int biasMode) {
    const bool fullColumns = n0 + GEMM_NR <= N;
    #pragma unroll
    for (int i = 0; i < GEMM_MR; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        const float rowBias = biasMode == 1 ? bp[m] : 0.0f;
        __global float* cr = c + (long)m * ldc + n0;
        if (fullColumns) {
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) {
                gfloatV r = alpha * acc[i][j];
                if (beta != 0.0f) r += beta * gvload(j, cr);
                r += biasMode == 2 ? gvload(j, bp + n0) : (gfloatV)(rowBias);
                gvstore(r, j, cr);
            }
        } else {
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) {
                float t[GEMM_VW];
                gvstore(acc[i][j], 0, t);
                for (int l = 0; l < GEMM_VW; l++) {
                    const int n = n0 + j * GEMM_VW + l;
                    if (n < N) {
                        float r = alpha * t[l];
                        if (beta != 0.0f) r += beta * cr[j * GEMM_VW + l];
                        cr[j * GEMM_VW + l] = r + (biasMode == 2 ? bp[n] : rowBias);
                    }
                }
            }
        }
    }
}

// biasMode: 0 none, 1 bias[m] per row, 2 bias[n] per column.
__kernel void gemm(
    __global const float* A, ulong offA,
    __global const float* B, ulong offB,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int sAm, int sAk, int sBk, int sBn, int ldc,
    int strideA, int strideB, int strideC,
    float alpha, float beta, int biasMode,
    __local float* tile)
{
    const int LX = get_local_size(0), LY = get_local_size(1);
    const int x = get_local_id(0), y = get_local_id(1);
    const int lid = y * LX + x, wg = LX * LY;
    const int mb = get_group_id(0) * (LX * GEMM_MR);
    const int nb = get_group_id(1) * (LY * GEMM_NR);
    const long b = get_global_id(2);
    __global const float* a = A + offA + b * strideA;
    __global const float* bb = B + offB + b * strideB;
    __local float* Bs = tile;
#if GEMM_PACK_A
    __local float* As = tile + LY * GEMM_KC * GEMM_NR;
#endif

    gfloatV acc[GEMM_MR][GEMM_NV];
    #pragma unroll
    for (int i = 0; i < GEMM_MR; i++) {
        #pragma unroll
        for (int j = 0; j < GEMM_NV; j++) acc[i][j] = (gfloatV)(0.0f);
    }

    for (int k0 = 0; k0 < K; k0 += GEMM_KC) {
        const int kc = min(GEMM_KC, K - k0);
        // Pack op(B)[k0 .. k0+kc, nb .. nb+LY*NR) as Bs[y][k][j], zero past N.
        if (sBn == 1) {
            for (int r = lid; r < LY * kc; r += wg) {
                const int yy = r / kc, k = r - yy * kc;
                const int n = nb + yy * GEMM_NR;
                __global const float* src = bb + (long)(k0 + k) * sBk + n;
                __local float* dst = Bs + (yy * GEMM_KC + k) * GEMM_NR;
                if (n + GEMM_NR <= N) {
                    #pragma unroll
                    for (int j = 0; j < GEMM_NV; j++) gvstore(gvload(j, src), j, dst);
                } else {
                    for (int j = 0; j < GEMM_NR; j++) dst[j] = n + j < N ? src[j] : 0.0f;
                }
            }
        } else {
            // op(B) is a transposed matrix: copy along its contiguous k.
            for (int col = lid; col < LY * GEMM_NR; col += wg) {
                const int n = nb + col;
                __local float* dst = Bs + (col / GEMM_NR) * GEMM_KC * GEMM_NR + (col % GEMM_NR);
                if (n < N) {
                    __global const float* src = bb + (long)n * sBn + (long)k0 * sBk;
                    for (int k = 0; k < kc; k++) dst[k * GEMM_NR] = src[(long)k * sBk];
                } else {
                    for (int k = 0; k < kc; k++) dst[k * GEMM_NR] = 0.0f;
                }
            }
        }
#if GEMM_PACK_A
        // Pack op(A)[mb .. mb+LX*MR, k0 .. k0+kc) as As[x][k][i], zero past M.
        for (int row = lid; row < LX * GEMM_MR; row += wg) {
            const int m = mb + row;
            __local float* dst = As + (row / GEMM_MR) * GEMM_KC * GEMM_MR + (row % GEMM_MR);
            if (m < M) {
                __global const float* src = a + (long)m * sAm + (long)k0 * sAk;
                for (int k = 0; k < kc; k++) dst[k * GEMM_MR] = src[(long)k * sAk];
            } else {
                for (int k = 0; k < kc; k++) dst[k * GEMM_MR] = 0.0f;
            }
        }
#endif
        barrier(CLK_LOCAL_MEM_FENCE);
        __local const float* bs = Bs + y * GEMM_KC * GEMM_NR;
#if GEMM_PACK_A
        __local const float* as = As + x * GEMM_KC * GEMM_MR;
#else
        __global const float* ar[GEMM_MR];
        #pragma unroll
        for (int i = 0; i < GEMM_MR; i++) ar[i] = a + (long)min(mb + x * GEMM_MR + i, M - 1) * sAm + (long)k0 * sAk;
#endif
        for (int k = 0; k < kc; k++) {
            gfloatV bv[GEMM_NV];
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) bv[j] = gvload(j, bs + k * GEMM_NR);
            #pragma unroll
            for (int i = 0; i < GEMM_MR; i++) {
#if GEMM_PACK_A
                const gfloatV av = (gfloatV)(as[k * GEMM_MR + i]);
#else
                const gfloatV av = (gfloatV)(*ar[i]);
                ar[i] += sAk;
#endif
                #pragma unroll
                for (int j = 0; j < GEMM_NV; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    gemm_epilogue(acc, C + offC + b * strideC, bias + offBias, mb + x * GEMM_MR, nb + y * GEMM_NR, M, N, ldc,
                  alpha, beta, biasMode);
}

// The same product with op(B) read in place, for rows of B that are contiguous (sBn == 1) and a
// short K (attention's 32-deep products): no local tile and no barrier. There the packing of
// `gemm` costs as much as the multiplies it feeds, and B's rows are already what the inner loop
// loads. A work-item holds the same GEMM_MR × GEMM_NR block; the last column block reads its
// columns past N as zeros. Global size: (ceil(M / GEMM_MR), ceil(N / GEMM_NR), batch).
__kernel void gemm_direct(
    __global const float* A, ulong offA,
    __global const float* B, ulong offB,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int sAm, int sAk, int sBk, int ldc,
    int strideA, int strideB, int strideC,
    float alpha, float beta, int biasMode)
{
    const int m0 = get_global_id(0) * GEMM_MR;
    const int n0 = get_global_id(1) * GEMM_NR;
    const long b = get_global_id(2);
    if (m0 >= M || n0 >= N) return;
    __global const float* a = A + offA + b * strideA;
    __global const float* bk = B + offB + b * strideB + n0;
    gfloatV acc[GEMM_MR][GEMM_NV];
    #pragma unroll
    for (int i = 0; i < GEMM_MR; i++) {
        #pragma unroll
        for (int j = 0; j < GEMM_NV; j++) acc[i][j] = (gfloatV)(0.0f);
    }
    __global const float* ar[GEMM_MR];
    #pragma unroll
    for (int i = 0; i < GEMM_MR; i++) ar[i] = a + (long)min(m0 + i, M - 1) * sAm;
    const bool fullColumns = n0 + GEMM_NR <= N;
    for (int k = 0; k < K; k++) {
        gfloatV bv[GEMM_NV];
        if (fullColumns) {
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) bv[j] = gvload(j, bk);
        } else {
            float t[GEMM_NR];
            for (int j = 0; j < GEMM_NR; j++) t[j] = n0 + j < N ? bk[j] : 0.0f;
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) bv[j] = gvload(j, t);
        }
        bk += sBk;
        #pragma unroll
        for (int i = 0; i < GEMM_MR; i++) {
            const gfloatV av = (gfloatV)(*ar[i]);
            ar[i] += sAk;
            #pragma unroll
            for (int j = 0; j < GEMM_NV; j++) acc[i][j] = fma(av, bv[j], acc[i][j]);
        }
    }
    gemm_epilogue(acc, C + offC + b * strideC, bias + offBias, m0, n0, M, N, ldc, alpha, beta, biasMode);
}

// The same product as dot products, for op(A) and op(B) both contiguous along K (sAk == sBk == 1:
// C = A·Bᵀ, attention's key-value products) and a long K: a work-item holds GEMM_DM × GEMM_DN
// dot products in vectors along K, then adds each one's lanes in order and the scalar tail. Both
// operands stream straight from their rows; nothing is packed, nothing is transposed.
// Global size: (ceil(M / GEMM_DM), ceil(N / GEMM_DN), batch).
__kernel void gemm_dot(
    __global const float* A, ulong offA,
    __global const float* B, ulong offB,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int sAm, int sBn, int ldc,
    int strideA, int strideB, int strideC,
    float alpha, float beta, int biasMode)
{
    const int m0 = get_global_id(0) * GEMM_DM;
    const int n0 = get_global_id(1) * GEMM_DN;
    const long b = get_global_id(2);
    if (m0 >= M || n0 >= N) return;
    __global const float* ar[GEMM_DM];
    __global const float* br[GEMM_DN];
    #pragma unroll
    for (int i = 0; i < GEMM_DM; i++) ar[i] = A + offA + b * strideA + (long)min(m0 + i, M - 1) * sAm;
    #pragma unroll
    for (int j = 0; j < GEMM_DN; j++) br[j] = B + offB + b * strideB + (long)min(n0 + j, N - 1) * sBn;
    gfloatV acc[GEMM_DM][GEMM_DN];
    #pragma unroll
    for (int i = 0; i < GEMM_DM; i++) {
        #pragma unroll
        for (int j = 0; j < GEMM_DN; j++) acc[i][j] = (gfloatV)(0.0f);
    }
    int k = 0;
    for (; k + GEMM_VW <= K; k += GEMM_VW) {
        gfloatV av[GEMM_DM], bv[GEMM_DN];
        #pragma unroll
        for (int i = 0; i < GEMM_DM; i++) av[i] = gvload(0, ar[i] + k);
        #pragma unroll
        for (int j = 0; j < GEMM_DN; j++) bv[j] = gvload(0, br[j] + k);
        #pragma unroll
        for (int i = 0; i < GEMM_DM; i++) {
            #pragma unroll
            for (int j = 0; j < GEMM_DN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
    }
    __global float* c = C + offC + b * strideC;
    __global const float* bp = bias + offBias;
    #pragma unroll
    for (int i = 0; i < GEMM_DM; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        #pragma unroll
        for (int j = 0; j < GEMM_DN; j++) {
            const int n = n0 + j;
            if (n >= N) break;
            float lanes[GEMM_VW];
            gvstore(acc[i][j], 0, lanes);
            float sum = 0.0f;
            for (int l = 0; l < GEMM_VW; l++) sum += lanes[l];
            for (int kk = k; kk < K; kk++) sum = fma(ar[i][kk], br[j][kk], sum);
            float r = alpha * sum;
            if (beta != 0.0f) r += beta * c[(long)m * ldc + n];
            c[(long)m * ldc + n] = r + (biasMode == 1 ? bp[m] : biasMode == 2 ? bp[n] : 0.0f);
        }
    }
}
