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
    /// Images given once before the chain, each shaped like x_t (e.g. the known image and the
    /// mask of inpainting). Empty by default.
    var inputs: [String] { get }
    /// Independent standard-normal draws per noisy step (1 by default).
    var noiseDraws: Int { get }
    /// The chain for a noise schedule: the timesteps the model is evaluated at and each step's coefficients.
    func plan(_ schedule: NoiseSchedule) throws -> SamplerPlan
    /// The chain without its first `skipped` steps, for a chain that starts from a given x at the
    /// noise level of step `skipped` (image-to-image). By default the rows of ``plan(_:)`` from
    /// there on; a multistep rule restarts its order there, having no history.
    func plan(_ schedule: NoiseSchedule, skippingFirst skipped: Int) throws -> SamplerPlan
    /// What the network sees at this step; x_t by default. (Inpainting puts the noised known
    /// region in here.) The update then sees this tensor as x_t.
    func modelInput(_ g: GraphBuilder, _ step: SamplerStepContext) throws -> Tensor
    /// One step: x_{t'} (and the next carried state) from x_t, the model's prediction and the coefficients.
    func update(_ g: GraphBuilder, _ step: SamplerStepInputs) throws -> SamplerUpdate
}

extension Sampler {
    public var inputs: [String] { [] }
    public var noiseDraws: Int { 1 }
    public func modelInput(_ g: GraphBuilder, _ step: SamplerStepContext) throws -> Tensor { step.x }

    public func plan(_ schedule: NoiseSchedule, skippingFirst skipped: Int) throws -> SamplerPlan {
        try plan(schedule).droppingFirst(skipped)
    }
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

extension SamplerPlan {
    /// The plan without its first `k` steps (0 ≤ k < steps), for rules without memory.
    public func droppingFirst(_ k: Int) throws -> SamplerPlan {
        guard k >= 0, k < times.count else {
            throw DiffusionError.invalidConfiguration("cannot skip \(k) of the \(times.count) steps of the chain")
        }
        return SamplerPlan(times: Array(times.dropFirst(k)), coefficients: Array(coefficients.dropFirst(k)),
                           noisyStepCount: max(noisyStepCount - k, 0))
    }
}

/// What a step sees before the network runs, as tensors of the step graph.
public struct SamplerStepContext {
    /// x_t `[B, C, H, W]` as the previous step left it.
    public let x: Tensor
    /// This step's standard-normal draws `[B, C, H, W]` (``Sampler/noiseDraws`` of them), empty
    /// when the plan has no noisy steps.
    public let noises: [Tensor]
    /// The prediction coefficients of timestep t, as `[1, 1, 1, 1]` tensors.
    let sqrtRecipAlphaCumprod: Tensor, sqrtRecipm1AlphaCumprod: Tensor
    let coefficients: [String: Tensor]
    let state: [String: Tensor]
    let inputs: [String: Tensor]

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

    /// The chain input `name` (one of ``Sampler/inputs``).
    public func input(_ name: String) throws -> Tensor {
        guard let t = inputs[name] else { throw DiffusionError.invalidConfiguration("internal: the sampler has no input '\(name)'") }
        return t
    }
}

/// What one update step sees, as tensors of the step graph.
public struct SamplerStepInputs {
    /// The step before the network ran (x_t replaced by ``Sampler/modelInput(_:_:)``'s result).
    public let context: SamplerStepContext
    /// The model output at `(x_t, t)` (ε, x₀ or v, per the objective).
    public let modelOutput: Tensor
    /// x̂₀ derived from the model output and clipped to [−1, 1], as the reference samplers do.
    public let xStart: Tensor
    /// ε̂ as the denoiser defines it (``DenoiserOutput/Renoise/fromOutput(_:)``); nil: re-derived.
    let noisePrediction: Tensor?

    /// x_t `[B, C, H, W]` (what the network saw).
    public var x: Tensor { context.x }
    /// The step's first standard-normal draw, present when the plan has noisy steps.
    public var noise: Tensor? { context.noises.first }

    public func coefficient(_ name: String) throws -> Tensor { try context.coefficient(name) }
    public func state(_ name: String) throws -> Tensor { try context.state(name) }
    public func input(_ name: String) throws -> Tensor { try context.input(name) }

    /// ε̂ re-derived from the clipped x̂₀: `(√(1/ᾱ_t)·x_t − x̂₀) / √(1/ᾱ_t − 1)` (the reference's
    /// `predict_noise_from_start`), so that ε̂ and x̂₀ describe the same x_t; or the ε̂ the
    /// denoiser defines (the classifier-free-guidance module's, see ``DenoiserOutput/Renoise``).
    public func predictedNoise(_ g: GraphBuilder) throws -> Tensor {
        if let noisePrediction { return noisePrediction }
        return try g.div(g.sub(g.mul(context.sqrtRecipAlphaCumprod, x), xStart), context.sqrtRecipm1AlphaCumprod)
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
