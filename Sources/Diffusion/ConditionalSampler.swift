import Devices
import Graph
import SafeTensors

/// Runs a guided sampling chain of a ``ConditionalDiffusion`` on one device, x_t resident there
/// from x_T to x₀, as ``DiffusionSampler`` does for the unconditional model.
///
/// One step is one compiled graph: the conditional and null predictions as one batched forward
/// of 2B (``ConditionalUnet/guidedForward(_:weights:x:time:classes:guidance:)``), the guidance,
/// x̂₀ clipped to [−1, 1] and the update. The differences from the unconditional module's
/// samplers are the reference's: DDIM takes ε̂ from the (guided, or with CFG++ the null) model
/// output as it is for `pred_noise` instead of re-deriving it from the clipped x̂₀, and for
/// `pred_x0`/`pred_v` derives it from the clipped x̂₀ of the guided (or, with CFG++, the null)
/// output. The classes are uploaded once into a slot of the step graph.
public final class ConditionalSampler {
    public let diffusion: ConditionalDiffusion
    public let method: SamplingMethod
    public let guidance: Guidance
    public let batch: Int
    public let queue: Queue
    /// The compiled step (its parameter store holds the Unet weights and the state slots).
    public let step: CompiledGraph
    /// The timesteps of the chain, in order.
    public let times: [Int]

    let coefficientTable: Buffer
    let usesRecordedNoise: Bool
    let addsNoise: Bool

    static let classesSlot = "sampler.classes"

    /// Compiles the step graph for `batch` images on `queue`'s device. Load weights with
    /// ``loadWeights(_:prefix:)`` or ``copyWeights(from:)`` before sampling.
    public init(diffusion: ConditionalDiffusion, method: SamplingMethod, guidance: Guidance, batch: Int, queue: Queue,
                recordedNoise: Bool = false) throws {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        try guidance.validate()
        self.diffusion = diffusion
        self.method = method
        self.guidance = guidance
        self.batch = batch
        self.queue = queue
        self.usesRecordedNoise = recordedNoise
        let schedule = diffusion.schedule
        let rows: [[Float]]
        switch method {
        case .ddpm:
            let steps = schedule.ddpmSteps
            times = steps.map(\.time)
            rows = steps.map { SamplerRow.prediction(schedule, $0.time) + [$0.coef1, $0.coef2, $0.noiseScale] }
            addsNoise = times.count > 1
        case let .ddim(count, eta):
            let steps = try schedule.ddimSteps(samplingTimesteps: count, eta: eta)
            if let zero = steps.first(where: { schedule.alphasCumprod[$0.time] == 0 }) {
                throw DiffusionError.degenerateSchedule(
                    schedule: diffusion.configuration.betaSchedule.name, timesteps: schedule.timesteps,
                    reason: "DDIM passes through timestep \(zero.time), where alphas_cumprod is 0 and ε cannot be derived from x0; use ancestral sampling or fewer DDIM steps")
            }
            times = steps.map(\.time)
            // The last step returns x̂₀: √ᾱ' = 1, c = 0, σ = 0.
            rows = steps.map { SamplerRow.prediction(schedule, $0.time) + ($0.isLast ? [1, 0, 0] : [$0.sqrtAlphaNext, $0.c, $0.sigma]) }
            addsNoise = eta > 0 && steps.contains { !$0.isLast && $0.sigma > 0 }
        }
        coefficientTable = try queue.makeBuffer(rows.flatMap { $0 })
        let g = GraphBuilder()
        let weights = try diffusion.unet.declareParameters(in: g)
        let outputs = try ConditionalSampler.buildStep(g, diffusion: diffusion, weights: weights, method: method, guidance: guidance,
                                                       batch: batch, noise: addsNoise ? (recordedNoise ? .recorded : .device) : .none)
        step = try CompiledGraph(g, outputs: outputs, queue: queue)
    }

    /// Loads a reference state_dict (keys `prefix + <reference key>`) into the step's weights.
    public func loadWeights(_ file: SafeTensorsFile, prefix: String = "") throws {
        try diffusion.unet.loadStateDict(file, prefix: prefix, into: step.parameters, queue: queue)
    }

    /// Copies the Unet weights from another store on the same device (e.g. a training step's
    /// EMA); the store's leading entries must be this Unet's parameters in state_dict order.
    public func copyWeights(from store: ParameterStore) throws {
        let mine = Array(step.parameters.layout.entries.prefix(diffusion.unet.parameterSpecs.count))
        let theirs = Array(store.layout.entries.prefix(mine.count))
        guard theirs.count == mine.count, zip(mine, theirs).allSatisfy({ $0.name == $1.name && $0.offset == $1.offset && $0.count == $1.count }) else {
            throw DiffusionError.invalidConfiguration("the parameter store does not start with this Unet's parameters in state_dict order")
        }
        try queue.copy(from: store.buffer.slice(), to: step.parameters.buffer.slice(), byteCount: diffusion.unet.parameterCount * 4)
    }

    /// Steps of the chain that add noise (all but the last).
    public var noisyStepCount: Int { addsNoise ? times.count - 1 : 0 }

    /// The graph of one guided step.
    static func buildStep(_ g: GraphBuilder, diffusion: ConditionalDiffusion, weights: UnetWeights, method: SamplingMethod,
                          guidance: Guidance, batch: Int, noise: SamplerGraph.Noise) throws -> [String: Tensor] {
        let shape = diffusion.imageShape(batch: batch)
        let x = try g.parameter(SamplerGraph.xSlot, shape, initializer: .zeros)
        let row = try g.parameter(SamplerGraph.coefficientSlot, [SamplerRow.width], initializer: .zeros)
        let classes = try g.parameter(classesSlot, [batch], initializer: .zeros)
        let z: Tensor?
        switch noise {
        case .none: z = nil
        case .device: z = try g.randomNormal(shape)
        case .recorded: z = try g.parameter(SamplerGraph.noiseSlot, shape, initializer: .zeros)
        }
        return try g.scope("sampler") {
            func coefficient(_ j: Int) throws -> Tensor { try g.reshape(g.slice(row, axis: 0, start: j, length: 1), [1, 1, 1, 1]) }
            let time = try g.expand(g.slice(row, axis: 0, start: 0, length: 1), to: [batch])
            let (sqrtRecip, sqrtRecipm1) = (try coefficient(1), try coefficient(2))
            let (sqrtAC, sqrtOneMinusAC) = (try coefficient(3), try coefficient(4))
            let (u0, u1, u2) = (try coefficient(5), try coefficient(6), try coefficient(7))
            let prediction = try diffusion.unet.guidedForward(g, weights: weights, x: x, time: time, classes: classes, guidance: guidance)
            func startFrom(_ out: Tensor) throws -> Tensor {
                switch diffusion.configuration.objective {
                case .predNoise: return try g.sub(g.mul(sqrtRecip, x), g.mul(sqrtRecipm1, out))
                case .predX0: return out
                case .predV: return try g.sub(g.mul(sqrtAC, x), g.mul(sqrtOneMinusAC, out))
                }
            }
            let x0 = try g.clamp(startFrom(prediction.guided), low: -1, high: 1)
            var next: Tensor
            switch method {
            case .ddpm:
                next = try g.add(g.mul(u0, x0), g.mul(u1, x))
            case .ddim:
                let eps: Tensor
                let renoiseFrom = guidance.cfgPlusPlus ? prediction.null : prediction.guided
                switch diffusion.configuration.objective {
                case .predNoise:
                    eps = renoiseFrom
                case .predX0, .predV:
                    var start = x0
                    if guidance.cfgPlusPlus { start = try g.clamp(startFrom(renoiseFrom), low: -1, high: 1) }
                    eps = try g.div(g.sub(g.mul(sqrtRecip, x), start), sqrtRecipm1)
                }
                next = try g.add(g.mul(u0, x0), g.mul(u1, eps))
            }
            if let z { next = try g.add(next, g.mul(u2, z)) }
            return ["x_next": next, "x_start": x0]
        }
    }
}

extension ConditionalSampler {
    private func slot(_ name: String) throws -> BufferSlice {
        guard let e = step.parameters.layout.entry(named: name) else {
            throw DiffusionError.invalidConfiguration("internal: the sampler graph has no slot '\(name)'")
        }
        return step.parameters.buffer.slice(offset: e.offset * 4)
    }

    /// Runs the whole chain for `classes` (one per image, each in `0..<num_classes`) and returns
    /// the images `[B, C, H, W]` unnormalised to [0, 1] (not clamped, as in the reference).
    public func sample(classes: [Int], noise: SamplerNoise) throws -> [Float] {
        let k = diffusion.numClasses
        guard classes.count == batch else { throw DiffusionError.shapeMismatch(what: "sampling classes", expected: [batch], got: [classes.count]) }
        if let bad = classes.first(where: { !(0..<k).contains($0) }) {
            throw DiffusionError.invalidConfiguration("class \(bad) is out of range: the model has classes 0...\(k - 1)")
        }
        let n = diffusion.imageShape(batch: batch).reduce(1, *)
        let x = try slot(SamplerGraph.xSlot)
        let coefficients = try slot(SamplerGraph.coefficientSlot)
        try queue.upload(classes.map(Float.init), to: try slot(ConditionalSampler.classesSlot))
        var recorded: Buffer?
        switch noise {
        case let .device(seed):
            guard !usesRecordedNoise else { throw DiffusionError.invalidConfiguration("this sampler was compiled for recorded noise") }
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
        let noiseSlot = usesRecordedNoise && addsNoise ? try slot(SamplerGraph.noiseSlot) : nil
        let (next, _) = try step.outputSlice("x_next")
        let rowBytes = SamplerRow.width * 4
        for i in times.indices {
            try queue.copy(from: coefficientTable.slice(offset: i * rowBytes), to: coefficients, byteCount: rowBytes)
            if let noiseSlot, let recorded, i < noisyStepCount {
                try queue.copy(from: recorded.slice(offset: i * n * 4), to: noiseSlot, byteCount: n * 4)
            }
            try step.run()
            try queue.copy(from: next, to: x, byteCount: n * 4)
            if addsNoise, !usesRecordedNoise { try queue.launch(.randomAdvance, [step.randomState.slice()]) }
        }
        return diffusion.unnormalize(try queue.readFloats(x, count: n))
    }
}
