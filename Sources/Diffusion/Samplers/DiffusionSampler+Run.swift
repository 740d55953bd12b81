import Devices
import Graph

extension DiffusionSampler {
    /// Element count of one batch of images.
    var imageCount: Int { diffusion.imageShape(batch: batch).reduce(1, *) }

    func slot(_ name: String) throws -> BufferSlice {
        guard let e = step.parameters.layout.entry(named: name) else {
            throw DiffusionError.invalidConfiguration("internal: the sampler graph has no slot '\(name)'")
        }
        return step.parameters.buffer.slice(offset: e.offset * 4)
    }

    /// Runs the whole chain and returns the images `[B, C, H, W]`, unnormalised to [0, 1] when
    /// auto-normalising (not clamped, as in the reference).
    ///
    /// The host enqueues about five commands per step and synchronises once, at the end.
    ///
    /// - Parameter checkEachStep: read the images back after every step and throw
    ///   ``DiffusionError/nonFiniteSample(step:steps:time:)`` at the first step that leaves a NaN
    ///   or an infinity (one synchronisation per step: for diagnosing a chain whose result is not
    ///   finite). Without it, a non-finite result is returned as is.
    public func sample(noise: SamplerNoise, checkEachStep: Bool = false) throws -> [Float] {
        let n = imageCount
        let x = try slot(SamplerGraph.xSlot)
        let coefficients = try slot(SamplerGraph.coefficientSlot)
        var recorded: Buffer?
        switch noise {
        case let .device(seed):
            guard !usesRecordedNoise else {
                throw DiffusionError.invalidConfiguration("this sampler was compiled for recorded noise")
            }
            // x_T from a stream of its own; the step graph's noise uses stream 0 at steps 0, 1, ….
            try queue.upload([UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32), 0, 0],
                             to: step.randomState.slice())
            try queue.launch(.random(.normal(mean: 0, std: 1), count: n, stream: 0x8000_0000), [step.randomState.slice(), x])
        case let .recorded(xT, draws):
            guard usesRecordedNoise || noisyStepCount == 0 else {
                throw DiffusionError.invalidConfiguration("this sampler was compiled for device noise")
            }
            guard xT.count == n else { throw DiffusionError.shapeMismatch(what: "x_T", expected: diffusion.imageShape(batch: batch), got: [xT.count]) }
            guard draws.count == noisyStepCount * n else {
                throw DiffusionError.shapeMismatch(what: "recorded sampling noise", expected: [noisyStepCount] + diffusion.imageShape(batch: batch),
                                                   got: [draws.count])
            }
            try queue.upload(xT, to: x)
            if !draws.isEmpty { recorded = try queue.makeBuffer(draws) }
        }
        let selfCondition = diffusion.selfConditioning ? try slot(SamplerGraph.selfConditionSlot) : nil
        if let selfCondition { try queue.launch(.fill(count: n, value: 0), [selfCondition]) }
        let addsNoise = noisyStepCount > 0
        let noiseSlot = usesRecordedNoise && addsNoise ? try slot(SamplerGraph.noiseSlot) : nil
        // The carried state starts at zero and follows its output after every step.
        let carried = try sampler.carriedState.map { name in
            (slot: try slot(SamplerGraph.stateSlot(name)), output: try step.outputSlice(SamplerGraph.stateOutput(name)).0)
        }
        for c in carried { try queue.launch(.fill(count: n, value: 0), [c.slot]) }
        let (next, _) = try step.outputSlice("x_next")
        let (start, _) = try step.outputSlice("x_start")
        let rowBytes = rowWidth * 4
        for i in times.indices {
            try queue.copy(from: coefficientTable.slice(offset: i * rowBytes), to: coefficients, byteCount: rowBytes)
            if let noiseSlot, let recorded, i < noisyStepCount {
                try queue.copy(from: recorded.slice(offset: i * n * 4), to: noiseSlot, byteCount: n * 4)
            }
            try step.run()
            try queue.copy(from: next, to: x, byteCount: n * 4)
            if let selfCondition { try queue.copy(from: start, to: selfCondition, byteCount: n * 4) }
            for c in carried { try queue.copy(from: c.output, to: c.slot, byteCount: n * 4) }
            if addsNoise, !usesRecordedNoise { try queue.launch(.randomAdvance, [step.randomState.slice()]) }
            if checkEachStep, !(try queue.readFloats(x, count: n)).allSatisfy(\.isFinite) {
                throw DiffusionError.nonFiniteSample(step: i + 1, steps: times.count, time: times[i])
            }
        }
        return diffusion.unnormalize(try queue.readFloats(x, count: n))
    }
}
