import Devices
import Foundation
import Graph

/// An optimiser step over several micro-batches: the forward and backward graph runs once per
/// micro-batch (fresh timesteps and noise each time, from the device Philox state), its
/// gradients and loss are summed into accumulators on the device, and the mean then goes
/// through the same tail as ``Graph/TrainingStep``: global grad-norm, clip, Adam, and the EMA
/// with ema-pytorch's schedule (``Graph/EMAConfiguration``).
///
/// The result equals one step on the concatenated batch (the loss is a batch mean), with the
/// memory of one micro-batch. Host traffic per step: the micro-batch uploads, and every
/// `lossEvery` steps an asynchronous 8-byte download of the loss and gradient norm.
final class AccumulatedTrainingStep: OptimizerEngine {
    let compiled: CompiledGraph
    let ema: ParameterStore?
    let microBatches: Int
    let lossEvery: Int
    private var losses: [StepLoss] = []
    private(set) var stepCount = 0

    var queue: Queue { compiled.queue }
    var parameters: ParameterStore { compiled.parameters }
    var arenaPeakBytes: Int { compiled.report.memory.arenaPeakBytes }
    var kernelsPerStep: Int { compiled.schedule.count * microBatches + 2 * microBatches + 8 }

    private let inputName: String
    private let gradientSum: Buffer
    private let lossSum: Buffer
    private let m: Buffer
    private let v: Buffer
    private let hyper: Buffer
    private let emaHyper: Buffer
    private let stats: Buffer
    private let adam: Adam
    private let maxGradNorm: Float?
    private var learningRate: Float
    private let emaSchedule: EMAConfiguration?
    private var emaDecay: Float = -1
    private var pending: (step: Int, loss: HostBuffer, norm: HostBuffer, event: Event)?

    init(builder: GraphBuilder, loss: Tensor, imageInput: String, queue: Queue, configuration: TrainingConfiguration,
         microBatches: Int) throws {
        precondition(microBatches >= 2, "use TrainingStep for one micro-batch")
        self.microBatches = microBatches
        self.lossEvery = configuration.lossEvery
        self.inputName = imageInput
        self.maxGradNorm = configuration.maxGradNorm
        let compiled = try CompiledGraph(builder, differentiating: loss, queue: queue,
                                     options: CompileOptions(fusion: configuration.fusion, randomSeed: configuration.seed,
                                                             advancesRandomState: true))
        self.compiled = compiled
        let device = queue.device
        let count = compiled.parameters.layout.count
        gradientSum = try device.allocate(bytes: count * 4)
        lossSum = try device.allocate(bytes: 4)
        m = try device.allocate(bytes: count * 4)
        v = try device.allocate(bytes: count * 4)
        hyper = try device.allocate(bytes: AdamHyper.count * 4)
        emaHyper = try device.allocate(bytes: 4)
        stats = try device.allocate(bytes: 4)
        adam = Adam(count: count, beta1: configuration.beta1, beta2: configuration.beta2, eps: configuration.eps,
                    weightDecay: configuration.weightDecay)
        learningRate = configuration.learningRate
        emaSchedule = configuration.ema
        ema = try configuration.ema.map { _ in try ParameterStore(layout: compiled.parameters.layout, device: device) }
        for kernel in [Kernel.adam(adam), .emaUpdate(count: count), .binary(.add, .dense(count))] where !device.supports(kernel) {
            throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: "optimizer")
        }
        try compiled.parameters.initialize(seed: configuration.seed, queue: queue)
        try queue.launch(.fill(count: count, value: 0), [m.slice()])
        try queue.launch(.fill(count: count, value: 0), [v.slice()])
        try queue.upload([configuration.learningRate, 0, 1], to: hyper.slice())
        try resetEMA()
    }

    private func resetEMA() throws {
        guard let ema else { return }
        try queue.launch(.copy(.contiguous(parameters.layout.count)), [parameters.buffer.slice(), ema.buffer.slice()])
    }

    func step(_ batches: [Batch]) throws {
        precondition(batches.count == microBatches, "expected \(microBatches) micro-batches")
        let count = parameters.layout.count
        guard let grads = compiled.gradients else { throw GraphError.invalidUse("the step graph has no gradients") }
        let (lossSlice, _) = try compiled.outputSlice("loss")
        for (i, batch) in batches.enumerated() {
            try batch.values.withUnsafeBytes { try compiled.setInput(inputName, bytes: $0) }
            try compiled.run()
            if i == 0 {
                try queue.copy(from: grads.slice(), to: gradientSum.slice(), byteCount: count * 4)
                try queue.copy(from: lossSlice, to: lossSum.slice(), byteCount: 4)
            } else {
                try queue.launch(.binary(.add, .dense(count)), [gradientSum.slice(), grads.slice(), gradientSum.slice()])
                try queue.launch(.binary(.add, .dense(1)), [lossSum.slice(), lossSlice, lossSum.slice()])
            }
        }
        // The mean over micro-batches, then the optimiser tail of TrainingStep.
        let inverse = 1 / Float(microBatches)
        try queue.launch(.unary(.affine(scale: inverse, shift: 0), count: count), [gradientSum.slice(), gradientSum.slice()])
        try queue.launch(.unary(.affine(scale: inverse, shift: 0), count: 1), [lossSum.slice(), lossSum.slice()])
        try queue.launch(.reduce(.sumOfSquares, Reduction(outer: 1, extent: count, inner: 1)), [gradientSum.slice(), stats.slice()])
        if let maxGradNorm {
            try queue.launch(.gradClipScale(maxNorm: maxGradNorm), [stats.slice(), hyper.slice(offset: AdamHyper.gradScale * 4)])
        }
        let hyperStep = hyper.slice(offset: AdamHyper.step * 4)
        try queue.launch(.unary(.affine(scale: 1, shift: 1), count: 1), [hyperStep, hyperStep])
        try queue.launch(.adam(adam), [parameters.buffer.slice(), gradientSum.slice(), m.slice(), v.slice(), hyper.slice()])
        try stepEMA(completedSteps: stepCount)
        stepCount += 1
        if stepCount % lossEvery == 0 { try rotateLoss() }
    }

    /// What ema-pytorch's `update()` does after the step that follows `k` completed steps: nil
    /// (no update), 0 (copy the weights, until `updateAfterStep`), or the decay of the update
    /// (`clamp(1 − (1 + (k − updateAfterStep)/invGamma)^(−power), minValue, beta)` with warm-up).
    static func emaDecay(afterCompletedSteps k: Int, _ c: EMAConfiguration) -> Float? {
        guard c.updateEvery >= 1, k % c.updateEvery == 0 else { return nil }
        if k <= c.updateAfterStep { return 0 }
        guard c.warmup else { return c.beta }
        let t = max(1 + Float(k - c.updateAfterStep) / c.invGamma, 1)
        return min(max(1 - pow(t, -c.power), c.minValue), c.beta)
    }

    /// The EMA part of a step, as ``Graph/TrainingStep`` does it on the device; here the host
    /// computes the decay and uploads it (4 bytes) only when it changes.
    private func stepEMA(completedSteps k: Int) throws {
        guard let ema, let c = emaSchedule, let decay = AccumulatedTrainingStep.emaDecay(afterCompletedSteps: k, c) else { return }
        let count = parameters.layout.count
        if decay == 0 {
            try queue.launch(.copy(.contiguous(count)), [parameters.buffer.slice(), ema.buffer.slice()])
            return
        }
        if decay != emaDecay {
            try queue.upload([decay], to: emaHyper.slice())
            emaDecay = decay
        }
        try queue.launch(.emaUpdate(count: count), [ema.buffer.slice(), parameters.buffer.slice(), emaHyper.slice()])
    }

    private func rotateLoss() throws {
        try collectPending()
        let lossHost = HostBuffer(byteCount: 4), normHost = HostBuffer(byteCount: 4)
        try queue.download(lossSum.slice(), into: lossHost)
        try queue.download(stats.slice(), into: normHost)
        pending = (stepCount, lossHost, normHost, try queue.record())
    }

    private func collectPending() throws {
        guard let p = pending else { return }
        if !p.event.isComplete { try p.event.wait() }
        losses.append(StepLoss(step: p.step, loss: p.loss.floats()[0], gradNorm: p.norm.floats()[0].squareRoot()))
        pending = nil
    }

    var lossCount: Int { losses.count }

    func loss(at index: Int) -> StepLoss { losses[index] }

    func waitForDevice() throws {
        try queue.synchronize()
        try collectPending()
    }

    func setLearningRate(_ lr: Float) throws {
        guard lr != learningRate else { return }
        learningRate = lr
        try queue.upload([lr], to: hyper.slice(offset: AdamHyper.lr * 4))
    }

    func loadParameters(_ tensors: [String: [Float]]) throws {
        try parameters.load(tensors, queue: queue)
        try resetEMA()
    }

    func readOptimizerState() throws -> OptimizerState {
        let count = parameters.layout.count
        let h = try queue.readFloats(hyper.slice(), count: AdamHyper.count)
        return OptimizerState(step: Int(h[AdamHyper.step]), m: try queue.readFloats(m.slice(), count: count),
                              v: try queue.readFloats(v.slice(), count: count),
                              randomState: try queue.read(UInt32.self, compiled.randomState.slice(), count: 4))
    }

    func loadOptimizerState(_ state: OptimizerState) throws {
        let count = parameters.layout.count
        guard state.m.count == count, state.v.count == count, state.randomState.count == 4 else {
            throw GraphError.hostDataMismatch(name: "optimizer state", expected: count, got: state.m.count)
        }
        try queue.upload(state.m, to: m.slice())
        try queue.upload(state.v, to: v.slice())
        try queue.upload([Float(state.step)], to: hyper.slice(offset: AdamHyper.step * 4))
        try queue.upload(state.randomState, to: compiled.randomState.slice())
        stepCount = state.step
    }
}
