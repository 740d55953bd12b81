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
//  * *_columns (softmax over a strided axis, inner > 1): a 2-D range (⌈inner/8⌉, outer); each
//    item takes 8 consecutive inner positions with explicit float8 arithmetic over r (scalar
//    tail when inner % 8 != 0): neighbouring items read neighbouring addresses on a GPU, and a
//    CPU driver runs 8-wide SIMD inside the item;
//  * *_rows8 (contiguous rows, inner = 1, on CPU drivers): one item per row, float8 along it.
//
// Reduce kernels are generated per ReduceOp (`reduce_rows_<op>`, `reduce_groups_<op>`, <op> one of
// sum, mean, max, sumOfSquares) rather than switching on an op code per element, which would keep
// CPU drivers from vectorising across work items. An empty extent gives 0, or -inf for max.

// Macros rather than functions so that they apply to float8 lanes as well as to floats.
#define ADD_OP(a, b) ((a) + (b))
#define MAX_OP(a, b) fmax(a, b)
#define SAME(v) (v)
#define SQUARED(v) ((v) * (v))

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
GROUP_REDUCE(group_sum, ADD_OP)
GROUP_REDUCE(group_max, MAX_OP)

// reduce_rows_<op>: y[row] = reduction of the row; one work item per row.
// reduce_groups_<op>: one work group per (row, chunk), reducing r in
// [chunk·chunk_len, min(extent, (chunk+1)·chunk_len)). With chunks == 1 it writes the finished
// value y[row]; otherwise the raw partial y[row·chunks + chunk], which a second launch over the
// partials with raw_input = 1 (terms not squared again) combines, dividing by mean_count for a mean.
// reduce_rows8_<op>: contiguous rows (inner = 1), one work item per row with float8 partials along
// it, combined in a fixed lane order, then the extent % 8 tail (CPU drivers).
// reduce_chunks8_<op>: the first pass of a few long contiguous rows on CPU drivers: work item k
// reduces chunk k % chunks (chunk_len elements) of row k / chunks the same way into the raw partial
// y[k]; reduce_groups_<op> with raw_input = 1 combines them.
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
    }                                                                                                    \
    __kernel void reduce_rows8_##name(__global const float* x, ulong x_off, __global float* y, ulong y_off, \
                                      int outer, int extent, int inner) {                                \
        int row = get_global_id(0);                                                                      \
        if (row >= outer) return;                                                                        \
        x += x_off + (size_t)row * extent;                                                               \
        int body = extent & ~7;                                                                          \
        float8 acc8 = (float8)(IDENTITY);                                                                \
        for (int r = 0; r < body; r += 8) acc8 = COMBINE(acc8, TERM(vload8(0, x + r)));                 \
        float acc = COMBINE(COMBINE(COMBINE(acc8.s0, acc8.s1), COMBINE(acc8.s2, acc8.s3)),              \
                            COMBINE(COMBINE(acc8.s4, acc8.s5), COMBINE(acc8.s6, acc8.s7)));              \
        for (int r = body; r < extent; ++r) acc = COMBINE(acc, TERM(x[r]));                              \
        y[y_off + row] = (IS_MEAN && extent > 0) ? acc / (float)extent : acc;                            \
    }                                                                                                    \
    __kernel void reduce_chunks8_##name(__global const float* x, ulong x_off, __global float* y, ulong y_off, \
                                        int rows, int extent, int chunks, int chunk_len) {               \
        int item = get_global_id(0);                                                                     \
        if (item >= rows * chunks) return;                                                               \
        int row = item / chunks, begin = (item - row * chunks) * chunk_len;                              \
        int n = min(extent, begin + chunk_len) - begin, body = n & ~7;                                   \
        x += x_off + (size_t)row * extent + begin;                                                       \
        float8 acc8 = (float8)(IDENTITY);                                                                \
        for (int r = 0; r < body; r += 8) acc8 = COMBINE(acc8, TERM(vload8(0, x + r)));                 \
        float acc = COMBINE(COMBINE(COMBINE(acc8.s0, acc8.s1), COMBINE(acc8.s2, acc8.s3)),              \
                            COMBINE(COMBINE(acc8.s4, acc8.s5), COMBINE(acc8.s6, acc8.s7)));              \
        for (int r = body; r < n; ++r) acc = COMBINE(acc, TERM(x[r]));                                   \
        y[y_off + item] = acc;                                                                           \
    }

REDUCTION(sum, 0.0f, SAME, ADD_OP, group_sum, 0)
REDUCTION(mean, 0.0f, SAME, ADD_OP, group_sum, 1)
REDUCTION(max, -INFINITY, SAME, MAX_OP, group_max, 0)
REDUCTION(sumOfSquares, 0.0f, SQUARED, ADD_OP, group_sum, 0)

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

// Softmax over a strided axis: work item (i/8, o), see the header. y may alias x (each item
// rewrites only what it read).
__kernel void softmax_columns(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                              int outer, int extent, int inner) {
    int i = get_global_id(0) * 8, o = get_global_id(1);
    if (i >= inner || o >= outer) return;
    size_t start = (size_t)o * extent * inner + i;
    x += x_off + start;
    y += y_off + start;
    if (i + 8 <= inner) {
        float8 m = (float8)(-INFINITY);
        for (int r = 0; r < extent; ++r) m = fmax(m, vload8(0, x + (size_t)r * inner));
        float8 s = (float8)(0.0f);
        for (int r = 0; r < extent; ++r) s += exp(vload8(0, x + (size_t)r * inner) - m);
        for (int r = 0; r < extent; ++r) vstore8(exp(vload8(0, x + (size_t)r * inner) - m) / s, 0, y + (size_t)r * inner);
        return;
    }
    for (int j = 0; j < inner - i; ++j) {
        float m = -INFINITY;
        for (int r = 0; r < extent; ++r) m = fmax(m, x[(size_t)r * inner + j]);
        float s = 0.0f;
        for (int r = 0; r < extent; ++r) s += exp(x[(size_t)r * inner + j] - m);
        for (int r = 0; r < extent; ++r) y[(size_t)r * inner + j] = exp(x[(size_t)r * inner + j] - m) / s;
    }
}

// Softmax of contiguous rows (inner = 1), one work item per row with float8 along it; lane
// partials combine in a fixed order. y may alias x.
__kernel void softmax_rows8(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                            int outer, int extent, int inner) {
    int row = get_global_id(0);
    if (row >= outer) return;
    x += x_off + (size_t)row * extent;
    y += y_off + (size_t)row * extent;
    int body = extent & ~7;
    float8 m8 = (float8)(-INFINITY);
    for (int r = 0; r < body; r += 8) m8 = fmax(m8, vload8(0, x + r));
    float m = fmax(fmax(fmax(m8.s0, m8.s1), fmax(m8.s2, m8.s3)), fmax(fmax(m8.s4, m8.s5), fmax(m8.s6, m8.s7)));
    for (int r = body; r < extent; ++r) m = fmax(m, x[r]);
    // exp once per element: y holds exp(x − m) until the sum is known (the same bits as computing
    // it again, and y may alias x because each element is read before it is overwritten).
    float8 s8 = (float8)(0.0f);
    for (int r = 0; r < body; r += 8) {
        float8 e = exp(vload8(0, x + r) - m);
        s8 += e;
        vstore8(e, 0, y + r);
    }
    float s = ((s8.s0 + s8.s1) + (s8.s2 + s8.s3)) + ((s8.s4 + s8.s5) + (s8.s6 + s8.s7));
    for (int r = body; r < extent; ++r) {
        float e = exp(x[r] - m);
        s += e;
        y[r] = e;
    }
    for (int r = 0; r < body; r += 8) vstore8(vload8(0, y + r) / s, 0, y + r);
    for (int r = body; r < extent; ++r) y[r] = y[r] / s;
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

// Softmax backward over a strided axis: work item (i/8, o). dx may alias dy.
__kernel void softmax_backward_columns(__global const float* y, ulong y_off, __global const float* dy, ulong dy_off,
                                       __global float* dx, ulong dx_off, int outer, int extent, int inner) {
    int i = get_global_id(0) * 8, o = get_global_id(1);
    if (i >= inner || o >= outer) return;
    size_t start = (size_t)o * extent * inner + i;
    y += y_off + start;
    dy += dy_off + start;
    dx += dx_off + start;
    if (i + 8 <= inner) {
        float8 dot = (float8)(0.0f);
        for (int r = 0; r < extent; ++r) dot += vload8(0, dy + (size_t)r * inner) * vload8(0, y + (size_t)r * inner);
        for (int r = 0; r < extent; ++r) {
            size_t k = (size_t)r * inner;
            vstore8(vload8(0, y + k) * (vload8(0, dy + k) - dot), 0, dx + k);
        }
        return;
    }
    for (int j = 0; j < inner - i; ++j) {
        float dot = 0.0f;
        for (int r = 0; r < extent; ++r) dot += dy[(size_t)r * inner + j] * y[(size_t)r * inner + j];
        for (int r = 0; r < extent; ++r) {
            size_t k = (size_t)r * inner + j;
            dx[k] = y[k] * (dy[k] - dot);
        }
    }
}

// Softmax backward of contiguous rows (inner = 1), one work item per row, float8 along it.
// dx may alias dy.
__kernel void softmax_backward_rows8(__global const float* y, ulong y_off, __global const float* dy, ulong dy_off,
                                     __global float* dx, ulong dx_off, int outer, int extent, int inner) {
    int row = get_global_id(0);
    if (row >= outer) return;
    y += y_off + (size_t)row * extent;
    dy += dy_off + (size_t)row * extent;
    dx += dx_off + (size_t)row * extent;
    int body = extent & ~7;
    float8 d8 = (float8)(0.0f);
    for (int r = 0; r < body; r += 8) d8 += vload8(0, dy + r) * vload8(0, y + r);
    float dot = ((d8.s0 + d8.s1) + (d8.s2 + d8.s3)) + ((d8.s4 + d8.s5) + (d8.s6 + d8.s7));
    for (int r = body; r < extent; ++r) dot += dy[r] * y[r];
    for (int r = 0; r < body; r += 8) vstore8(vload8(0, y + r) * (vload8(0, dy + r) - dot), 0, dx + r);
    for (int r = body; r < extent; ++r) dx[r] = y[r] * (dy[r] - dot);
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
