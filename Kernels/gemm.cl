// gemm.cl: strided batched GEMM, row-major (Kernel.gemm):
//   C_b = alpha · op(A_b) · op(B_b) + beta · C_b (+ bias), b < batch,
// op(A) = A ([M, K], row stride lda) or Aᵀ of a stored [K, M]; likewise op(B) ([K, N] or Bᵀ of [N, K]).
// Batch b reads A at b·stride_a elements (0 shares one matrix), likewise B and C. beta == 0 never
// reads C (NaNs there do not propagate). bias_mode: 0 none, 1 bias[m] per row, 2 bias[n] per column.
//
// Kernel ABI: tensors are (`__global float* x, ulong x_off`) pairs with the offset in elements
// (A, B, C, bias; an absent bias is a NULL buffer), then int sizes / flags and float alpha, beta.
// See the header of fill_copy.cl and docs/kernel-abi.md.
//
// A plain local-memory tiling: a GEMM_TILE × GEMM_TILE work group computes one tile of C, one
// element per work item, staging tiles of op(A) and op(B) through local memory. Global size is
// (N, M, batch) rounded up to the tile; the k sum runs in increasing order. GEMM_TILE comes from
// the build options (16, or 8 on devices whose work groups are smaller than 256).

#ifndef GEMM_TILE
#define GEMM_TILE 16
#endif
#define TS GEMM_TILE

__kernel __attribute__((reqd_work_group_size(GEMM_TILE, GEMM_TILE, 1)))
void gemm(__global const float* A, ulong a_off, __global const float* B, ulong b_off,
          __global float* C, ulong c_off, __global const float* bias, ulong bias_off,
          int M, int N, int K, int trans_a, int trans_b, float alpha, float beta,
          int lda, int ldb, int ldc, int stride_a, int stride_b, int stride_c, int bias_mode) {
    __local float As[TS][TS];
    __local float Bs[TS][TS];
    const int lx = get_local_id(0), ly = get_local_id(1);
    const int col = get_group_id(0) * TS + lx;
    const int row = get_group_id(1) * TS + ly;
    const int batch = get_group_id(2);
    A += a_off + (ulong)batch * stride_a;
    B += b_off + (ulong)batch * stride_b;
    C += c_off + (ulong)batch * stride_c;
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        int ak = t + lx;
        As[ly][lx] = (row < M && ak < K) ? (trans_a ? A[ak * lda + row] : A[row * lda + ak]) : 0.0f;
        int bk = t + ly;
        Bs[ly][lx] = (bk < K && col < N) ? (trans_b ? B[col * ldb + bk] : B[bk * ldb + col]) : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS; ++kk) acc += As[ly][kk] * Bs[kk][lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row >= M || col >= N) return;
    float value = alpha * acc;
    if (beta != 0.0f) value += beta * C[row * ldc + col];
    if (bias_mode == 1) {
        value += bias[bias_off + row];
    } else if (bias_mode == 2) {
        value += bias[bias_off + col];
    }
    C[row * ldc + col] = value;
}
