import Graph

/// What the trainer needs from a compiled optimiser step: run one step on its micro-batches
/// (the EMA follows its own ema-pytorch schedule), set the learning rate, read losses back, and
/// save/restore its state.
///
/// ``Graph/TrainingStep`` is the engine for one micro-batch per step (the whole step is one
/// schedule); ``AccumulatedTrainingStep`` averages the gradients of several micro-batches.
protocol OptimizerEngine: AnyObject {
    /// The trained weights.
    var parameters: ParameterStore { get }
    /// The EMA of the weights.
    var ema: ParameterStore? { get }
    /// How many losses have been read back so far.
    var lossCount: Int { get }
    /// The `index`-th loss read back (oldest first).
    func loss(at index: Int) -> StepLoss
    /// Kernel launches of one optimiser step and the arena of one micro-batch, for the summary.
    var kernelsPerStep: Int { get }
    var arenaPeakBytes: Int { get }

    /// Enqueues one optimiser step over `batches` (`microBatches` of them, raw f32 `[N, C, H, W]`).
    func step(_ batches: [Batch]) throws
    func setLearningRate(_ lr: Float) throws
    /// Waits for the device and collects the pending loss read-back.
    func waitForDevice() throws
    func loadParameters(_ tensors: [String: [Float]]) throws
    func readOptimizerState() throws -> OptimizerState
    func loadOptimizerState(_ state: OptimizerState) throws
}

extension TrainingStep: OptimizerEngine {
    var kernelsPerStep: Int { schedule.count }
    var arenaPeakBytes: Int { compiled.report.memory.arenaPeakBytes }
    var lossCount: Int { losses.count }

    func loss(at index: Int) -> StepLoss {
        let r = losses[index]
        return StepLoss(step: r.step, loss: r.loss, gradNorm: r.gradNorm)
    }

    func waitForDevice() throws { try synchronize() }

    func step(_ batches: [Batch]) throws {
        precondition(batches.count == 1, "TrainingStep takes one batch per step")
        try batches[0].values.withUnsafeBytes { try step(bytes: $0) }
    }
}

/// A loss read back from the device after an optimiser step.
struct StepLoss: Equatable {
    /// The 1-based step that produced it.
    var step: Int
    var loss: Float
    /// Global L2 norm of the (averaged) gradients before clipping.
    var gradNorm: Float
}
