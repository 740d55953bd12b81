import Devices
import Diffusion
import Foundation
import Graph

/// Chains that start from the user's images: image-to-image (SDEdit), inpainting (RePaint) and
/// interpolation, on a device, with the chain resident there as in ``SampleGenerator``.
///
/// Images come in as `[C, H, W]` in [0, 1] (``EditInputs``); results go out as `[N, C, H, W]`
/// in [0, 1], not clamped, as the reference returns them. The noise of a start state is drawn on
/// the host from the same Philox stream a device would use, so results do not depend on the device.
///
/// A class-conditional model samples with ``guidance`` as ``SampleGenerator`` does, and every
/// edit then needs one class per image of its batch; an unconditional model takes none.
public struct ImageEditor {
    public let model: SamplingModel
    public let device: Device
    /// The guidance of a class-conditional model (ignored for an unconditional one).
    public let guidance: Guidance
    let diffusion: any DiffusionProcess
    /// The guided denoiser of a class-conditional model; nil for an unconditional one (its Unet).
    let denoiser: (any Denoiser)?
    /// Images in [0, 1] into the model's range.
    let normalize: ([Float]) -> [Float]

    /// An editor of `model`'s images on `device`, guided by `guidance` for a class-conditional model.
    ///
    /// - Parameter guidance: nil uses the reference sampler's defaults (scale 6, rescaled_phi 0.7,
    ///   parallel component removed) with the configuration's `use_cfg_plus_plus`.
    public init(model: SamplingModel, guidance: Guidance? = nil, device: Device) throws {
        self.model = model
        self.device = device
        self.guidance = guidance ?? Guidance(cfgPlusPlus: model.diffusion.useCFGPlusPlus)
        do { try self.guidance.validate() } catch let error as DiffusionError { throw TrainingError.invalidSetting("\(error)") }
        if let conditional = model.classConditional {
            let unet = try ConditionalUnet(conditional.unet)
            diffusion = try ConditionalDiffusion(unet: unet, configuration: model.diffusion)
            denoiser = GuidedDenoiser(unet, guidance: self.guidance)
            // The class-conditional GaussianDiffusion always works in [−1, 1].
            normalize = { $0.map { $0 * 2 - 1 } }
        } else {
            let plain = try GaussianDiffusion(unet: Unet(model.unet), configuration: model.diffusion)
            diffusion = plain
            denoiser = nil
            normalize = plain.normalize
        }
    }

    /// `sampler` and, for a class-conditional model, the guidance, in words (as ``SampleGenerator/description``).
    public func describe(_ sampler: any Sampler) -> String {
        guard model.classConditional != nil else { return "\(sampler)" }
        let g = guidance
        return "\(sampler), guidance \(g.scale) (rescaled_phi \(g.rescaledPhi), parallel component "
            + "\(g.removeParallelComponent ? "removed" : "kept")\(g.cfgPlusPlus ? ", CFG++" : ""))"
    }

    /// Checks `classes` against the model: one valid class per image of a batch of `count` for a
    /// class-conditional model, none for an unconditional one.
    public func checkClasses(_ classes: [Int]?, count: Int) throws {
        guard let conditional = model.classConditional else {
            if classes != nil {
                throw TrainingError.invalidSetting("classes (--class/--classes) were given but \(model.origin) is unconditional")
            }
            return
        }
        guard let classes else {
            throw TrainingError.invalidSetting("\(model.origin) is class-conditional: give the class of the images with --class C "
                + "or --classes LIST (the model's classes are \(conditional.classList))")
        }
        guard classes.count == count else {
            throw TrainingError.invalidSetting("a class-conditional model needs one class per image (\(count)), got \(classes.count)")
        }
        if let bad = classes.first(where: { !conditional.classNames.indices.contains($0) }) {
            throw TrainingError.invalidSetting("class \(bad) does not exist; the model's classes are \(conditional.classList)")
        }
    }

    /// Elements of one image (`C·H·W`).
    public var imageElements: Int { model.channels * model.diffusion.imageHeight * model.diffusion.imageWidth }

    func checkBatch(_ count: Int, what: String) throws {
        guard count >= 1, count <= TrainingConfiguration.maxBatchSize else {
            throw TrainingError.invalidSetting("\(what) must be in 1...\(TrainingConfiguration.maxBatchSize), got \(count)")
        }
        guard count * imageElements * 4 <= TrainingConfiguration.maxBatchBytes else {
            throw TrainingError.invalidSetting("\(what) \(count) images need \(count * imageElements * 4) bytes, more than the limit of \(TrainingConfiguration.maxBatchBytes)")
        }
    }

    /// `count` standard normals from Philox stream `stream` keyed by `seed` (a device's numbers).
    static func normals(count: Int, seed: UInt64, stream: UInt32) -> [Float] {
        Philox.generate(.normal(mean: 0, std: 1), count: count, stream: stream,
                        state: [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32), 0, 0]).map(Float.init(bitPattern:))
    }

    /// A chain of `batch` images with the model's weights, without the sampler's first `skipped`
    /// steps, guided toward `classes` (checked by ``checkClasses(_:count:)``) for a
    /// class-conditional model.
    func chain(_ sampler: any Sampler, batch: Int, classes: [Int]?, skipping skipped: Int = 0) throws -> DiffusionSampler {
        let queue = try device.makeQueue()
        let chain = try DiffusionSampler(diffusion: diffusion, sampler: sampler, denoiser: denoiser, batch: batch, queue: queue,
                                         skippingFirst: skipped)
        try chain.step.parameters.load(model.weights, queue: queue)
        if let classes { try chain.setClasses(classes) }
        return chain
    }

    /// The steps a `strength` keeps of `sampler`'s chain, as diffusers' image-to-image pipelines
    /// choose them: the last `⌊N·strength⌋` of its N steps (at least one).
    public func skippedSteps(_ sampler: any Sampler, strength: Double) throws -> (skipped: Int, time: Int) {
        guard strength > 0, strength <= 1 else { throw TrainingError.invalidSetting("--strength must be in (0, 1], got \(strength)") }
        let times = try sampler.plan(diffusion.schedule).times
        let kept = min(Int(Double(times.count) * strength), times.count)
        guard kept >= 1 else {
            throw TrainingError.invalidSetting("--strength \(strength) keeps no step of the \(times.count) of \(sampler); raise it to at least \(1.0 / Double(times.count))")
        }
        return (times.count - kept, times[times.count - kept])
    }

    /// `√ᾱ_t·x₀ + √(1−ᾱ_t)·z`: images `[N, C, H, W]` in the model's range noised to timestep `t`.
    func noised(_ x0: [Float], time t: Int, noise z: [Float]) -> [Float] {
        let (a, b) = (diffusion.schedule.sqrtAlphasCumprod[t], diffusion.schedule.sqrtOneMinusAlphasCumprod[t])
        return zip(x0, z).map { a * $0 + b * $1 }
    }

    func run(_ chain: DiffusionSampler, start: [Float]? = nil, inputs: [String: [Float]] = [:], seed: UInt64, what: String) throws -> [Float] {
        let images = try chain.sample(noise: .device(seed: seed), start: start, inputs: inputs, capture: []).images
        try SampleGenerator.checkFinite(images, what: what) {
            try chain.sample(noise: .device(seed: seed), start: start, inputs: inputs, checkEachStep: true, capture: []).images
        }
        return images
    }

    /// SDEdit image-to-image: `count` images from `image` `[C, H, W]` in [0, 1], noised to the
    /// level of the first step `strength` keeps and denoised by `sampler` from there (strength 1:
    /// from the first step, little of the image is left; small: a light touch-up).
    ///
    /// A class-conditional model needs `classes`, one per image.
    public func imageToImage(_ image: [Float], strength: Double, sampler: any Sampler, count: Int, seed: UInt64,
                             classes: [Int]? = nil) throws -> [Float] {
        try checkBatch(count, what: "--count")
        try checkClasses(classes, count: count)
        let (skipped, time) = try skippedSteps(sampler, strength: strength)
        let x0 = Array(repeating: normalize(image), count: count).flatMap { $0 }
        let start = noised(x0, time: time, noise: ImageEditor.normals(count: x0.count, seed: seed, stream: 0x8000_0001))
        return try run(try chain(sampler, batch: count, classes: classes, skipping: skipped), start: start, seed: seed,
                       what: "image-to-image from \(count) starts")
    }

    /// RePaint: `count` completions of `image` `[C, H, W]` in [0, 1] where `mask` (same shape,
    /// 1 = keep) is 0. A class-conditional model needs `classes`, one per completion.
    public func inpaint(_ image: [Float], mask: [Float], sampler: RePaintSampler, count: Int, seed: UInt64,
                        classes: [Int]? = nil) throws -> [Float] {
        try checkBatch(count, what: "--count")
        try checkClasses(classes, count: count)
        guard image.count == imageElements, mask.count == imageElements else {
            throw TrainingError.invalidSetting("the image and the mask must both have \(imageElements) values (C·H·W)")
        }
        let known = Array(repeating: normalize(image), count: count).flatMap { $0 }
        let masks = Array(repeating: mask, count: count).flatMap { $0 }
        return try run(try chain(sampler, batch: count, classes: classes), inputs: ["known": known, "mask": masks], seed: seed, what: "inpainting")
    }

    /// The reference's `interpolate`, as a row: `frames` images for λ = 0 … 1, each from
    /// `(1−λ)·q(a) + λ·q(b)` at the level of the first step `strength` keeps (both noised with
    /// one pair of draws shared by the row, so the row changes only with λ), denoised by `sampler`.
    /// A class-conditional model needs `classes`, one per image of the row.
    public func interpolate(_ a: [Float], _ b: [Float], frames: Int, strength: Double, sampler: any Sampler, seed: UInt64,
                            classes: [Int]? = nil) throws -> [Float] {
        guard frames >= 2 else { throw TrainingError.invalidSetting("--frames must be at least 2 (both ends), got \(frames)") }
        try checkBatch(frames, what: "--frames")
        try checkClasses(classes, count: frames)
        let (skipped, time) = try skippedSteps(sampler, strength: strength)
        let n = imageElements
        let qa = noised(normalize(a), time: time, noise: ImageEditor.normals(count: n, seed: seed, stream: 0x8000_0001))
        let qb = noised(normalize(b), time: time, noise: ImageEditor.normals(count: n, seed: seed, stream: 0x8000_0002))
        let start = (0..<frames).flatMap { k -> [Float] in
            let lambda = Float(k) / Float(frames - 1)
            return zip(qa, qb).map { (1 - lambda) * $0 + lambda * $1 }
        }
        return try run(try chain(sampler, batch: frames, classes: classes, skipping: skipped), start: start, seed: seed, what: "interpolation")
    }
}
