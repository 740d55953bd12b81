import Devices
import Foundation

/// How closely a device must match the oracle for one kernel family.
///
/// Thresholds follow ggml's test-backend-ops: NMSE 1e-7 for elementwise work whose only error is
/// a few ulps per element, 1e-6 where a reduction reorders additions, 5e-4 for GEMM and
/// convolution, whose long dot products a backend may block, vectorise or split freely; and bit
/// equality where no arithmetic happens (copies, gathers, fills) or where the contract promises
/// identical bits (Philox uniforms and integers).
public enum Tolerance: Sendable, Equatable, CustomStringConvertible {
    /// Every output word must equal the oracle's bit for bit.
    case exact
    /// Normalised mean squared error Σ(a−b)²/Σb² at most this.
    case nmse(Double)

    public var description: String {
        switch self {
        case .exact: return "exact"
        case let .nmse(limit): return "NMSE ≤ \(formatScientific(limit))"
        }
    }

    /// When the oracle's output is all zeros NMSE is undefined; a device passes if no element
    /// differs by more than this.
    static let absoluteFloor: Double = 1e-6
}

extension Kernel {
    /// The comparison this kernel family must pass in test mode.
    public var tolerance: Tolerance {
        switch self {
        case let .copy(c) where c.accumulate && zip(c.shape, c.dstStrides).contains { $0 > 1 && $1 == 0 }:
            // Several source elements summed into one destination element: a reduction, whose
            // summation order and precision the contract leaves to the device.
            return .nmse(1e-6)
        case .fill, .copy, .gather, .randomAdvance, .pixelShuffle, .pixelUnshuffle, .upsampleNearest:
            return .exact
        case .random(.uniform, _, _), .random(.integer, _, _):
            return .exact
        case .random(.normal, _, _):
            // Box–Muller goes through logf/cosf/sinf, which may differ in the last bit per device.
            return .nmse(1e-7)
        case .reduce, .softmax, .softmaxBackward, .rmsNormBackward, .rmsNormScaleShiftSiluBackward, .groupNormBackward:
            // Reductions over up to N·S elements; the backward norms reduce dγ over the batch.
            return .nmse(1e-6)
        case .gemm, .conv2d, .conv2dBackwardData, .conv2dBackwardWeight:
            return .nmse(5e-4)
        case .unary, .unaryBackward, .binary, .rmsNorm, .rmsNormScaleShiftSilu, .groupNorm, .upsampleNearestBackward,
             .timestepEmbedding, .adam, .emaUpdate, .gradClipScale:
            // Elementwise arithmetic (and 2x2 block sums): only rounding of transcendental
            // functions may differ between devices.
            return .nmse(1e-7)
        }
    }
}

/// `1.2e-07`-style formatting used by every report line.
func formatScientific(_ value: Double) -> String {
    if value == 0 { return "0" }
    return String(format: "%.1e", value)
}
