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
            float t[CONV_VW];
            cvstore(acc[i][j], 0, t);
            float sum = tailSum[i][j];
            for (int l = 0; l < CONV_VW; l++) sum += t[l];
            p[i * R + j] = sum;
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
