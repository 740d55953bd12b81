import Devices

/// Compares one output operand of a device with the oracle's, ggml style.
///
/// Rules, in order: a NaN on either side fails, except where both sides still hold the NaN the
/// operand was pre-filled with (a gap the kernel must not write, like the padding of a strided
/// GEMM output); infinities must match in sign and position; then the finite elements must pass
/// the family's ``Tolerance`` (bit equality, or NMSE = Σ(a−b)²/Σb² with b the oracle).
struct OutputComparison {
    /// The error measured (NMSE, or the count of differing words for exact comparisons).
    var error: Double
    /// Why the comparison failed, or `nil` when it passed.
    var failure: String?

    static func compare(_ operand: Operand, device a: [UInt32], oracle b: [UInt32],
                        prefilledWithNaN: Bool, tolerance: Tolerance) -> OutputComparison {
        precondition(a.count == b.count)
        if operand.type != .float32 {
            for i in 0..<a.count where a[i] != b[i] {
                let differing = zip(a, b).filter { $0 != $1 }.count
                return OutputComparison(
                    error: Double(differing),
                    failure: "operand '\(operand.name)': \(differing) of \(a.count) elements differ; first at [\(i)]: \(Int32(bitPattern: a[i])) vs reference \(Int32(bitPattern: b[i]))")
            }
            return OutputComparison(error: 0, failure: nil)
        }

        var sumSquaredError = 0.0
        var sumSquaredReference = 0.0
        var maxAbsoluteError = 0.0
        var worst = -1
        var firstBitDifference = -1
        for i in 0..<a.count {
            let x = Float(bitPattern: a[i])
            let y = Float(bitPattern: b[i])
            if x.isNaN || y.isNaN {
                if x.isNaN && y.isNaN && prefilledWithNaN && a[i] == TestData.prefillNaN && b[i] == TestData.prefillNaN {
                    continue   // a gap neither side wrote
                }
                let what = x.isNaN
                    ? (a[i] == TestData.prefillNaN && prefilledWithNaN ? "never written (still the NaN pre-fill)" : "NaN")
                    : "\(x)"
                return OutputComparison(
                    error: .nan,
                    failure: "operand '\(operand.name)': element [\(i)] is \(what), reference \(y.isNaN ? "NaN" : "\(y)")")
            }
            if x.isInfinite || y.isInfinite {
                if x != y {
                    return OutputComparison(
                        error: .infinity,
                        failure: "operand '\(operand.name)': element [\(i)] is \(x), reference \(y) (infinities must match)")
                }
                continue
            }
            if firstBitDifference < 0 && a[i] != b[i] { firstBitDifference = i }
            let d = Double(x) - Double(y)
            sumSquaredError += d * d
            sumSquaredReference += Double(y) * Double(y)
            if Swift.abs(d) > maxAbsoluteError {
                maxAbsoluteError = Swift.abs(d)
                worst = i
            }
        }

        switch tolerance {
        case .exact:
            guard firstBitDifference >= 0 else { return OutputComparison(error: 0, failure: nil) }
            let i = firstBitDifference
            let differing = zip(a, b).filter { $0 != $1 }.count
            return OutputComparison(
                error: Double(differing),
                failure: "operand '\(operand.name)': \(differing) of \(a.count) elements differ (exact comparison); first at [\(i)]: \(Float(bitPattern: a[i])) vs reference \(Float(bitPattern: b[i]))")
        case let .nmse(limit):
            if sumSquaredReference == 0 {
                // NMSE is undefined for an all-zero reference: require (near) zero output instead.
                if maxAbsoluteError <= Tolerance.absoluteFloor { return OutputComparison(error: 0, failure: nil) }
                return OutputComparison(
                    error: maxAbsoluteError,
                    failure: "operand '\(operand.name)': reference is all zeros but element [\(worst)] is \(Float(bitPattern: a[worst])) (|error| \(formatScientific(maxAbsoluteError)) > \(formatScientific(Tolerance.absoluteFloor)))")
            }
            let nmse = sumSquaredError / sumSquaredReference
            if nmse <= limit { return OutputComparison(error: nmse, failure: nil) }
            return OutputComparison(
                error: nmse,
                failure: "operand '\(operand.name)': NMSE \(formatScientific(nmse)) > \(formatScientific(limit)); worst element [\(worst)]: \(Float(bitPattern: a[worst])) vs reference \(Float(bitPattern: b[worst]))")
        }
    }
}
