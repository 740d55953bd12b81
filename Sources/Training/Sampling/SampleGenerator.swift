import Devices
import Diffusion
import Foundation
import Graph

/// Draws images from a ``SamplingModel`` on a device, in batches, with the chain resident on
/// the device (``Diffusion/DiffusionSampler``).
public struct SampleGenerator {
    public let model: SamplingModel
    /// The update rule of every chain.
    public let sampler: any Sampler
    public let device: Device
    /// The guidance of a class-conditional model (ignored for an unconditional one).
    public let guidance: Guidance

    /// - Parameter sampler: nil uses the configuration's own choice (DDIM when
    ///   `sampling_timesteps < timesteps`, with its `ddim_sampling_eta`).
    /// - Parameter guidance: nil uses the reference sampler's defaults (scale 6, rescaled_phi 0.7,
    ///   parallel component removed) with the configuration's `use_cfg_plus_plus`.
    public init(model: SamplingModel, sampler: (any Sampler)? = nil, guidance: Guidance? = nil, device: Device) throws {
        self.model = model
        self.sampler = sampler ?? SamplerKind.configured(model.diffusion)
        self.device = device
        self.guidance = guidance ?? Guidance(cfgPlusPlus: model.diffusion.useCFGPlusPlus)
        do { try self.guidance.validate() } catch let error as DiffusionError { throw TrainingError.invalidSetting("\(error)") }
    }

    /// The sampler, and for a class-conditional model its guidance, in words.
    public var description: String {
        guard model.classConditional != nil else { return "\(sampler)" }
        let g = guidance
        return "\(sampler), guidance \(g.scale) (rescaled_phi \(g.rescaledPhi), parallel component "
            + "\(g.removeParallelComponent ? "removed" : "kept")\(g.cfgPlusPlus ? ", CFG++" : ""))"
    }

    /// `count` images `[count, C, H, W]` in [0, 1] (not clamped, as in the reference), all in
    /// memory; ``generate(count:batchSize:seed:eachBatch:)`` streams them instead.
    public func generate(count: Int, batchSize: Int, seed: UInt64, classes: [Int]? = nil,
                         progress: (Int, Int) -> Void = { _, _ in }) throws -> [Float] {
        var out: [Float] = []
        try generate(count: count, batchSize: batchSize, seed: seed, classes: classes, eachBatch: { _, images in
            out += images
            progress(out.count / imageElements, count)
        })
        return out
    }

    /// Steps of the sampler's chain for this model.
    public func stepCount() throws -> Int { try sampler.plan(model.diffusion.noiseSchedule()).times.count }

    /// Elements of one image (`C·H·W`).
    public var imageElements: Int { model.channels * model.diffusion.imageHeight * model.diffusion.imageWidth }

    /// Draws `count` images batch by batch and hands each batch to `each` (the index of its first
    /// image, and its images `[n, C, H, W]` in [0, 1], not clamped, as in the reference) before
    /// the next is drawn, so only one batch is ever held and every finished one can be written.
    ///
    /// Batch `j` draws its noise from Philox with the key `mix(seed, j)`, so the same seed and
    /// batch size give the same images on every device.
    ///
    /// - Throws: ``TrainingError/nonFiniteSamples(_:)`` when a batch holds NaN or infinite values,
    ///   naming the batch and the first sampling step that produced them.
    ///
    /// A class-conditional model needs `classes`, one label per image.
    ///
    /// `capture`: step indices whose x_t and x̂₀ the first batch keeps on the device, handed to
    /// `chain` with the batch (``ChainStrip``).
    public func generate(count: Int, batchSize: Int, seed: UInt64, classes: [Int]? = nil, capture: [Int] = [],
                         chain: ((SampledChainView) throws -> Void)? = nil, eachBatch each: (Int, [Float]) throws -> Void) throws {
        guard count >= 1 else { throw TrainingError.invalidSetting("--count must be at least 1, got \(count)") }
        if let conditional = model.classConditional {
            guard let classes, classes.count == count else {
                throw TrainingError.invalidSetting("a class-conditional model needs one class per image (\(count)), got \(classes?.count ?? 0)")
            }
            if let bad = classes.first(where: { !conditional.classNames.indices.contains($0) }) {
                throw TrainingError.invalidSetting("class \(bad) does not exist; the model's classes are \(conditional.classList)")
            }
        } else if classes != nil {
            throw TrainingError.invalidSetting("classes were given but the model is unconditional")
        }
        guard batchSize >= 1 else { throw TrainingError.invalidSetting("--batch-size must be at least 1, got \(batchSize)") }
        let batchBytes = min(batchSize, count) * imageElements * 4
        guard batchBytes <= TrainingConfiguration.maxBatchBytes else {
            throw TrainingError.invalidSetting("--batch-size \(batchSize) images of \(model.channels)x\(model.diffusion.imageHeight)x"
                + "\(model.diffusion.imageWidth) need \(batchBytes) bytes, more than the limit of \(TrainingConfiguration.maxBatchBytes)")
        }
        let diffusion: any DiffusionProcess
        var denoiser: (any Denoiser)?
        if let conditional = model.classConditional {
            let unet = try ConditionalUnet(conditional.unet)
            diffusion = try ConditionalDiffusion(unet: unet, configuration: model.diffusion)
            denoiser = GuidedDenoiser(unet, guidance: guidance)
        } else {
            diffusion = try GaussianDiffusion(unet: Unet(model.unet), configuration: model.diffusion)
        }
        let queue = try device.makeQueue()
        var samplers: [Int: DiffusionSampler] = [:]
        var done = 0
        var batchIndex: UInt64 = 0
        while done < count {
            let n = min(batchSize, count - done)
            if samplers[n] == nil {
                let chain = try DiffusionSampler(diffusion: diffusion, sampler: sampler, denoiser: denoiser, batch: n, queue: queue)
                try chain.step.parameters.load(model.weights, queue: queue)
                samplers[n] = chain
            }
            let noise = SamplerNoise.device(seed: SplitMix64.mix(seed, batchIndex))
            if let classes { try samplers[n]!.setClasses(Array(classes[done..<(done + n)])) }
            let images: [Float]
            if batchIndex == 0, let chain, !capture.isEmpty {
                let result = try samplers[n]!.sample(noise: noise, capture: capture)
                try chain(SampledChainView(x: result.x, xStart: result.xStart, batch: n, unnormalize: diffusion.unnormalize))
                images = result.images
            } else {
                images = try samplers[n]!.sample(noise: noise)
            }
            try SampleGenerator.checkFinite(images, what: "images \(done + 1)-\(done + n) of \(count) (batch \(batchIndex))") {
                try samplers[n]!.sample(noise: noise, checkEachStep: true)
            }
            try each(done, images)
            done += n
            batchIndex += 1
        }
    }

    /// Throws ``TrainingError/nonFiniteSamples(_:)`` when `images` are not all finite; `rerun`
    /// replays the chain step by step to name the first step that went wrong.
    static func checkFinite(_ images: [Float], what: String, rerun: () throws -> [Float]) throws {
        guard !images.allSatisfy(\.isFinite) else { return }
        let bad = images.lazy.filter { !$0.isFinite }.count
        var detail = "no single step could be named (the replay was finite)"
        do { _ = try rerun() } catch let error as DiffusionError {
            if case .nonFiniteSample = error { detail = "\(error)" } else { throw error }
        }
        throw TrainingError.nonFiniteSamples("\(what): \(bad) of \(images.count) values are NaN or infinite: \(detail)")
    }
}
