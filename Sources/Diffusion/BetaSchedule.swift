#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A beta schedule of the reference `GaussianDiffusion` (denoising-diffusion-pytorch 2.3.4).
///
/// ``betas(timesteps:)`` follows the reference's float64 arithmetic operation by operation
/// (PyTorch's `linspace`, the float32 endpoints of the sigmoid schedule), so the float32 buffers
/// derived from it match the reference's to the last bit or within one ulp.
public enum BetaSchedule: Equatable, Sendable, CustomStringConvertible {
    /// `linspace(1e-4·1000/T, 0.02·1000/T, T)` (Ho et al., scaled with T as improved-diffusion does).
    case linear
    /// Nichol & Dhariwal: `ᾱ(τ) ∝ cos²(((τ + s)/(1 + s))·π/2)`, betas clipped to [0, 0.999].
    case cosine(s: Double)
    /// Jabri & Chen: `ᾱ(τ) ∝ σ(end/τ_s) − σ((τ·(end − start) + start)/τ_s)`, betas clipped to [0, 0.999].
    case sigmoid(start: Double, end: Double, tau: Double)

    /// The reference defaults: `cosine(s: 0.008)`, `sigmoid(start: -3, end: 3, tau: 1)`.
    public static let cosineDefault = BetaSchedule.cosine(s: 0.008)
    public static let sigmoidDefault = BetaSchedule.sigmoid(start: -3, end: 3, tau: 1)

    /// The schedule called `name` (`linear`, `cosine`, `sigmoid`) with the reference defaults.
    public init(name: String) throws {
        switch name {
        case "linear": self = .linear
        case "cosine": self = .cosineDefault
        case "sigmoid": self = .sigmoidDefault
        default:
            throw DiffusionError.invalidConfiguration("unknown beta schedule '\(name)' (expected linear, cosine or sigmoid)")
        }
    }

    /// The reference name of the schedule.
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .cosine: return "cosine"
        case .sigmoid: return "sigmoid"
        }
    }

    public var description: String {
        switch self {
        case .linear: return "linear"
        case let .cosine(s): return "cosine(s: \(s))"
        case let .sigmoid(start, end, tau): return "sigmoid(start: \(start), end: \(end), tau: \(tau))"
        }
    }

    /// β₀ … β_{T−1} in float64, as the reference computes them before storing float32 buffers.
    public func betas(timesteps: Int) throws -> [Double] {
        guard timesteps >= 1 else {
            throw DiffusionError.invalidConfiguration("timesteps must be at least 1, got \(timesteps)")
        }
        let t = Double(timesteps)
        switch self {
        case .linear:
            let scale = 1000 / t
            return TorchLinspace.float64(scale * 0.0001, scale * 0.02, timesteps)
        case let .cosine(s):
            let tau = TorchLinspace.float64(0, t, timesteps + 1).map { $0 / t }
            let f = tau.map { x -> Double in
                let c = cos((x + s) / (1 + s) * Double.pi * 0.5)
                return c * c
            }
            return BetaSchedule.betas(fromCumulative: f.map { $0 / f[0] })
        case let .sigmoid(start, end, temperature):
            // `torch.tensor(start / tau).sigmoid()` is a float32 scalar in the reference, and
            // `v_end − v_start` is a float32 subtraction; both are reproduced here.
            let vStart = BetaSchedule.sigmoid32(Float(start / temperature))
            let vEnd = BetaSchedule.sigmoid32(Float(end / temperature))
            let denominator = Double(vEnd - vStart)
            let tau = TorchLinspace.float64(0, t, timesteps + 1).map { $0 / t }
            let f = tau.map { x -> Double in
                let z = (x * (end - start) + start) / temperature
                return (-(1 / (1 + exp(-z))) + Double(vEnd)) / denominator
            }
            return BetaSchedule.betas(fromCumulative: f.map { $0 / f[0] })
        }
    }

    /// `clip(1 − ᾱ(t+1)/ᾱ(t), 0, 0.999)` over a cumulative curve of T+1 points.
    private static func betas(fromCumulative a: [Double]) -> [Double] {
        (0..<(a.count - 1)).map { i in min(max(1 - a[i + 1] / a[i], 0), 0.999) }
    }

    /// PyTorch's scalar float32 sigmoid, `1/(1 + expf(−x))`.
    private static func sigmoid32(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}
