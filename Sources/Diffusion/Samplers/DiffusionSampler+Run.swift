import Devices
import Graph

/// A chain's result with the intermediate states it was asked to keep.
public struct SampledChain {
    /// The images `[B, C, H, W]`, unnormalised to [0, 1] when auto-normalising (not clamped).
    public var images: [Float]
    /// The captured step indices, in the order asked.
    public var steps: [Int]
    /// x after each captured step `[B, C, H, W]`, in the model's range ([−1, 1] for data).
    public var x: [[Float]]
    /// The clipped x̂₀ each captured step predicted `[B, C, H, W]`, in the model's range.
    public var xStart: [[Float]]
}

extension DiffusionSampler {
    /// The most device memory the kept steps of one chain may take.
    public static let maxCaptureBytes = 1 << 30

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
        try sample(noise: noise, checkEachStep: checkEachStep, capture: []).images
    }

    /// Runs the whole chain, keeping x and x̂₀ of the `capture` steps on the device and
    /// downloading them with the result (one synchronisation, at the end).
    ///
    /// - Parameters:
    ///   - start: x at the first step `[B, C, H, W]` in the model's range, instead of x_T drawn
    ///     from `noise` (with ``init(diffusion:sampler:denoiser:batch:queue:recordedNoise:skippingFirst:)``'s
    ///     `skippingFirst`, the image noised to that step's level). With recorded noise, the
    ///     recording's x_T is then ignored.
    ///   - inputs: the sampler's ``Sampler/inputs`` by name, each `[B, C, H, W]`, uploaded once.
    ///   - capture: step indices (0-based, each below ``times``'s count) whose x and x̂₀ are kept.
    public func sample(noise: SamplerNoise, start: [Float]? = nil, inputs: [String: [Float]] = [:], checkEachStep: Bool = false,
                       capture: [Int]) throws -> SampledChain {
        let n = imageCount
        let shape = diffusion.imageShape(batch: batch)
        let x = try slot(SamplerGraph.xSlot)
        let coefficients = try slot(SamplerGraph.coefficientSlot)
        if let bad = capture.first(where: { !times.indices.contains($0) }) {
            throw DiffusionError.invalidConfiguration("cannot keep step \(bad) of a chain of \(times.count) steps")
        }
        let keptBytes = (capture.count * 2 + 1) * n * 4
        guard capture.isEmpty || keptBytes <= DiffusionSampler.maxCaptureBytes else {
            throw DiffusionError.invalidConfiguration("keeping \(capture.count) steps of \(batch) images needs \(keptBytes) bytes of device memory, "
                + "more than the limit of \(DiffusionSampler.maxCaptureBytes); keep fewer steps or sample smaller batches")
        }
        if let start, start.count != n { throw DiffusionError.shapeMismatch(what: "the chain's start", expected: shape, got: [start.count]) }
        for name in sampler.inputs {
            guard let values = inputs[name] else { throw DiffusionError.invalidConfiguration("\(sampler) needs the input '\(name)'") }
            guard values.count == n else { throw DiffusionError.shapeMismatch(what: "the input '\(name)'", expected: shape, got: [values.count]) }
        }
        if let extra = inputs.keys.sorted().first(where: { !sampler.inputs.contains($0) }) {
            throw DiffusionError.invalidConfiguration("\(sampler) takes no input '\(extra)'")
        }
        let addsNoise = noisyStepCount > 0
        let draws = addsNoise ? sampler.noiseDraws : 0
        var recorded: Buffer?
        switch noise {
        case let .device(seed):
            guard !usesRecordedNoise else {
                throw DiffusionError.invalidConfiguration("this sampler was compiled for recorded noise")
            }
            // x_T from a stream of its own; the step graph's draws use their own streams, advanced every step.
            try queue.upload([UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32), 0, 0],
                             to: step.randomState.slice())
            if let start { try queue.upload(start, to: x) } else {
                try queue.launch(.random(.normal(mean: 0, std: 1), count: n, stream: 0x8000_0000), [step.randomState.slice(), x])
            }
        case let .recorded(xT, recordedDraws):
            guard usesRecordedNoise || noisyStepCount == 0 else {
                throw DiffusionError.invalidConfiguration("this sampler was compiled for device noise")
            }
            guard xT.count == n else { throw DiffusionError.shapeMismatch(what: "x_T", expected: shape, got: [xT.count]) }
            guard recordedDraws.count == noisyStepCount * draws * n else {
                throw DiffusionError.shapeMismatch(what: "recorded sampling noise", expected: [noisyStepCount] + (draws > 1 ? [draws] : []) + shape,
                                                   got: [recordedDraws.count])
            }
            try queue.upload(start ?? xT, to: x)
            if !recordedDraws.isEmpty { recorded = try queue.makeBuffer(recordedDraws) }
        }
        for name in sampler.inputs { try queue.upload(inputs[name]!, to: try slot(SamplerGraph.inputSlot(name))) }
        let selfCondition = diffusion.selfConditioning ? try slot(SamplerGraph.selfConditionSlot) : nil
        if let selfCondition { try queue.launch(.fill(count: n, value: 0), [selfCondition]) }
        let noiseSlot = usesRecordedNoise && addsNoise ? try slot(SamplerGraph.noiseSlot) : nil
        // The carried state starts at zero and follows its output after every step.
        let carried = try sampler.carriedState.map { name in
            (slot: try slot(SamplerGraph.stateSlot(name)), output: try step.outputSlice(SamplerGraph.stateOutput(name)).0)
        }
        for c in carried { try queue.launch(.fill(count: n, value: 0), [c.slot]) }
        // Kept states: [k, 2, B, C, H, W] on the device, then the final x: one download at the end.
        let kept = capture.isEmpty ? nil : try queue.device.allocate(bytes: (capture.count * 2 + 1) * n * 4)
        let (next, _) = try step.outputSlice("x_next")
        let (predicted, _) = try step.outputSlice("x_start")
        let rowBytes = rowWidth * 4
        let drawBytes = draws * n * 4
        for i in times.indices {
            try queue.copy(from: coefficientTable.slice(offset: i * rowBytes), to: coefficients, byteCount: rowBytes)
            if let noiseSlot, let recorded, i < noisyStepCount {
                try queue.copy(from: recorded.slice(offset: i * drawBytes), to: noiseSlot, byteCount: drawBytes)
            }
            try step.run()
            try queue.copy(from: next, to: x, byteCount: n * 4)
            if let selfCondition { try queue.copy(from: predicted, to: selfCondition, byteCount: n * 4) }
            for c in carried { try queue.copy(from: c.output, to: c.slot, byteCount: n * 4) }
            if let kept {
                for (j, s) in capture.enumerated() where s == i {
                    try queue.copy(from: next, to: kept.slice(offset: j * 2 * n * 4), byteCount: n * 4)
                    try queue.copy(from: predicted, to: kept.slice(offset: (j * 2 + 1) * n * 4), byteCount: n * 4)
                }
            }
            if addsNoise, !usesRecordedNoise { try queue.launch(.randomAdvance, [step.randomState.slice()]) }
            if checkEachStep, !(try queue.readFloats(x, count: n)).allSatisfy(\.isFinite) {
                throw DiffusionError.nonFiniteSample(step: i + 1, steps: times.count, time: times[i])
            }
        }
        var result = SampledChain(images: [], steps: capture, x: [], xStart: [])
        guard let kept else {
            result.images = diffusion.unnormalize(try queue.readFloats(x, count: n))
            return result
        }
        let k = capture.count
        try queue.copy(from: x, to: kept.slice(offset: k * 2 * n * 4), byteCount: n * 4)
        let all = try queue.readFloats(kept.slice(), count: (k * 2 + 1) * n)
        for j in 0..<k {
            result.x.append(Array(all[(j * 2 * n)..<((j * 2 + 1) * n)]))
            result.xStart.append(Array(all[((j * 2 + 1) * n)..<((j * 2 + 2) * n)]))
        }
        result.images = diffusion.unnormalize(Array(all[(k * 2 * n)...]))
        return result
    }
}
