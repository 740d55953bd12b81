#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The per-timestep buffers of the reference `GaussianDiffusion`, computed in float64 from the
/// betas and stored as float32, in the reference's state_dict order.
///
/// Every array has `timesteps` elements, indexed by t = 0 … T−1. A schedule whose betas leave
/// (0, 1) or whose ᾱ underflows to 0 in float32 is refused for ε-prediction, because the x₀
/// prediction would divide by zero; v- and x₀-prediction accept ᾱ = 0 (β = 1) at the end of the
/// schedule, as the reference does (the 1/ᾱ buffers are then +∞ there, and no sampler reads them).
public struct NoiseSchedule: Sendable, Equatable {
    public let timesteps: Int
    public let betas: [Float]
    public let alphasCumprod: [Float]
    public let alphasCumprodPrev: [Float]
    public let sqrtAlphasCumprod: [Float]
    public let sqrtOneMinusAlphasCumprod: [Float]
    public let logOneMinusAlphasCumprod: [Float]
    public let sqrtRecipAlphasCumprod: [Float]
    public let sqrtRecipm1AlphasCumprod: [Float]
    public let posteriorVariance: [Float]
    /// `log(max(β̃_t, 1e-20))`: β̃₀ is 0, so its log is clamped as in the reference.
    public let posteriorLogVarianceClipped: [Float]
    public let posteriorMeanCoef1: [Float]
    public let posteriorMeanCoef2: [Float]
    /// The per-timestep loss weight of `objective` (see ``lossWeights(alphasCumprod:objective:minSNRGamma:)``).
    public let lossWeight: [Float]

    /// The buffers of `schedule` over `timesteps` steps for `objective`; `minSNRGamma` clamps the
    /// SNR in the loss weight (min-SNR-γ weighting) when given.
    public init(schedule: BetaSchedule, timesteps: Int, objective: Objective, minSNRGamma: Double? = nil) throws {
        try self.init(betas: schedule.betas(timesteps: timesteps), scheduleName: schedule.name,
                      objective: objective, minSNRGamma: minSNRGamma)
    }

    /// The buffers of explicit float64 `betas` (`scheduleName` names them in errors).
    public init(betas b: [Double], scheduleName: String = "custom", objective: Objective, minSNRGamma: Double? = nil) throws {
        let T = b.count
        func degenerate(_ reason: String) -> DiffusionError {
            DiffusionError.degenerateSchedule(schedule: scheduleName, timesteps: T, reason: reason)
        }
        guard T >= 1 else { throw DiffusionError.invalidConfiguration("a schedule needs at least one timestep") }
        if let gamma = minSNRGamma, !(gamma > 0) {
            throw DiffusionError.invalidConfiguration("min_snr_gamma must be positive, got \(gamma)")
        }
        // ᾱ may reach 0 (a beta of exactly 1, or underflow): "zero terminal SNR" (Lin et al. 2023).
        // x̂₀ = √ᾱ·x_t − √(1−ᾱ)·v and the x₀ objective never divide by ᾱ, so the reference
        // computes finite losses and ancestral chains there; ε-prediction would divide by √ᾱ = 0.
        let allowsZeroAlpha = objective != .predNoise
        if let i = b.firstIndex(where: { !($0 > 0 && ($0 < 1 || (allowsZeroAlpha && $0 == 1))) }) {
            throw degenerate("beta[\(i)] = \(b[i]) is outside (0, \(allowsZeroAlpha ? "1]" : "1)")), so alpha[\(i)] = 1 − beta is \(1 - b[i])"
                + (b[i] == 1 ? " (ᾱ = 0 needs objective pred_v or pred_x0: pred_noise cannot recover x0)" : "")
                + "; use more timesteps or another schedule")
        }
        var ac = [Double](repeating: 0, count: T)
        var running = 1.0
        for i in 0..<T {
            running *= 1 - b[i]
            ac[i] = running
        }
        if !allowsZeroAlpha, let i = ac.firstIndex(where: { Float($0) <= 0 }) {
            throw degenerate("alphas_cumprod[\(i)] = \(ac[i]) underflows to 0 in float32 (pred_noise cannot recover x0 there; pred_v and pred_x0 can)")
        }
        let terminal = ac.firstIndex(where: { Float($0) <= 0 }) ?? T
        let prev = [1.0] + ac.dropLast()
        var posterior = [Double](repeating: 0, count: T)
        for i in 0..<T { posterior[i] = b[i] * (1 - prev[i]) / (1 - ac[i]) }

        /// Float32 buffers; `infiniteAtZeroAlpha` lets 1/ᾱ terms be +∞ where ᾱ is 0, as in the reference's buffers.
        func f32(_ values: [Double], _ name: String, infiniteAtZeroAlpha: Bool = false) throws -> [Float] {
            let out = values.map(Float.init)
            if let i = out.indices.first(where: { !out[$0].isFinite && !(infiniteAtZeroAlpha && $0 >= terminal && out[$0] == .infinity) }) {
                throw degenerate("\(name)[\(i)] = \(values[i]) is not finite in float32")
            }
            return out
        }
        timesteps = T
        betas = try f32(b, "betas")
        alphasCumprod = try f32(ac, "alphas_cumprod")
        alphasCumprodPrev = try f32(prev, "alphas_cumprod_prev")
        sqrtAlphasCumprod = try f32(ac.map { $0.squareRoot() }, "sqrt_alphas_cumprod")
        sqrtOneMinusAlphasCumprod = try f32(ac.map { (1 - $0).squareRoot() }, "sqrt_one_minus_alphas_cumprod")
        logOneMinusAlphasCumprod = try f32(ac.map { log(1 - $0) }, "log_one_minus_alphas_cumprod")
        sqrtRecipAlphasCumprod = try f32(ac.map { (1 / $0).squareRoot() }, "sqrt_recip_alphas_cumprod", infiniteAtZeroAlpha: true)
        sqrtRecipm1AlphasCumprod = try f32(ac.map { (1 / $0 - 1).squareRoot() }, "sqrt_recipm1_alphas_cumprod", infiniteAtZeroAlpha: true)
        if let i = sqrtRecipm1AlphasCumprod.firstIndex(where: { $0 == 0 }) {
            throw degenerate("sqrt(1/alphas_cumprod − 1)[\(i)] is 0 in float32, so noise cannot be recovered from x0")
        }
        posteriorVariance = try f32(posterior, "posterior_variance")
        posteriorLogVarianceClipped = try f32(posterior.map { log(max($0, 1e-20)) }, "posterior_log_variance_clipped")
        var coef1 = [Double](repeating: 0, count: T)
        var coef2 = [Double](repeating: 0, count: T)
        for i in 0..<T {
            let oneMinus: Double = 1 - ac[i]
            coef1[i] = b[i] * prev[i].squareRoot() / oneMinus
            coef2[i] = (1 - prev[i]) * (1 - b[i]).squareRoot() / oneMinus
        }
        posteriorMeanCoef1 = try f32(coef1, "posterior_mean_coef1")
        posteriorMeanCoef2 = try f32(coef2, "posterior_mean_coef2")
        lossWeight = try f32(NoiseSchedule.lossWeights(alphasCumprod: ac, objective: objective, minSNRGamma: minSNRGamma),
                             "loss_weight")
    }

    /// The reference loss weight per timestep in float64: with `snr = ᾱ/(1−ᾱ)` and
    /// `m = min(snr, γ)` (or `snr` without min-SNR), `m/snr` for pred_noise, `m` for pred_x0
    /// and `m/(snr+1)` for pred_v.
    public static func lossWeights(alphasCumprod ac: [Double], objective: Objective, minSNRGamma: Double?) -> [Double] {
        ac.map { a in
            let snr = a / (1 - a)
            let clipped = minSNRGamma.map { min(snr, $0) } ?? snr
            switch objective {
            case .predNoise: return clipped / snr
            case .predX0: return clipped
            case .predV: return clipped / (snr + 1)
            }
        }
    }

    /// The 13 buffers under their reference state_dict names, in the reference's order.
    public var namedBuffers: [(name: String, values: [Float])] {
        [("betas", betas), ("alphas_cumprod", alphasCumprod), ("alphas_cumprod_prev", alphasCumprodPrev),
         ("sqrt_alphas_cumprod", sqrtAlphasCumprod), ("sqrt_one_minus_alphas_cumprod", sqrtOneMinusAlphasCumprod),
         ("log_one_minus_alphas_cumprod", logOneMinusAlphasCumprod),
         ("sqrt_recip_alphas_cumprod", sqrtRecipAlphasCumprod), ("sqrt_recipm1_alphas_cumprod", sqrtRecipm1AlphasCumprod),
         ("posterior_variance", posteriorVariance), ("posterior_log_variance_clipped", posteriorLogVarianceClipped),
         ("posterior_mean_coef1", posteriorMeanCoef1), ("posterior_mean_coef2", posteriorMeanCoef2),
         ("loss_weight", lossWeight)]
    }
}
