import Graph

/// The reference `GaussianDiffusion` (denoising-diffusion-pytorch 2.3.4) around a ``Unet``:
/// its noise schedule, its training loss as a graph, and its samplers (see ``DiffusionSampler``).
///
/// ```swift
/// let diffusion = try GaussianDiffusion(unet: Unet(UnetConfiguration(dim: 64)),
///                                       configuration: DiffusionConfiguration(imageHeight: 32, imageWidth: 32))
/// let g = GraphBuilder()
/// let loss = try diffusion.buildTrainingLoss(in: g, batch: 16)     // image input "image" in [0, 1]
/// let step = try TrainingStep(builder: g, loss: loss.loss, queue: queue)
/// ```
public struct GaussianDiffusion: Sendable {
    public let unet: Unet
    public let configuration: DiffusionConfiguration
    /// The per-timestep buffers (betas, ᾱ, posterior coefficients, loss weights).
    public let schedule: NoiseSchedule

    /// Checks the pairing as the reference does: the Unet must predict as many channels as the
    /// image has (learned variance needs a different diffusion class), and the image size must
    /// fit its downsampling.
    public init(unet: Unet, configuration: DiffusionConfiguration) throws {
        try configuration.validate()
        let u = unet.configuration
        guard u.resolvedOutDim == u.channels else {
            throw DiffusionError.invalidConfiguration(
                "GaussianDiffusion needs a Unet whose out_dim (\(u.resolvedOutDim)) equals its channels (\(u.channels)); "
                    + "learned variance needs LearnedGaussianDiffusion, which this port does not provide")
        }
        try unet.checkImageSize(height: configuration.imageHeight, width: configuration.imageWidth)
        self.unet = unet
        self.configuration = configuration
        self.schedule = try configuration.noiseSchedule()
    }

    /// Shape of a batch of images, `[batch, channels, height, width]`.
    public func imageShape(batch: Int) -> [Int] {
        [batch, unet.configuration.channels, configuration.imageHeight, configuration.imageWidth]
    }

    /// `[0, 1] → [−1, 1]` (`x·2 − 1`) when auto-normalising, else the identity.
    func normalize(_ g: GraphBuilder, _ x: Tensor) throws -> Tensor {
        configuration.autoNormalize ? try g.affine(x, scale: 2, shift: -1) : x
    }

    /// Host form of ``normalize(_:_:)``: images in [0, 1] into the model's range.
    public func normalize(_ x: [Float]) -> [Float] {
        configuration.autoNormalize ? x.map { $0 * 2 - 1 } : x
    }

    /// Host form of the inverse of ``normalize(_:_:)``: `(x + 1)·0.5` when auto-normalising (not clamped, as in the reference).
    public func unnormalize(_ x: [Float]) -> [Float] {
        configuration.autoNormalize ? x.map { ($0 + 1) * 0.5 } : x
    }
}
