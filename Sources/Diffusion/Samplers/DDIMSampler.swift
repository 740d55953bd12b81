import Graph

/// The reference's DDIM (`ddim_sample`) over `steps` timesteps with noise scale `eta`:
/// ε̂ re-derived from the clipped x̂₀, then `x' = √ᾱ'·x̂₀ + c·ε̂ + σ·z` with
/// `σ = η·√((1 − ᾱ/ᾱ')(1 − ᾱ')/(1 − ᾱ))` and `c = √(1 − ᾱ' − σ²)`; the last step returns x̂₀.
public struct DDIMSampler: Sampler, Equatable {
    public let steps: Int
    public let eta: Float

    public init(steps: Int, eta: Float = 0) {
        self.steps = steps
        self.eta = eta
    }

    public var description: String { "DDIM (\(steps) steps, eta \(eta))" }

    public var coefficientNames: [String] { ["sqrt_alpha_next", "c", "sigma"] }
    public var carriedState: [String] { [] }

    public func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan {
        let steps = try schedule.ddimSteps(samplingTimesteps: self.steps, eta: eta)
        if let zero = steps.first(where: { schedule.alphasCumprod[$0.time] == 0 }) {
            throw DiffusionError.invalidConfiguration(
                "DDIM passes through timestep \(zero.time), where alphas_cumprod is 0 (zero terminal SNR) and ε cannot be derived from x0; "
                    + "sample with ddpm or with fewer DDIM steps")
        }
        let noisy = eta > 0 && steps.contains { !$0.isLast && $0.sigma > 0 }
        // The last step returns x̂₀: √ᾱ' = 1, c = 0, σ = 0 reproduce that exactly.
        return SamplerPlan(times: steps.map(\.time), coefficients: steps.map { $0.isLast ? [1, 0, 0] : [$0.sqrtAlphaNext, $0.c, $0.sigma] },
                           noisyStepCount: noisy ? steps.count - 1 : 0)
    }

    public func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate {
        let eps = try s.predictedNoise(g)
        var next = try g.add(g.mul(s.coefficient("sqrt_alpha_next"), s.xStart), g.mul(s.coefficient("c"), eps))
        if let z = s.noise { next = try g.add(next, g.mul(s.coefficient("sigma"), z)) }
        return SamplerUpdate(next: next)
    }
}
