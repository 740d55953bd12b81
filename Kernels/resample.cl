// resample.cl: pixel unshuffle / shuffle and nearest upsampling with its adjoint
// (Kernel.pixelUnshuffle, Kernel.pixelShuffle, Kernel.upsampleNearest, Kernel.upsampleNearestBackward).
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements,
// then int sizes. See the header of fill_copy.cl and docs/kernel-abi.md.
//
// Every kernel takes the LARGE (high-resolution) shape [N, C, H, W] and the factor f; the small
// side is [N, C·f², H/f, W/f] (shuffles) or [N, C, H/f, W/f] (upsampling). One work item per
// output element, so every output is written exactly once and nothing races.

// y[n, c·f² + f·dy + dx, i, j] = x[n, c, i·f + dy, j·f + dx]; indexed by the output (small) element.
__kernel void pixel_unshuffle(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                              int N, int C, int H, int W, int f) {
    int e = get_global_id(0);
    if (e >= N * C * H * W) return;
    x += x_off;
    y += y_off;
    int h = H / f, w = W / f, ff = f * f;
    int j = e % w, i = (e / w) % h, channel = (e / (w * h)) % (C * ff), n = e / (w * h * C * ff);
    int c = channel / ff, sub = channel % ff;
    int dy = sub / f, dx = sub % f;
    y[e] = x[((n * C + c) * H + i * f + dy) * W + j * f + dx];
}

// The inverse: y[n, c, hh, ww] = x[n, c·f² + f·(hh % f) + ww % f, hh / f, ww / f]; indexed by y.
__kernel void pixel_shuffle(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                            int N, int C, int H, int W, int f) {
    int e = get_global_id(0);
    if (e >= N * C * H * W) return;
    x += x_off;
    y += y_off;
    int h = H / f, w = W / f, ff = f * f;
    int ww = e % W, hh = (e / W) % H, c = (e / (W * H)) % C, n = e / (W * H * C);
    int channel = c * ff + f * (hh % f) + ww % f;
    y[e] = x[((n * C * ff + channel) * h + hh / f) * w + ww / f];
}

// y[n, c, hh, ww] = x[n, c, hh / f, ww / f]; indexed by y (the large tensor).
__kernel void upsample_nearest(__global const float* x, ulong x_off, __global float* y, ulong y_off,
                               int N, int C, int H, int W, int f) {
    int e = get_global_id(0);
    if (e >= N * C * H * W) return;
    x += x_off;
    y += y_off;
    int h = H / f, w = W / f;
    int ww = e % W, hh = (e / W) % H, nc = e / (W * H);
    y[e] = x[(nc * h + hh / f) * w + ww / f];
}

// dx[n, c, i, j] = Σ_{a<f} Σ_{b<f} dy[n, c, i·f + a, j·f + b], rows of the block in order; indexed by dx.
__kernel void upsample_nearest_backward(__global const float* dy, ulong dy_off, __global float* dx, ulong dx_off,
                                        int N, int C, int H, int W, int f) {
    int h = H / f, w = W / f;
    int e = get_global_id(0);
    if (e >= N * C * h * w) return;
    dy += dy_off;
    dx += dx_off;
    int j = e % w, i = (e / w) % h, nc = e / (w * h);
    __global const float* block = dy + (nc * H + i * f) * W + j * f;
    float acc = 0.0f;
    for (int a = 0; a < f; ++a)
        for (int b = 0; b < f; ++b) acc += block[a * W + b];
    dx[e] = acc;
}
