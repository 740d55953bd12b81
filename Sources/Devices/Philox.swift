/// Philox 4x32-10, the counter-based generator of Salmon et al. (Random123, SC'11).
///
/// A counter-based generator maps (counter, key) to random bits with no sequential state, so any
/// device can produce element `i` of a stream independently and every device produces the same
/// bits. That is why training draws timesteps and noise on the device and still matches the CPU.
///
/// The stream of ``Kernel/random(_:count:stream:)`` with state `[k0, k1, step, _]` is: block
/// `j = i / 4` uses counter `(j, stream, step, 0)` and key `(k0, k1)`; element `i` takes lane
/// `i % 4` of the block, converted as ``uniform(_:)``, ``normal(_:_:)`` or ``integer(_:range:)``.
public enum Philox {
    static let m0: UInt32 = 0xD251_1F53
    static let m1: UInt32 = 0xCD9E_8D57
    static let w0: UInt32 = 0x9E37_79B9
    static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds of Philox 4x32 on `counter` with `key`.
    public static func block(_ counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32)
    {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 { k = (k.0 &+ w0, k.1 &+ w1) }
            let p0 = UInt64(m0) * UInt64(c.0)
            let p1 = UInt64(m1) * UInt64(c.2)
            c = (UInt32(truncatingIfNeeded: p1 >> 32) ^ c.1 ^ k.0, UInt32(truncatingIfNeeded: p1),
                 UInt32(truncatingIfNeeded: p0 >> 32) ^ c.3 ^ k.1, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// The four words of block `j` of a stream.
    public static func words(block j: UInt32, stream: UInt32, state: [UInt32]) -> [UInt32] {
        let r = block((j, stream, state[2], 0), key: (state[0], state[1]))
        return [r.0, r.1, r.2, r.3]
    }

    /// A float in [0, 1): the top 24 bits scaled by 2⁻²⁴, exact in binary32 on every device.
    @inline(__always)
    public static func uniform(_ bits: UInt32) -> Float { Float(bits >> 8) * 0x1p-24 }

    /// Uniform on [low, high): `fma(high − low, u, low)`, one rounding, the same everywhere.
    @inline(__always)
    public static func uniform(_ bits: UInt32, low: Float, high: Float) -> Float {
        low.addingProduct(high - low, uniform(bits))
    }

    /// A pair of standard normals from two words (Box–Muller). `u1` is in (0, 1] so the log is finite.
    ///
    /// The transcendental functions may differ in the last bit between devices; conformance
    /// compares normals by NMSE, uniforms and integers bit for bit.
    public static func normal(_ a: UInt32, _ b: UInt32) -> (Float, Float) {
        let u1 = (Float(a >> 8) + 1) * 0x1p-24
        let u2 = Float(b >> 8) * 0x1p-24
        let radius = (-2 * logf(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        return (radius * cosf(theta), radius * sinf(theta))
    }

    /// An integer in `low ..< low + range` by multiply-shift (Lemire), exact on every device.
    @inline(__always)
    public static func integer(_ bits: UInt32, low: Int32, range: UInt32) -> Int32 {
        low &+ Int32(truncatingIfNeeded: (UInt64(bits) * UInt64(range)) >> 32)
    }

    /// Host evaluation of a whole ``Kernel/random(_:count:stream:)`` launch, as Float bit patterns
    /// (Int32 for integers). This is the reference the devices are checked against.
    public static func generate(_ distribution: RandomDistribution, count: Int, stream: UInt32, state: [UInt32]) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: count)
        var j = 0
        while j * 4 < count {
            let w = words(block: UInt32(truncatingIfNeeded: j), stream: stream, state: state)
            var lanes = [UInt32](repeating: 0, count: 4)
            switch distribution {
            case let .uniform(low, high):
                for l in 0..<4 { lanes[l] = uniform(w[l], low: low, high: high).bitPattern }
            case let .normal(mean, std):
                let (z0, z1) = normal(w[0], w[1])
                let (z2, z3) = normal(w[2], w[3])
                for (l, z) in [z0, z1, z2, z3].enumerated() { lanes[l] = mean.addingProduct(std, z).bitPattern }
            case let .integer(low, high):
                let range = UInt32(truncatingIfNeeded: Int64(high) - Int64(low))
                for l in 0..<4 { lanes[l] = UInt32(bitPattern: integer(w[l], low: low, range: range)) }
            }
            for l in 0..<4 where j * 4 + l < count { out[j * 4 + l] = lanes[l] }
            j += 1
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
