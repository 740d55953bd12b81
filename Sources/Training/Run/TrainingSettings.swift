import Foundation

/// How the learning rate evolves after the warmup.
public enum LearningRateSchedule: String, CaseIterable, Sendable, Equatable {
    /// The peak rate until the end (the reference Trainer's only behaviour).
    case constant
    /// Half a cosine from the peak rate down to 0 at the last step (diffusers' default).
    case cosine
}

/// The trainer's settings (defaults: the reference `Trainer` of denoising-diffusion-pytorch
/// 2.3.4 and its `ema-pytorch` EMA), apart from the model and diffusion, which have their own
/// configurations.
public struct TrainingSettings: Equatable, Sendable {
    /// Where the images come from.
    public var data: DataSource = .shapes
    /// Mirror images left-right at random (the reference's `augment_horizontal_flip`).
    public var flip = false
    public var batchSize = 16
    /// Micro-batches whose gradients are averaged into one optimiser step.
    public var gradientAccumulation = 1
    /// Optimiser steps of the whole run.
    public var steps = 100_000
    /// Peak learning rate of Adam.
    public var learningRate = 1e-4
    public var adamBeta1 = 0.9
    public var adamBeta2 = 0.99
    public var adamEpsilon = 1e-8
    /// Steps of linear warmup from 0 to the peak rate.
    public var warmupSteps = 0
    public var learningRateSchedule = LearningRateSchedule.constant
    /// Global gradient-norm clip; nil disables clipping.
    public var maxGradNorm: Double? = 1
    /// The EMA's largest decay (ema-pytorch `beta`).
    public var emaDecay = 0.995
    /// Steps between EMA updates (ema-pytorch `update_every`).
    public var emaUpdateEvery = 10
    /// Until this step the EMA copies the weights (ema-pytorch `update_after_step`).
    public var emaUpdateAfterStep = 100
    /// Seeds the initial weights, the device random numbers (timesteps, noise) and the data order.
    public var seed: UInt64 = 0

    // Bookkeeping: these may change when a run is resumed.
    /// Steps between checkpoints.
    public var saveEvery = 1000
    /// Steps between sample grids (0: none while training).
    public var sampleEvery = 1000
    /// Images in each sample grid.
    public var numSamples = 25
    /// Checkpoints kept in the output folder (older ones are deleted).
    public var keepCheckpoints = 3
    /// Steps between loss read-backs (each is one small asynchronous download).
    public var logEvery = 10

    public init() {}

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

    /// Refuses values out of their domain, naming the command-line option.
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
        guard warmupSteps >= 0 else { throw bad("--lr-warmup must be non-negative, got \(warmupSteps)") }
        if let maxGradNorm { guard maxGradNorm > 0, maxGradNorm.isFinite else { throw bad("--max-grad-norm must be positive (0 disables clipping), got \(maxGradNorm)") } }
        guard (0...1).contains(emaDecay) else { throw bad("--ema-decay must be in [0, 1], got \(emaDecay)") }
        guard emaUpdateEvery >= 1 else { throw bad("--ema-update-every must be at least 1, got \(emaUpdateEvery)") }
        guard emaUpdateAfterStep >= 0 else { throw bad("the EMA start step must be non-negative, got \(emaUpdateAfterStep)") }
        guard saveEvery >= 1 else { throw bad("--save-every must be at least 1, got \(saveEvery)") }
        guard sampleEvery >= 0 else { throw bad("--sample-every must be non-negative (0: no grids while training), got \(sampleEvery)") }
        guard numSamples >= 0 else { throw bad("--num-samples must be non-negative, got \(numSamples)") }
        guard keepCheckpoints >= 1 else { throw bad("--keep-checkpoints must be at least 1, got \(keepCheckpoints)") }
        guard logEvery >= 1 else { throw bad("--log-every must be at least 1, got \(logEvery)") }
    }

    /// The learning rate of step `step` (1-based): linear warmup, then the schedule.
    public func learningRate(atStep step: Int) -> Double {
        if warmupSteps > 0 && step <= warmupSteps { return learningRate * Double(step) / Double(warmupSteps) }
        switch learningRateSchedule {
        case .constant: return learningRate
        case .cosine:
            let span = max(steps - warmupSteps, 1)
            let progress = min(max(Double(step - warmupSteps) / Double(span), 0), 1)
            return learningRate * 0.5 * (1 + cos(Double.pi * progress))
        }
    }
}
