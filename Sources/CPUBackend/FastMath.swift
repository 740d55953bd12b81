/// Elementary functions written so the compiler can vectorise loops that call them.
///
/// libm's `expf` is an opaque call, so a loop over `silu` or `softmax` runs one element at a
/// time (~8 ns per element here). This version is branch-free arithmetic and bit operations
/// that inline and vectorise (~2.4 ns per SiLU element), at ≤ 1.4 ulp from the exact result.
enum FastMath {
    /// `eˣ` for Float: Cody–Waite reduction `x = k·ln 2 + r`, the Cephes degree-6 polynomial for
    /// `eʳ`, and `2ᵏ` built from exponent bits in two halves so that results overflow to +inf and
    /// underflow through the subnormals like libm. NaN propagates; ±inf give inf and 0.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        // Beyond these bounds eˣ is inf or 0 in Float; clamping keeps k within Int32 games below.
        let clamped = Swift.min(Swift.max(x, -104), 89)
        // Round x·log₂e to an integer with the 1.5·2²³ trick: k ends up in the mantissa bits.
        let shifted = clamped * 1.442_695_04 + 12_582_912
        let k = shifted - 12_582_912
        // Fused multiply-adds (one rounding each, and one instruction on FMA hardware; Swift
        // never contracts `a * b + c` by itself): SiLU and its gradient ran 1.3x faster.
        let r = clamped.addingProduct(k, -0.693_359_375).addingProduct(k, 2.121_944_40e-4)
        var p: Float = 1.987_569_150_0e-4
        p = (1.398_199_950_7e-3 as Float).addingProduct(p, r)
        p = (8.333_451_907_3e-3 as Float).addingProduct(p, r)
        p = (4.166_579_589_4e-2 as Float).addingProduct(p, r)
        p = (1.666_666_545_9e-1 as Float).addingProduct(p, r)
        p = (5.000_000_120_1e-1 as Float).addingProduct(p, r)
        let y = (r + 1).addingProduct(p, r * r)
        let kInt = Int32(bitPattern: shifted.bitPattern &- 0x4B40_0000)
        let k1 = kInt >> 1
        let k2 = kInt &- k1
        let s1 = Float(bitPattern: UInt32(bitPattern: (k1 &+ 127) << 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (k2 &+ 127) << 23))
        return y * s1 * s2
    }
}
