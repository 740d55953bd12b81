import Graph

/// The class-conditional module's `GaussianDiffusion` around a ``ConditionalUnet``: the same
/// schedules and loss as ``GaussianDiffusion``, with class labels, condition dropout while
/// training, and guided sampling (``GuidedDenoiser`` in any ``DiffusionSampler``).
public struct ConditionalDiffusion: Sendable {
    public let unet: ConditionalUnet
    public let configuration: DiffusionConfiguration
    public let schedule: NoiseSchedule

    /// Checks the pairing as the reference does (out_dim must equal channels; the image size
    /// must fit the downsampling).
    public init(unet: ConditionalUnet, configuration: DiffusionConfiguration) throws {
        try configuration.validate()
        let u = unet.configuration
        guard u.resolvedOutDim == u.channels else {
            throw DiffusionError.invalidConfiguration(
                "the class-conditional GaussianDiffusion needs a Unet whose out_dim (\(u.resolvedOutDim)) equals its channels (\(u.channels))")
        }
        guard configuration.autoNormalize else {
            throw DiffusionError.invalidConfiguration("the class-conditional GaussianDiffusion always normalises images to [-1, 1] (no auto_normalize)")
        }
        if case .sigmoid = configuration.betaSchedule {
            throw DiffusionError.invalidConfiguration("the class-conditional GaussianDiffusion has only the linear and cosine schedules")
        }
        try unet.checkImageSize(height: configuration.imageHeight, width: configuration.imageWidth)
        self.unet = unet
        self.configuration = configuration
        self.schedule = try configuration.noiseSchedule()
    }

    public var numClasses: Int { unet.configuration.numClasses }

    /// Shape of a batch of images, `[batch, channels, height, width]`.
    public func imageShape(batch: Int) -> [Int] {
        [batch, unet.configuration.channels, configuration.imageHeight, configuration.imageWidth]
    }

    /// Host form of `unnormalize_to_zero_to_one`: `(x + 1)·0.5`, not clamped.
    public func unnormalize(_ x: [Float]) -> [Float] { x.map { ($0 + 1) * 0.5 } }
}

/// Where the class labels of a training batch come from.
public enum ClassLabels: Sendable, Equatable {
    /// After the images in the image input: `[B·C·H·W + B]`, the labels as f32 integers. One
    /// upload per step carries both (a training step feeds exactly one input).
    case packedAfterImages
    /// A separate graph input of this name, f32 `[B]`.
    case input(String)
}

extension ConditionalDiffusion {
    /// Builds the reference's `p_losses` with condition dropout into `g`: the loss of
    /// ``GaussianDiffusion/buildTrainingLoss(in:batch:imageInput:timesteps:noise:selfConditioning:evaluationMode:)``
    /// with the Unet conditioned on the batch's classes, each replaced by the null class with
    /// probability `cond_drop_prob`.
    ///
    /// - Parameters:
    ///   - labels: where the classes come from (packed after the images by default).
    ///   - keepMask: `.device` draws the keep mask with Philox every step (`u < 1 − cond_drop_prob`,
    ///     as the reference's `prob_mask_like`: deterministic, resumable with the random state, the
    ///     same bits on every device); `.input(name)` reads f32 `[B]` of 0/1 (a golden case's mask).
    public func buildTrainingLoss(in g: GraphBuilder, batch: Int, imageInput: String = "image",
                                  labels: ClassLabels = .packedAfterImages, timesteps: TrainingSource = .device,
                                  noise: TrainingSource = .device, keepMask: TrainingSource = .device) throws -> TrainingLoss {
        guard batch >= 1 else { throw DiffusionError.invalidConfiguration("the batch size must be positive, got \(batch)") }
        let shape = imageShape(batch: batch)
        let imageCount = shape.reduce(1, *)
        let weights = try unet.declareParameters(in: g)
        return try g.scope("diffusion") {
            let image: Tensor
            let classes: Tensor
            switch labels {
            case .packedAfterImages:
                let packed = try g.input(imageInput, [imageCount + batch])
                image = try g.reshape(g.slice(packed, axis: 0, start: 0, length: imageCount), shape)
                classes = try g.slice(packed, axis: 0, start: imageCount, length: batch)
            case let .input(name):
                image = try g.input(imageInput, shape)
                classes = try g.input(name, [batch])
            }
            let terms = try DiffusionLossTerms(g, configuration: configuration, schedule: schedule,
                                               x0: g.affine(image, scale: 2, shift: -1), timesteps: timesteps, noise: noise)
            let keep: Tensor?
            switch keepMask {
            case .device: keep = try deviceKeepMask(g, batch: batch)
            case let .input(name): keep = try g.input(name, [batch])
            }
            let prediction = try unet.forward(g, weights: weights, x: terms.xt, time: terms.time, classes: classes, keep: keep)
            let loss = try g.mseLoss(prediction, terms.target, weights: terms.lossWeight)
            return TrainingLoss(loss: loss, weights: weights, imageInput: imageInput, prediction: prediction, target: terms.target)
        }
    }

    /// The keep mask `u < p` with `p = 1 − cond_drop_prob` and u ~ U[0, 1) from Philox, as exact
    /// 0s and 1s; nil when nothing is ever dropped.
    ///
    /// u is a multiple of 2⁻²⁴, so `u < p` ⟺ `u·2²⁴ < ⌈p·2²⁴⌉`, and `⌈p·2²⁴⌉ − u·2²⁴` is an exact
    /// integer: ≥ 1 when kept, ≤ 0 when dropped; clamping it to [0, 1] gives the mask exactly.
    func deviceKeepMask(_ g: GraphBuilder, batch: Int) throws -> Tensor? {
        let p = 1 - unet.configuration.condDropProb
        if p >= 1 { return nil }
        if p <= 0 { return try g.constant([Float](repeating: 0, count: batch), shape: [batch]) }
        let threshold = Float((p * 0x1p24).rounded(.up))
        let u = try g.randomUniform([batch])
        return try g.clamp(g.affine(u, scale: -0x1p24, shift: threshold), low: 0, high: 1)
    }
}
