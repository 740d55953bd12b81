import Devices
import Diffusion
import Foundation
import Graph

/// Draws images from a ``SamplingModel`` on a device, in batches, with the chain resident on
/// the device (``Diffusion/DiffusionSampler``).
public struct SampleGenerator {
    public let model: SamplingModel
    public let method: SamplingMethod
    public let device: Device

    /// - Parameter method: nil uses the configuration's own choice (DDIM when
    ///   `sampling_timesteps < timesteps`, with its `ddim_sampling_eta`).
    public init(model: SamplingModel, method: SamplingMethod? = nil, device: Device) throws {
        self.model = model
        self.method = method ?? SamplingMethod(model.diffusion)
        self.device = device
        if case let .ddim(steps, eta) = self.method {
            guard (1...model.diffusion.timesteps).contains(steps) else {
                throw TrainingError.invalidSetting("--steps must be in 1...\(model.diffusion.timesteps) (the model's timesteps), got \(steps)")
            }
            guard eta >= 0, eta.isFinite else { throw TrainingError.invalidSetting("--eta must be non-negative, got \(eta)") }
        }
    }

    /// A one-line description of the method.
    public var methodDescription: String {
        switch method {
        case .ddpm: return "DDPM ancestral sampling (\(model.diffusion.timesteps) steps)"
        case let .ddim(steps, eta): return "DDIM (\(steps) steps, eta \(eta))"
        }
    }

    /// `count` images `[count, C, H, W]` in [0, 1] (not clamped, as in the reference).
    ///
    /// Batch `j` draws its noise from Philox with the key `mix(seed, j)`, so the same seed and
    /// batch size give the same images on every device.
    ///
    /// - Parameter progress: called after each batch with (images done, count).
    public func generate(count: Int, batchSize: Int, seed: UInt64, progress: (Int, Int) -> Void = { _, _ in }) throws -> [Float] {
        guard count >= 1 else { throw TrainingError.invalidSetting("--count must be at least 1, got \(count)") }
        guard batchSize >= 1 else { throw TrainingError.invalidSetting("--batch-size must be at least 1, got \(batchSize)") }
        let diffusion = try GaussianDiffusion(unet: Unet(model.unet), configuration: model.diffusion)
        let queue = try device.makeQueue()
        var samplers: [Int: DiffusionSampler] = [:]
        var out: [Float] = []
        var done = 0
        var batchIndex: UInt64 = 0
        while done < count {
            let n = min(batchSize, count - done)
            if samplers[n] == nil {
                let sampler = try DiffusionSampler(diffusion: diffusion, method: method, batch: n, queue: queue)
                try sampler.step.parameters.load(model.weights, queue: queue)
                samplers[n] = sampler
            }
            out += try samplers[n]!.sample(noise: .device(seed: SplitMix64.mix(seed, batchIndex)))
            done += n
            batchIndex += 1
            progress(done, count)
        }
        return out
    }
}
