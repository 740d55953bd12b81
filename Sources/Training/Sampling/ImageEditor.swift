import Devices
import Diffusion
import Foundation

/// Chains that start from the user's images: image-to-image (SDEdit), inpainting (RePaint) and
/// interpolation, on a device, with the chain resident there as in ``SampleGenerator``.
///
/// Images come in as `[C, H, W]` in [0, 1] (``EditInputs``); results go out as `[N, C, H, W]`
/// in [0, 1], not clamped, as the reference returns them. The noise of a start state is drawn on
/// the host from the same Philox stream a device would use, so results do not depend on the device.
public struct ImageEditor {
    public let model: SamplingModel
    public let device: Device
    let diffusion: GaussianDiffusion

    public init(model: SamplingModel, device: Device) throws {
        guard model.classConditional == nil else {
            throw TrainingError.invalidSetting("\(model.origin) is class-conditional; image-to-image, inpainting and interpolation "
                + "take unconditional models only for now")
        }
        self.model = model
        self.device = device
        diffusion = try GaussianDiffusion(unet: Unet(model.unet), configuration: model.diffusion)
    }

    /// Elements of one image (`C·H·W`).
    public var imageElements: Int { model.channels * model.diffusion.imageHeight * model.diffusion.imageWidth }

    func checkBatch(_ count: Int, what: String) throws {
        guard count >= 1, count <= TrainingSettings.maxBatchSize else {
            throw TrainingError.invalidSetting("\(what) must be in 1...\(TrainingSettings.maxBatchSize), got \(count)")
        }
        guard count * imageElements * 4 <= TrainingSettings.maxBatchBytes else {
            throw TrainingError.invalidSetting("\(what) \(count) images need \(count * imageElements * 4) bytes, more than the limit of \(TrainingSettings.maxBatchBytes)")
        }
    }

    /// `count` standard normals from Philox stream `stream` keyed by `seed` (a device's numbers).
    static func normals(count: Int, seed: UInt64, stream: UInt32) -> [Float] {
        Philox.generate(.normal(mean: 0, std: 1), count: count, stream: stream,
                        state: [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32), 0, 0]).map(Float.init(bitPattern:))
    }

    /// A chain of `batch` images with the model's weights, without the sampler's first `skipped` steps.
    func chain(_ sampler: any Sampler, batch: Int, skipping skipped: Int = 0) throws -> DiffusionSampler {
        let queue = try device.makeQueue()
        let chain = try DiffusionSampler(diffusion: diffusion, sampler: sampler, batch: batch, queue: queue, skippingFirst: skipped)
        try chain.step.parameters.load(model.weights, queue: queue)
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
    public func imageToImage(_ image: [Float], strength: Double, sampler: any Sampler, count: Int, seed: UInt64) throws -> [Float] {
        try checkBatch(count, what: "--count")
        let (skipped, time) = try skippedSteps(sampler, strength: strength)
        let x0 = Array(repeating: diffusion.normalize(image), count: count).flatMap { $0 }
        let start = noised(x0, time: time, noise: ImageEditor.normals(count: x0.count, seed: seed, stream: 0x8000_0001))
        return try run(try chain(sampler, batch: count, skipping: skipped), start: start, seed: seed, what: "image-to-image from \(count) starts")
    }

    /// RePaint: `count` completions of `image` `[C, H, W]` in [0, 1] where `mask` (same shape,
    /// 1 = keep) is 0.
    public func inpaint(_ image: [Float], mask: [Float], sampler: RePaintSampler, count: Int, seed: UInt64) throws -> [Float] {
        try checkBatch(count, what: "--count")
        guard image.count == imageElements, mask.count == imageElements else {
            throw TrainingError.invalidSetting("the image and the mask must both have \(imageElements) values (C·H·W)")
        }
        let known = Array(repeating: diffusion.normalize(image), count: count).flatMap { $0 }
        let masks = Array(repeating: mask, count: count).flatMap { $0 }
        return try run(try chain(sampler, batch: count), inputs: ["known": known, "mask": masks], seed: seed, what: "inpainting")
    }

    /// The reference's `interpolate`, as a row: `steps` images for λ = 0 … 1, each from
    /// `(1−λ)·q(a) + λ·q(b)` at the level of the first step `strength` keeps (both noised with
    /// one pair of draws shared by the row, so the row changes only with λ), denoised by `sampler`.
    public func interpolate(_ a: [Float], _ b: [Float], steps: Int, strength: Double, sampler: any Sampler, seed: UInt64) throws -> [Float] {
        guard steps >= 2 else { throw TrainingError.invalidSetting("--steps must be at least 2 (both ends), got \(steps)") }
        try checkBatch(steps, what: "--steps")
        let (skipped, time) = try skippedSteps(sampler, strength: strength)
        let n = imageElements
        let qa = noised(diffusion.normalize(a), time: time, noise: ImageEditor.normals(count: n, seed: seed, stream: 0x8000_0001))
        let qb = noised(diffusion.normalize(b), time: time, noise: ImageEditor.normals(count: n, seed: seed, stream: 0x8000_0002))
        let start = (0..<steps).flatMap { k -> [Float] in
            let lambda = Float(k) / Float(steps - 1)
            return zip(qa, qb).map { (1 - lambda) * $0 + lambda * $1 }
        }
        return try run(try chain(sampler, batch: steps, skipping: skipped), start: start, seed: seed, what: "interpolation")
    }
}
