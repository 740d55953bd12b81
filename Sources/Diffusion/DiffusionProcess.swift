/// What a sampling chain needs from a diffusion model, whichever reference module it ports:
/// its settings and schedule, the image shape, the way back to [0, 1], and the model output
/// provider it samples with unless told otherwise.
public protocol DiffusionProcess: Sendable {
    var configuration: DiffusionConfiguration { get }
    var schedule: NoiseSchedule { get }
    /// Shape of a batch of images, `[batch, channels, height, width]`.
    func imageShape(batch: Int) -> [Int]
    /// Host form of the inverse of the training normalisation (not clamped, as in the reference).
    func unnormalize(_ x: [Float]) -> [Float]
    /// Whether the network also sees its previous x̂₀ (self-conditioning).
    var selfConditioning: Bool { get }
    /// The model output provider of the reference's `sample()`.
    var defaultDenoiser: any Denoiser { get }
}

extension GaussianDiffusion: DiffusionProcess {
    public var selfConditioning: Bool { unet.configuration.selfCondition }
    public var defaultDenoiser: any Denoiser { UnetDenoiser(unet) }
}

extension ConditionalDiffusion: DiffusionProcess {
    public var selfConditioning: Bool { false }
    /// Guided with the reference sampler's defaults (scale 6, rescaled_phi 0.7, projection on)
    /// and the configuration's `use_cfg_plus_plus`.
    public var defaultDenoiser: any Denoiser { GuidedDenoiser(unet, guidance: Guidance(cfgPlusPlus: configuration.useCFGPlusPlus)) }
}
