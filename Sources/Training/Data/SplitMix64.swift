/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable generator for the host-side
/// randomness of data order and procedural images. Same seed, same numbers, on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        while true {
            let product = next().multipliedFullWidth(by: b)
            if product.low >= (0 &- b) % b { return Int(product.high) }
        }
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Mixes several words into one seed (a hash, not a generator state).
    public static func mix(_ words: UInt64...) -> UInt64 {
        var g = SplitMix64(seed: 0x6A09_E667_F3BC_C908)
        var h: UInt64 = 0
        for w in words {
            g.state ^= w
            h = g.next() ^ (h &* 0x100_0000_01B3)
        }
        return h
    }
}
