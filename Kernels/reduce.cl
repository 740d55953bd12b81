// reduce.cl: reductions over the middle axis of [outer, extent, inner], softmax and its backward
// (Kernel.reduce, Kernel.softmax, Kernel.softmaxBackward).
//
// Kernel ABI: tensors are (`__global T* x, ulong x_off`) pairs with the offset in elements,
// followed by int sizes. See the header of fill_copy.cl and docs/kernel-abi.md.
//
// A "row" is one (o, i) pair: elements x[(o·extent + r)·inner + i] for r in [0, extent); row
// index = o·inner + i, which is also its output index. Two shapes of kernel:
//  * *_rows: one work item per row, sequential over r (many rows or short rows);
//  * *_groups: one work group per row (or per chunk of a row), each item taking r = lid, lid + L,
//    ..., then a tree reduction in local memory. L is a power of two fixed per device, so the
//    summation order, and therefore the result, is the same on every run.
//
// Reduce kernels are generated per ReduceOp (`reduce_rows_<op>`, `reduce_groups_<op>`, <op> one of
// sum, mean, max, sumOfSquares) rather than switching on an op code per element, which would keep
// CPU drivers from vectorising across work items. An empty extent gives 0, or -inf for max.

inline float add_op(float a, float b) { return a + b; }
inline float max_op(float a, float b) { return fmax(a, b); }
inline float same(float v) { return v; }
inline float squared(float v) { return v * v; }

// Tree reductions of one value per work item; every item of the group must call them.
#define GROUP_REDUCE(name, COMBINE)                                                   \
    inline float name(__local float* scratch, float value) {                          \
        int lid = get_local_id(0);                                                    \
        scratch[lid] = value;                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                 \
        for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {                         \
            if (lid < s) scratch[lid] = COMBINE(scratch[lid], scratch[lid + s]);      \
            barrier(CLK_LOCAL_MEM_FENCE);                                             \
        }                                                                             \
        float result = scratch[0];                                                    \
        barrier(CLK_LOCAL_MEM_FENCE);                                                 \
        return result;                                                                \
    }
GROUP_REDUCE(group_sum, add_op)
GROUP_REDUCE(group_max, max_op)

// reduce_rows_<op>: y[row] = reduction of the row; one work item per row.
// reduce_groups_<op>: one work group per (row, chunk), reducing r in
// [chunk·chunk_len, min(extent, (chunk+1)·chunk_len)). With chunks == 1 it writes the finished
// value y[row]; otherwise the raw partial y[row·chunks + chunk], which a second launch over the
// partials with raw_input = 1 (terms not squared again) combines, dividing by mean_count for a mean.
#define REDUCTION(name, IDENTITY, TERM, COMBINE, GROUP, IS_MEAN)                                        \
    __kernel void reduce_rows_##name(__global const float* x, ulong x_off, __global float* y, ulong y_off, \
                                     int outer, int extent, int inner) {                                 \
        int row = get_global_id(0);                                                                      \
        if (row >= outer * inner) return;                                                                \
        __global const float* p = x + x_off + (row / inner) * extent * inner + row % inner;              \
        float acc = IDENTITY;                                                                            \
        for (int r = 0; r < extent; ++r) acc = COMBINE(acc, TERM(p[r * inner]));                         \
        y[y_off + row] = (IS_MEAN && extent > 0) ? acc / (float)extent : acc;                            \
    }                                                                                                    \
    __kernel void reduce_groups_##name(__global const float* x, ulong x_off, __global float* y, ulong y_off, \
                                       int outer, int extent, int inner, int chunks, int chunk_len,      \
                                       int raw_input, int mean_count, __local float* scratch) {          \
        int group = get_group_id(0);                                                                     \
        int row = group / chunks, chunk = group % chunks;                                                \
        __global const float* p = x + x_off + (row / inner) * extent * inner + row % inner;              \
        int begin = chunk * chunk_len;                                                                   \
        int end = min(extent, begin + chunk_len);                                                        \
        float acc = IDENTITY;                                                                            \
        for (int r = begin + (int)get_local_id(0); r < end; r += (int)get_local_size(0)) {               \
            float v = p[r * inner];                                                                      \
            acc = COMBINE(acc, raw_input ? v : TERM(v));                                                 \
        }                                                                                                \
        acc = GROUP(scratch, acc);                                                                       \
        if (get_local_id(0) != 0) return;                                                                \
        if (chunks > 1) {                                                                                \
            y[y_off + row * chunks + chunk] = acc;                                                       \
        } else {                                                                                         \
            y[y_off + row] = (IS_MEAN && mean_count > 0) ? acc / (float)mean_count : acc;                \
        }                                                                                                \
    }

REDUCTION(sum, 0.0f, same, add_op, group_sum, 0)
REDUCTION(mean, 0.0f, same, add_op, group_sum, 1)
REDUCTION(max, -INFINITY, same, max_op, group_max, 0)
REDUCTION(sumOfSquares, 0.0f, squared, add_op, group_sum, 0)

// Softmax of each row, max-subtracted; one work item per row. y may alias x.
__kernel void softmax_rows(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                           int outer, int extent, int inner) {
    int row = get_global_id(0);
    if (row >= outer * inner) return;
    x += x_off;
    y += y_off;
    int start = (row / inner) * extent * inner + row % inner;
    float m = -INFINITY;
    for (int r = 0; r < extent; ++r) m = fmax(m, x[start + r * inner]);
    float s = 0.0f;
    for (int r = 0; r < extent; ++r) s += exp(x[start + r * inner] - m);
    for (int r = 0; r < extent; ++r) y[start + r * inner] = exp(x[start + r * inner] - m) / s;
}

// Softmax with one work group per row. y may alias x: each item rewrites only elements it read.
__kernel void softmax_groups(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                             int outer, int extent, int inner, __local float* scratch) {
    int row = get_group_id(0);
    x += x_off;
    y += y_off;
    int start = (row / inner) * extent * inner + row % inner;
    int lid = get_local_id(0), step = get_local_size(0);
    float m = -INFINITY;
    for (int r = lid; r < extent; r += step) m = fmax(m, x[start + r * inner]);
    m = group_max(scratch, m);
    float s = 0.0f;
    for (int r = lid; r < extent; r += step) s += exp(x[start + r * inner] - m);
    s = group_sum(scratch, s);
    for (int r = lid; r < extent; r += step) y[start + r * inner] = exp(x[start + r * inner] - m) / s;
}

// dx = y·(dy − Σ_r dy·y) per row; one work item per row. dx may alias dy.
__kernel void softmax_backward_rows(__global const float* y, ulong y_off, __global const float* dy, ulong dy_off,
                                    __global float* dx, ulong dx_off, int outer, int extent, int inner) {
    int row = get_global_id(0);
    if (row >= outer * inner) return;
    y += y_off;
    dy += dy_off;
    dx += dx_off;
    int start = (row / inner) * extent * inner + row % inner;
    float dot = 0.0f;
    for (int r = 0; r < extent; ++r) dot += dy[start + r * inner] * y[start + r * inner];
    for (int r = 0; r < extent; ++r) {
        int k = start + r * inner;
        dx[k] = y[k] * (dy[k] - dot);
    }
}

// Softmax backward with one work group per row. dx may alias dy.
__kernel void softmax_backward_groups(__global const float* y, ulong y_off, __global const float* dy, ulong dy_off,
                                      __global float* dx, ulong dx_off, int outer, int extent, int inner,
                                      __local float* scratch) {
    int row = get_group_id(0);
    y += y_off;
    dy += dy_off;
    dx += dx_off;
    int start = (row / inner) * extent * inner + row % inner;
    int lid = get_local_id(0), step = get_local_size(0);
    float dot = 0.0f;
    for (int r = lid; r < extent; r += step) dot += dy[start + r * inner] * y[start + r * inner];
    dot = group_sum(scratch, dot);
    for (int r = lid; r < extent; r += step) {
        int k = start + r * inner;
        dx[k] = y[k] * (dy[k] - dot);
    }
}
