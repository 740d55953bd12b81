// diffusion.cl: sinusoidal timestep embedding and per-row gather of schedule coefficients
// (Kernel.timestepEmbedding, Kernel.gather).
//
// Kernel ABI: tensors are (`__global T* x, ulong x_off`) pairs with the offset in elements,
// then int sizes and float parameters. See the header of fill_copy.cl and docs/kernel-abi.md.

// out[n, i] = sin(t[n]·f_i), out[n, half + i] = cos(t[n]·f_i), f_i = exp(i·neg_log_step) with
// neg_log_step = −ln θ / (half − 1) computed by the host in double, as the reference computes it
// in Python. One work item per (n, i < half).
__kernel void timestep_embedding(__global const float* t, ulong t_off, __global float* out, ulong out_off,
                                 int count, int half_dim, float neg_log_step) {
    int e = get_global_id(0);
    if (e >= count * half_dim) return;
    t += t_off;
    out += out_off;
    int n = e / half_dim, i = e % half_dim;
    float frequency = exp((float)i * neg_log_step);
    float angle = t[n] * frequency;
    out[n * 2 * half_dim + i] = sin(angle);
    out[n * 2 * half_dim + half_dim + i] = cos(angle);
}

// out[r, :] = table[clamp(index[r], 0, table_rows − 1), :]. One work item per output element.
__kernel void gather_rows(__global const float* table, ulong table_off, __global const int* index, ulong index_off,
                          __global float* out, ulong out_off, int rows, int width, int table_rows) {
    int e = get_global_id(0);
    if (e >= rows * width) return;
    table += table_off;
    index += index_off;
    out += out_off;
    int r = e / width, column = e % width;
    int source = clamp(index[r], 0, table_rows - 1);
    out[e] = table[source * width + column];
}
