#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One step of the DDIM chain: from timestep `time` to `next` (−1 for the last step, which
/// returns the predicted x₀), with the float32 coefficients of
/// `x_next = √ᾱ_next·x̂₀ + c·ε̂ + σ·z`.
public struct DDIMStep: Sendable, Equatable {
    public let time: Int
    public let next: Int
    /// `√ᾱ_next` (0 on the last step).
    public let sqrtAlphaNext: Float
    /// `√(1 − ᾱ_next − σ²)` (0 on the last step).
    public let c: Float
    /// `η·√((1 − ᾱ/ᾱ_next)(1 − ᾱ_next)/(1 − ᾱ))` (0 on the last step).
    public let sigma: Float

    public var isLast: Bool { next < 0 }
}

/// One step of the ancestral (DDPM) chain at timestep `time`, with the float32 coefficients of
/// `x_{t−1} = coef1·clamp(x̂₀, −1, 1) + coef2·x_t + noiseScale·z`.
public struct DDPMStep: Sendable, Equatable {
    public let time: Int
    public let coef1: Float
    public let coef2: Float
    /// `exp(½·log β̃_t)` (clipped log variance), 0 at t = 0 where no noise is added.
    public let noiseScale: Float
}

extension NoiseSchedule {
    /// The DDIM timestep pairs of the reference: `linspace(−1, T−1, S+1)` in float32, truncated
    /// toward zero, reversed, consecutive pairs; S = 250, T = 1000 gives (999, 995), …, (3, −1).
    public static func ddimTimePairs(timesteps: Int, samplingTimesteps: Int) throws -> [(time: Int, next: Int)] {
        guard samplingTimesteps >= 1, samplingTimesteps <= timesteps else {
            throw DiffusionError.invalidConfiguration(
                "sampling_timesteps must be in 1...\(timesteps) (the training timesteps), got \(samplingTimesteps)")
        }
        let times = TorchLinspace.float32(-1, Float(timesteps - 1), samplingTimesteps + 1)
            .map { Int($0.rounded(.towardZero)) }.reversed().map { $0 }
        return (0..<samplingTimesteps).map { (times[$0], times[$0 + 1]) }
    }

    /// The DDIM chain with `samplingTimesteps` steps and noise scale `eta`, its coefficients
    /// computed in float32 in the reference's order of operations.
    public func ddimSteps(samplingTimesteps: Int, eta: Float) throws -> [DDIMStep] {
        guard eta >= 0, eta.isFinite else {
            throw DiffusionError.invalidConfiguration("ddim_sampling_eta must be finite and non-negative, got \(eta)")
        }
        return try NoiseSchedule.ddimTimePairs(timesteps: timesteps, samplingTimesteps: samplingTimesteps).map { pair in
            guard pair.next >= 0 else { return DDIMStep(time: pair.time, next: pair.next, sqrtAlphaNext: 0, c: 0, sigma: 0) }
            let alpha = alphasCumprod[pair.time]
            let alphaNext = alphasCumprod[pair.next]
            // The ratio can round to a hair above 1 when both ᾱ are equal in float32; the
            // reference would then take the square root of a negative number (NaN). Clamping at
            // 0 is what it means: no noise between identical noise levels.
            let variance = max((1 - alpha / alphaNext) * (1 - alphaNext) / (1 - alpha), 0)
            let sigma = eta * variance.squareRoot()
            let c = max(1 - alphaNext - sigma * sigma, 0).squareRoot()
            return DDIMStep(time: pair.time, next: pair.next, sqrtAlphaNext: alphaNext.squareRoot(), c: c, sigma: sigma)
        }
    }

    /// The ancestral chain T−1 … 0 with its float32 coefficients.
    public var ddpmSteps: [DDPMStep] {
        (0..<timesteps).reversed().map { t in
            DDPMStep(time: t, coef1: posteriorMeanCoef1[t], coef2: posteriorMeanCoef2[t],
                     noiseScale: t > 0 ? expf(0.5 * posteriorLogVarianceClipped[t]) : 0)
        }
    }
}
