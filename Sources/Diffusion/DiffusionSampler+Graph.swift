import Graph

/// The layout of one row of the sampler's per-step coefficient table.
enum SamplerRow {
    /// `[t, √(1/ᾱ_t), √(1/ᾱ_t − 1), √ᾱ_t, √(1 − ᾱ_t), u₀, u₁, u₂]`; the update coefficients `u` are
    /// `(posterior_mean_coef1, posterior_mean_coef2, exp(½·log β̃))` for DDPM and `(√ᾱ', c, σ)` for DDIM.
    static let width = 8

    /// The first five entries for timestep `t`.
    static func prediction(_ s: NoiseSchedule, _ t: Int) -> [Float] {
        [Float(t), s.sqrtRecipAlphasCumprod[t], s.sqrtRecipm1AlphasCumprod[t], s.sqrtAlphasCumprod[t],
         s.sqrtOneMinusAlphasCumprod[t]]
    }
}

/// Builds the graph of one sampling step.
enum SamplerGraph {
    enum Noise { case none, device, recorded }

    struct Built {
        var outputs: [String: Tensor]
    }

    static let xSlot = "sampler.x"
    static let coefficientSlot = "sampler.coefficients"
    static let selfConditionSlot = "sampler.self_cond"
    static let noiseSlot = "sampler.noise"

    static func build(_ g: GraphBuilder, diffusion: GaussianDiffusion, weights: UnetWeights, method: SamplingMethod,
                      batch: Int, noise: Noise) throws -> Built {
        let shape = diffusion.imageShape(batch: batch)
        let x = try g.parameter(xSlot, shape, initializer: .zeros)
        let row = try g.parameter(coefficientSlot, [SamplerRow.width], initializer: .zeros)
        let selfCond = diffusion.unet.configuration.selfCondition
            ? try g.parameter(selfConditionSlot, shape, initializer: .zeros) : nil
        let z: Tensor?
        switch noise {
        case .none: z = nil
        case .device: z = try g.randomNormal(shape)
        case .recorded: z = try g.parameter(noiseSlot, shape, initializer: .zeros)
        }
        return try g.scope("sampler") {
            func coefficient(_ j: Int) throws -> Tensor { try g.reshape(g.slice(row, axis: 0, start: j, length: 1), [1, 1, 1, 1]) }
            let time = try g.expand(g.slice(row, axis: 0, start: 0, length: 1), to: [batch])
            let (sqrtRecip, sqrtRecipm1) = (try coefficient(1), try coefficient(2))
            let (sqrtAC, sqrtOneMinusAC) = (try coefficient(3), try coefficient(4))
            let (u0, u1, u2) = (try coefficient(5), try coefficient(6), try coefficient(7))

            let out = try diffusion.unet.forward(g, weights: weights, x: x, time: time, selfCondition: selfCond)
            // x̂₀ from the model output, clipped to [−1, 1] as the reference samplers do.
            var x0: Tensor
            switch diffusion.configuration.objective {
            case .predNoise: x0 = try g.sub(g.mul(sqrtRecip, x), g.mul(sqrtRecipm1, out))
            case .predX0: x0 = out
            case .predV: x0 = try g.sub(g.mul(sqrtAC, x), g.mul(sqrtOneMinusAC, out))
            }
            x0 = try g.clamp(x0, low: -1, high: 1)
            var next: Tensor
            switch method {
            case .ddpm:
                // μ̃ = coef1·x̂₀ + coef2·x_t.
                next = try g.add(g.mul(u0, x0), g.mul(u1, x))
            case .ddim:
                // ε̂ re-derived from the clipped x̂₀, then √ᾱ'·x̂₀ + c·ε̂.
                let eps = try g.div(g.sub(g.mul(sqrtRecip, x), x0), sqrtRecipm1)
                next = try g.add(g.mul(u0, x0), g.mul(u1, eps))
            }
            if let z { next = try g.add(next, g.mul(u2, z)) }
            return Built(outputs: ["x_next": next, "x_start": x0])
        }
    }
}
