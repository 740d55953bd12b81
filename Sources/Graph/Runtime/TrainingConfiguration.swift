import Foundation

/// How the learning rate evolves after the warmup.
public enum LearningRateSchedule: String, CaseIterable, Sendable, Equatable {
    /// The peak rate until the end (the reference Trainer's only behaviour).
    case constant
    /// Half a cosine from the peak rate down to 0 at the last step (diffusers' default).
    case cosine
}

/// Every setting of how to train, for ``TrainingStep`` and the trainer that drives it (defaults:
/// the reference `Trainer` of denoising-diffusion-pytorch 2.3.4 and its `ema-pytorch` EMA).
///
/// The model and the diffusion have their own configurations, and the data source belongs to the
/// run (`RunConfiguration.data`). Real-valued settings are `Double`, as a run stores them in its
/// checkpoints (0.9 stays 0.9 in the JSON); ``TrainingStep`` rounds each to `Float` where it hands
/// it to a kernel. Validation, the limits and the JSON form are in the Training module.
public struct TrainingConfiguration: Equatable, Sendable {
    /// Mirror images left-right at random (the reference's `augment_horizontal_flip`).
    public var flip = false
    /// Images per micro-batch.
    public var batchSize = 16
    /// Micro-batches whose gradients are averaged into one optimiser step.
    public var gradientAccumulation = 1
    /// Optimiser steps of the whole run.
    public var steps = 100_000
    /// Peak learning rate of Adam.
    public var learningRate = 1e-4
    /// Adam's first-moment decay.
    public var adamBeta1 = 0.9
    /// Adam's second-moment decay (the reference Trainer's 0.99, not torch's 0.999).
    public var adamBeta2 = 0.99
    public var adamEpsilon = 1e-8
    /// Decoupled weight decay (AdamW) when non-zero; the reference Trainer's Adam has none.
    public var weightDecay = 0.0
    /// Steps of linear warmup from 0 to the peak rate.
    public var warmupSteps = 0
    public var learningRateSchedule = LearningRateSchedule.constant
    /// Global gradient-norm clip (`clip_grad_norm_`, the reference's `max_grad_norm` 1); nil disables it.
    public var maxGradNorm: Double? = 1
    /// The EMA of the weights (sampling uses it); nil disables it.
    public var ema: EMAConfiguration? = EMAConfiguration()
    /// Setting a value selects a constant-decay EMA updated every step (``EMAConfiguration/constant(_:)``),
    /// whose decay the host may then drive with ``TrainingStep/setEMADecay(_:)``.
    public var emaDecay: Double? {
        get { ema?.beta }
        set { ema = newValue.map { .constant($0) } }
    }
    /// Seeds the initial weights, the device random numbers (timesteps, noise) and the data order.
    public var seed: UInt64 = 0
    /// Fuse the graph's elementwise chains (an implementation choice, not stored with a run).
    public var fusion = true

    // Bookkeeping: these may change when a run is resumed.
    /// Steps between checkpoints.
    public var saveEvery = 1000
    /// Steps between sample grids (0: none while training).
    public var sampleEvery = 1000
    /// Images in each sample grid.
    public var numSamples = 25
    /// Checkpoints kept in the output folder (older ones are deleted).
    public var keepCheckpoints = 3
    /// Steps between loss read-backs: the loss is downloaded every `logEvery` steps and read back
    /// `logEvery` steps later (each is one small asynchronous download).
    public var logEvery = 10

    public init() {}

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

/// The EMA schedule of ema-pytorch (as the lucidrains Trainer uses it), run on the device.
///
/// The EMA's own counter `k` is the number of steps before this one. On steps with
/// `k % updateEvery == 0`: while `k <= updateAfterStep` the weights are copied; afterwards
/// `θ_ema ← θ_ema + (1 − decay)(θ − θ_ema)` with, when `warmup` is on,
/// `decay = clamp(1 − (1 + (k − updateAfterStep)/invGamma)^(−power), minValue, beta)`, else `beta`.
/// The real values are `Double` like the other settings; the step rounds them to `Float`.
public struct EMAConfiguration: Sendable, Equatable {
    /// The largest decay (ema-pytorch `beta`).
    public var beta = 0.995
    /// Steps between EMA updates (ema-pytorch `update_every`).
    public var updateEvery = 10
    /// Until this step the EMA copies the weights (ema-pytorch `update_after_step`).
    public var updateAfterStep = 100
    public var invGamma = 1.0
    public var power = 2.0 / 3.0
    public var minValue = 0.0
    public var warmup = true

    public init() {}

    /// A plain EMA with a constant decay, updated every step from the first.
    public static func constant(_ decay: Double) -> EMAConfiguration {
        var c = EMAConfiguration()
        c.beta = decay
        c.updateEvery = 1
        c.updateAfterStep = -1
        c.warmup = false
        return c
    }
}
