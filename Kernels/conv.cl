// conv.cl: 2-D convolution (cross-correlation, stride 1, zero padding) and its gradients
// (Kernel.conv2d, Kernel.conv2dBackwardData, Kernel.conv2dBackwardWeight).
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements
// (an absent bias is a NULL buffer plus has_bias = 0), then the int geometry
// N, Cin, Cout, H, W, KH, KW, PH, PW, OH, OW (OH = H + 2·PH − KH + 1, likewise OW). See the header
// of fill_copy.cl and docs/kernel-abi.md. x [N, Cin, H, W], w [Cout, Cin, KH, KW], y [N, Cout, OH, OW].
//
// Direct loops, correct for any kernel size and padding:
//  * forward and backward-data: one work item per output pixel and CONV_BLOCK channels
//    (global (pixels, ⌈channels / CONV_BLOCK⌉, N)), reusing each input value CONV_BLOCK times;
//  * backward-weight and bias: one work group per weight (per output channel for the bias), a
//    fixed-order tree reduction over N·OH·OW, so results are reproducible.

#define CONV_BLOCK 4

inline float group_sum(__local float* scratch, float value) {
    int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

// y[n, co, oh, ow] = bias[co] + Σ_{ci, kh, kw} x[n, ci, oh + kh − PH, ow + kw − PW] · w[co, ci, kh, kw].
__kernel void conv2d_forward(__global const float* x, ulong x_off, __global const float* w, ulong w_off,
                             __global float* y, ulong y_off, __global const float* bias, ulong bias_off,
                             int N, int Cin, int Cout, int H, int W, int KH, int KW, int PH, int PW, int OH, int OW,
                             int has_bias) {
    int p = get_global_id(0);
    if (p >= OH * OW) return;
    int co0 = get_global_id(1) * CONV_BLOCK, n = get_global_id(2);
    int oh = p / OW, ow = p % OW;
    x += x_off + n * Cin * H * W;
    w += w_off;
    y += y_off;
    int taps = KH * KW;
    int co[CONV_BLOCK];
    float acc[CONV_BLOCK];
    for (int j = 0; j < CONV_BLOCK; ++j) {
        co[j] = min(co0 + j, Cout - 1);  // out-of-range lanes recompute the last channel, never stored
        acc[j] = 0.0f;
    }
    for (int ci = 0; ci < Cin; ++ci) {
        __global const float* xc = x + ci * H * W;
        for (int kh = 0; kh < KH; ++kh) {
            int ih = oh + kh - PH;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < KW; ++kw) {
                int iw = ow + kw - PW;
                if (iw < 0 || iw >= W) continue;
                float xv = xc[ih * W + iw];
                int tap = ci * taps + kh * KW + kw;
                for (int j = 0; j < CONV_BLOCK; ++j) acc[j] += xv * w[co[j] * Cin * taps + tap];
            }
        }
    }
    for (int j = 0; j < CONV_BLOCK; ++j) {
        if (co0 + j >= Cout) break;
        float b = has_bias ? bias[bias_off + co0 + j] : 0.0f;
        y[(n * Cout + co0 + j) * OH * OW + p] = acc[j] + b;
    }
}

// dx[n, ci, ih, iw] = Σ_{co, kh, kw} dy[n, co, ih + PH − kh, iw + PW − kw] · w[co, ci, kh, kw]
// over the output positions that exist.
__kernel void conv2d_backward_data(__global const float* dy, ulong dy_off, __global const float* w, ulong w_off,
                                   __global float* dx, ulong dx_off,
                                   int N, int Cin, int Cout, int H, int W, int KH, int KW, int PH, int PW,
                                   int OH, int OW) {
    int p = get_global_id(0);
    if (p >= H * W) return;
    int ci0 = get_global_id(1) * CONV_BLOCK, n = get_global_id(2);
    int ih = p / W, iw = p % W;
    dy += dy_off + n * Cout * OH * OW;
    w += w_off;
    dx += dx_off;
    int taps = KH * KW;
    int ci[CONV_BLOCK];
    float acc[CONV_BLOCK];
    for (int j = 0; j < CONV_BLOCK; ++j) {
        ci[j] = min(ci0 + j, Cin - 1);
        acc[j] = 0.0f;
    }
    for (int co = 0; co < Cout; ++co) {
        __global const float* g = dy + co * OH * OW;
        for (int kh = 0; kh < KH; ++kh) {
            int oh = ih + PH - kh;
            if (oh < 0 || oh >= OH) continue;
            for (int kw = 0; kw < KW; ++kw) {
                int ow = iw + PW - kw;
                if (ow < 0 || ow >= OW) continue;
                float gv = g[oh * OW + ow];
                int tap = co * Cin * taps + kh * KW + kw;
                for (int j = 0; j < CONV_BLOCK; ++j) acc[j] += gv * w[tap + ci[j] * taps];
            }
        }
    }
    for (int j = 0; j < CONV_BLOCK; ++j) {
        if (ci0 + j >= Cin) break;
        dx[(n * Cin + ci0 + j) * H * W + p] = acc[j];
    }
}

// dw[co, ci, kh, kw] = Σ_{n, oh, ow} dy[n, co, oh, ow] · x[n, ci, oh + kh − PH, ow + kw − PW].
// One work group per weight element.
__kernel void conv2d_backward_weight(__global const float* x, ulong x_off, __global const float* dy, ulong dy_off,
                                     __global float* dw, ulong dw_off,
                                     int N, int Cin, int Cout, int H, int W, int KH, int KW, int PH, int PW,
                                     int OH, int OW, __local float* scratch) {
    int e = get_group_id(0);
    int kw = e % KW, kh = (e / KW) % KH, ci = (e / (KW * KH)) % Cin, co = e / (KW * KH * Cin);
    x += x_off;
    dy += dy_off;
    dw += dw_off;
    int plane = OH * OW;
    float acc = 0.0f;
    for (int q = get_local_id(0); q < N * plane; q += get_local_size(0)) {
        int n = q / plane, p = q % plane;
        int ih = p / OW + kh - PH, iw = p % OW + kw - PW;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        acc += dy[(n * Cout + co) * plane + p] * x[((n * Cin + ci) * H + ih) * W + iw];
    }
    acc = group_sum(scratch, acc);
    if (get_local_id(0) == 0) dw[e] = acc;
}

// dbias[co] = Σ_{n, oh, ow} dy[n, co, oh, ow]. One work group per output channel.
__kernel void conv2d_backward_bias(__global const float* dy, ulong dy_off, __global float* dbias, ulong dbias_off,
                                   int N, int Cout, int OH, int OW, __local float* scratch) {
    int co = get_group_id(0);
    dy += dy_off;
    dbias += dbias_off;
    int plane = OH * OW;
    float acc = 0.0f;
    for (int q = get_local_id(0); q < N * plane; q += get_local_size(0)) {
        acc += dy[(q / plane * Cout + co) * plane + q % plane];
    }
    acc = group_sum(scratch, acc);
    if (get_local_id(0) == 0) dbias[co] = acc;
}
