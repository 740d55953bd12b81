/// Settings of a ``TrainingStep`` (defaults: the lucidrains Trainer's).
public struct TrainingConfiguration: Sendable {
    public var learningRate: Float = 1e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var eps: Float = 1e-8
    /// Decoupled weight decay (AdamW) when non-zero.
    public var weightDecay: Float = 0
    /// Global gradient-norm clip (`clip_grad_norm_`); nil disables it.
    public var maxGradNorm: Float? = 1
    /// The EMA of the weights; nil disables it.
    public var ema: EMAConfiguration? = EMAConfiguration()
    /// Setting a value selects a constant-decay EMA updated every step (``EMAConfiguration/constant(_:)``),
    /// whose decay the host may then drive with ``TrainingStep/setEMADecay(_:)``.
    public var emaDecay: Float? {
        get { ema?.beta }
        set { ema = newValue.map { .constant($0) } }
    }
    /// The loss is downloaded every `lossEvery` steps and read back `lossEvery` steps later.
    public var lossEvery: Int = 10
    /// Seeds the parameter initialisation and the device random state.
    public var seed: UInt64 = 0
    public var fusion: Bool = true

    public init() {}
}

/// The EMA schedule of ema-pytorch (as the lucidrains Trainer uses it), run on the device.
///
/// The EMA's own counter `k` is the number of steps before this one. On steps with
/// `k % updateEvery == 0`: while `k <= updateAfterStep` the weights are copied; afterwards
/// `θ_ema ← θ_ema + (1 − decay)(θ − θ_ema)` with, when `warmup` is on,
/// `decay = clamp(1 − (1 + (k − updateAfterStep)/invGamma)^(−power), minValue, beta)`, else `beta`.
public struct EMAConfiguration: Sendable, Equatable {
    public var beta: Float = 0.995
    public var updateEvery: Int = 10
    public var updateAfterStep: Int = 100
    public var invGamma: Float = 1
    public var power: Float = 2.0 / 3.0
    public var minValue: Float = 0
    public var warmup: Bool = true

    public init() {}

    /// A plain EMA with a constant decay, updated every step from the first.
    public static func constant(_ decay: Float) -> EMAConfiguration {
        var c = EMAConfiguration()
        c.beta = decay
        c.updateEvery = 1
        c.updateAfterStep = -1
        c.warmup = false
        return c
    }
}
