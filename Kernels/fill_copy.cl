// fill_copy.cl: fill and strided copy (Kernel.fill, Kernel.copy).
//
// Kernel ABI (every Kernels/*.cl file follows it; docs/kernel-abi.md restates it):
//  * A tensor operand is two arguments, `__global T* x, ulong x_off`: the buffer and the offset of
//    the tensor's first element IN ELEMENTS (the slice's byte offset / 4). Kernels do `x += x_off`
//    first and then index with 32-bit `int`; the host guarantees every extent is below 2^31.
//  * T is float, except Int32 tensors (`int`) and the random state (`uint`).
//  * Tensors come in the order of Kernel.operands, then scalars: sizes, flags and op codes as
//    `int`, real parameters as `float`, random-stream values as `uint`.
//  * A shape or stride list of rank <= 6 is one `int8`, lanes s0..s5 in row-major dimension
//    order; unused lanes are extent 1 / stride 0.
//  * Element-wise kernels run one work item per element over a 1-D range rounded up to the
//    work-group size; items past the end return at once.

// One work item per element: out[i] = value.
__kernel void fill(__global float* out, ulong out_off, int count, float value) {
    int i = get_global_id(0);
    if (i >= count) return;
    out += out_off;
    out[i] = value;
}

// Strided copy of up to 6 dimensions: dst[sum i_k * dst_k] (+)= src[sum i_k * src_k].
//
// The host orders the dimensions so that [0, outer_rank) are the ones in which dst elements are
// distinct, and [outer_rank, 6) the ones along which dst has stride 0 (several source elements
// land on one destination element: the adjoint of a broadcast). One work item owns one distinct
// destination element and walks the stride-0 dimensions in row-major order, so accumulation adds
// the contributions in exactly the order of a sequential loop and never races. Without
// `accumulate` the last contribution wins, again as in a sequential loop.
__kernel void copy_strided(__global const float* src, ulong src_off, __global float* dst, ulong dst_off,
                           int8 shape, int8 src_strides, int8 dst_strides,
                           int outer_rank, int outer_count, int inner_count, int accumulate) {
    int item = get_global_id(0);
    if (item >= outer_count) return;
    src += src_off;
    dst += dst_off;
    const int extent[6] = {shape.s0, shape.s1, shape.s2, shape.s3, shape.s4, shape.s5};
    const int ss[6] = {src_strides.s0, src_strides.s1, src_strides.s2, src_strides.s3, src_strides.s4, src_strides.s5};
    const int ds[6] = {dst_strides.s0, dst_strides.s1, dst_strides.s2, dst_strides.s3, dst_strides.s4, dst_strides.s5};
    int s = 0, d = 0, rest = item;
    for (int k = outer_rank - 1; k >= 0; --k) {
        int i = rest % extent[k];
        rest /= extent[k];
        s += i * ss[k];
        d += i * ds[k];
    }
    if (inner_count == 1) {
        dst[d] = accumulate ? dst[d] + src[s] : src[s];
        return;
    }
    float acc = accumulate ? dst[d] : 0.0f;
    int first = accumulate ? 0 : inner_count - 1;
    for (int r = first; r < inner_count; ++r) {
        int offset = 0, left = r;
        for (int k = 5; k >= outer_rank; --k) {
            offset += (left % extent[k]) * ss[k];
            left /= extent[k];
        }
        acc = accumulate ? acc + src[s + offset] : src[s + offset];
    }
    dst[d] = acc;
}

// The same copy without index arithmetic, for plans with at most 3 distinct-destination
// dimensions (lanes s0..s2, front-padded with extent 1) and at most 3 stride-0 dimensions (lanes
// s3..s5, back-padded with extent 1). Work item (g0, g1, g2) = (i2, i1, i0) of the outer
// dimensions; the stride-0 dimensions are walked in row-major order as in copy_strided.
__kernel void copy_strided_3d(__global const float* src, ulong src_off, __global float* dst, ulong dst_off,
                              int8 shape, int8 src_strides, int8 dst_strides, int accumulate) {
    int i2 = get_global_id(0), i1 = get_global_id(1), i0 = get_global_id(2);
    if (i2 >= shape.s2 || i1 >= shape.s1 || i0 >= shape.s0) return;
    src += src_off + i0 * src_strides.s0 + i1 * src_strides.s1 + i2 * src_strides.s2;
    dst += dst_off + i0 * dst_strides.s0 + i1 * dst_strides.s1 + i2 * dst_strides.s2;
    if (!accumulate) {
        *dst = src[(shape.s3 - 1) * src_strides.s3 + (shape.s4 - 1) * src_strides.s4 + (shape.s5 - 1) * src_strides.s5];
        return;
    }
    float acc = *dst;
    for (int r3 = 0; r3 < shape.s3; ++r3)
        for (int r4 = 0; r4 < shape.s4; ++r4)
            for (int r5 = 0; r5 < shape.s5; ++r5)
                acc += src[r3 * src_strides.s3 + r4 * src_strides.s4 + r5 * src_strides.s5];
    *dst = acc;
}

// The same copy for plans whose innermost distinct-destination dimension is contiguous in both
// tensors (lane s2, src and dst stride 1) and which have no stride-0 dimension: work item
// (g0, g1, g2) = (i2 / 8, i1, i0) copies (or adds) eight consecutive elements as one float8, a
// scalar tail at the end of each row. About 9x copy_strided_3d on PoCL, where a per-element item
// leaves each float to its own load and store.
__kernel void copy_rows(__global const float* src, ulong src_off, __global float* dst, ulong dst_off,
                        int8 shape, int8 src_strides, int8 dst_strides, int accumulate) {
    int i2 = get_global_id(0) * 8, i1 = get_global_id(1), i0 = get_global_id(2);
    if (i2 >= shape.s2 || i1 >= shape.s1 || i0 >= shape.s0) return;
    src += src_off + i0 * src_strides.s0 + i1 * src_strides.s1 + i2;
    dst += dst_off + i0 * dst_strides.s0 + i1 * dst_strides.s1 + i2;
    if (i2 + 8 <= shape.s2) {
        float8 v = vload8(0, src);
        vstore8(accumulate ? vload8(0, dst) + v : v, 0, dst);
        return;
    }
    for (int k = 0; k < shape.s2 - i2; ++k) dst[k] = accumulate ? dst[k] + src[k] : src[k];
}
