// random.cl: counter-based random numbers, Philox 4x32-10, bit-identical to Devices/Philox.swift
// (Kernel.random, Kernel.randomAdvance).
//
// Kernel ABI: tensors are (`__global T* x, ulong x_off`) pairs with the offset in elements; the
// state is `__global uint*` (4 words: key lo, key hi, step, unused), integer output is
// `__global int*`. Scalars: int count, uint stream, then the distribution's parameters. See the
// header of fill_copy.cl and docs/kernel-abi.md.
//
// Stream: block j = i / 4 is Philox4x32-10 of counter (j, stream, state[2], 0) with key
// (state[0], state[1]); element i takes lane i % 4. One work item per block.
//  * uniform: u = (float)(w >> 8) · 2⁻²⁴ (exact), value = fma(high − low, u, low);
//  * normal: Box–Muller on lanes (0, 1) and (2, 3): u1 = ((w0 >> 8) + 1)·2⁻²⁴ ∈ (0, 1],
//    u2 = (w1 >> 8)·2⁻²⁴, r = √(−2 ln u1), θ = 2π·u2, z = (r cos θ, r sin θ), value = fma(std, z, mean);
//  * integer: low + mulhi(w, range), the multiply-shift (Lemire) map onto [low, low + range).
// Contraction is off so that every multiply and add rounds exactly as the Swift reference does.

#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
// 2·Float.pi with Swift's Float.pi (0x40490FDA, rounded toward zero), doubled exactly.
#define TWO_PI_SWIFT as_float(0x40C90FDAu)

inline uint4 philox4x32_10(uint4 c, uint2 k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) k += (uint2)(PHILOX_W0, PHILOX_W1);
        uint lo0 = PHILOX_M0 * c.x, hi0 = mul_hi(PHILOX_M0, c.x);
        uint lo1 = PHILOX_M1 * c.z, hi1 = mul_hi(PHILOX_M1, c.z);
        c = (uint4)(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

inline uint4 philox_block(__global const uint* state, uint block, uint stream) {
    return philox4x32_10((uint4)(block, stream, state[2], 0u), (uint2)(state[0], state[1]));
}

inline float unit_float(uint w) { return (float)(w >> 8) * 0x1p-24f; }

inline float2 box_muller(uint a, uint b) {
    float u1 = ((float)(a >> 8) + 1.0f) * 0x1p-24f;
    float u2 = (float)(b >> 8) * 0x1p-24f;
    float radius = sqrt(-2.0f * log(u1));
    float theta = TWO_PI_SWIFT * u2;
    return (float2)(radius * cos(theta), radius * sin(theta));
}

__kernel void random_uniform(__global const uint* state, ulong state_off, __global float* out, ulong out_off,
                             int count, uint stream, float low, float high) {
    int block = get_global_id(0);
    if (block * 4 >= count) return;
    state += state_off;
    out += out_off;
    uint4 w = philox_block(state, (uint)block, stream);
    float span = high - low;
    float4 v = (float4)(fma(span, unit_float(w.x), low), fma(span, unit_float(w.y), low),
                        fma(span, unit_float(w.z), low), fma(span, unit_float(w.w), low));
    int i = block * 4;
    out[i] = v.x;
    if (i + 1 < count) out[i + 1] = v.y;
    if (i + 2 < count) out[i + 2] = v.z;
    if (i + 3 < count) out[i + 3] = v.w;
}

__kernel void random_normal(__global const uint* state, ulong state_off, __global float* out, ulong out_off,
                            int count, uint stream, float mean, float stddev) {
    int block = get_global_id(0);
    if (block * 4 >= count) return;
    state += state_off;
    out += out_off;
    uint4 w = philox_block(state, (uint)block, stream);
    float2 z01 = box_muller(w.x, w.y);
    float2 z23 = box_muller(w.z, w.w);
    int i = block * 4;
    out[i] = fma(stddev, z01.x, mean);
    if (i + 1 < count) out[i + 1] = fma(stddev, z01.y, mean);
    if (i + 2 < count) out[i + 2] = fma(stddev, z23.x, mean);
    if (i + 3 < count) out[i + 3] = fma(stddev, z23.y, mean);
}

// Integers in [low, low + range), range = high − low as a 32-bit unsigned value.
__kernel void random_integer(__global const uint* state, ulong state_off, __global int* out, ulong out_off,
                             int count, uint stream, int low, uint range) {
    int block = get_global_id(0);
    if (block * 4 >= count) return;
    state += state_off;
    out += out_off;
    uint4 w = philox_block(state, (uint)block, stream);
    uint base = as_uint(low);
    int i = block * 4;
    out[i] = as_int(base + mul_hi(w.x, range));
    if (i + 1 < count) out[i + 1] = as_int(base + mul_hi(w.y, range));
    if (i + 2 < count) out[i + 2] = as_int(base + mul_hi(w.z, range));
    if (i + 3 < count) out[i + 3] = as_int(base + mul_hi(w.w, range));
}

// state[2] += 1 (wrapping). A single work item.
__kernel void random_advance(__global uint* state, ulong state_off) {
    if (get_global_id(0) != 0) return;
    state += state_off;
    state[2] += 1u;
}
