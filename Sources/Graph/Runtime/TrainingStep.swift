import Devices

/// One training step as ONE schedule on one queue: forward, loss, backward, global grad-norm
/// clip, Adam and EMA, with timesteps and noise drawn on the device.
///
/// Per step the host uploads the image batch and enqueues the schedule; nothing else. The
/// learning rate, step count and clip factor live in a device `hyper` buffer (``AdamHyper``): the
/// step count is incremented by a kernel, the clip factor written by `grad_clip_scale`, and the
/// learning rate uploaded (4 bytes) only when ``setLearningRate(_:)`` changes it. Every
/// `logEvery` steps the loss (and the squared gradient norm) is downloaded asynchronously into a
/// host buffer and read at the next such boundary, so the host blocks at most once per
/// `logEvery` steps, which also keeps it from running arbitrarily far ahead of the device.
///
/// Several loss graphs over the same parameters (e.g. with and without the self-conditioning
/// pass, which lucidrains takes on a coin flip) can share one optimiser as *variants*: each step
/// names the variant to run, and they share weights, gradients, moments, EMA and random state.
///
/// This is the one optimiser engine of `ddpm`. With `microBatches` M > 1 a step runs the graph
/// once per micro-batch, sums the gradients and losses in micro-batch order, scales the sums by
/// 1/M and runs the same tail (see `TrainingStep+MicroBatches.swift`); the micro-batches are
/// either all local (`--grad-accum`) or spread over the processes of a ``ProcessGroup``
/// (`mpirun`), and both give the same bits.
public final class TrainingStep {
    public let configuration: TrainingConfiguration
    /// The compiled forward + backward graph of every variant (variant 0 first).
    public let variants: [CompiledGraph]
    /// Variant 0's compiled graph (its parameters are the trained weights).
    public var compiled: CompiledGraph { variants[0] }
    /// The EMA of the weights (same layout), when enabled.
    public let ema: ParameterStore?
    /// A step of variant 0 without an EMA update: graph launches, then the optimiser tail.
    public var schedule: Schedule { compiled.schedule.followed(by: optimizerTail) }
    /// What every step appends after its graph: grad norm, clip, step count, Adam, random advance.
    public let optimizerTail: Schedule
    /// What a step that copies the weights into the EMA appends (before `updateAfterStep`).
    public let emaCopyTail: Schedule
    /// What a step that updates the EMA appends (decay computed on the device from the step count).
    public let emaUpdateTail: Schedule
    public var queue: Queue { compiled.queue }
    public var parameters: ParameterStore { compiled.parameters }

    /// Micro-batches of one optimiser step over the whole job (1: the step is one schedule).
    public let microBatches: Int
    /// The processes sharing the micro-batches; nil when this process runs all of them.
    public let group: ProcessGroup?
    /// Micro-batches this process runs per step: `microBatches / group.size`.
    public let localMicroBatches: Int

    /// Steps enqueued so far.
    public internal(set) var stepCount = 0
    /// Losses read back so far, oldest first.
    public private(set) var losses: [LossRecord] = []
    /// Seconds spent in ``ProcessGroup/allGather(_:into:)`` (waiting for the slowest process included).
    public internal(set) var exchangeSeconds: Double = 0

    let executors: [Executor]
    let tailExecutor: Executor
    private let emaCopyExecutor: Executor
    private let emaUpdateExecutor: Executor
    private let m: Buffer
    private let v: Buffer
    private let hyper: Buffer
    private let emaHyper: Buffer
    private let stats: Buffer
    /// With M > 1: the sums of the micro-batches' gradients and losses (the tail reads them).
    let gradientSum: Buffer?
    let lossSum: Buffer?
    /// With a group: where a received micro-batch's gradient and loss are uploaded before the add.
    let staging: Buffer?
    /// With M > 1 the host keys every micro-batch's random draws (see ``setRandomCounter(_:)``).
    var randomWords: [UInt32]
    /// With a group: the host memory the gradients are staged through, kept from step to step
    /// (allocated at the first step; see `TrainingStep+MicroBatches.swift`).
    var hostStaging: HostStaging?
    private var learningRate: Float
    private var emaDecay: Float
    private var pending: (step: Int, loss: HostBuffer, norm: HostBuffer, event: Event)?

    /// Differentiates `loss` with respect to every parameter of `builder`, compiles the step for
    /// `queue`'s device, initialises the parameters from `configuration.seed`, the moments to 0 and
    /// the EMA to the initial weights.
    ///
    /// Steps differ only in their EMA tail (none, copy, or update, as ema-pytorch decides from the
    /// step count), which the host picks from its own step counter: no data moves for it.
    public convenience init(builder: GraphBuilder, loss: Tensor, queue: Queue,
                            configuration: TrainingConfiguration = TrainingConfiguration()) throws {
        try self.init(variants: [(builder, loss)], queue: queue, configuration: configuration)
    }

    /// A step with several variants: loss graphs with the same parameters (names and shapes).
    ///
    /// - Parameters:
    ///   - microBatches: micro-batches per optimiser step over the whole job; each variant's
    ///     graph is built for one micro-batch.
    ///   - group: the processes that share them (process `r` runs micro-batches
    ///     `r·L ..< (r+1)·L`, `L = microBatches / group.size`); nil or a group of one: this
    ///     process runs them all.
    public init(variants: [(builder: GraphBuilder, loss: Tensor)], queue: Queue,
                configuration: TrainingConfiguration = TrainingConfiguration(),
                microBatches: Int = 1, group: ProcessGroup? = nil) throws {
        guard configuration.logEvery >= 1 else { throw GraphError.invalidUse("logEvery must be at least 1") }
        guard !variants.isEmpty else { throw GraphError.invalidUse("a training step needs at least one loss graph") }
        guard microBatches >= 1 else { throw GraphError.invalidUse("a step needs at least one micro-batch, got \(microBatches)") }
        let group = group.flatMap { $0.size > 1 ? $0 : nil }
        if let group, microBatches % group.size != 0 {
            throw GraphError.invalidUse("\(microBatches) micro-batches per step cannot be shared evenly by \(group.size) processes")
        }
        self.configuration = configuration
        self.microBatches = microBatches
        self.group = group
        self.localMicroBatches = microBatches / (group?.size ?? 1)
        var compiledVariants: [CompiledGraph] = []
        for (k, (builder, loss)) in variants.enumerated() {
            guard loss.rank == 0 || loss.count == 1 else {
                throw GraphError.invalidUse("the training loss must be a scalar, got \(loss.type) in variant \(k)")
            }
            let params = builder.parameters
            guard !params.isEmpty else { throw GraphError.invalidUse("the graph of variant \(k) has no parameters to train") }
            if let first = compiledVariants.first {
                let names = Set(builder.graph.parameters.map(\.name))
                guard names == Set(first.parameters.layout.names) else {
                    throw GraphError.invalidUse("variant \(k) has other parameters than variant 0: \(names.symmetricDifference(first.parameters.layout.names).sorted().prefix(5))")
                }
            }
            let grads = try builder.gradients(of: loss, withRespectTo: params)
            var gradientMap: [String: Tensor] = [:]
            for (p, g) in zip(builder.graph.parameters, grads) { gradientMap[p.name] = g }
            compiledVariants.append(try CompiledGraph(
                builder, outputs: ["loss": loss], gradients: gradientMap, queue: queue,
                parameters: compiledVariants.first?.parameters,
                options: CompileOptions(fusion: configuration.fusion, randomSeed: configuration.seed),
                sharing: compiledVariants.first))
        }
        self.variants = compiledVariants
        let compiled = compiledVariants[0]
        let device = queue.device
        let count = compiled.parameters.layout.count
        let store = compiled.parameters
        let gradBuffer = compiled.gradients!
        m = try device.allocate(bytes: count * 4)
        v = try device.allocate(bytes: count * 4)
        hyper = try device.allocate(bytes: AdamHyper.count * 4)
        emaHyper = try device.allocate(bytes: 4)
        stats = try device.allocate(bytes: 4)
        gradientSum = try microBatches > 1 ? device.allocate(bytes: count * 4) : nil
        lossSum = try microBatches > 1 ? device.allocate(bytes: 4) : nil
        staging = try group != nil ? device.allocate(bytes: (count + 1) * 4) : nil
        randomWords = [UInt32(truncatingIfNeeded: configuration.seed), UInt32(truncatingIfNeeded: configuration.seed >> 32), 0, 0]
        // The settings are Doubles; every value a kernel sees is rounded to Float once, here.
        learningRate = Float(configuration.learningRate)
        emaDecay = Float(configuration.ema?.beta ?? 0)
        ema = try configuration.ema.map { _ in try ParameterStore(layout: store.layout, device: device) }

        // The optimiser tail, appended to the graph's launches; with M > 1 it starts from the sums.
        let tailGradient = gradientSum ?? gradBuffer
        var tail: [Launch] = []
        func add(_ kernel: Kernel, _ operands: [BufferSlice], _ label: String) throws {
            guard device.supports(kernel) else {
                throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: label)
            }
            try kernel.validate(operands, on: device.info.name)
            tail.append(Launch(kernel: kernel, operands: operands, label: label))
        }
        for kernel in [Kernel.binary(.add, .dense(count)), .binary(.add, .dense(1))] where microBatches > 1 && !device.supports(kernel) {
            throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: "optimizer/accumulate")
        }
        if let gradientSum, let lossSum {
            // The mean over the micro-batches (the loss is a batch mean, so this is the loss of the whole batch).
            let inverse = 1 / Float(microBatches)
            try add(.unary(.affine(scale: inverse, shift: 0), count: count), [gradientSum.slice(), gradientSum.slice()], "optimizer/mean")
            try add(.unary(.affine(scale: inverse, shift: 0), count: 1), [lossSum.slice(), lossSum.slice()], "optimizer/mean")
        }
        let hyperStep = hyper.slice(offset: AdamHyper.step * 4)
        try add(.reduce(.sumOfSquares, Reduction(outer: 1, extent: count, inner: 1)), [tailGradient.slice(), stats.slice()],
                "optimizer/grad_norm")
        if let maxNorm = configuration.maxGradNorm {
            try add(.gradClipScale(maxNorm: Float(maxNorm)), [stats.slice(), hyper.slice(offset: AdamHyper.gradScale * 4)],
                    "optimizer/clip")
        }
        try add(.unary(.affine(scale: 1, shift: 1), count: 1), [hyperStep, hyperStep], "optimizer/step+1")
        let adam = Adam(count: count, beta1: Float(configuration.adamBeta1), beta2: Float(configuration.adamBeta2),
                        eps: Float(configuration.adamEpsilon), weightDecay: Float(configuration.weightDecay))
        try add(.adam(adam), [store.buffer.slice(), tailGradient.slice(), m.slice(), v.slice(), hyper.slice()], "optimizer/adam")
        if microBatches == 1 {
            // With M > 1 the host keys each micro-batch's draws instead (setRandomCounter).
            try add(.randomAdvance, [compiled.randomState.slice()], "optimizer/random_advance")
        }
        optimizerTail = Schedule(tail)
        executors = try compiledVariants.map { try Executor(schedule: $0.schedule, queue: queue) }
        tailExecutor = try Executor(schedule: optimizerTail, queue: queue)
        if let ema, let config = configuration.ema {
            emaCopyTail = try TrainingStep.emaCopy(parameters: store, ema: ema, device: device)
            emaUpdateTail = try TrainingStep.emaUpdate(config, step: hyperStep, decay: emaHyper.slice(), parameters: store,
                                                       ema: ema, device: device)
        } else {
            emaCopyTail = Schedule([])
            emaUpdateTail = Schedule([])
        }
        emaCopyExecutor = try Executor(schedule: emaCopyTail, queue: queue)
        emaUpdateExecutor = try Executor(schedule: emaUpdateTail, queue: queue)

        // Initial state: weights from the seed, zero moments, step 0, scale 1, EMA = weights.
        try store.initialize(seed: configuration.seed, queue: queue)
        try queue.launch(.fill(count: count, value: 0), [m.slice()])
        try queue.launch(.fill(count: count, value: 0), [v.slice()])
        try queue.upload([learningRate, 0, 1], to: hyper.slice())
        // Without warm-up the decay is the constant beta; with it the tail computes it every update.
        try queue.upload([emaDecay], to: emaHyper.slice())
        try resetEMA()
    }

    /// Copies the current weights into the EMA (after loading weights, or to restart it).
    public func resetEMA() throws {
        guard let ema else { return }
        try queue.launch(.copy(.contiguous(parameters.layout.count)), [parameters.buffer.slice(), ema.buffer.slice()])
    }

    /// Runs one step of `variant` on `batch`, the data of its graph's only input.
    public func step(_ batch: [Float], variant: Int = 0) throws {
        try batch.withUnsafeBytes { try step(bytes: $0, variant: variant) }
    }

    /// Runs one step of `variant` with raw f32 batch bytes, for its graph's only input.
    public func step(bytes: UnsafeRawBufferPointer, variant: Int = 0) throws {
        guard microBatches == 1 else {
            throw GraphError.invalidUse("this step takes \(localMicroBatches) micro-batches per step; use step(microBatches:)")
        }
        try setOnlyInput(of: variant, bytes: bytes)
        try executors[variant].run()
        try finishStep(variant)
    }

    /// Uploads `bytes` into the only input of `variant`'s graph.
    func setOnlyInput(of variant: Int, bytes: UnsafeRawBufferPointer) throws {
        let graph = try compiledVariant(variant)
        guard graph.inputTypes.count == 1, let name = graph.inputTypes.keys.first else {
            throw GraphError.invalidUse("variant \(variant) has \(graph.inputTypes.count) inputs; a training step feeds exactly one")
        }
        try graph.setInput(name, bytes: bytes)
    }

    func compiledVariant(_ k: Int) throws -> CompiledGraph {
        guard variants.indices.contains(k) else {
            throw GraphError.invalidUse("no variant \(k); this step has \(variants.count)")
        }
        return variants[k]
    }

    /// The tail every step shares once its gradients are in place: clip, Adam, the EMA, the
    /// step count and the loss read-back.
    func finishStep(_ variant: Int) throws {
        try tailExecutor.run()
        switch emaAction(forStep: stepCount) {
        case .none: break
        case .copy: try emaCopyExecutor.run()
        case .update: try emaUpdateExecutor.run()
        }
        stepCount += 1
        if stepCount % configuration.logEvery == 0 { try rotateLoss(variant) }
    }

    /// Reads the previous boundary's loss (waiting only if the device has not reached it) and
    /// enqueues the download of this one.
    private func rotateLoss(_ variant: Int) throws {
        try collectPending()
        let lossSlice = try lossSum?.slice() ?? variants[variant].outputSlice("loss").slice
        let lossHost = HostBuffer(byteCount: 4), normHost = HostBuffer(byteCount: 4)
        try queue.download(lossSlice, into: lossHost)
        try queue.download(stats.slice(), into: normHost)
        pending = (stepCount, lossHost, normHost, try queue.record())
    }

    private func collectPending() throws {
        guard let p = pending else { return }
        if !p.event.isComplete { try p.event.wait() }
        losses.append(LossRecord(step: p.step, loss: p.loss.floats()[0], gradNorm: p.norm.floats()[0].squareRoot()))
        pending = nil
    }

    /// Waits for the device and collects the last pending loss (one host synchronisation).
    @discardableResult
    public func synchronize() throws -> LossRecord? {
        try queue.synchronize()
        try collectPending()
        return losses.last
    }

    /// Sets the learning rate of the following steps (a 4-byte upload, only when it changes).
    public func setLearningRate(_ lr: Float) throws {
        guard lr != learningRate else { return }
        learningRate = lr
        try queue.upload([lr], to: hyper.slice(offset: AdamHyper.lr * 4))
    }

    /// Sets the EMA decay of the following steps (a 4-byte upload, only when it changes), for a
    /// constant-decay EMA driven from the host: 1 leaves the EMA unchanged, 0 copies the weights.
    /// With a warm-up schedule the device computes the decay itself, so this throws.
    public func setEMADecay(_ decay: Float) throws {
        guard let c = configuration.ema, !c.warmup else {
            throw GraphError.invalidUse("setEMADecay needs a constant-decay EMA (TrainingConfiguration.emaDecay); the warm-up schedule computes the decay on the device")
        }
        guard decay != emaDecay else { return }
        emaDecay = decay
        try queue.upload([decay], to: emaHyper.slice())
    }

    /// Replaces the weights by name and restarts the EMA from them.
    public func loadParameters(_ tensors: [String: [Float]]) throws {
        try parameters.load(tensors, queue: queue)
        try resetEMA()
    }

    /// The optimiser state for a checkpoint (one synchronisation per buffer).
    public func readOptimizerState() throws -> OptimizerState {
        let count = parameters.layout.count
        let h = try queue.readFloats(hyper.slice(), count: AdamHyper.count)
        return OptimizerState(step: Int(h[AdamHyper.step]),
                              m: try queue.readFloats(m.slice(), count: count),
                              v: try queue.readFloats(v.slice(), count: count),
                              randomState: try queue.read(UInt32.self, compiled.randomState.slice(), count: 4))
    }

    /// Restores the optimiser state of a checkpoint.
    public func loadOptimizerState(_ state: OptimizerState) throws {
        let count = parameters.layout.count
        guard state.m.count == count, state.v.count == count, state.randomState.count == 4 else {
            throw GraphError.hostDataMismatch(name: "optimizer state", expected: count, got: state.m.count)
        }
        try queue.upload(state.m, to: m.slice())
        try queue.upload(state.v, to: v.slice())
        try queue.upload([Float(state.step)], to: hyper.slice(offset: AdamHyper.step * 4))
        try queue.upload(state.randomState, to: compiled.randomState.slice())
        randomWords = state.randomState
        stepCount = state.step
    }
}

/// A loss read back from the device.
public struct LossRecord: Sendable, Equatable {
    /// The 1-based step that produced it.
    public var step: Int
    public var loss: Float
    /// Global L2 norm of the gradients before clipping.
    public var gradNorm: Float
}

/// Adam moments, step count and random state: what a checkpoint needs beyond the weights.
public struct OptimizerState: Sendable, Equatable {
    public var step: Int
    public var m: [Float]
    public var v: [Float]
    public var randomState: [UInt32]

    public init(step: Int, m: [Float], v: [Float], randomState: [UInt32]) {
        self.step = step
        self.m = m
        self.v = v
        self.randomState = randomState
    }
}
