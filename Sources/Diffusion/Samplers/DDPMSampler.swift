import Graph

/// The reference's ancestral chain (`p_sample_loop`) over all T timesteps with the fixed-small
/// (clipped log) posterior variance:
/// `x_{t−1} = coef1·x̂₀ + coef2·x_t + exp(½·log β̃_t)·z`, no noise at t = 0.
public struct DDPMSampler: Sampler {
    public init() {}

    public var description: String { "DDPM ancestral sampling (all timesteps)" }

    public var coefficientNames: [String] { ["posterior_mean_coef1", "posterior_mean_coef2", "noise_scale"] }
    public var carriedState: [String] { [] }

    public func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan {
        let steps = schedule.ddpmSteps
        return SamplerPlan(times: steps.map(\.time), coefficients: steps.map { [$0.coef1, $0.coef2, $0.noiseScale] },
                           noisyStepCount: steps.count > 1 ? steps.count - 1 : 0)
    }

    public func update(_ g: GraphBuilder, _ s: SamplerStepInputs) throws -> SamplerUpdate {
        // μ̃ = coef1·x̂₀ + coef2·x_t (the posterior mean q(x_{t−1} | x_t, x̂₀)).
        var next = try g.add(g.mul(s.coefficient("posterior_mean_coef1"), s.xStart), g.mul(s.coefficient("posterior_mean_coef2"), s.x))
        if let z = s.noise { next = try g.add(next, g.mul(s.coefficient("noise_scale"), z)) }
        return SamplerUpdate(next: next)
    }
}
