import Graph

/// The Unet of denoising-diffusion-pytorch 2.3.4, written with the ``Graph/GraphBuilder``.
///
/// Parameters carry the reference state_dict keys (``UnetConfiguration/parameterSpecs()``), so a
/// PyTorch `unet.state_dict()` saved as safetensors loads by name. The forward pass follows the
/// reference module by module: RMSNorm as `F.normalize(x, dim=1)·g·√C`, scale-shift as
/// `x·(scale+1)+shift` with the first half of the time MLP as the scale, linear attention with
/// softmax over `dim_head` for q and over positions for k, memory key/values prepended,
/// head-major channels, skip connections concatenated after the current tensor.
///
/// ```swift
/// let unet = try Unet(UnetConfiguration(dim: 64))
/// let g = GraphBuilder()
/// let weights = try unet.declareParameters(in: g)
/// let x = try g.input("x", [8, 3, 32, 32])
/// let t = try g.input("t", [8])
/// let eps = try unet.forward(g, weights: weights, x: x, time: t)   // [8, 3, 32, 32]
/// ```
public struct Unet: ReferenceModel, Sendable {
    public let configuration: UnetConfiguration
    /// The parameters in state_dict order.
    public let parameterSpecs: [UnetParameterSpec]
    let stages: [UnetConfiguration.Stage]

    public init(_ configuration: UnetConfiguration) throws {
        self.configuration = configuration
        self.stages = try configuration.stages()
        self.parameterSpecs = try configuration.parameterSpecs()
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

    /// The forward pass: `x` `[N, channels, H, W]` and `time` f32 `[N]` (integer timesteps as
    /// floats) → `[N, out_dim, H, W]`. With self-conditioning, `selfCondition` `[N, channels, H, W]`
    /// is concatenated before `x` (zeros when nil), as the reference does.
    public func forward(_ g: GraphBuilder, weights: UnetWeights, x: Tensor, time: Tensor, selfCondition: Tensor? = nil) throws -> Tensor {
        let c = configuration
        guard x.rank == 4, x.shape[1] == c.channels else {
            throw DiffusionError.shapeMismatch(what: "Unet input x", expected: [x.shape.first ?? 1, c.channels, -1, -1], got: x.shape)
        }
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        try checkImageSize(height: h, width: w)
        guard time.shape == [n] else { throw DiffusionError.shapeMismatch(what: "Unet time", expected: [n], got: time.shape) }
        if let selfCondition, selfCondition.shape != x.shape {
            throw DiffusionError.shapeMismatch(what: "Unet self-conditioning input", expected: x.shape, got: selfCondition.shape)
        }
        var input = x
        if c.selfCondition {
            let cond = try selfCondition ?? g.expand(g.scalar(0), to: x.shape)
            input = try g.concat([cond, x], axis: 1)
        }
        var f = UnetForward(g: g, w: weights, config: c)
        return try f.run(input, time: time, stages: stages)
    }
}

/// The parameter tensors of one Unet in one graph, by state_dict key.
public struct UnetWeights {
    public let tensors: [String: Tensor]

    /// The parameter `name`; a missing one is a programming error in the builder, reported by name.
    public func callAsFunction(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else {
            throw DiffusionError.invalidConfiguration("the Unet has no parameter '\(name)'")
        }
        return t
    }
}
