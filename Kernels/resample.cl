// resample.cl: pixel unshuffle / shuffle and nearest upsampling with its adjoint
// (Kernel.pixelUnshuffle, Kernel.pixelShuffle, Kernel.upsampleNearest, Kernel.upsampleNearestBackward).
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements,
// then int sizes. See the header of fill_copy.cl and docs/kernel-abi.md.
//
// Every kernel takes the LARGE (high-resolution) shape [N, C, H, W] and the factor f; the small
// side is [N, C·f², h, w] (shuffles) or [N, C, h, w] (upsampling), h = H/f, w = W/f.
//
// All four run over the same 3-D range: work item (g0, g1, g2) = (j / 8, i, n·C + c) owns the
// eight small-side columns j..j+7 of small row i and the f×f blocks of large-side pixels above
// them, so every output is written exactly once and nothing races, and no item divides. For
// f = 2 the block is moved with float8/float16 vectors (even and odd lanes are the two columns
// of a block); other factors, and the last columns of a row (w % 8), take the scalar loop.
// Per-element items with an index division each ran about 20-70x slower on PoCL.

// (a0, b0, a1, b1, ..., a7, b7).
#define INTERLEAVE(a, b) (float16)((a).s0, (b).s0, (a).s1, (b).s1, (a).s2, (b).s2, (a).s3, (b).s3, \
                                   (a).s4, (b).s4, (a).s5, (b).s5, (a).s6, (b).s6, (a).s7, (b).s7)

// The item's coordinates, or return when it is past the end of a row.
#define RESAMPLE_ITEM                                                                     \
    int j = get_global_id(0) * 8, i = get_global_id(1), nc = get_global_id(2);          \
    int h = H / f, w = W / f, ff = f * f;                                               \
    if (j >= w || i >= h || nc >= N * C) return;                                         \
    int end = min(j + 8, w);                                                             \
    bool vector = f == 2 && j + 8 <= w;

// y[n, c·f² + f·dy + dx, i, j] = x[n, c, i·f + dy, j·f + dx].
__kernel void pixel_unshuffle(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                              int N, int C, int H, int W, int f) {
    RESAMPLE_ITEM
    x += x_off + ((size_t)nc * H + (size_t)i * f) * W;
    y += y_off + ((size_t)nc * ff * h + i) * w;
    size_t plane = (size_t)h * w;
    if (vector) {
        for (int dy = 0; dy < 2; ++dy) {
            float16 r = vload16(0, x + (size_t)dy * W + 2 * j);
            vstore8(r.even, 0, y + (2 * dy) * plane + j);
            vstore8(r.odd, 0, y + (2 * dy + 1) * plane + j);
        }
        return;
    }
    for (int dy = 0; dy < f; ++dy)
        for (int dx = 0; dx < f; ++dx)
            for (int jj = j; jj < end; ++jj) y[(f * dy + dx) * plane + jj] = x[(size_t)dy * W + jj * f + dx];
}

// The inverse: y[n, c, i·f + dy, j·f + dx] = x[n, c·f² + f·dy + dx, i, j].
__kernel void pixel_shuffle(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                            int N, int C, int H, int W, int f) {
    RESAMPLE_ITEM
    x += x_off + ((size_t)nc * ff * h + i) * w;
    y += y_off + ((size_t)nc * H + (size_t)i * f) * W;
    size_t plane = (size_t)h * w;
    if (vector) {
        for (int dy = 0; dy < 2; ++dy) {
            float8 even = vload8(0, x + (2 * dy) * plane + j), odd = vload8(0, x + (2 * dy + 1) * plane + j);
            vstore16(INTERLEAVE(even, odd), 0, y + (size_t)dy * W + 2 * j);
        }
        return;
    }
    for (int dy = 0; dy < f; ++dy)
        for (int dx = 0; dx < f; ++dx)
            for (int jj = j; jj < end; ++jj) y[(size_t)dy * W + jj * f + dx] = x[(f * dy + dx) * plane + jj];
}

// y[n, c, i·f + dy, j·f + dx] = x[n, c, i, j].
__kernel void upsample_nearest(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                               int N, int C, int H, int W, int f) {
    RESAMPLE_ITEM
    x += x_off + ((size_t)nc * h + i) * w;
    y += y_off + ((size_t)nc * H + (size_t)i * f) * W;
    if (vector) {
        float8 v = vload8(0, x + j);
        float16 pairs = INTERLEAVE(v, v);
        vstore16(pairs, 0, y + 2 * j);
        vstore16(pairs, 0, y + W + 2 * j);
        return;
    }
    for (int dy = 0; dy < f; ++dy)
        for (int jj = j; jj < end; ++jj)
            for (int dx = 0; dx < f; ++dx) y[(size_t)dy * W + jj * f + dx] = x[jj];
}

// dx[n, c, i, j] = Σ_{a<f} Σ_{b<f} dy[n, c, i·f + a, j·f + b], in that order (rows of the block
// in turn, left to right).
__kernel void upsample_nearest_backward(__global const float* dy, ulong dy_off, __global float* dx, ulong dx_off,
                                        int N, int C, int H, int W, int f) {
    RESAMPLE_ITEM
    dy += dy_off + ((size_t)nc * H + (size_t)i * f) * W;
    dx += dx_off + ((size_t)nc * h + i) * w;
    if (vector) {
        float16 top = vload16(0, dy + 2 * j), bottom = vload16(0, dy + W + 2 * j);
        vstore8(((top.even + top.odd) + bottom.even) + bottom.odd, 0, dx + j);
        return;
    }
    for (int jj = j; jj < end; ++jj) {
        float acc = 0.0f;
        for (int a = 0; a < f; ++a)
            for (int b = 0; b < f; ++b) acc += dy[(size_t)a * W + jj * f + b];
        dx[jj] = acc;
    }
}
