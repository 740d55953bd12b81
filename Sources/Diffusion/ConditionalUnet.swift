import Graph

/// The class-conditional Unet of denoising-diffusion-pytorch 2.3.4's classifier-free-guidance
/// module, written with the ``Graph/GraphBuilder`` (see ``ConditionalUnetConfiguration`` for how it
/// differs from ``Unet``).
///
/// Classes enter the graph as f32 `[N]` holding integer class indices, and the condition dropout
/// as an f32 keep mask `[N]` of exact 0s and 1s (1 keeps the class, 0 uses `null_classes_emb`).
/// Both are plain tensors, so a training step can draw the mask on the device and a sampler can
/// run the conditional and the null prediction as one batch of 2N.
///
/// ```swift
/// let unet = try ConditionalUnet(ConditionalUnetConfiguration(dim: 16, numClasses: 10, dimMults: [1, 2]))
/// let g = GraphBuilder()
/// let w = try unet.declareParameters(in: g)
/// let out = try unet.forward(g, weights: w, x: g.input("x", [4, 3, 16, 16]), time: g.input("t", [4]),
///                            classes: g.input("classes", [4]), keep: nil)          // [4, 3, 16, 16]
/// ```
public struct ConditionalUnet: ReferenceModel, Sendable {
    public let configuration: ConditionalUnetConfiguration
    /// The parameters in state_dict order.
    public let parameterSpecs: [UnetParameterSpec]

    public init(_ configuration: ConditionalUnetConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        self.parameterSpecs = configuration.parameterSpecs()
        try ConfigurationLimits.checkParameterCount(of: parameterSpecs)
    }

    /// Refuses image sizes the Unet cannot take (each side a multiple of the downsample factor).
    public func checkImageSize(height: Int, width: Int) throws {
        let f = configuration.downsampleFactor
        guard height >= 1, width >= 1, height % f == 0, width % f == 0 else {
            throw DiffusionError.invalidImageSize(
                height: height, width: width,
                reason: "height and width must be multiples of \(f) (2^(stages−1) for dim_mults \(configuration.dimMults))")
        }
    }

    /// The forward pass (the reference's `forward(x, time, classes, cond_keep_mask=…)`): `x`
    /// `[N, channels, H, W]`, `time` f32 `[N]` (integer timesteps), `classes` f32 `[N]` (integer
    /// class indices in `0..<num_classes`), `keep` f32 `[N]` of 0/1 or nil (every class kept)
    /// → `[N, out_dim, H, W]`.
    public func forward(_ g: GraphBuilder, weights: UnetWeights, x: Tensor, time: Tensor, classes: Tensor,
                        keep: Tensor?) throws -> Tensor {
        let c = configuration
        guard x.rank == 4, x.shape[1] == c.channels else {
            throw DiffusionError.shapeMismatch(what: "conditional Unet input x", expected: [x.shape.first ?? 1, c.channels, -1, -1], got: x.shape)
        }
        let n = x.shape[0]
        try checkImageSize(height: x.shape[2], width: x.shape[3])
        guard time.shape == [n] else { throw DiffusionError.shapeMismatch(what: "conditional Unet time", expected: [n], got: time.shape) }
        guard classes.shape == [n] else { throw DiffusionError.shapeMismatch(what: "conditional Unet classes", expected: [n], got: classes.shape) }
        if let keep, keep.shape != [n] {
            throw DiffusionError.shapeMismatch(what: "conditional Unet keep mask", expected: [n], got: keep.shape)
        }
        let f = ConditionalUnetForward(g: g, w: weights, config: c)
        return try f.run(x, time: time, classes: classes, keep: keep)
    }
}

/// A model with reference state_dict keys: its parameters, in state_dict order, are all a graph,
/// a checkpoint or a PyTorch file needs to know about it.
public protocol ReferenceModel {
    var parameterSpecs: [UnetParameterSpec] { get }
}

extension ReferenceModel {
    /// Total number of parameters.
    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.count } }

    /// Declares every parameter in `g`, in state_dict order, under its reference key.
    ///
    /// Call it once per graph; the forward pass may then be applied several times with the same
    /// weights (e.g. the self-conditioning prediction).
    public func declareParameters(in g: GraphBuilder) throws -> UnetWeights {
        var tensors: [String: Tensor] = [:]
        for spec in parameterSpecs {
            tensors[spec.name] = try g.parameter(spec.name, spec.shape, initializer: spec.initializer)
        }
        return UnetWeights(tensors: tensors)
    }
}
