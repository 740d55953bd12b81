// norm.cl: the reference Unet's channel RMS norm (alone, and fused with the ResnetBlock's
// scale-shift and SiLU) and group norm, with their backward passes (Kernel.rmsNorm,
// Kernel.rmsNormBackward, Kernel.rmsNormScaleShiftSilu, Kernel.rmsNormScaleShiftSiluBackward,
// Kernel.groupNorm, Kernel.groupNormBackward).
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements,
// followed by int sizes and float parameters; `__local float*` scratch comes last. See the header
// of fill_copy.cl and docs/kernel-abi.md. Tensors are [N, C, S] (S = H·W), row-major.
//
// Multi-pass backward kernels exchange per-row statistics through a queue-private scratch buffer
// passed like any tensor (`stats`, `inv`). Sums over many elements use one work group per
// output with a fixed-order tree reduction, so results are reproducible.

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

// ---------------------------------------------------------------- RMS norm
// Per-position kernels give each work item 8 consecutive positions s of one sample n (a 2-D
// range: (⌈S/8⌉, N)) and loop over the channels with explicit float8 loads. CPU drivers then run
// 8-wide SIMD inside each item (a per-item channel loop keeps them from vectorising across
// items: about 5x on PoCL); GPUs get 32-byte accesses that neighbouring items coalesce. A tail of
// S % 8 positions takes the scalar path in the last item.

// y = x / max(‖x‖₂ over C, eps) · g[c] · scale, scale = √C.
__kernel void rms_norm(__global const float* x, ulong x_off, __global const float* g, ulong g_off,
                       __global float* y, ulong y_off, int N, int C, int S, float eps, float scale) {
    int s = get_global_id(0) * 8, n = get_global_id(1);
    if (s >= S || n >= N) return;
    size_t base = (size_t)n * C * S + s;
    x += x_off + base;
    g += g_off;
    y += y_off + base;
    if (s + 8 <= S) {
        float8 ss = (float8)(0.0f);
        for (int c = 0; c < C; ++c) {
            float8 v = vload8(0, x + (size_t)c * S);
            ss += v * v;
        }
        float8 inv = scale / fmax(sqrt(ss), eps);
        for (int c = 0; c < C; ++c) vstore8(vload8(0, x + (size_t)c * S) * inv * g[c], 0, y + (size_t)c * S);
        return;
    }
    for (int j = 0; j < S - s; ++j) {
        float ss = 0.0f;
        for (int c = 0; c < C; ++c) {
            float v = x[(size_t)c * S + j];
            ss += v * v;
        }
        float inv = scale / fmax(sqrt(ss), eps);
        for (int c = 0; c < C; ++c) y[(size_t)c * S + j] = x[(size_t)c * S + j] * inv * g[c];
    }
}

// dx = scale·(g·dy/d − x·Σ_c(dy·g·x)/d³) with d = ‖x‖ where ‖x‖ ≥ eps; scale·g·dy/eps where the
// norm was clamped (no gradient through the clamp, as torch's clamp_min). Also writes
// inv[n·S + s] = 1/max(d, eps) for the dg pass.
__kernel void rms_norm_backward_dx(__global const float* x, ulong x_off, __global const float* g, ulong g_off,
                                   __global const float* dy, ulong dy_off, __global float* inv, ulong inv_off,
                                   __global float* dx, ulong dx_off, int N, int C, int S, float eps, float scale) {
    int s = get_global_id(0) * 8, n = get_global_id(1);
    if (s >= S || n >= N) return;
    size_t base = (size_t)n * C * S + s;
    x += x_off + base;
    g += g_off;
    dy += dy_off + base;
    dx += dx_off + base;
    inv += inv_off + (size_t)n * S + s;
    if (s + 8 <= S) {
        float8 ss = (float8)(0.0f), dot = (float8)(0.0f);
        for (int c = 0; c < C; ++c) {
            float8 v = vload8(0, x + (size_t)c * S);
            ss += v * v;
            dot += vload8(0, dy + (size_t)c * S) * g[c] * v;
        }
        float8 norm = sqrt(ss);
        int8 clamped = !(norm >= eps);
        float8 r = 1.0f / select(norm, (float8)(eps), clamped);
        float8 coefficient = select(dot * r * r * r, (float8)(0.0f), clamped);
        vstore8(r, 0, inv);
        for (int c = 0; c < C; ++c) {
            size_t k = (size_t)c * S;
            vstore8(scale * (g[c] * vload8(0, dy + k) * r - vload8(0, x + k) * coefficient), 0, dx + k);
        }
        return;
    }
    for (int j = 0; j < S - s; ++j) {
        float ss = 0.0f, dot = 0.0f;
        for (int c = 0; c < C; ++c) {
            float v = x[(size_t)c * S + j];
            ss += v * v;
            dot += dy[(size_t)c * S + j] * g[c] * v;
        }
        float norm = sqrt(ss);
        bool clamped = !(norm >= eps);
        float r = 1.0f / (clamped ? eps : norm);
        float coefficient = clamped ? 0.0f : dot * r * r * r;
        inv[j] = r;
        for (int c = 0; c < C; ++c) {
            size_t k = (size_t)c * S + j;
            dx[k] = scale * (g[c] * dy[k] * r - x[k] * coefficient);
        }
    }
}

// dg[c] = scale · Σ_{n,s} dy · x · inv[n·S + s]. One work group per channel; work item l takes the
// 8-position blocks l, l + L, ... of every sample in a fixed order (float8 partial sums, added in
// a fixed lane order), then a tree reduction.
__kernel void rms_norm_backward_dg(__global const float* x, ulong x_off, __global const float* dy, ulong dy_off,
                                   __global const float* inv, ulong inv_off, __global float* dg, ulong dg_off,
                                   int N, int C, int S, float scale, __local float* scratch) {
    int c = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    x += x_off;
    dy += dy_off;
    inv += inv_off;
    float8 acc8 = (float8)(0.0f);
    float acc = 0.0f;
    int body = S & ~7;
    for (int n = 0; n < N; ++n) {
        size_t row = ((size_t)n * C + c) * S;
        size_t position = (size_t)n * S;
        for (int s = lid * 8; s < body; s += L * 8) {
            acc8 += vload8(0, dy + row + s) * vload8(0, x + row + s) * vload8(0, inv + position + s);
        }
        for (int s = body + lid; s < S; s += L) acc += dy[row + s] * x[row + s] * inv[position + s];
    }
    acc += ((acc8.s0 + acc8.s1) + (acc8.s2 + acc8.s3)) + ((acc8.s4 + acc8.s5) + (acc8.s6 + acc8.s7));
    acc = group_sum(scratch, acc);
    if (lid == 0) dg[dg_off + c] = acc * scale;
}

// ---------------------------------------------------------------- RMS norm + scale-shift + SiLU
// u = x / max(‖x‖₂ over C, eps) · g[c] · scale, v = u · (ss[n, c] + 1) + ss[n, C + c] (v = u when
// has_ss is 0; ss is then never read), y = v · σ(v). ss is [N, 2C]. The per-position layout is
// rms_norm's.

inline float sigmoid_of(float v) { return 1.0f / (1.0f + exp(-v)); }
inline float8 sigmoid8(float8 v) { return 1.0f / (1.0f + exp(-v)); }

// (scale + 1, shift) of channel c of sample n; ss already advanced by its offset.
inline float2 film(__global const float* ss, int has_ss, int n, int C, int c) {
    if (!has_ss) return (float2)(1.0f, 0.0f);
    return (float2)(ss[(size_t)2 * n * C + c] + 1.0f, ss[((size_t)2 * n + 1) * C + c]);
}

__kernel void rms_norm_scale_shift_silu(__global const float* x, ulong x_off, __global const float* g, ulong g_off,
                                        __global const float* ss, ulong ss_off, __global float* y, ulong y_off,
                                        int N, int C, int S, float eps, float scale, int has_ss) {
    int s = get_global_id(0) * 8, n = get_global_id(1);
    if (s >= S || n >= N) return;
    size_t base = (size_t)n * C * S + s;
    x += x_off + base;
    g += g_off;
    ss += ss_off;
    y += y_off + base;
    if (s + 8 <= S) {
        float8 sq = (float8)(0.0f);
        for (int c = 0; c < C; ++c) {
            float8 v = vload8(0, x + (size_t)c * S);
            sq += v * v;
        }
        float8 inv = scale / fmax(sqrt(sq), eps);
        for (int c = 0; c < C; ++c) {
            float2 f = film(ss, has_ss, n, C, c);
            float8 v = vload8(0, x + (size_t)c * S) * inv * g[c] * f.x + f.y;
            vstore8(v * sigmoid8(v), 0, y + (size_t)c * S);
        }
        return;
    }
    for (int j = 0; j < S - s; ++j) {
        float sq = 0.0f;
        for (int c = 0; c < C; ++c) {
            float v = x[(size_t)c * S + j];
            sq += v * v;
        }
        float inv = scale / fmax(sqrt(sq), eps);
        for (int c = 0; c < C; ++c) {
            float2 f = film(ss, has_ss, n, C, c);
            float v = x[(size_t)c * S + j] * inv * g[c] * f.x + f.y;
            y[(size_t)c * S + j] = v * sigmoid_of(v);
        }
    }
}

inline float lane_sum(float8 a) { return ((a.s0 + a.s1) + (a.s2 + a.s3)) + ((a.s4 + a.s5) + (a.s6 + a.s7)); }

// dv = dy · silu'(v), du = dv · (ss[n, c] + 1), then dx from du as in rms_norm_backward_dx (du
// goes through dx between the two channel loops). Each work item also writes, per channel, the
// sums over its positions of du·x·√C/max(‖x‖, eps), dv·u and dv to
// part[((n·C + c)·B + b)·3 + {0, 1, 2}], B = ⌈S/8⌉, b its position block (lanes added in a fixed order).
__kernel void rms_norm_scale_shift_silu_backward_dx(__global const float* x, ulong x_off, __global const float* g, ulong g_off,
                                                    __global const float* ss, ulong ss_off, __global const float* dy, ulong dy_off,
                                                    __global float* dx, ulong dx_off, __global float* part, ulong part_off,
                                                    int N, int C, int S, float eps, float scale, int has_ss) {
    int b = get_global_id(0), s = b * 8, n = get_global_id(1);
    if (s >= S || n >= N) return;
    int B = (S + 7) / 8;
    size_t base = (size_t)n * C * S + s;
    x += x_off + base;
    g += g_off;
    ss += ss_off;
    dy += dy_off + base;
    dx += dx_off + base;
    part += part_off + ((size_t)n * C * B + b) * 3;
    if (s + 8 <= S) {
        float8 sq = (float8)(0.0f), dot = (float8)(0.0f);
        for (int c = 0; c < C; ++c) {
            float8 v = vload8(0, x + (size_t)c * S);
            sq += v * v;
        }
        float8 norm = sqrt(sq);
        float8 k = scale / fmax(norm, eps);
        for (int c = 0; c < C; ++c) {
            size_t at = (size_t)c * S;
            float2 f = film(ss, has_ss, n, C, c);
            float8 xv = vload8(0, x + at);
            float8 u = xv * k * g[c];
            float8 v = u * f.x + f.y;
            float8 sg = sigmoid8(v);
            float8 dv = vload8(0, dy + at) * (sg * (1.0f + v * (1.0f - sg)));
            float8 du = dv * f.x;
            dot += du * g[c] * xv;
            vstore8(du, 0, dx + at);
            __global float* p = part + (size_t)c * B * 3;
            p[0] = lane_sum(du * xv * k);
            p[1] = lane_sum(dv * u);
            p[2] = lane_sum(dv);
        }
        int8 clamped = !(norm >= eps);
        float8 r = 1.0f / select(norm, (float8)(eps), clamped);
        float8 coefficient = select(dot * r * r * r, (float8)(0.0f), clamped);
        for (int c = 0; c < C; ++c) {
            size_t at = (size_t)c * S;
            vstore8(scale * (g[c] * vload8(0, dx + at) * r - vload8(0, x + at) * coefficient), 0, dx + at);
        }
        return;
    }
    for (int c = 0; c < C; ++c) {
        __global float* p = part + (size_t)c * B * 3;
        p[0] = 0.0f;
        p[1] = 0.0f;
        p[2] = 0.0f;
    }
    for (int j = 0; j < S - s; ++j) {
        float sq = 0.0f, dot = 0.0f;
        for (int c = 0; c < C; ++c) {
            float v = x[(size_t)c * S + j];
            sq += v * v;
        }
        float norm = sqrt(sq);
        float k = scale / fmax(norm, eps);
        for (int c = 0; c < C; ++c) {
            size_t at = (size_t)c * S + j;
            float2 f = film(ss, has_ss, n, C, c);
            float u = x[at] * k * g[c];
            float v = u * f.x + f.y;
            float sg = sigmoid_of(v);
            float dv = dy[at] * (sg * (1.0f + v * (1.0f - sg)));
            float du = dv * f.x;
            dot += du * g[c] * x[at];
            dx[at] = du;
            __global float* p = part + (size_t)c * B * 3;
            p[0] += du * x[at] * k;
            p[1] += dv * u;
            p[2] += dv;
        }
        bool clamped = !(norm >= eps);
        float r = 1.0f / (clamped ? eps : norm);
        float coefficient = clamped ? 0.0f : dot * r * r * r;
        for (int c = 0; c < C; ++c) {
            size_t at = (size_t)c * S + j;
            dx[at] = scale * (g[c] * dx[at] * r - x[at] * coefficient);
        }
    }
}

// dg[c] = Σ_n Σ_b part[.., 0], dss[n, c] = Σ_b part[.., 1] (dscale), dss[n, C + c] = Σ_b part[.., 2]
// (dshift), from rms_norm_scale_shift_silu_backward_dx's block sums. One work item per channel,
// summing in block then sample order.
__kernel void rms_norm_scale_shift_silu_backward_sums(__global const float* part, ulong part_off, __global float* dg, ulong dg_off,
                                                      __global float* dss, ulong dss_off, int N, int C, int S, int has_ss) {
    int c = get_global_id(0);
    if (c >= C) return;
    int B = (S + 7) / 8;
    part += part_off;
    float total = 0.0f;
    for (int n = 0; n < N; ++n) {
        __global const float* p = part + ((size_t)n * C + c) * B * 3;
        float dgn = 0.0f, dscale = 0.0f, dshift = 0.0f;
        for (int b = 0; b < B; ++b) {
            dgn += p[3 * b];
            dscale += p[3 * b + 1];
            dshift += p[3 * b + 2];
        }
        total += dgn;
        if (has_ss) {
            dss[dss_off + (size_t)2 * n * C + c] = dscale;
            dss[dss_off + ((size_t)2 * n + 1) * C + c] = dshift;
        }
    }
    dg[dg_off + c] = total;
}

// ---------------------------------------------------------------- group norm
// Mean and biased variance of group (n, gr) (its C/G·S elements are contiguous), two passes.
inline float2 group_moments(__global const float* x, int count, __local float* scratch) {
    float acc = 0.0f;
    for (int e = get_local_id(0); e < count; e += get_local_size(0)) acc += x[e];
    float mean = group_sum(scratch, acc) / (float)count;
    acc = 0.0f;
    for (int e = get_local_id(0); e < count; e += get_local_size(0)) {
        float d = x[e] - mean;
        acc += d * d;
    }
    float variance = group_sum(scratch, acc) / (float)count;
    return (float2)(mean, variance);
}

// y = (x − μ)/√(σ² + eps)·γ[c] + β[c]. One work group per (n, group).
__kernel void group_norm(__global const float* x, ulong x_off, __global const float* gamma, ulong gamma_off,
                         __global const float* beta, ulong beta_off, __global float* y, ulong y_off,
                         int N, int C, int S, int G, float eps, __local float* scratch) {
    int ng = get_group_id(0);
    int group = ng % G, cpg = C / G, count = cpg * S;
    int base = ng * count;
    x += x_off + base;
    y += y_off + base;
    gamma += gamma_off;
    beta += beta_off;
    float2 moments = group_moments(x, count, scratch);
    float rstd = 1.0f / sqrt(moments.y + eps);
    for (int e = get_local_id(0); e < count; e += get_local_size(0)) {
        int c = group * cpg + e / S;
        y[e] = (x[e] - moments.x) * rstd * gamma[c] + beta[c];
    }
}

// stats[4·(n·G + g) + {0,1,2,3}] = μ, rstd, Σ dy·γ, Σ dy·γ·x̂ over the group. One work group per (n, group).
__kernel void group_norm_backward_stats(__global const float* x, ulong x_off, __global const float* gamma,
                                        ulong gamma_off, __global const float* dy, ulong dy_off,
                                        __global float* stats, ulong stats_off, int N, int C, int S, int G,
                                        float eps, __local float* scratch) {
    int ng = get_group_id(0);
    int group = ng % G, cpg = C / G, count = cpg * S;
    int base = ng * count;
    x += x_off + base;
    dy += dy_off + base;
    gamma += gamma_off;
    stats += stats_off;
    float2 moments = group_moments(x, count, scratch);
    float rstd = 1.0f / sqrt(moments.y + eps);
    float s1 = 0.0f, s2 = 0.0f;
    for (int e = get_local_id(0); e < count; e += get_local_size(0)) {
        float dyg = dy[e] * gamma[group * cpg + e / S];
        s1 += dyg;
        s2 += dyg * (x[e] - moments.x) * rstd;
    }
    s1 = group_sum(scratch, s1);
    s2 = group_sum(scratch, s2);
    if (get_local_id(0) == 0) {
        stats[4 * ng] = moments.x;
        stats[4 * ng + 1] = rstd;
        stats[4 * ng + 2] = s1;
        stats[4 * ng + 3] = s2;
    }
}

// dgamma[c] = Σ_{n,s} dy·x̂, dbeta[c] = Σ_{n,s} dy. One work group per channel.
__kernel void group_norm_backward_params(__global const float* x, ulong x_off, __global const float* dy, ulong dy_off,
                                         __global const float* stats, ulong stats_off, __global float* dgamma,
                                         ulong dgamma_off, __global float* dbeta, ulong dbeta_off,
                                         int N, int C, int S, int G, __local float* scratch) {
    int c = get_group_id(0);
    int group = c / (C / G);
    x += x_off;
    dy += dy_off;
    stats += stats_off;
    dgamma += dgamma_off;
    dbeta += dbeta_off;
    float sg = 0.0f, sb = 0.0f;
    for (int q = get_local_id(0); q < N * S; q += get_local_size(0)) {
        int n = q / S;
        int k = (n * C + c) * S + q % S;
        int st = 4 * (n * G + group);
        sg += dy[k] * (x[k] - stats[st]) * stats[st + 1];
        sb += dy[k];
    }
    sg = group_sum(scratch, sg);
    sb = group_sum(scratch, sb);
    if (get_local_id(0) == 0) {
        dgamma[c] = sg;
        dbeta[c] = sb;
    }
}

// dx = rstd·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂)) with means over the group. One work item per element.
__kernel void group_norm_backward_dx(__global const float* x, ulong x_off, __global const float* gamma, ulong gamma_off,
                                     __global const float* dy, ulong dy_off, __global const float* stats,
                                     ulong stats_off, __global float* dx, ulong dx_off, int N, int C, int S, int G) {
    int e = get_global_id(0);
    if (e >= N * C * S) return;
    x += x_off;
    gamma += gamma_off;
    dy += dy_off;
    stats += stats_off;
    dx += dx_off;
    int n = e / (C * S), c = (e / S) % C;
    int cpg = C / G;
    int st = 4 * (n * G + c / cpg);
    float count = (float)(cpg * S);
    float rstd = stats[st + 1];
    float xhat = (x[e] - stats[st]) * rstd;
    dx[e] = rstd * (dy[e] * gamma[c] - stats[st + 2] / count - xhat * stats[st + 3] / count);
}
