// elementwise.cl: unary functions, their derivatives, and broadcasting binary operations
// (Kernel.unary, Kernel.unaryBackward, Kernel.binary).
//
// Kernel ABI: tensors are (`__global T* x, ulong x_off`) pairs with the offset in elements,
// followed by scalars (int sizes / op codes, float parameters); rank <= 6 shapes and strides are
// one `int8` each (lanes s0..s5, unused lanes extent 1 / stride 0). One work item per element.
// See the header of fill_copy.cl and docs/kernel-abi.md.
//
// Unary op codes (UnaryOp): 0 identity, 1 neg, 2 abs, 3 relu, 4 silu, 5 sigmoid, 6 tanh, 7 gelu (erf),
// 8 exp, 9 log, 10 sqrt, 11 rsqrt, 12 sin, 13 cos, 14 square, 15 reciprocal, 16 affine (p0·x + p1),
// 17 clamp (to [p0, p1]). Binary op codes (BinaryOp): 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 minimum.
//
// Formulas follow PyTorch (the CPU reference path restates them); derivatives are exact, e.g.
// GELU' = Φ(x) + x·φ(x) with the error function, not the tanh approximation.

#define INV_SQRT_2PI 0.3989422804014327f

inline float sigmoid_of(float x) { return 1.0f / (1.0f + exp(-x)); }

inline float unary_value(int op, float x, float p0, float p1) {
    switch (op) {
    case 0: return x;
    case 1: return -x;
    case 2: return fabs(x);
    case 3: return x > 0.0f ? x : 0.0f;
    case 4: return x * sigmoid_of(x);
    case 5: return sigmoid_of(x);
    case 6: return tanh(x);
    case 7: return x * 0.5f * (1.0f + erf(x * M_SQRT1_2_F));
    case 8: return exp(x);
    case 9: return log(x);
    case 10: return sqrt(x);
    case 11: return 1.0f / sqrt(x);
    case 12: return sin(x);
    case 13: return cos(x);
    case 14: return x * x;
    case 15: return 1.0f / x;
    case 16: return p0 * x + p1;
    default: return fmin(fmax(x, p0), p1);
    }
}

// f'(x) for the op codes above.
inline float unary_derivative(int op, float x, float p0, float p1) {
    switch (op) {
    case 0: return 1.0f;
    case 1: return -1.0f;
    case 2: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
    case 3: return x > 0.0f ? 1.0f : 0.0f;
    case 4: { float s = sigmoid_of(x); return s * (1.0f + x * (1.0f - s)); }
    case 5: { float s = sigmoid_of(x); return s * (1.0f - s); }
    case 6: { float t = tanh(x); return 1.0f - t * t; }
    case 7: {
        float cdf = 0.5f * (1.0f + erf(x * M_SQRT1_2_F));
        float pdf = exp(-0.5f * x * x) * INV_SQRT_2PI;
        return cdf + x * pdf;
    }
    case 8: return exp(x);
    case 9: return 1.0f / x;
    case 10: return 0.5f / sqrt(x);
    case 11: return -0.5f / (x * sqrt(x));
    case 12: return cos(x);
    case 13: return -sin(x);
    case 14: return 2.0f * x;
    case 15: return -1.0f / (x * x);
    case 16: return p0;
    default: return (x > p0 && x < p1) ? 1.0f : 0.0f;
    }
}

inline float binary_value(int op, float a, float b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return fmax(a, b);
    default: return fmin(a, b);
    }
}

// y[i] = f(x[i]); y may alias x.
__kernel void unary(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                    int count, int op, float p0, float p1) {
    int i = get_global_id(0);
    if (i >= count) return;
    x += x_off;
    y += y_off;
    y[i] = unary_value(op, x[i], p0, p1);
}

// dx[i] = dy[i] * f'(x[i]); dx may alias dy.
__kernel void unary_backward(__global const float* x, ulong x_off, __global const float* dy, ulong dy_off,
                             __global float* dx, ulong dx_off, int count, int op, float p0, float p1) {
    int i = get_global_id(0);
    if (i >= count) return;
    x += x_off;
    dy += dy_off;
    dx += dx_off;
    dx[i] = dy[i] * unary_derivative(op, x[i], p0, p1);
}

// out[i] = a[i] op b[i] for dense operands of `count` elements; out may alias a or b.
__kernel void binary_dense(__global const float* a, ulong a_off, __global const float* b, ulong b_off,
                           __global float* out, ulong out_off, int count, int op) {
    int i = get_global_id(0);
    if (i >= count) return;
    a += a_off;
    b += b_off;
    out += out_off;
    out[i] = binary_value(op, a[i], b[i]);
}

// out[i] = a[Σ i_k·a_k] op b[Σ i_k·b_k] over `shape` (rank dims, row-major), out dense.
__kernel void binary_strided(__global const float* a, ulong a_off, __global const float* b, ulong b_off,
                             __global float* out, ulong out_off, int8 shape, int8 a_strides, int8 b_strides,
                             int rank, int count, int op) {
    int i = get_global_id(0);
    if (i >= count) return;
    a += a_off;
    b += b_off;
    out += out_off;
    const int extent[6] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5};
    const int as[6] = {a_strides.s0, a_strides.s1, a_strides.s2, a_strides.s3, a_strides.s4, a_strides.s5};
    const int bs[6] = {b_strides.s0, b_strides.s1, b_strides.s2, b_strides.s3, b_strides.s4, b_strides.s5};
    int ia = 0, ib = 0, rest = i;
    for (int k = rank - 1; k >= 0; --k) {
        int index = rest % extent[k];
        rest /= extent[k];
        ia += index * as[k];
        ib += index * bs[k];
    }
    out[i] = binary_value(op, a[ia], b[ib]);
}
