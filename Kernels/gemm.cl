// Strided batched GEMM (draft for tuning).
//
// Two register-tiled kernels; which one runs depends on the operand layouts.
//
// gemm_bv ("broadcast x vector"): out[m, n] = alpha * sum_k S(m, k) * V(k, n) (+ ...)
//   S(m, k) = S[m*sSm + k*sSk]   scalar (broadcast) operand, any layout
//   V(k, n) = V[k*ldv + n]        vector operand, contiguous along n
//   out(m, n) = C[m*sCm + n*sCn]
// Each work-item computes an MR x (NV*VW) tile held in registers.
//
// gemm_dot: out[m, n] = alpha * sum_k A[m*lda + k] * B[n*ldb + k]
//   both operands contiguous along k; each work-item holds DM x DN vector accumulators.

#ifndef MR
#define MR 6
#endif
#ifndef NV
#define NV 2
#endif
#ifndef VW
#define VW 8
#endif
#ifndef DM
#define DM 3
#endif
#ifndef DN
#define DN 3
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)
#define NR (NV * VW)

#ifdef USE_FMA
#define MADD(a, b, c) fma(a, b, c)
#else
#define MADD(a, b, c) mad(a, b, c)
#endif

// Finishes one output element: alpha*acc + beta*C + bias.
inline float gemm_finish(float acc, float alpha, float beta, __global float* c, float biasValue) {
    float r = alpha * acc + biasValue;
    if (beta != 0.0f) r += beta * *c;
    return r;
}

__kernel void gemm_bv(
    __global const float* S, ulong offS,
    __global const float* V, ulong offV,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int sSm, int sSk, int ldv, int sCm, int sCn,
    long strideS, long strideV, long strideC,
    float alpha, float beta, int biasMode)
{
    const int m0 = get_global_id(0) * MR;
    const int n0 = get_global_id(1) * NR;
    const long b = get_global_id(2);
    if (m0 >= M || n0 >= N) return;
    __global const float* s = S + offS + b * strideS + (long)m0 * sSm;
    __global const float* v = V + offV + b * strideV + n0;
    __global float* c = C + offC + b * strideC + (long)m0 * sCm + (long)n0 * sCn;

    floatV acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        #pragma unroll
        for (int j = 0; j < NV; j++) acc[i][j] = (floatV)(0.0f);
    }
    // Rows past M re-read the last valid row (their results are dropped); columns past N
    // are loaded lane by lane as zero so no read leaves the operand.
    __global const float* sr[MR];
    #pragma unroll
    for (int i = 0; i < MR; i++) sr[i] = s + (long)min(i, M - 1 - m0) * sSm;

    if (n0 + NR <= N) {
        for (int k = 0; k < K; k++) {
            floatV bv[NV];
            #pragma unroll
            for (int j = 0; j < NV; j++) bv[j] = vloadV(0, v + (long)k * ldv + j * VW);
            #pragma unroll
            for (int i = 0; i < MR; i++) {
                const floatV a = (floatV)(*sr[i]);
                sr[i] += sSk;
                #pragma unroll
                for (int j = 0; j < NV; j++) acc[i][j] = MADD(a, bv[j], acc[i][j]);
            }
        }
    } else {
        for (int k = 0; k < K; k++) {
            floatV bv[NV];
            #pragma unroll
            for (int j = 0; j < NV; j++) {
                float t[VW];
                for (int l = 0; l < VW; l++) {
                    const int n = n0 + j * VW + l;
                    t[l] = n < N ? v[(long)k * ldv + j * VW + l] : 0.0f;
                }
                bv[j] = vloadV(0, t);
            }
            #pragma unroll
            for (int i = 0; i < MR; i++) {
                const floatV a = (floatV)(*sr[i]);
                sr[i] += sSk;
                #pragma unroll
                for (int j = 0; j < NV; j++) acc[i][j] = MADD(a, bv[j], acc[i][j]);
            }
        }
    }

    __global const float* bp = bias + offBias;
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        if (m0 + i >= M) break;
        const float rowBias = biasMode == 1 ? bp[m0 + i] : 0.0f;
        #pragma unroll
        for (int j = 0; j < NV; j++) {
            float t[VW];
            vstoreV(acc[i][j], 0, t);
            for (int l = 0; l < VW; l++) {
                const int n = n0 + j * VW + l;
                if (n < N) {
                    __global float* cp = c + (long)i * sCm + (long)(j * VW + l) * sCn;
                    const float bb = biasMode == 2 ? bp[n] : rowBias;
                    *cp = gemm_finish(t[l], alpha, beta, cp, bb);
                }
            }
        }
    }
}

__kernel void gemm_dot(
    __global const float* A, ulong offA,
    __global const float* B, ulong offB,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int lda, int ldb, int ldc,
    long strideA, long strideB, long strideC,
    float alpha, float beta, int biasMode)
{
    const int m0 = get_global_id(0) * DM;
    const int n0 = get_global_id(1) * DN;
    const long b = get_global_id(2);
    if (m0 >= M || n0 >= N) return;
    __global const float* a = A + offA + b * strideA;
    __global const float* bb = B + offB + b * strideB;
    __global float* c = C + offC + b * strideC;
    __global const float* ar[DM];
    __global const float* br[DN];
    #pragma unroll
    for (int i = 0; i < DM; i++) ar[i] = a + (long)min(m0 + i, M - 1) * lda;
    #pragma unroll
    for (int j = 0; j < DN; j++) br[j] = bb + (long)min(n0 + j, N - 1) * ldb;

    floatV acc[DM][DN];
    #pragma unroll
    for (int i = 0; i < DM; i++) {
        #pragma unroll
        for (int j = 0; j < DN; j++) acc[i][j] = (floatV)(0.0f);
    }
    int k = 0;
    for (; k + VW <= K; k += VW) {
        floatV av[DM], bv[DN];
        #pragma unroll
        for (int i = 0; i < DM; i++) av[i] = vloadV(0, ar[i] + k);
        #pragma unroll
        for (int j = 0; j < DN; j++) bv[j] = vloadV(0, br[j] + k);
        #pragma unroll
        for (int i = 0; i < DM; i++) {
            #pragma unroll
            for (int j = 0; j < DN; j++) acc[i][j] = MADD(av[i], bv[j], acc[i][j]);
        }
    }
    float sum[DM][DN];
    #pragma unroll
    for (int i = 0; i < DM; i++) {
        #pragma unroll
        for (int j = 0; j < DN; j++) {
            float t[VW];
            vstoreV(acc[i][j], 0, t);
            float s = 0.0f;
            for (int l = 0; l < VW; l++) s += t[l];
            sum[i][j] = s;
        }
    }
    for (; k < K; k++) {
        #pragma unroll
        for (int i = 0; i < DM; i++) {
            #pragma unroll
            for (int j = 0; j < DN; j++) sum[i][j] = MADD(ar[i][k], br[j][k], sum[i][j]);
        }
    }
    __global const float* bp = bias + offBias;
    #pragma unroll
    for (int i = 0; i < DM; i++) {
        if (m0 + i >= M) break;
        #pragma unroll
        for (int j = 0; j < DN; j++) {
            if (n0 + j >= N) break;
            __global float* cp = c + (long)(m0 + i) * ldc + n0 + j;
            const float bv = biasMode == 1 ? bp[m0 + i] : biasMode == 2 ? bp[n0 + j] : 0.0f;
            *cp = gemm_finish(sum[i][j], alpha, beta, cp, bv);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gemm_tiled: local-memory packed tiles, any layout.
//   A(m, k) = A[m*sAm + k*sAk], B(k, n) = B[k*sBk + n*sBn], C(m, n) = C[m*ldc + n]
// Work-group (LX, LY) computes a (LX*MR) x (LY*NR) block of C, looping over K in blocks of KC.
#ifndef LX
#define LX 16
#endif
#ifndef LY
#define LY 2
#endif
#ifndef KC
#define KC 128
#endif
#ifndef PACK_A
#define PACK_A 0
#endif

__kernel __attribute__((reqd_work_group_size(LX, LY, 1)))
void gemm_tiled(
    __global const float* A, ulong offA,
    __global const float* B, ulong offB,
    __global float* C, ulong offC,
    __global const float* bias, ulong offBias,
    int M, int N, int K,
    int sAm, int sAk, int sBk, int sBn, int ldc,
    long strideA, long strideB, long strideC,
    float alpha, float beta, int biasMode)
{
#if PACK_A
    __local float As[LX * KC * MR];
#endif
    __local float Bs[LY * KC * NR];
    const int x = get_local_id(0), y = get_local_id(1);
    const int lid = y * LX + x;
    const int mb = get_group_id(0) * (LX * MR);
    const int nb = get_group_id(1) * (LY * NR);
    const long b = get_global_id(2);
    __global const float* a = A + offA + b * strideA;
    __global const float* bb = B + offB + b * strideB;

    floatV acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        #pragma unroll
        for (int j = 0; j < NV; j++) acc[i][j] = (floatV)(0.0f);
    }

    for (int k0 = 0; k0 < K; k0 += KC) {
        const int kc = min(KC, K - k0);
#if PACK_A
        // Pack A rows [mb, mb + LX*MR) x [k0, k0 + kc) as As[x][k][i]; zero outside M.
        if (sAk == 1) {
            for (int r = lid; r < LX * MR; r += LX * LY) {
                const int m = mb + r;
                __local float* dst = As + (r / MR) * KC * MR + (r % MR);
                if (m < M) {
                    __global const float* src = a + (long)m * sAm + k0;
                    for (int k = 0; k < kc; k++) dst[k * MR] = src[k];
                } else {
                    for (int k = 0; k < kc; k++) dst[k * MR] = 0.0f;
                }
            }
        } else {
            for (int k = lid; k < kc; k += LX * LY) {
                __global const float* src = a + (long)(k0 + k) * sAk;
                for (int r = 0; r < LX * MR; r++) {
                    const int m = mb + r;
                    As[(r / MR) * KC * MR + k * MR + (r % MR)] = m < M ? src[(long)m * sAm] : 0.0f;
                }
            }
        }
#endif
        // Pack B [k0, k0 + kc) x [nb, nb + LY*NR) as Bs[y][k][j]; zero outside N.
        if (sBn == 1) {
            for (int r = lid; r < LY * kc; r += LX * LY) {
                const int yy = r / kc, k = r % kc;
                const int n = nb + yy * NR;
                __global const float* src = bb + (long)(k0 + k) * sBk + n;
                __local float* dst = Bs + (yy * KC + k) * NR;
                if (n + NR <= N) {
                    #pragma unroll
                    for (int j = 0; j < NV; j++) vstoreV(vloadV(j, src), j, dst);
                } else {
                    for (int j = 0; j < NR; j++) dst[j] = n + j < N ? src[j] : 0.0f;
                }
            }
        } else {
            for (int c = lid; c < LY * NR; c += LX * LY) {
                const int n = nb + c;
                __local float* dst = Bs + (c / NR) * KC * NR + (c % NR);
                if (n < N) {
                    __global const float* src = bb + (long)n * sBn + (long)k0 * sBk;
                    for (int k = 0; k < kc; k++) dst[k * NR] = src[(long)k * sBk];
                } else {
                    for (int k = 0; k < kc; k++) dst[k * NR] = 0.0f;
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        __local const float* bs = Bs + y * KC * NR;
#if PACK_A
        __local const float* as = As + x * KC * MR;
#else
        __global const float* ar[MR];
        #pragma unroll
        for (int i = 0; i < MR; i++) ar[i] = a + (long)min(mb + x * MR + i, M - 1) * sAm + (long)k0 * sAk;
#endif
        for (int k = 0; k < kc; k++) {
            floatV bv[NV];
            #pragma unroll
            for (int j = 0; j < NV; j++) bv[j] = vloadV(j, bs + k * NR);
            #pragma unroll
            for (int i = 0; i < MR; i++) {
#if PACK_A
                const floatV av = (floatV)(as[k * MR + i]);
#else
                const floatV av = (floatV)(*ar[i]);
                ar[i] += sAk;
#endif
                #pragma unroll
                for (int j = 0; j < NV; j++) acc[i][j] = MADD(av, bv[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    const int m0 = mb + x * MR, n0 = nb + y * NR;
    __global float* c = C + offC + b * strideC;
    __global const float* bp = bias + offBias;
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        const float rowBias = biasMode == 1 ? bp[m] : 0.0f;
        __global float* cr = c + (long)m * ldc + n0;
        if (n0 + NR <= N && beta == 0.0f && biasMode != 2) {
            #pragma unroll
            for (int j = 0; j < NV; j++) vstoreV(alpha * acc[i][j] + rowBias, j, cr);
        } else {
            #pragma unroll
            for (int j = 0; j < NV; j++) {
                float t[VW];
                vstoreV(acc[i][j], 0, t);
                for (int l = 0; l < VW; l++) {
                    const int n = n0 + j * VW + l;
                    if (n < N) {
                        const float bvv = biasMode == 2 ? bp[n] : rowBias;
                        cr[j * VW + l] = gemm_finish(t[l], alpha, beta, cr + j * VW + l, bvv);
                    }
                }
            }
        }
    }
}
