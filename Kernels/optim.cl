// optim.cl: Adam/AdamW step, EMA update and the global-norm clip factor
// (Kernel.adam, Kernel.emaUpdate, Kernel.gradClipScale).
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements,
// then int sizes and float constants. Per-step values (learning rate, step, gradient scale, EMA
// decay) are read from device memory, so a recorded schedule replays without host uploads. See
// the header of fill_copy.cl and docs/kernel-abi.md.

// One Adam step with PyTorch's single-tensor formulas (torch.optim.Adam / AdamW), per element:
//   g = grad·gradScale;  p ← p·(1 − lr·wd) when wd ≠ 0 (decoupled, AdamW)
//   m ← m + (1 − β1)(g − m)  (torch's lerp);  v ← β2·v + (1 − β2)·g²
//   p ← p − lr/(1 − β1^step) · m / (√v / √(1 − β2^step) + eps)
// hyper = [lr, step, gradScale] (AdamHyper). The two bias-correction factors are the same for
// every element, so adam_prepare computes them once into `factors` (queue scratch):
// factors = [lr / (1 − β1^step), √(1 − β2^step)]. A single work item.
__kernel void adam_prepare(__global const float* hyper, ulong hyper_off, __global float* factors, ulong factors_off,
                           float beta1, float beta2) {
    if (get_global_id(0) != 0) return;
    hyper += hyper_off;
    factors += factors_off;
    float step = hyper[1];
    factors[0] = hyper[0] / (1.0f - pow(beta1, step));
    factors[1] = sqrt(1.0f - pow(beta2, step));
}

// The element-wise part of the step, eight elements per work item (float8; a scalar tail in the
// last item), as elementwise.cl's unary kernels: the bounds check around sqrt would otherwise keep
// CPU drivers from vectorising across items. The formula is written once, for the type T.
#define ADAM_STEP(T, LOAD, STORE)                                                               \
    {                                                                                           \
        T g = LOAD(grad) * scale;                                                               \
        T p = LOAD(param);                                                                      \
        if (weight_decay != 0.0f) p = p * (1.0f - lr * weight_decay);                           \
        T m0 = LOAD(m);                                                                         \
        T mi = m0 + (1.0f - beta1) * (g - m0);                                                  \
        T vi = beta2 * LOAD(v) + (1.0f - beta2) * g * g;                                        \
        T denominator = sqrt(vi) / factors[1] + eps;                                            \
        STORE(p - factors[0] * (mi / denominator), param);                                      \
        STORE(mi, m);                                                                           \
        STORE(vi, v);                                                                           \
    }
#define LOAD8(p) vload8(0, p)
#define STORE8(value, p) vstore8(value, 0, p)
#define LOAD1(p) (p)[k]
#define STORE1(value, p) (p)[k] = (value)

__kernel void adam(__global float* param, ulong param_off, __global const float* grad, ulong grad_off,
                   __global float* m, ulong m_off, __global float* v, ulong v_off,
                   __global const float* hyper, ulong hyper_off, __global const float* factors, ulong factors_off,
                   int count, float beta1, float beta2, float eps, float weight_decay) {
    int i = get_global_id(0) * 8;
    if (i >= count) return;
    param += param_off + i;
    grad += grad_off + i;
    m += m_off + i;
    v += v_off + i;
    hyper += hyper_off;
    factors += factors_off;
    float lr = hyper[0], scale = hyper[2];
    if (i + 8 <= count) {
        ADAM_STEP(float8, LOAD8, STORE8)
        return;
    }
    for (int k = 0; k < count - i; ++k) ADAM_STEP(float, LOAD1, STORE1)
}

// ema ← ema + (1 − decay)·(param − ema), decay = hyper[0] (torch's lerp_, as ema-pytorch); eight
// elements per work item like adam.
__kernel void ema_update(__global float* ema, ulong ema_off, __global const float* param, ulong param_off,
                         __global const float* hyper, ulong hyper_off, int count) {
    int i = get_global_id(0) * 8;
    if (i >= count) return;
    ema += ema_off + i;
    param += param_off + i;
    float weight = 1.0f - hyper[hyper_off];
    if (i + 8 <= count) {
        float8 e = vload8(0, ema);
        vstore8(e + weight * (vload8(0, param) - e), 0, ema);
        return;
    }
    for (int k = 0; k < count - i; ++k) ema[k] = ema[k] + weight * (param[k] - ema[k]);
}

// scale = min(1, max_norm / (√sum_of_squares + 1e-6)), as torch.nn.utils.clip_grad_norm_. One item.
__kernel void grad_clip_scale(__global const float* sum_of_squares, ulong ss_off, __global float* scale,
                              ulong scale_off, float max_norm) {
    if (get_global_id(0) != 0) return;
    sum_of_squares += ss_off;
    scale += scale_off;
    scale[0] = fmin(1.0f, max_norm / (sqrt(sum_of_squares[0]) + 1e-6f));
}
