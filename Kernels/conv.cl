// 2-D convolution (cross-correlation, stride 1, zero padding): forward, backward-data and
// backward-weight with the bias gradient. Tensors are (__global float* base, ulong offset) pairs,
// offsets in elements (docs/kernel-abi.md).
//
// Forward and backward-data are both a "valid" correlation of a zero-padded input with a
// weight tensor read through strides (backward-data reads the weights transposed and flipped):
//   out[n, m, oh, ow] = sum_{c, kh, kw} Wt(m, c, kh, kw) * Xp[n, c, oh + kh, ow + kw]
// conv_direct computes it as an implicit GEMM on the padded-width grid: output positions are
// enumerated as q = oh*Wp + ow (Wp = OW + KW - 1), so for every tap the inputs of a run of
// consecutive q are one contiguous vector of Xp; lanes with ow >= OW are computed and dropped.
// A work-item holds CONV_MR output channels x CONV_NR positions in registers.
//
// Backward-weight is a GEMM whose reduction runs over all output positions:
//   dW[m, c, kh, kw] = sum_{n, oh, ow} dY[n, m, oh, ow] * Xp[n, c, oh + kh, ow + kw]
// conv_wgrad computes it as dot products along the same padded-width grid. The positions are
// cut into splits (rows of the batch) whose partial sums conv_wgrad_reduce adds in a fixed
// order, so the result does not depend on scheduling; conv_bias_grad sums dY per channel.
//
// For small images with many channels the host runs the same three products as one gemm.cl GEMM
// each over an im2col matrix (conv_im2col, conv_flip_weights, conv_swap_outer below), whose
// cache-blocked tiles keep large weight tensors resident where conv_direct would stream them.
//
// 3×3 kernels with enough output positions take Winograd F(2×2, 3×3) instead (conv_wino_*, at
// the end of this file).
//
// Tile sizes are compiled in with -D and chosen per device by OpenCLTuning
// (Sources/OpenCLBackend/OpenCLTuning.swift); tools/cltune times the candidates.

#ifndef CONV_MR
#define CONV_MR 4
#endif
#ifndef CONV_NV
#define CONV_NV 3
#endif
#ifndef WGRAD_DM
#define WGRAD_DM 4
#endif
#ifndef WGRAD_DT
#define WGRAD_DT 3
#endif
#ifndef CONV_VW
#define CONV_VW 8
#endif

#define CONV_CAT_(a, b) a##b
#define CONV_CAT(a, b) CONV_CAT_(a, b)
#define cfloatV CONV_CAT(float, CONV_VW)
#define cvload CONV_CAT(vload, CONV_VW)
#define cvstore CONV_CAT(vstore, CONV_VW)
#define CONV_NR (CONV_NV * CONV_VW)

// start + v.s0 + v.s1 + ..., the lanes added in order (the weight gradients' dot products end so).
inline float lanes_after(float start, cfloatV v) {
    float lanes[CONV_VW];
    cvstore(v, 0, lanes);
    float sum = start;
    for (int l = 0; l < CONV_VW; l++) sum += lanes[l];
    return sum;
}

// Zero-padded (or, with negative top/left, cropped) copy of planes:
// out[p, i, j] = in[p, i - top, j - left] where that is inside [H, W], else 0.
// in is [planes, H, W], out is [planes, Hp, Wp] followed by `slack` zeros (read, times zero, by
// the dropped lanes of conv_wgrad: they must be finite). One work-item per output row.
__kernel void conv_pad(
    __global const float* in, ulong offIn, __global float* out, ulong offOut,
    int planes, int H, int W, int Hp, int Wp, int top, int left, int slack)
{
    const int i = get_global_id(0);
    const int p = get_global_id(1);
    if (i >= Hp || p >= planes) return;
    if (i == 0 && p == 0) {
        __global float* end = out + offOut + (long)planes * Hp * Wp;
        for (int j = 0; j < slack; j++) end[j] = 0.0f;
    }
    __global float* o = out + offOut + ((long)p * Hp + i) * Wp;
    const int si = i - top;
    if (si < 0 || si >= H) {
        for (int j = 0; j < Wp; j++) o[j] = 0.0f;
        return;
    }
    __global const float* s = in + offIn + ((long)p * H + si) * W;
    for (int j = 0; j < Wp; j++) {
        const int sj = j - left;
        o[j] = (sj >= 0 && sj < W) ? s[sj] : 0.0f;
    }
}

// Packs weights tap-major for conv_direct: out[(c*KK + t)*Mp + m] = Wt(m, c, t) for m < M and 0
// for M <= m < Mp, where Wt(m, c, t) = W[m*sWm + c*sWc + tapBase + tapStep*t] and Mp is M rounded
// up to CONV_MR. Forward: sWm = C*KK, sWc = KK, tapBase = 0, tapStep = 1. Backward-data (m is an
// input channel, c an output channel, taps flipped): sWm = KK, sWc = M*KK, tapBase = KK-1, tapStep = -1.
// Global size: (C*KK); each work-item writes one row of Mp floats (a work-item per element would
// cost more in scheduling than in copying on CPU drivers).
__kernel void conv_pack_weights(
    __global const float* W, ulong offW, __global float* out, ulong offOut,
    int M, int Mp, int C, int KK, int sWm, int sWc, int tapBase, int tapStep)
{
    const int ct = get_global_id(0);
    if (ct >= C * KK) return;
    const int c = ct / KK, t = ct - c * KK;
    __global const float* src = W + offW + (long)c * sWc + tapBase + tapStep * t;
    __global float* dst = out + offOut + (long)ct * Mp;
    for (int m = 0; m < M; m++) dst[m] = src[(long)m * sWm];
    for (int m = M; m < Mp; m++) dst[m] = 0.0f;
}

// The weights of backward-data as a row-major GEMM operand: out[m, c, t] = W[c, m, KK-1-t] for
// W [C, M, KK] (output channels c, input channels m). Global size: (M, C).
__kernel void conv_flip_weights(
    __global const float* W, ulong offW, __global float* out, ulong offOut, int M, int C, int KK)
{
    const int m = get_global_id(0);
    const int c = get_global_id(1);
    if (m >= M || c >= C) return;
    __global const float* src = W + offW + ((long)c * M + m) * KK;
    __global float* dst = out + offOut + ((long)m * C + c) * KK;
    for (int t = 0; t < KK; t++) dst[t] = src[KK - 1 - t];
}

// out[n, m, oh, ow] = sum_{c, kh, kw} Wk[((c*KH + kh)*KW + kw)*Mp + m] * Xp[n, c, oh + kh, ow + kw] (+ bias[m]).
// Xp is [N, C, Hp, Wp] with Hp = OH + KH - 1, Wp = OW + KW - 1; out is [N, M, OH, OW].
// readable: floats that may be read from offX on (N*C*Hp*Wp plus any slack).
// Global size: (ceil(M / CONV_MR), ceil(OH*Wp / CONV_NR), N).
__kernel void conv_direct(
    __global const float* Xp, ulong offX,
    __global const float* Wk, ulong offW,
    __global float* Y, ulong offY,
    __global const float* bias, ulong offBias,
    int C, int M, int Mp, int Hp, int Wp, int KH, int KW, int OH, int OW, int hasBias, int readable)
{
    const int m0 = get_global_id(0) * CONV_MR;
    const int q0 = get_global_id(1) * CONV_NR;
    const int n = get_global_id(2);
    const int plane = Hp * Wp;
    if (m0 >= M || q0 >= OH * Wp) return;
    __global const float* xc = Xp + offX + (long)n * C * plane + q0;
    __global const float* wk = Wk + offW + m0;

    cfloatV acc[CONV_MR][CONV_NV];
    #pragma unroll
    for (int i = 0; i < CONV_MR; i++) {
        #pragma unroll
        for (int j = 0; j < CONV_NV; j++) acc[i][j] = (cfloatV)(0.0f);
    }
    // A run's vector loads reach (KH-1)*Wp + KW-1 + CONV_NR floats past q0, into the next plane
    // (harmless: only dropped lanes use them). Past the last readable float (readable counts
    // from offX; the caller's unpadded buffer has no slack) a tile loads lane by lane instead.
    const bool vectorLoads =
        (long)(n * C + C - 1) * plane + q0 + (KH - 1) * Wp + KW - 1 + CONV_NR <= (long)readable;
    if (vectorLoads) {
        for (int c = 0; c < C; c++) {
            for (int kh = 0; kh < KH; kh++) {
                __global const float* xr = xc + kh * Wp;
                for (int kw = 0; kw < KW; kw++) {
                    cfloatV v[CONV_NV];
                    #pragma unroll
                    for (int j = 0; j < CONV_NV; j++) v[j] = cvload(j, xr + kw);
                    #pragma unroll
                    for (int i = 0; i < CONV_MR; i++) {
                        const cfloatV a = (cfloatV)(wk[i]);
                        #pragma unroll
                        for (int j = 0; j < CONV_NV; j++) acc[i][j] = fma(a, v[j], acc[i][j]);
                    }
                    wk += Mp;
                }
            }
            xc += plane;
        }
    } else {
        for (int c = 0; c < C; c++) {
            for (int kh = 0; kh < KH; kh++) {
                for (int kw = 0; kw < KW; kw++) {
                    const int shift = kh * Wp + kw;
                    cfloatV v[CONV_NV];
                    #pragma unroll
                    for (int j = 0; j < CONV_NV; j++) {
                        float t[CONV_VW];
                        for (int l = 0; l < CONV_VW; l++) {
                            const int lane = j * CONV_VW + l;
                            t[l] = q0 + shift + lane < plane ? xc[shift + lane] : 0.0f;
                        }
                        v[j] = cvload(0, t);
                    }
                    #pragma unroll
                    for (int i = 0; i < CONV_MR; i++) {
                        const cfloatV a = (cfloatV)(wk[i]);
                        #pragma unroll
                        for (int j = 0; j < CONV_NV; j++) acc[i][j] = fma(a, v[j], acc[i][j]);
                    }
                    wk += Mp;
                }
            }
            xc += plane;
        }
    }

    const int oh0 = q0 / Wp, ow0 = q0 - oh0 * Wp;
    const long outPlane = (long)OH * OW;
    __global float* yb = Y + offY + (long)n * M * outPlane;
    #pragma unroll
    for (int i = 0; i < CONV_MR; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        const float bv = hasBias ? bias[offBias + m] : 0.0f;
        __global float* ym = yb + m * outPlane;
        if (ow0 + CONV_NR <= OW) {
            // The whole run lies inside one output row.
            #pragma unroll
            for (int j = 0; j < CONV_NV; j++) cvstore(acc[i][j] + bv, j, ym + oh0 * OW + ow0);
        } else if (Wp == OW && q0 + CONV_NR <= OH * OW) {
            // No dropped lanes (a 1-wide kernel): the run is contiguous in the output too.
            #pragma unroll
            for (int j = 0; j < CONV_NV; j++) cvstore(acc[i][j] + bv, j, ym + q0);
        } else {
            #pragma unroll
            for (int j = 0; j < CONV_NV; j++) {
                float t[CONV_VW];
                cvstore(acc[i][j], 0, t);
                int oh = oh0, ow = ow0 + j * CONV_VW;
                while (ow >= Wp) { ow -= Wp; oh++; }
                for (int l = 0; l < CONV_VW; l++) {
                    if (oh < OH && ow < OW) ym[oh * OW + ow] = t[l] + bv;
                    if (++ow == Wp) { ow = 0; oh++; }
                }
            }
        }
    }
}

// Partial weight gradient of one split of output rows (g = n*OH + oh in [s*rows, (s+1)*rows)):
//   part[s, m, r] = sum_{g} sum_{q in row g} dYq[n, m, q] * Xp[n, c, q + kh*Wp + kw]
// for r = (c*KH + kh)*KW + kw < R = C*KH*KW and m < M. On the padded-width grid q = oh*Wp + ow
// (Wp = OW + KW - 1) both operands are contiguous along q: Xp is the input zero-padded to
// [N, C, OH+KH-1, Wp] and dYq is dY widened to [N, M, OH, Wp] with zeros at ow >= OW, so the
// dropped lanes of the forward pass contribute nothing. Reads of Xp reach KW-1 floats past its
// end (taps of the last dropped lanes), so Xp needs that much (finite) slack unless KW == 1.
// A work-item accumulates WGRAD_DM x WGRAD_DT dot products in vectors along q, then adds lanes.
// Global size: (ceil(R / WGRAD_DT), ceil(M / WGRAD_DM), splits).
__kernel void conv_wgrad(
    __global const float* Xp, ulong offX,
    __global const float* dYq, ulong offDY,
    __global float* part, ulong offPart,
    int N, int C, int M, int Hp, int Wp, int KH, int KW, int OH, int rowsPerSplit)
{
    const int KK = KH * KW;
    const int R = C * KK;
    const int r0 = get_global_id(0) * WGRAD_DT;
    const int m0 = get_global_id(1) * WGRAD_DM;
    const int s = get_global_id(2);
    if (r0 >= R || m0 >= M) return;
    // Offsets of this work-item's taps inside one image of Xp (rows past R repeat the last).
    int tapOff[WGRAD_DT];
    #pragma unroll
    for (int i = 0; i < WGRAD_DT; i++) {
        const int r = min(r0 + i, R - 1);
        const int c = r / KK, t = r - c * KK;
        tapOff[i] = (c * Hp + t / KW) * Wp + t % KW;
    }
    int dyOff[WGRAD_DM];
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) dyOff[i] = min(m0 + i, M - 1) * OH * Wp;

    cfloatV acc[WGRAD_DM][WGRAD_DT];
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) {
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) acc[i][j] = (cfloatV)(0.0f);
    }
    float tailSum[WGRAD_DM][WGRAD_DT];
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) {
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) tailSum[i][j] = 0.0f;
    }
    const long xImage = (long)C * Hp * Wp, yImage = (long)M * OH * Wp;
    // Walk the split image by image: within an image its rows are one contiguous run of q.
    int g = s * rowsPerSplit;
    const int gEnd = min(g + rowsPerSplit, N * OH);
    while (g < gEnd) {
        const int n = g / OH, oh0 = g - n * OH;
        const int oh1 = min(OH, oh0 + (gEnd - g));
        const int q0 = oh0 * Wp, q1 = oh1 * Wp;
        __global const float* xb = Xp + offX + n * xImage;
        __global const float* yb = dYq + offDY + n * yImage;
        int q = q0;
        for (; q + CONV_VW <= q1; q += CONV_VW) {
            cfloatV yv[WGRAD_DM], xv[WGRAD_DT];
            #pragma unroll
            for (int i = 0; i < WGRAD_DM; i++) yv[i] = cvload(0, yb + dyOff[i] + q);
            #pragma unroll
            for (int j = 0; j < WGRAD_DT; j++) xv[j] = cvload(0, xb + tapOff[j] + q);
            #pragma unroll
            for (int i = 0; i < WGRAD_DM; i++) {
                #pragma unroll
                for (int j = 0; j < WGRAD_DT; j++) acc[i][j] = fma(yv[i], xv[j], acc[i][j]);
            }
        }
        for (; q < q1; q++) {
            #pragma unroll
            for (int i = 0; i < WGRAD_DM; i++) {
                #pragma unroll
                for (int j = 0; j < WGRAD_DT; j++) tailSum[i][j] = fma(yb[dyOff[i] + q], xb[tapOff[j] + q], tailSum[i][j]);
            }
        }
        g += oh1 - oh0;
    }
    __global float* p = part + offPart + ((long)s * M + m0) * R + r0;
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) {
        if (m0 + i >= M) break;
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) {
            if (r0 + j >= R) break;
            p[i * R + j] = lanes_after(tailSum[i][j], acc[i][j]);
        }
    }
}

// dW[i] = sum_s part[s, i] over splits in order, for i < count (= M*R). Global size: (count).
__kernel void conv_wgrad_reduce(
    __global const float* part, ulong offPart, __global float* dW, ulong offW, int splits, int count)
{
    const int i = get_global_id(0);
    if (i >= count) return;
    __global const float* p = part + offPart + i;
    float s = 0.0f;
    for (int k = 0; k < splits; k++) s += p[(long)k * count];
    dW[offW + i] = s;
}

// dbias[m] = sum_{n, p} dY[n, m, p] for dY [N, M, P]; vector partial sums, then lanes in order.
// Global size: (M).
__kernel void conv_bias_grad(
    __global const float* dY, ulong offDY, __global float* dbias, ulong offBias, int N, int M, int P)
{
    const int m = get_global_id(0);
    if (m >= M) return;
    cfloatV acc = (cfloatV)(0.0f);
    float tail = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float* row = dY + offDY + ((long)n * M + m) * P;
        int p = 0;
        for (; p + CONV_VW <= P; p += CONV_VW) acc += cvload(0, row + p);
        for (; p < P; p++) tail += row[p];
    }
    float t[CONV_VW];
    cvstore(acc, 0, t);
    float s = tail;
    for (int l = 0; l < CONV_VW; l++) s += t[l];
    dbias[offBias + m] = s;
}

// ---------------------------------------------------------------------------------------------
// im2col path (small images, large channel counts): the convolution becomes one GEMM of gemm.cl
// over a column matrix, so the weights stream through its cache-blocked tiles.

// col[(c*KH + kh)*KW + kw, n*P + oh*OW + ow] = in[n, c, oh + kh - top, ow + kw - left] inside
// [H, W], else 0. in is [N, C, H, W]; col is [C*KH*KW, N*P] with P = OH*OW.
// Global size: (N, C*KH*KW); each work-item writes the P floats of one image and tap.
__kernel void conv_im2col(
    __global const float* in, ulong offIn, __global float* col, ulong offCol,
    int N, int C, int H, int W, int KH, int KW, int OH, int OW, int top, int left)
{
    const int n = get_global_id(0);
    const int k = get_global_id(1);
    if (n >= N || k >= C * KH * KW) return;
    const int c = k / (KH * KW), t = k - c * KH * KW;
    const int kh = t / KW, kw = t - kh * KW;
    // Columns ow with 0 <= ow + kw - left < W read the input row; the rest are padding.
    const int lo = clamp(left - kw, 0, OW), hi = clamp(W + left - kw, lo, OW);
    __global float* dst = col + offCol + ((long)k * N + n) * OH * OW;
    __global const float* plane = in + offIn + ((long)n * C + c) * H * W;
    for (int oh = 0; oh < OH; oh++, dst += OW) {
        const int ih = oh + kh - top;
        if (ih < 0 || ih >= H) {
            for (int ow = 0; ow < OW; ow++) dst[ow] = 0.0f;
            continue;
        }
        __global const float* src = plane + (long)ih * W + kw - left;
        for (int ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
        for (int ow = lo; ow < hi; ow++) dst[ow] = src[ow];
        for (int ow = hi; ow < OW; ow++) dst[ow] = 0.0f;
    }
}

// Swaps the two outer axes: out[b, a, :] = in[a, b, :] for in [A, B, P].
// Global size: (B, A); each work-item copies one run of P floats.
__kernel void conv_swap_outer(
    __global const float* in, ulong offIn, __global float* out, ulong offOut, int A, int B, int P)
{
    const int b = get_global_id(0);
    const int a = get_global_id(1);
    if (b >= B || a >= A) return;
    __global const float* src = in + offIn + ((long)a * B + b) * P;
    __global float* dst = out + offOut + ((long)b * A + a) * P;
    for (int p = 0; p < P; p++) dst[p] = src[p];
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) for 3×3 kernels (any padding): a correlation becomes 16 independent
// products over 2×2 output tiles, M[ξ] = U[ξ] · V[ξ] for the 16 positions ξ of a 4×4 tile,
// run by conv_wino_gemm, between an input and an output transform:
//   U[ξ][m][c] = (G g G^T)[ξ],  g = Wt(m, c, ·) (3×3)         G   = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//   V[ξ][c][t] = (B^T d B)[ξ],  d = the tile's 4×4 input patch  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   Y tile     = A^T M A (+ bias)                                A^T = [1 1 1 0; 0 1 -1 -1]
// with t = (n*TH + th)*TW + tw over the T = N*TH*TW tiles (TH = ceil(OH/2), TW = ceil(OW/2)).
// The multiply count is 16 per 4 outputs against 36 for a direct 3×3 correlation.

// U for Wt(m, c, t) = W[m*sWm + c*sWc + tapBase + tapStep*t] (as conv_pack_weights) in panels of
// CONV_MR rows, U[ξ*C*Mp + (m / CONV_MR)*C*CONV_MR + c*CONV_MR + m % CONV_MR], so each work-item
// of the product kernels reads its weights as one contiguous stream; zero for M <= m < Mp (Mp: M
// rounded up to CONV_MR). A work-item transforms one panel's CONV_MR filters of one input channel
// and stores each ξ's CONV_MR values together: neighbouring work-items (channels) fill each ξ's
// run of the panel in order (4x faster than one filter per work-item at 512 × 512 on PoCL).
// Global size: (C, Mp / CONV_MR).
__kernel void conv_wino_filter(
    __global const float* W, ulong offW, __global float* U, ulong offU,
    int M, int Mp, int C, int sWm, int sWc, int tapBase, int tapStep)
{
    const int c = get_global_id(0);
    const int panel = get_global_id(1);
    if (c >= C || panel * CONV_MR >= Mp) return;
    const long stride = (long)C * Mp;
    float u[16][CONV_MR];
    for (int r = 0; r < CONV_MR; r++) {
        const int m = panel * CONV_MR + r;
        if (m >= M) {
            for (int x = 0; x < 16; x++) u[x][r] = 0.0f;
            continue;
        }
        __global const float* src = W + offW + (long)m * sWm + (long)c * sWc + tapBase;
        float g[3][3];
        #pragma unroll
        for (int i = 0; i < 3; i++) {
            #pragma unroll
            for (int j = 0; j < 3; j++) g[i][j] = src[tapStep * (i * 3 + j)];
        }
        // Gg (4×3), then (Gg)G^T (4×4).
        float h[4][3];
        #pragma unroll
        for (int j = 0; j < 3; j++) {
            h[0][j] = g[0][j];
            h[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
            h[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
            h[3][j] = g[2][j];
        }
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            u[i * 4 + 0][r] = h[i][0];
            u[i * 4 + 1][r] = 0.5f * (h[i][0] + h[i][1] + h[i][2]);
            u[i * 4 + 2][r] = 0.5f * (h[i][0] - h[i][1] + h[i][2]);
            u[i * 4 + 3][r] = h[i][2];
        }
    }
    __global float* dst = U + offU + ((long)panel * C + c) * CONV_MR;
    for (int x = 0; x < 16; x++) {
        #pragma unroll
        for (int r = 0; r < CONV_MR; r++) dst[x * stride + r] = u[x][r];
    }
}

// Bᵀ d B of the 4×4 patch d (element type T: float, or float8 for eight tiles in lanes), stored
// as V[ξ = 4i + j] at dst + ξ*stride through STORE(value, pointer): rows Bᵀ d, then columns.
#define WINO_STORE8(value, p) vstore8(value, 0, p)
#define WINO_STORE4(value, p) vstore4(value, 0, p)
#define WINO_STORE1(value, p) (*(p) = (value))
#define WINO_INPUT_TRANSFORM(T, d, STORE, dst, stride)                                             \
    {                                                                                               \
        T e[4][4];                                                                                  \
        _Pragma("unroll") for (int j = 0; j < 4; j++) {                                             \
            e[0][j] = d[0][j] - d[2][j];                                                            \
            e[1][j] = d[1][j] + d[2][j];                                                            \
            e[2][j] = d[2][j] - d[1][j];                                                            \
            e[3][j] = d[1][j] - d[3][j];                                                            \
        }                                                                                           \
        _Pragma("unroll") for (int i = 0; i < 4; i++) {                                             \
            STORE(e[i][0] - e[i][2], (dst) + (i * 4 + 0) * (stride));                               \
            STORE(e[i][1] + e[i][2], (dst) + (i * 4 + 1) * (stride));                               \
            STORE(e[i][2] - e[i][1], (dst) + (i * 4 + 2) * (stride));                               \
            STORE(e[i][1] - e[i][3], (dst) + (i * 4 + 3) * (stride));                               \
        }                                                                                           \
    }

// The 4×4 input patches of eight horizontally adjacent tiles, d[i][j] lane l =
// plane[h0 + i, w0 + 2l + j] (zero outside [H, W]): per patch row, the 16 middle floats of the
// 18 in one vload16 (all of them when the padding is 1), the two ends checked.
inline void wino_row_patches8(__global const float* plane, int h0, int w0, int H, int W, float8 d[4][4]) {
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        const int h = h0 + i;
        if (h >= 0 && h < H && w0 + 1 >= 0 && w0 + 17 <= W) {
            __global const float* row = plane + h * W + w0;
            const float16 v = vload16(0, row + 1);
            const float first = w0 >= 0 ? row[0] : 0.0f;
            const float last = w0 + 17 < W ? row[17] : 0.0f;
            const float8 even = v.even, odd = v.odd;
            d[i][0] = (float8)(first, odd.s0, odd.s1, odd.s2, odd.s3, odd.s4, odd.s5, odd.s6);
            d[i][1] = even;
            d[i][2] = odd;
            d[i][3] = (float8)(even.s1, even.s2, even.s3, even.s4, even.s5, even.s6, even.s7, last);
            continue;
        }
        float r[18];
        if (h >= 0 && h < H) {
            for (int j = 0; j < 18; j++) r[j] = w0 + j >= 0 && w0 + j < W ? plane[h * W + w0 + j] : 0.0f;
        } else {
            for (int j = 0; j < 18; j++) r[j] = 0.0f;
        }
        #pragma unroll
        for (int j = 0; j < 4; j++)
            d[i][j] = (float8)(r[j], r[j + 2], r[j + 4], r[j + 6], r[j + 8], r[j + 10], r[j + 12], r[j + 14]);
    }
}

// The same for four adjacent tiles in float4 lanes (a row of 10 floats: a vload8 and two ends).
inline void wino_row_patches4(__global const float* plane, int h0, int w0, int H, int W, float4 d[4][4]) {
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        const int h = h0 + i;
        if (h >= 0 && h < H && w0 + 1 >= 0 && w0 + 9 <= W) {
            __global const float* row = plane + h * W + w0;
            const float8 v = vload8(0, row + 1);
            const float first = w0 >= 0 ? row[0] : 0.0f;
            const float last = w0 + 9 < W ? row[9] : 0.0f;
            const float4 even = v.even, odd = v.odd;
            d[i][0] = (float4)(first, odd.s0, odd.s1, odd.s2);
            d[i][1] = even;
            d[i][2] = odd;
            d[i][3] = (float4)(even.s1, even.s2, even.s3, last);
            continue;
        }
        float r[10];
        if (h >= 0 && h < H) {
            for (int j = 0; j < 10; j++) r[j] = w0 + j >= 0 && w0 + j < W ? plane[h * W + w0 + j] : 0.0f;
        } else {
            for (int j = 0; j < 10; j++) r[j] = 0.0f;
        }
        #pragma unroll
        for (int j = 0; j < 4; j++) d[i][j] = (float4)(r[j], r[j + 2], r[j + 4], r[j + 6]);
    }
}

// Y tile = Aᵀ s A + b (element type T: float, or float8 for eight tiles in lanes): y[i][j] is
// output row i, column j of each tile. A^T s (2×4), then (A^T s) A (2×2).
#define WINO_FOLD(T, s, b, y)                                                                       \
    {                                                                                               \
        T r[2][4];                                                                                  \
        _Pragma("unroll") for (int j = 0; j < 4; j++) {                                             \
            r[0][j] = s[0][j] + s[1][j] + s[2][j];                                                  \
            r[1][j] = s[1][j] - s[2][j] - s[3][j];                                                  \
        }                                                                                           \
        _Pragma("unroll") for (int i = 0; i < 2; i++) {                                             \
            y[i][0] = r[i][0] + r[i][1] + r[i][2] + (b);                                            \
            y[i][1] = r[i][1] - r[i][2] - r[i][3] + (b);                                            \
        }                                                                                           \
    }

// Columns 0 and 1 of eight adjacent tiles' output row interleaved into one vstore16.
inline void wino_store_row8(float8 y0, float8 y1, __global float* out) {
    vstore16((float16)(y0.s0, y1.s0, y0.s1, y1.s1, y0.s2, y1.s2, y0.s3, y1.s3,
                       y0.s4, y1.s4, y0.s5, y1.s5, y0.s6, y1.s6, y0.s7, y1.s7), 0, out);
}

// V of the patches in[n, c, 2th - top + i, 2tw - left + j] (zero outside [H, W]), in [N, C, H, W],
// in panels of P tiles: V[ξ*C*Tp + (t / P)*C*P + c*P + t % P]. P = CONV_NR for conv_wino_gemm
// (each panel a contiguous [C][CONV_NR] block), P = Tp = T for the weight gradient's rows
// (conv_wino_dot), P = 1 for its tile-major V ([T][C] per ξ, the batched GEMM over few tiles).
// One work-item transforms one row of tiles, so its 16 outputs are 16 sequential streams.
// Global size: (C, TH, N) when the tiles are in several panels (P < Tp), so that neighbouring
// work-items (channels) write neighbouring P-float runs of a panel (about 1.6x on PoCL, whose
// work-group loops run along the first dimension); (TH, C, N) for one panel, where neighbouring
// tile rows are the neighbours in memory.
__kernel void conv_wino_input(
    __global const float* in, ulong offIn, __global float* V, ulong offV,
    int C, int H, int W, int top, int left, int TH, int TW, int Tp, int P)
{
    const bool channelsFirst = P < Tp;
    const int th = get_global_id(channelsFirst ? 1 : 0);
    const int c = get_global_id(channelsFirst ? 0 : 1);
    const int n = get_global_id(2);
    if (th >= TH || c >= C) return;
    const int h0 = 2 * th - top;
    __global const float* plane = in + offIn + ((long)n * C + c) * H * W;
    const long stride = (long)C * Tp;
    const int tRow = (n * TH + th) * TW;
    int tw = 0;
    if (TW % 8 == 0 && P % 8 == 0) {
        // Eight tiles at a time in float8 lanes (a group never straddles a panel): each input
        // row's 18 floats are read once, the transform runs on vectors, the stores are vstore8.
        for (; tw < TW; tw += 8) {
            float8 d[4][4];
            wino_row_patches8(plane, h0, 2 * tw - left, H, W, d);
            const int t = tRow + tw, panel = t / P;
            __global float* dst = V + offV + (long)panel * C * P + (long)c * P + (t - panel * P);
            WINO_INPUT_TRANSFORM(float8, d, WINO_STORE8, dst, stride)
        }
    } else if (TW % 4 == 0 && P % 4 == 0) {
        // Four tiles at a time in float4 lanes (8×8, 24×24, ... maps).
        for (; tw < TW; tw += 4) {
            float4 d[4][4];
            wino_row_patches4(plane, h0, 2 * tw - left, H, W, d);
            const int t = tRow + tw, panel = t / P;
            __global float* dst = V + offV + (long)panel * C * P + (long)c * P + (t - panel * P);
            WINO_INPUT_TRANSFORM(float4, d, WINO_STORE4, dst, stride)
        }
    }
    for (; tw < TW; tw++) {
        const int w0 = 2 * tw - left;
        float d[4][4];
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            const int h = h0 + i;
            const bool rowInside = h >= 0 && h < H;
            #pragma unroll
            for (int j = 0; j < 4; j++) {
                const int w = w0 + j;
                d[i][j] = rowInside && w >= 0 && w < W ? plane[h * W + w] : 0.0f;
            }
        }
        const int t = tRow + tw, panel = t / P;
        __global float* dst = V + offV + (long)panel * C * P + (long)c * P + (t - panel * P);
        WINO_INPUT_TRANSFORM(float, d, WINO_STORE1, dst, stride)
    }
}

// The 16 products Mt[ξ*M*Tp + m*Tp + t] = Σ_c U(ξ, m, c) * V(ξ, c, t), U in panels of CONV_MR
// rows (conv_wino_filter) and V in panels of
// CONV_NR tiles (conv_wino_input; Tp = T rounded up to CONV_NR, the lanes past T unused): the
// micro-kernel of conv_direct (CONV_MR channels × CONV_NR tiles per work-item, the weights
// broadcast, the tiles loaded as vectors) with the tap loop replaced by the channel loop.
// Global size: (ceil(M / CONV_MR), ceil(T / CONV_NR), 16).
__kernel void conv_wino_gemm(
    __global const float* U, ulong offU, __global const float* V, ulong offV,
    __global float* Mt, ulong offM, int C, int M, int Mp, int Tp)
{
    const int m0 = get_global_id(0) * CONV_MR;
    const int t0 = get_global_id(1) * CONV_NR;
    const int x = get_global_id(2);
    if (m0 >= M || t0 >= Tp) return;
    __global const float* wk = U + offU + (long)x * C * Mp + (long)m0 * C;
    __global const float* vb = V + offV + (long)x * C * Tp + (long)t0 * C;
    cfloatV acc[CONV_MR][CONV_NV];
    #pragma unroll
    for (int i = 0; i < CONV_MR; i++) {
        #pragma unroll
        for (int j = 0; j < CONV_NV; j++) acc[i][j] = (cfloatV)(0.0f);
    }
    for (int c = 0; c < C; c++) {
        cfloatV v[CONV_NV];
        #pragma unroll
        for (int j = 0; j < CONV_NV; j++) v[j] = cvload(j, vb);
        #pragma unroll
        for (int i = 0; i < CONV_MR; i++) {
            const cfloatV a = (cfloatV)(wk[i]);
            #pragma unroll
            for (int j = 0; j < CONV_NV; j++) acc[i][j] = fma(a, v[j], acc[i][j]);
        }
        wk += CONV_MR;
        vb += CONV_NR;
    }
    __global float* out = Mt + offM + (long)x * M * Tp + t0;
    #pragma unroll
    for (int i = 0; i < CONV_MR; i++) {
        if (m0 + i >= M) break;
        __global float* row = out + (long)(m0 + i) * Tp;
        #pragma unroll
        for (int j = 0; j < CONV_NV; j++) cvstore(acc[i][j], j, row);
    }
}

// Y[n, m, 2th + i, 2tw + j] = (A^T M A)[i][j] (+ bias[m]) inside [OH, OW], M = Mt[ξ*M*Tp + m*Tp + t].
// One work-item per row of tiles. Global size: (TH, M, N).
__kernel void conv_wino_output(
    __global const float* Mt, ulong offM, __global float* Y, ulong offY,
    __global const float* bias, ulong offBias,
    int M, int OH, int OW, int TH, int TW, int Tp, int hasBias)
{
    const int th = get_global_id(0);
    const int m = get_global_id(1);
    const int n = get_global_id(2);
    if (th >= TH || m >= M) return;
    const long stride = (long)M * Tp;
    __global const float* src = Mt + offM + (long)m * Tp + (long)(n * TH + th) * TW;
    const float b = hasBias ? bias[offBias + m] : 0.0f;
    __global float* out = Y + offY + ((long)n * M + m) * OH * OW;
    const int oh = 2 * th;
    int tw = 0;
    if (OW % 16 == 0) {
        // Eight tiles (16 output columns) at a time in float8 lanes; the two columns of each
        // tile are interleaved into one vstore16 per output row.
        for (; tw < TW; tw += 8) {
            float8 s[4][4];
            #pragma unroll
            for (int i = 0; i < 4; i++) {
                #pragma unroll
                for (int j = 0; j < 4; j++) s[i][j] = vload8(0, src + (i * 4 + j) * stride + tw);
            }
            float8 y[2][2];
            WINO_FOLD(float8, s, b, y)
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                if (oh + i >= OH) break;
                wino_store_row8(y[i][0], y[i][1], out + (oh + i) * OW + 2 * tw);
            }
        }
    }
    for (; tw < TW; tw++) {
        float s[4][4];
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            #pragma unroll
            for (int j = 0; j < 4; j++) s[i][j] = src[(i * 4 + j) * stride + tw];
        }
        float y[2][2];
        WINO_FOLD(float, s, b, y)
        const int ow = 2 * tw;
        #pragma unroll
        for (int i = 0; i < 2; i++) {
            if (oh + i >= OH) break;
            out[(oh + i) * OW + ow] = y[i][0];
            if (ow + 1 < OW) out[(oh + i) * OW + ow + 1] = y[i][1];
        }
    }
}

// conv_wino_input, conv_wino_gemm and conv_wino_output in one pass over blocks of CONV_NR tiles,
// for CPU drivers: a block's V (16 × C × CONV_NR floats) is written to the work-item's own region
// of scratch, where it stays in cache while each panel of CONV_MR output channels computes its 16
// products in registers, keeps them in a private block and folds them into Y. Neither V for all
// tiles nor the products go through memory in full, as the three-kernel path writes and reads
// them back (4x the input and 4x the output). The arithmetic is the same in the same order: the
// results equal that path's bit for bit.
//
// Tiles t = b*CONV_NR + l (l < CONV_NR, zero past T) are transformed eight at a time: a row run of
// eight (TW % 8 == 0), two runs of four (TW % 4 == 0) or eight single tiles. Work-item (w, g)
// runs the blocks b = w, w + W, w + 2W, ... (W = get_global_size(0), a few per compute unit, so
// its region of Vg is reused while hot) and, in each, the channel panels
// [g*panels, (g+1)*panels) ∩ [0, Mp / CONV_MR); the host splits the panels only when there are
// too few blocks to fill the device (each split transforms its blocks' V again). U as
// conv_wino_filter writes it. CONV_NR must be a multiple of 8.
// Global size: (W, G) in work-groups of one work-item; Vg: W*G*16*C*CONV_NR floats.
__kernel void conv_wino_fused(
    __global const float* in, ulong offIn, __global const float* U, ulong offU,
    __global float* Y, ulong offY, __global const float* bias, ulong offBias,
    int C, int H, int W, int top, int left, int M, int Mp, int OH, int OW, int TH, int TW, int T,
    int panels, int hasBias, int blocks, __global float* Vg, ulong offV)
{
    const int pBegin = get_global_id(1) * panels;
    const int pEnd = min(pBegin + panels, Mp / CONV_MR);
    if (pBegin >= pEnd) return;
    const int tilesPerImage = TH * TW;
    const long stride = (long)C * CONV_NR;
    __global float* Vw = Vg + offV + ((long)get_global_id(0) * get_global_size(1) + get_global_id(1)) * 16 * stride;
    for (int block = get_global_id(0); block < blocks; block += get_global_size(0)) {
        const int t0 = block * CONV_NR;
        for (int g = 0; g < CONV_NR; g += 8) {
            const int tg = t0 + g;
            for (int c = 0; c < C; c++) {
                float8 d[4][4];
                if (TW % 8 == 0 && tg < T) {
                    const int n = tg / tilesPerImage, r = tg - n * tilesPerImage, th = r / TW, tw = r - th * TW;
                    wino_row_patches8(in + offIn + ((long)n * C + c) * H * W, 2 * th - top, 2 * tw - left, H, W, d);
                } else if (TW % 4 == 0) {
                    float4 h[2][4][4];
                    #pragma unroll
                    for (int k = 0; k < 2; k++) {
                        const int t = tg + 4 * k;
                        if (t >= T) {
                            #pragma unroll
                            for (int i = 0; i < 4; i++)
                                #pragma unroll
                                for (int j = 0; j < 4; j++) h[k][i][j] = (float4)(0.0f);
                            continue;
                        }
                        const int n = t / tilesPerImage, r = t - n * tilesPerImage, th = r / TW, tw = r - th * TW;
                        wino_row_patches4(in + offIn + ((long)n * C + c) * H * W, 2 * th - top, 2 * tw - left, H, W, h[k]);
                    }
                    #pragma unroll
                    for (int i = 0; i < 4; i++)
                        #pragma unroll
                        for (int j = 0; j < 4; j++) d[i][j] = (float8)(h[0][i][j], h[1][i][j]);
                } else {
                    float lanes[4][4][8];
                    for (int l = 0; l < 8; l++) {
                        const int t = tg + l;
                        const int n = t / tilesPerImage, r = t - n * tilesPerImage, th = r / TW, tw = r - th * TW;
                        __global const float* plane = in + offIn + ((long)n * C + c) * H * W;
                        const int h0 = 2 * th - top, w0 = 2 * tw - left;
                        for (int i = 0; i < 4; i++) {
                            for (int j = 0; j < 4; j++) {
                                const int hh = h0 + i, ww = w0 + j;
                                lanes[i][j][l] = t < T && hh >= 0 && hh < H && ww >= 0 && ww < W ? plane[hh * W + ww] : 0.0f;
                            }
                        }
                    }
                    #pragma unroll
                    for (int i = 0; i < 4; i++)
                        #pragma unroll
                        for (int j = 0; j < 4; j++) d[i][j] = vload8(0, lanes[i][j]);
                }
                __global float* dst = Vw + (long)c * CONV_NR + g;
                WINO_INPUT_TRANSFORM(float8, d, WINO_STORE8, dst, stride)
            }
        }
        for (int panel = pBegin; panel < pEnd; panel++) {
            // The panel's 16 products over the block, as conv_wino_gemm computes them.
            float products[16][CONV_MR][CONV_NR];
            for (int x = 0; x < 16; x++) {
                __global const float* wk = U + offU + (long)x * C * Mp + (long)panel * CONV_MR * C;
                __global const float* vb = Vw + x * stride;
                cfloatV acc[CONV_MR][CONV_NV];
                #pragma unroll
                for (int i = 0; i < CONV_MR; i++) {
                    #pragma unroll
                    for (int j = 0; j < CONV_NV; j++) acc[i][j] = (cfloatV)(0.0f);
                }
                for (int c = 0; c < C; c++) {
                    cfloatV v[CONV_NV];
                    #pragma unroll
                    for (int j = 0; j < CONV_NV; j++) v[j] = cvload(j, vb);
                    #pragma unroll
                    for (int i = 0; i < CONV_MR; i++) {
                        const cfloatV a = (cfloatV)(wk[i]);
                        #pragma unroll
                        for (int j = 0; j < CONV_NV; j++) acc[i][j] = fma(a, v[j], acc[i][j]);
                    }
                    wk += CONV_MR;
                    vb += CONV_NR;
                }
                #pragma unroll
                for (int i = 0; i < CONV_MR; i++) {
                    #pragma unroll
                    for (int j = 0; j < CONV_NV; j++) cvstore(acc[i][j], j, products[x][i]);
                }
            }
            for (int i = 0; i < CONV_MR; i++) {
                const int m = panel * CONV_MR + i;
                if (m >= M) break;
                const float b = hasBias ? bias[offBias + m] : 0.0f;
                __global float* out = Y + offY + (long)m * OH * OW;
                for (int g = 0; g < CONV_NR; g += 8) {
                    const int tg = t0 + g;
                    if (tg >= T) break;
                    float8 s[4][4];
                    #pragma unroll
                    for (int a = 0; a < 4; a++)
                        #pragma unroll
                        for (int j = 0; j < 4; j++) s[a][j] = vload8(0, products[a * 4 + j][i] + g);
                    float8 y[2][2];
                    WINO_FOLD(float8, s, b, y)
                    if (TW % 8 == 0 && OW % 16 == 0) {
                        const int n = tg / tilesPerImage, r = tg - n * tilesPerImage, th = r / TW, tw = r - th * TW;
                        __global float* o = out + (long)n * M * OH * OW + (2 * th) * OW + 2 * tw;
                        #pragma unroll
                        for (int a = 0; a < 2; a++) {
                            if (2 * th + a >= OH) break;
                            wino_store_row8(y[a][0], y[a][1], o + a * OW);
                        }
                        continue;
                    }
                    float ys[2][2][8];
                    #pragma unroll
                    for (int a = 0; a < 2; a++)
                        #pragma unroll
                        for (int j = 0; j < 2; j++) vstore8(y[a][j], 0, ys[a][j]);
                    for (int l = 0; l < 8; l++) {
                        const int t = tg + l;
                        if (t >= T) break;
                        const int n = t / tilesPerImage, r = t - n * tilesPerImage, th = r / TW, tw = r - th * TW;
                        __global float* o = out + (long)n * M * OH * OW;
                        const int oh = 2 * th, ow = 2 * tw;
                        for (int a = 0; a < 2; a++) {
                            if (oh + a >= OH) break;
                            o[(oh + a) * OW + ow] = ys[a][0][l];
                            if (ow + 1 < OW) o[(oh + a) * OW + ow + 1] = ys[a][1][l];
                        }
                    }
                }
            }
        }
    }
}

// Weight gradient, the transpose of the products above: with dM[ξ][m][t] = (A dY A^T)[ξ] of each
// tile's 2×2 output gradient, dU[ξ] = dM[ξ] · V[ξ]^T (a batched GEMM over the T tiles) and
// dW[m, c] = G^T dU[·][m][c] G.

// The weight gradient's 16 products dU[ξ*M*C + m*C + c] = Σ_t dM[ξ*M*T + m*T + t] * V[ξ*C*T + c*T + t]:
// WGRAD_DM × WGRAD_DT dot products per work-item in vectors along t (both operands are
// contiguous there), the lanes added in order at the end. Global size: (ceil(C / WGRAD_DT),
// ceil(M / WGRAD_DM), 16).
__kernel void conv_wino_dot(
    __global const float* dM, ulong offM, __global const float* V, ulong offV,
    __global float* dU, ulong offU, int M, int C, int T)
{
    const int c0 = get_global_id(0) * WGRAD_DT;
    const int m0 = get_global_id(1) * WGRAD_DM;
    const int x = get_global_id(2);
    if (c0 >= C || m0 >= M) return;
    __global const float* yr[WGRAD_DM];
    __global const float* vr[WGRAD_DT];
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) yr[i] = dM + offM + ((long)x * M + min(m0 + i, M - 1)) * T;
    #pragma unroll
    for (int j = 0; j < WGRAD_DT; j++) vr[j] = V + offV + ((long)x * C + min(c0 + j, C - 1)) * T;
    cfloatV acc[WGRAD_DM][WGRAD_DT];
    float tail[WGRAD_DM][WGRAD_DT];
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) {
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) { acc[i][j] = (cfloatV)(0.0f); tail[i][j] = 0.0f; }
    }
    int t = 0;
    for (; t + CONV_VW <= T; t += CONV_VW) {
        cfloatV yv[WGRAD_DM], xv[WGRAD_DT];
        #pragma unroll
        for (int i = 0; i < WGRAD_DM; i++) yv[i] = cvload(0, yr[i] + t);
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) xv[j] = cvload(0, vr[j] + t);
        #pragma unroll
        for (int i = 0; i < WGRAD_DM; i++) {
            #pragma unroll
            for (int j = 0; j < WGRAD_DT; j++) acc[i][j] = fma(yv[i], xv[j], acc[i][j]);
        }
    }
    for (; t < T; t++) {
        #pragma unroll
        for (int i = 0; i < WGRAD_DM; i++) {
            #pragma unroll
            for (int j = 0; j < WGRAD_DT; j++) tail[i][j] = fma(yr[i][t], vr[j][t], tail[i][j]);
        }
    }
    __global float* out = dU + offU + ((long)x * M + m0) * C + c0;
    #pragma unroll
    for (int i = 0; i < WGRAD_DM; i++) {
        if (m0 + i >= M) break;
        #pragma unroll
        for (int j = 0; j < WGRAD_DT; j++) {
            if (c0 + j >= C) break;
            out[i * C + j] = lanes_after(tail[i][j], acc[i][j]);
        }
    }
}

// A y Aᵀ of a tile's 2×2 output gradient y (element type T: float, float4 or float8 for tiles in
// lanes), A = [1 0; 1 1; 1 -1; 0 -1]: rows A y (4×2), then (A y) Aᵀ (4×4), stored as dM[ξ = 4i + j]
// at dst + ξ*stride through STORE(value, pointer).
#define WINO_OUTPUT_GRAD_TRANSFORM(T, y, STORE, dst, stride)                                        \
    {                                                                                               \
        T r[4][2];                                                                                  \
        _Pragma("unroll") for (int j = 0; j < 2; j++) {                                             \
            r[0][j] = y[0][j];                                                                      \
            r[1][j] = y[0][j] + y[1][j];                                                            \
            r[2][j] = y[0][j] - y[1][j];                                                            \
            r[3][j] = -y[1][j];                                                                     \
        }                                                                                           \
        _Pragma("unroll") for (int i = 0; i < 4; i++) {                                             \
            STORE(r[i][0], (dst) + (i * 4 + 0) * (stride));                                         \
            STORE(r[i][0] + r[i][1], (dst) + (i * 4 + 1) * (stride));                               \
            STORE(r[i][0] - r[i][1], (dst) + (i * 4 + 2) * (stride));                               \
            STORE(-r[i][1], (dst) + (i * 4 + 3) * (stride));                                        \
        }                                                                                           \
    }

// dM[ξ*M*T + m*T + t] = (A dY_tile A^T)[ξ], dY [N, M, OH, OW] (zero past OH, OW).
// One work-item per row of tiles. Global size: (TH, M, N).
__kernel void conv_wino_output_grad(
    __global const float* dY, ulong offDY, __global float* dM, ulong offM,
    int M, int OH, int OW, int TH, int TW, int T)
{
    const int th = get_global_id(0);
    const int m = get_global_id(1);
    const int n = get_global_id(2);
    if (th >= TH || m >= M) return;
    const int oh = 2 * th;
    __global const float* src = dY + offDY + ((long)n * M + m) * OH * OW;
    const long stride = (long)M * T;
    __global float* dst = dM + offM + (long)m * T + (long)(n * TH + th) * TW;
    int tw = 0;
    if (OW % 16 == 0) {
        // Eight tiles at a time: each dY row's 16 floats split into even and odd columns.
        for (; tw < TW; tw += 8) {
            float8 y[2][2];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                const float16 row = oh + i < OH ? vload16(0, src + (oh + i) * OW + 2 * tw) : (float16)(0.0f);
                y[i][0] = row.even;
                y[i][1] = row.odd;
            }
            WINO_OUTPUT_GRAD_TRANSFORM(float8, y, WINO_STORE8, dst + tw, stride)
        }
    } else if (OW % 8 == 0) {
        // Four tiles at a time (8×8, 24×24, ... maps): each dY row's 8 floats.
        for (; tw < TW; tw += 4) {
            float4 y[2][2];
            #pragma unroll
            for (int i = 0; i < 2; i++) {
                const float8 row = oh + i < OH ? vload8(0, src + (oh + i) * OW + 2 * tw) : (float8)(0.0f);
                y[i][0] = row.even;
                y[i][1] = row.odd;
            }
            WINO_OUTPUT_GRAD_TRANSFORM(float4, y, WINO_STORE4, dst + tw, stride)
        }
    }
    for (; tw < TW; tw++) {
        const int ow = 2 * tw;
        float y[2][2];
        #pragma unroll
        for (int i = 0; i < 2; i++) {
            #pragma unroll
            for (int j = 0; j < 2; j++) y[i][j] = oh + i < OH && ow + j < OW ? src[(oh + i) * OW + ow + j] : 0.0f;
        }
        WINO_OUTPUT_GRAD_TRANSFORM(float, y, WINO_STORE1, dst + tw, stride)
    }
}

// dW[(m*C + c)*9 + kh*3 + kw] = (G^T dU G)[kh][kw], dU = dUt[ξ*M*C + m*C + c]. Global size: (C, M).
__kernel void conv_wino_filter_grad(
    __global const float* dUt, ulong offU, __global float* dW, ulong offW, int M, int C)
{
    const int c = get_global_id(0);
    const int m = get_global_id(1);
    if (c >= C || m >= M) return;
    const long stride = (long)M * C;
    __global const float* src = dUt + offU + (long)m * C + c;
    float u[4][4];
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        #pragma unroll
        for (int j = 0; j < 4; j++) u[i][j] = src[(i * 4 + j) * stride];
    }
    // G^T = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]: G^T u (3×4), then (G^T u) G (3×3).
    float h[3][4];
    #pragma unroll
    for (int j = 0; j < 4; j++) {
        h[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
        h[1][j] = 0.5f * (u[1][j] - u[2][j]);
        h[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
    }
    __global float* dst = dW + offW + ((long)m * C + c) * 9;
    #pragma unroll
    for (int i = 0; i < 3; i++) {
        dst[i * 3 + 0] = h[i][0] + 0.5f * (h[i][1] + h[i][2]);
        dst[i * 3 + 1] = 0.5f * (h[i][1] - h[i][2]);
        dst[i * 3 + 2] = 0.5f * (h[i][1] + h[i][2]) + h[i][3];
    }
}
