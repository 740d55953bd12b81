import Graph

/// What a training run checks of its ``TrainingConfiguration`` (the struct itself is in Graph,
/// where ``TrainingStep`` takes it): the limits, the domains, and what may change on resume.
extension TrainingConfiguration {
    /// Names (as JSON keys) of the settings a resumed run may change; every other one must match
    /// the checkpoint's, or the resumed run would not continue the same training.
    public static let adjustableOnResume: Set<String> = ["steps", "save_every", "sample_every", "num_samples", "keep_checkpoints", "log_every"]

    /// Upper bounds of the settings that size allocations or step arithmetic (see
    /// docs/reliability.md); far above any real run, far below overflow.
    public static let maxBatchSize = 4096
    public static let maxGradientAccumulation = 4096
    public static let maxSteps = 1_000_000_000
    public static let maxNumSamples = 4096
    /// Bytes of host memory one optimiser step's batches (batch × accumulation × image) may take.
    public static let maxBatchBytes = 4 << 30

    /// Refuses values out of their domain for a training run, naming the command-line option.
    ///
    /// A run needs an EMA (its samples and checkpoints' `ema.` weights come from it), with the
    /// warm-up schedule the `--ema-*` options describe; only the engine alone (bench, tests) may
    /// go without one, or use a constant-decay EMA or weight decay.
    public func validate() throws {
        func bad(_ message: String) -> TrainingError { .invalidSetting(message) }
        func limit(_ value: Int, _ max: Int, _ option: String) throws {
            guard value <= max else { throw bad("\(option) is \(value), more than the limit of \(max)") }
        }
        try limit(batchSize, Self.maxBatchSize, "--batch-size")
        try limit(gradientAccumulation, Self.maxGradientAccumulation, "--grad-accum")
        try limit(steps, Self.maxSteps, "--steps")
        try limit(numSamples, Self.maxNumSamples, "--num-samples")
        guard batchSize >= 1 else { throw bad("--batch-size must be at least 1, got \(batchSize)") }
        guard gradientAccumulation >= 1 else { throw bad("--grad-accum must be at least 1, got \(gradientAccumulation)") }
        guard steps >= 1 else { throw bad("--steps must be at least 1, got \(steps)") }
        guard learningRate > 0, learningRate.isFinite else { throw bad("--lr must be positive, got \(learningRate)") }
        guard (0..<1).contains(adamBeta1), (0..<1).contains(adamBeta2) else {
            throw bad("--adam-betas must both be in [0, 1), got \(adamBeta1),\(adamBeta2)")
        }
        guard adamEpsilon > 0 else { throw bad("the Adam epsilon must be positive, got \(adamEpsilon)") }
        // Checkpoints store neither (their JSON keeps the reference Trainer's keys), so a run
        // keeps the reference's values rather than lose them on resume.
        guard weightDecay == 0 else { throw bad("a training run has no weight decay (checkpoints do not store it), got \(weightDecay)") }
        guard warmupSteps >= 0 else { throw bad("--lr-warmup must be non-negative, got \(warmupSteps)") }
        if let maxGradNorm { guard maxGradNorm > 0, maxGradNorm.isFinite else { throw bad("--max-grad-norm must be positive (0 disables clipping), got \(maxGradNorm)") } }
        guard let ema else { throw bad("a training run needs an EMA of the weights (sampling uses it); the configuration has none") }
        guard (0...1).contains(ema.beta) else { throw bad("--ema-decay must be in [0, 1], got \(ema.beta)") }
        guard ema.updateEvery >= 1 else { throw bad("--ema-update-every must be at least 1, got \(ema.updateEvery)") }
        guard ema.updateAfterStep >= 0 else { throw bad("the EMA start step must be non-negative, got \(ema.updateAfterStep)") }
        let reference = EMAConfiguration()
        guard ema.warmup, ema.invGamma == reference.invGamma, ema.power == reference.power, ema.minValue == reference.minValue else {
            throw bad("a training run's EMA warms up as ema-pytorch's (inv_gamma 1, power 2/3, min_value 0; checkpoints do not store these)")
        }
        guard saveEvery >= 1 else { throw bad("--save-every must be at least 1, got \(saveEvery)") }
        guard sampleEvery >= 0 else { throw bad("--sample-every must be non-negative (0: no grids while training), got \(sampleEvery)") }
        guard numSamples >= 0 else { throw bad("--num-samples must be non-negative, got \(numSamples)") }
        guard keepCheckpoints >= 1 else { throw bad("--keep-checkpoints must be at least 1, got \(keepCheckpoints)") }
        guard logEvery >= 1 else { throw bad("--log-every must be at least 1, got \(logEvery)") }
    }
}
