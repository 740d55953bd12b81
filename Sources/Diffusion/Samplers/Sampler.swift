import Graph

/// A reverse-process update rule: its timesteps, its named per-step coefficients, the state it
/// carries between steps, and one update step as graph ops.
///
/// A sampler never evaluates the network. ``DiffusionSampler`` asks a ``Denoiser`` for the model
/// output at `(x_t, t)`, turns it into the clipped x̂₀ prediction (the same for every sampler, from
/// the objective), and hands both to ``update(_:_:)``, which only combines tensors. So a guided or
/// conditional model plugs in as another ``Denoiser`` and works with every sampler.
///
/// The coefficients of step `i` are `plan(schedule).coefficients[i]`, named by
/// ``coefficientNames`` in that order; they are computed on the host once and uploaded as one
/// table, so one compiled step graph serves every step of the chain.
public protocol Sampler: Sendable, CustomStringConvertible {
    /// Names of the per-step coefficients, the columns of ``SamplerPlan/coefficients``.
    var coefficientNames: [String] { get }
    /// Tensors carried from one step to the next besides x_t, each shaped like x_t and zero
    /// before the first step (e.g. the previous x̂₀ of a multistep solver). Empty for one-step rules.
    var carriedState: [String] { get }
    /// The chain for a noise schedule: the timesteps the model is evaluated at and each step's coefficients.
    func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan
    /// One step: x_{t'} (and the next carried state) from x_t, the model's prediction and the coefficients.
    func update(_ g: GraphBuilder, _ step: SamplerStepInputs) throws -> SamplerUpdate
}

/// A sampler's chain for one noise schedule.
public struct SamplerPlan: Sendable, Equatable {
    /// The model's timesteps, in chain order.
    public var times: [Int]
    /// One row per step: the values of ``Sampler/coefficientNames``, in float32.
    public var coefficients: [[Float]]
    /// The first `noisyStepCount` steps add fresh noise z (0: the chain is deterministic after x_T).
    public var noisyStepCount: Int

    public init(times: [Int], coefficients: [[Float]], noisyStepCount: Int) {
        self.times = times
        self.coefficients = coefficients
        self.noisyStepCount = noisyStepCount
    }
}

/// What one update step sees, as tensors of the step graph.
public struct SamplerStepInputs {
    /// x_t `[B, C, H, W]`.
    public let x: Tensor
    /// The model output at `(x_t, t)` (ε, x₀ or v, per the objective).
    public let modelOutput: Tensor
    /// x̂₀ derived from the model output and clipped to [−1, 1], as the reference samplers do.
    public let xStart: Tensor
    /// Fresh standard-normal noise `[B, C, H, W]`, present when the plan has noisy steps.
    public let noise: Tensor?
    /// The prediction coefficients of timestep t, as `[1, 1, 1, 1]` tensors.
    let sqrtRecipAlphaCumprod: Tensor, sqrtRecipm1AlphaCumprod: Tensor
    let coefficients: [String: Tensor]
    let state: [String: Tensor]
    /// ε̂ as the denoiser defines it (``DenoiserOutput/Renoise/fromOutput(_:)``); nil: re-derived.
    let noisePrediction: Tensor?

    /// The step's coefficient `name` (one of ``Sampler/coefficientNames``) as a `[1, 1, 1, 1]` tensor.
    public func coefficient(_ name: String) throws -> Tensor {
        guard let t = coefficients[name] else {
            throw DiffusionError.invalidConfiguration("internal: the sampler has no coefficient '\(name)'")
        }
        return t
    }

    /// The carried tensor `name` (one of ``Sampler/carriedState``) as it was after the previous step.
    public func state(_ name: String) throws -> Tensor {
        guard let t = state[name] else { throw DiffusionError.invalidConfiguration("internal: the sampler carries no '\(name)'") }
        return t
    }

    /// ε̂ re-derived from the clipped x̂₀: `(√(1/ᾱ_t)·x_t − x̂₀) / √(1/ᾱ_t − 1)` (the reference's
    /// `predict_noise_from_start`), so that ε̂ and x̂₀ describe the same x_t; or the ε̂ the
    /// denoiser defines (the classifier-free-guidance module's, see ``DenoiserOutput/Renoise``).
    public func predictedNoise(_ g: GraphBuilder) throws -> Tensor {
        if let noisePrediction { return noisePrediction }
        return try g.div(g.sub(g.mul(sqrtRecipAlphaCumprod, x), xStart), sqrtRecipm1AlphaCumprod)
    }
}

/// The result of one update step.
public struct SamplerUpdate {
    /// x at the next timestep (x̂₀ after the last step).
    public var next: Tensor
    /// The new value of every name in ``Sampler/carriedState``.
    public var state: [String: Tensor]

    public init(next: Tensor, state: [String: Tensor] = [:]) {
        self.next = next
        self.state = state
    }
}
