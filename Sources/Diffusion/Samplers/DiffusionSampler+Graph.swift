import Graph

/// The layout of one row of the sampler's per-step coefficient table.
enum SamplerRow {
    /// `[t, √(1/ᾱ_t), √(1/ᾱ_t − 1), √ᾱ_t, √(1 − ᾱ_t)]`, the entries every sampler's row starts
    /// with (what turns the model output into x̂₀); the sampler's named coefficients follow.
    static let predictionWidth = 5

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

    /// The slot of the carried tensor `name` and the graph output that updates it.
    static func stateSlot(_ name: String) -> String { "sampler.state.\(name)" }
    static func stateOutput(_ name: String) -> String { "state.\(name)" }

    static func build(_ g: GraphBuilder, diffusion: any DiffusionProcess, network: any DenoiserGraph, sampler: any Sampler,
                      batch: Int, noise: Noise) throws -> Built {
        let shape = diffusion.imageShape(batch: batch)
        let names = sampler.coefficientNames
        let x = try g.parameter(xSlot, shape, initializer: .zeros)
        let row = try g.parameter(coefficientSlot, [SamplerRow.predictionWidth + names.count], initializer: .zeros)
        let selfCond = diffusion.selfConditioning ? try g.parameter(selfConditionSlot, shape, initializer: .zeros) : nil
        let z: Tensor?
        switch noise {
        case .none: z = nil
        case .device: z = try g.randomNormal(shape)
        case .recorded: z = try g.parameter(noiseSlot, shape, initializer: .zeros)
        }
        var state: [String: Tensor] = [:]
        for name in sampler.carriedState {
            state[name] = try g.parameter(stateSlot(name), shape, initializer: .zeros)
        }
        return try g.scope("sampler") {
            func coefficient(_ j: Int) throws -> Tensor { try g.reshape(g.slice(row, axis: 0, start: j, length: 1), [1, 1, 1, 1]) }
            let time = try g.expand(g.slice(row, axis: 0, start: 0, length: 1), to: [batch])
            let (sqrtRecip, sqrtRecipm1) = (try coefficient(1), try coefficient(2))
            let (sqrtAC, sqrtOneMinusAC) = (try coefficient(3), try coefficient(4))
            var coefficients: [String: Tensor] = [:]
            for (j, name) in names.enumerated() { coefficients[name] = try coefficient(SamplerRow.predictionWidth + j) }

            let prediction = try network.prediction(g, x: x, time: time, selfCondition: selfCond)
            let out = prediction.output
            // x̂₀ from a model output, clipped to [−1, 1] as the reference samplers do.
            func clippedStart(_ out: Tensor) throws -> Tensor {
                switch diffusion.configuration.objective {
                case .predNoise: return try g.clamp(g.sub(g.mul(sqrtRecip, x), g.mul(sqrtRecipm1, out)), low: -1, high: 1)
                case .predX0: return try g.clamp(out, low: -1, high: 1)
                case .predV: return try g.clamp(g.sub(g.mul(sqrtAC, x), g.mul(sqrtOneMinusAC, out)), low: -1, high: 1)
                }
            }
            let x0 = try clippedStart(out)
            var noisePrediction: Tensor?
            switch prediction.renoise {
            case .fromClippedStart:
                noisePrediction = nil
            case let .fromOutput(source):
                switch diffusion.configuration.objective {
                case .predNoise:
                    noisePrediction = source
                case .predX0, .predV:
                    var start = x0
                    if source != out { start = try clippedStart(source) }
                    noisePrediction = try g.div(g.sub(g.mul(sqrtRecip, x), start), sqrtRecipm1)
                }
            }
            let inputs = SamplerStepInputs(x: x, modelOutput: out, xStart: x0, noise: z, sqrtRecipAlphaCumprod: sqrtRecip,
                                           sqrtRecipm1AlphaCumprod: sqrtRecipm1, coefficients: coefficients, state: state,
                                           noisePrediction: noisePrediction)
            let update = try sampler.update(g, inputs)
            var outputs = ["x_next": update.next, "x_start": x0]
            for name in sampler.carriedState {
                guard let t = update.state[name] else {
                    throw DiffusionError.invalidConfiguration("internal: \(sampler) does not update its carried '\(name)'")
                }
                outputs[stateOutput(name)] = t
            }
            return Built(outputs: outputs)
        }
    }
}
