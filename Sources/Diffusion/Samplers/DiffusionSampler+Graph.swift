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
    /// The slot of the chain input `name`.
    static func inputSlot(_ name: String) -> String { "sampler.input.\(name)" }

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
        let draws = sampler.noiseDraws
        var z: [Tensor] = []
        switch noise {
        case .none: break
        case .device: z = try (0..<draws).map { _ in try g.randomNormal(shape) }
        case .recorded:
            // One slot [draws·B, C, H, W]: the step's row of the recorded noise, copied in whole.
            let all = try g.parameter(noiseSlot, [draws * batch] + shape.dropFirst(), initializer: .zeros)
            z = draws == 1 ? [all] : try (0..<draws).map { try g.slice(all, axis: 0, start: $0 * batch, length: batch) }
        }
        var state: [String: Tensor] = [:]
        for name in sampler.carriedState {
            state[name] = try g.parameter(stateSlot(name), shape, initializer: .zeros)
        }
        var inputs: [String: Tensor] = [:]
        for name in sampler.inputs {
            inputs[name] = try g.parameter(inputSlot(name), shape, initializer: .zeros)
        }
        return try g.scope("sampler") {
            func coefficient(_ j: Int) throws -> Tensor { try g.reshape(g.slice(row, axis: 0, start: j, length: 1), [1, 1, 1, 1]) }
            let time = try g.expand(g.slice(row, axis: 0, start: 0, length: 1), to: [batch])
            let (sqrtRecip, sqrtRecipm1) = (try coefficient(1), try coefficient(2))
            let (sqrtAC, sqrtOneMinusAC) = (try coefficient(3), try coefficient(4))
            var coefficients: [String: Tensor] = [:]
            for (j, name) in names.enumerated() { coefficients[name] = try coefficient(SamplerRow.predictionWidth + j) }

            let context = SamplerStepContext(x: x, noises: z, sqrtRecipAlphaCumprod: sqrtRecip, sqrtRecipm1AlphaCumprod: sqrtRecipm1,
                                             coefficients: coefficients, state: state, inputs: inputs)
            // What the network sees (the sampler may change x_t: inpainting); the update sees it as x_t.
            let xIn = try sampler.modelInput(g, context)
            let prediction = try network.prediction(g, x: xIn, time: time, selfCondition: selfCond)
            let out = prediction.output
            // x̂₀ from a model output, clipped to [−1, 1] as the reference samplers do.
            func clippedStart(_ out: Tensor) throws -> Tensor {
                switch diffusion.configuration.objective {
                case .predNoise: return try g.clamp(g.sub(g.mul(sqrtRecip, xIn), g.mul(sqrtRecipm1, out)), low: -1, high: 1)
                case .predX0: return try g.clamp(out, low: -1, high: 1)
                case .predV: return try g.clamp(g.sub(g.mul(sqrtAC, xIn), g.mul(sqrtOneMinusAC, out)), low: -1, high: 1)
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
                    noisePrediction = try g.div(g.sub(g.mul(sqrtRecip, xIn), start), sqrtRecipm1)
                }
            }
            let stepContext = SamplerStepContext(x: xIn, noises: z, sqrtRecipAlphaCumprod: sqrtRecip, sqrtRecipm1AlphaCumprod: sqrtRecipm1,
                                                 coefficients: coefficients, state: state, inputs: inputs)
            let update = try sampler.update(g, SamplerStepInputs(context: stepContext, modelOutput: out, xStart: x0,
                                                                 noisePrediction: noisePrediction))
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
