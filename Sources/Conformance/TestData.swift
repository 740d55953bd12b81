import Devices

/// SplitMix64: a tiny, fast, well-mixed generator whose stream depends only on its seed, so every
/// run (and every device) sees the same inputs for a case.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform on [0, 1) with 24 random bits (exactly representable as Float).
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * unit() }

    /// Uniform integer in `low ..< high`.
    mutating func integer(_ low: Int, _ high: Int) -> Int {
        low + Int(next() % UInt64(max(high - low, 1)))
    }
}

/// Deterministic inputs for conformance cases.
///
/// Data is kept as 32-bit words (Float bit patterns, Int32 or UInt32) so one code path moves,
/// guards and compares every element type.
enum TestData {
    /// A stable 64-bit hash (FNV-1a) of a case string: seeds must not depend on the case's
    /// position in a filtered list or on Swift's randomised `Hasher`.
    static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The generator for operand `index` of the case named `name` under the run's `seed`.
    static func generator(case name: String, operand index: Int, seed: UInt64) -> SplitMix64 {
        SplitMix64(seed: hash(name) ^ (seed &* 0x2545_F491_4F6C_DD1D) ^ UInt64(index &+ 1) &* 0x9E37_79B9)
    }

    /// Values of the `.any`-domain special-value variant: saturating, overflowing, signed zeros.
    static let specialAny: [Float] = [0, -0.0, 1, -1, 0.5, -0.5, 30, -30, 88, -88, 100, -100, 1e30, -1e30, 1e-30, -1e-30]
    /// Values of the `.positive`-domain special-value variant (no denormals: devices may flush them).
    static let specialPositive: [Float] = [1e-30, 1e-10, 1, 3, 1e10, 1e30]

    /// `count` words of data for `operand`, drawn per its domain and the case's input style.
    static func words(for operand: Operand, inputs: KernelCase.Inputs, generator: inout SplitMix64) -> [UInt32] {
        let n = operand.count
        switch operand.domain {
        case .any:
            switch inputs {
            case .specialValues:
                return (0..<n).map { i in
                    let v = i % 2 == 0 ? specialAny[(i / 2) % specialAny.count] : generator.uniform(-1, 1)
                    return v.bitPattern
                }
            case let .scaled(scale):
                return (0..<n).map { _ in (generator.uniform(-1, 1) * scale).bitPattern }
            case .standard, .outOfRangeIndices:
                return (0..<n).map { _ in generator.uniform(-1, 1).bitPattern }
            }
        case .positive:
            if inputs == .specialValues {
                return (0..<n).map { i in
                    let v = i % 2 == 0 ? specialPositive[(i / 2) % specialPositive.count] : generator.uniform(0.25, 2)
                    return v.bitPattern
                }
            }
            return (0..<n).map { _ in generator.uniform(0.25, 2).bitPattern }
        case let .index(bound):
            let low = inputs == .outOfRangeIndices ? -bound : 0
            let high = inputs == .outOfRangeIndices ? 2 * bound : bound
            return (0..<n).map { _ in
                let value = generator.integer(low, high)
                switch operand.type {
                case .float32: return Float(value).bitPattern
                case .int32, .uint32: return UInt32(bitPattern: Int32(truncatingIfNeeded: value))
                }
            }
        case let .values(values):
            return (0..<n).map { i in values.isEmpty ? 0 : values[i % values.count].bitPattern }
        case .randomState:
            return (0..<n).map { _ in UInt32(truncatingIfNeeded: generator.next()) }
        }
    }

    /// What a write-only operand holds before the launch.
    ///
    /// Float outputs start as quiet NaN: an element the kernel forgets to write stays NaN and
    /// fails the NaN rule, while gaps the kernel must not touch (padding between rows of a
    /// strided output) stay NaN on both sides and are recognised as untouched.
    static func prefill(for operand: Operand) -> [UInt32] {
        switch operand.type {
        case .float32: return Array(repeating: prefillNaN, count: operand.count)
        case .int32, .uint32: return Array(repeating: prefillInteger, count: operand.count)
        }
    }

    static let prefillNaN: UInt32 = 0x7FC0_DEAD
    static let prefillInteger: UInt32 = 0xDEAD_BEEF

    /// The sentinel written around every operand; word `k` of a guard region.
    static func guardWord(_ k: Int) -> UInt32 { 0xA5A5_0000 | UInt32(truncatingIfNeeded: k & 0xFFFF) }
}
