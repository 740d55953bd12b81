import Graph

/// Provides the model output at `(x_t, t)` to a sampling chain: the network evaluation, kept
/// apart from the update rule (``Sampler``).
///
/// ``DiffusionSampler`` calls ``declare(in:batch:)`` first, so the denoiser's parameters lead
/// the step graph's parameter buffer (the ``unet``'s first, in state_dict order: what
/// ``DiffusionSampler/loadWeights(_:prefix:)`` and ``DiffusionSampler/copyWeights(from:)`` fill),
/// then the sampler's state slots follow. A guided conditional model is another denoiser: it can
/// declare its own slots (class labels, a guidance scale) and evaluate the network on a batch of
/// `2B` (conditional and unconditional halves) inside ``DenoiserGraph/output(_:x:time:selfCondition:)``.
public protocol Denoiser: Sendable {
    /// The network whose state_dict is loaded into the leading parameters.
    var unet: Unet { get }
    /// Declares every parameter the model output needs, for chains of `batch` images.
    func declare(in g: GraphBuilder, batch: Int) throws -> any DenoiserGraph
}

/// A denoiser whose parameters are declared in a builder: builds the model output.
public protocol DenoiserGraph {
    /// The model output `[B, C, H, W]` at x_t `[B, C, H, W]`, timesteps `[B]` and the
    /// self-conditioning x̂₀ (nil when the Unet has none).
    func output(_ g: GraphBuilder, x: Tensor, time: Tensor, selfCondition: Tensor?) throws -> Tensor
}

/// The plain reference Unet as a denoiser: its forward is the model output.
public struct UnetDenoiser: Denoiser {
    public let unet: Unet

    public init(_ unet: Unet) { self.unet = unet }

    public func declare(in g: GraphBuilder, batch: Int) throws -> any DenoiserGraph {
        Declared(unet: unet, weights: try unet.declareParameters(in: g))
    }

    struct Declared: DenoiserGraph {
        let unet: Unet
        let weights: UnetWeights

        func output(_ g: GraphBuilder, x: Tensor, time: Tensor, selfCondition: Tensor?) throws -> Tensor {
            try unet.forward(g, weights: weights, x: x, time: time, selfCondition: selfCondition)
        }
    }
}
