// Convolution kernels (draft for tuning).

#ifndef MR
#define MR 4
#endif
#ifndef NV
#define NV 3
#endif
#ifndef VW
#define VW 8
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)
#define NR (NV * VW)
#define MADD(a, b, c) fma(a, b, c)

// Zero-padded (or cropped) copy: out[p, i, j] = in[p, i - top, j - left] inside, else 0.
// in is [planes, H, W], out is [planes, Hp, Wp]. One work-item per output row.
__kernel void conv_pad(
    __global const float* in, ulong offIn, __global float* out, ulong offOut,
    int planes, int H, int W, int Hp, int Wp, int top, int left)
{
    const int i = get_global_id(0);
    const int p = get_global_id(1);
    if (i >= Hp || p >= planes) return;
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

// Direct convolution on the padded-width grid.
// out[n, m, oh, ow] = sum_{c, kh, kw} Wt(m, c, kh, kw) * Xp[n, c, oh + kh, ow + kw]  (+ bias[m])
// Wt(m, c, kh, kw) = W[m*sWm + c*sWc + tapBase + tapStep*(kh*KW + kw)]
// Output positions are enumerated as q = oh*Wp + ow over the padded width; lanes with ow >= OW
// are computed and dropped, so every load of a tile is one contiguous vector.
__kernel void conv_direct(
    __global const float* Xp, ulong offX,
    __global const float* Wt, ulong offW,
    __global float* Y, ulong offY,
    __global const float* bias, ulong offBias,
    int C, int M, int Hp, int Wp, int KH, int KW, int OH, int OW,
    int sWm, int sWc, int tapBase, int tapStep, int hasBias)
{
    const int m0 = get_global_id(0) * MR;
    const int q0 = get_global_id(1) * NR;
    const int n = get_global_id(2);
    const int Q = OH * Wp;
    if (m0 >= M || q0 >= Q) return;
    const long plane = (long)Hp * Wp;
    __global const float* xb = Xp + offX + (long)n * C * plane + q0;
    __global const float* wr[MR];
    #pragma unroll
    for (int i = 0; i < MR; i++) wr[i] = Wt + offW + (long)min(m0 + i, M - 1) * sWm + tapBase;

    floatV acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        #pragma unroll
        for (int j = 0; j < NV; j++) acc[i][j] = (floatV)(0.0f);
    }
    for (int c = 0; c < C; c++) {
        __global const float* xc = xb + c * plane;
        int wo = c * sWc;
        for (int kh = 0; kh < KH; kh++) {
            __global const float* xr = xc + kh * Wp;
            for (int kw = 0; kw < KW; kw++) {
                floatV v[NV];
                #pragma unroll
                for (int j = 0; j < NV; j++) v[j] = vloadV(j, xr + kw);
                #pragma unroll
                for (int i = 0; i < MR; i++) {
                    const floatV a = (floatV)(wr[i][wo]);
                    #pragma unroll
                    for (int j = 0; j < NV; j++) acc[i][j] = MADD(a, v[j], acc[i][j]);
                }
                wo += tapStep;
            }
        }
    }

    const int oh0 = q0 / Wp, ow0 = q0 % Wp;
    const long outPlane = (long)OH * OW;
    __global float* yb = Y + offY + (long)n * M * outPlane;
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        const float bv = hasBias ? bias[offBias + m] : 0.0f;
        __global float* ym = yb + m * outPlane;
        if (ow0 + NR <= OW) {
            #pragma unroll
            for (int j = 0; j < NV; j++) vstoreV(acc[i][j] + bv, 0, ym + oh0 * OW + ow0 + j * VW);
        } else {
            #pragma unroll
            for (int j = 0; j < NV; j++) {
                float t[VW];
                vstoreV(acc[i][j], 0, t);
                int oh = oh0, ow = ow0 + j * VW;
                while (ow >= Wp) { ow -= Wp; oh++; }
                for (int l = 0; l < VW; l++) {
                    if (oh < OH && ow < OW) ym[oh * OW + ow] = t[l] + bv;
                    if (++ow == Wp) { ow = 0; oh++; }
                }
            }
        }
    }
}

// Packs weights for conv_packed: out[(c*KK + t)*Mp + m] = W[m*sWm + c*sWc + tapBase + tapStep*t]
// for m < M, 0 for M <= m < Mp. One work-item per (m, c*KK + t).
__kernel void conv_pack_weights(
    __global const float* W, ulong offW, __global float* out, ulong offOut,
    int M, int Mp, int C, int KK, int sWm, int sWc, int tapBase, int tapStep)
{
    const int m = get_global_id(0);
    const int ct = get_global_id(1);
    if (m >= Mp || ct >= C * KK) return;
    const int c = ct / KK, t = ct % KK;
    out[offOut + (long)ct * Mp + m] = m < M ? W[offW + (long)m * sWm + (long)c * sWc + tapBase + tapStep * t] : 0.0f;
}

#ifdef CKH
#define KH_ CKH
#define KW_ CKW
#else
#define KH_ KH
#define KW_ KW
#endif

// As conv_direct, with weights packed by conv_pack_weights (Mp = M rounded up to MR).
__kernel void conv_packed(
    __global const float* Xp, ulong offX,
    __global const float* Wk, ulong offW,
    __global float* Y, ulong offY,
    __global const float* bias, ulong offBias,
    int C, int M, int Mp, int Hp, int Wp, int KH, int KW, int OH, int OW, int hasBias)
{
    const int m0 = get_global_id(0) * MR;
    const int q0 = get_global_id(1) * NR;
    const int n = get_global_id(2);
    const int Q = OH * Wp;
    if (m0 >= M || q0 >= Q) return;
    const long plane = (long)Hp * Wp;
    __global const float* xc = Xp + offX + (long)n * C * plane + q0;
    __global const float* wk = Wk + offW + m0;

    floatV acc[MR][NV];
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        #pragma unroll
        for (int j = 0; j < NV; j++) acc[i][j] = (floatV)(0.0f);
    }
    for (int c = 0; c < C; c++) {
        #pragma unroll
        for (int kh = 0; kh < KH_; kh++) {
            #pragma unroll
            for (int kw = 0; kw < KW_; kw++) {
                floatV v[NV];
                #pragma unroll
                for (int j = 0; j < NV; j++) v[j] = vloadV(j, xc + kh * Wp + kw);
                __global const float* wt = wk + (kh * KW_ + kw) * Mp;
                #pragma unroll
                for (int i = 0; i < MR; i++) {
                    const floatV a = (floatV)(wt[i]);
                    #pragma unroll
                    for (int j = 0; j < NV; j++) acc[i][j] = MADD(a, v[j], acc[i][j]);
                }
            }
        }
        xc += plane;
        wk += KH_ * KW_ * Mp;
    }

    const int oh0 = q0 / Wp, ow0 = q0 % Wp;
    const long outPlane = (long)OH * OW;
    __global float* yb = Y + offY + (long)n * M * outPlane;
    #pragma unroll
    for (int i = 0; i < MR; i++) {
        const int m = m0 + i;
        if (m >= M) break;
        const float bv = hasBias ? bias[offBias + m] : 0.0f;
        __global float* ym = yb + m * outPlane;
        if (ow0 + NR <= OW) {
            #pragma unroll
            for (int j = 0; j < NV; j++) vstoreV(acc[i][j] + bv, 0, ym + oh0 * OW + ow0 + j * VW);
        } else {
            #pragma unroll
            for (int j = 0; j < NV; j++) {
                float t[VW];
                vstoreV(acc[i][j], 0, t);
                int oh = oh0, ow = ow0 + j * VW;
                while (ow >= Wp) { ow -= Wp; oh++; }
                for (int l = 0; l < VW; l++) {
                    if (oh < OH && ow < OW) ym[oh * OW + ow] = t[l] + bv;
                    if (++ow == Wp) { ow = 0; oh++; }
                }
            }
        }
    }
}

#ifndef WMR
#define WMR 6
#endif
#ifndef WNV
#define WNV 2
#endif
#define WNR (WNV * VW)

// Batched transpose: out[b, j, i] = in[b, i, j] for in [B, R, S]. One work-item per (j, i-block).
__kernel void conv_transpose(
    __global const float* in, ulong offIn, __global float* out, ulong offOut, int R, int S)
{
    const int j = get_global_id(0);
    const int b = get_global_id(2);
    if (j >= S) return;
    const int i0 = get_global_id(1) * 64;
    const int i1 = min(i0 + 64, R);
    __global const float* src = in + offIn + (long)b * R * S + j;
    __global float* dst = out + offOut + (long)b * R * S + (long)j * R;
    for (int i = i0; i < i1; i++) dst[i] = src[(long)i * S];
}

// Partial weight gradient over one split of the output rows.
// part[s, r, m] = sum over rows g in split s (g = n*OH + oh), ow < OW of
//     Xp[n, c, oh + kh, ow + kw] * dYt[n, oh*OW + ow, m],  r = c*KK + kh*KW + kw.
// Xp is the input zero-padded to [N, C, OH+KH-1, OW+KW-1]; dYt is dY as [N, OH*OW, M].
__kernel void conv_wgrad(
    __global const float* Xp, ulong offX,
    __global const float* dYt, ulong offDY,
    __global float* part, ulong offPart,
    int N, int C, int M, int Hp, int Wp, int KH, int KW, int OH, int OW, int rowsPerSplit)
{
    const int KK = KH * KW;
    const int R = C * KK;
    const int r0 = get_global_id(0) * WMR;
    const int m0 = get_global_id(1) * WNR;
    const int s = get_global_id(2);
    if (r0 >= R || m0 >= M) return;
    // Offsets of the WMR taps inside an image of Xp (rows past R repeat the last one).
    int tapOff[WMR];
    #pragma unroll
    for (int i = 0; i < WMR; i++) {
        const int r = min(r0 + i, R - 1);
        const int c = r / KK, t = r % KK;
        tapOff[i] = (c * Hp + t / KW) * Wp + t % KW;
    }
    floatV acc[WMR][WNV];
    #pragma unroll
    for (int i = 0; i < WMR; i++) {
        #pragma unroll
        for (int j = 0; j < WNV; j++) acc[i][j] = (floatV)(0.0f);
    }
    const int g0 = s * rowsPerSplit, g1 = min(g0 + rowsPerSplit, N * OH);
    const long xImage = (long)C * Hp * Wp;
    for (int g = g0; g < g1; g++) {
        const int n = g / OH, oh = g % OH;
        __global const float* xr = Xp + offX + n * xImage + oh * Wp;
        __global const float* xs[WMR];
        #pragma unroll
        for (int i = 0; i < WMR; i++) xs[i] = xr + tapOff[i];
        __global const float* dy = dYt + offDY + ((long)n * OH * OW + (long)oh * OW) * M + m0;
        for (int ow = 0; ow < OW; ow++) {
            floatV v[WNV];
            #pragma unroll
            for (int j = 0; j < WNV; j++) v[j] = vloadV(j, dy);
            dy += M;
            #pragma unroll
            for (int i = 0; i < WMR; i++) {
                const floatV a = (floatV)(xs[i][ow]);
                #pragma unroll
                for (int j = 0; j < WNV; j++) acc[i][j] = MADD(a, v[j], acc[i][j]);
            }
        }
    }
    __global float* p = part + offPart + ((long)s * R + r0) * M + m0;
    #pragma unroll
    for (int i = 0; i < WMR; i++) {
        if (r0 + i >= R) break;
        if (m0 + WNR <= M) {
            #pragma unroll
            for (int j = 0; j < WNV; j++) vstoreV(acc[i][j], j, p + i * M);
        } else {
            #pragma unroll
            for (int j = 0; j < WNV; j++) {
                float t[VW];
                vstoreV(acc[i][j], 0, t);
                for (int l = 0; l < VW; l++) if (m0 + j * VW + l < M) p[i * M + j * VW + l] = t[l];
            }
        }
    }
}

// dW[m, r] = sum_s part[s, r, m]. One work-item per (m, r).
__kernel void conv_wgrad_reduce(
    __global const float* part, ulong offPart, __global float* dW, ulong offW, int splits, int R, int M)
{
    const int m = get_global_id(0);
    const int r = get_global_id(1);
    if (m >= M || r >= R) return;
    __global const float* p = part + offPart + (long)r * M + m;
    float s = 0.0f;
    for (int i = 0; i < splits; i++) s += p[(long)i * R * M];
    dW[offW + (long)m * R + r] = s;
}
