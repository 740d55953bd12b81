import Diffusion
import Foundation

extension Trainer {
    /// Samples `num_samples` images from the EMA weights with the configuration's sampler and
    /// writes them as `sample-<step>.png`, enlarged for viewing (``Image/enlargedForViewing()``). The noise seed is the same at every step, so
    /// successive grids show the same samples improving.
    func writeSamples() throws {
        let count = configuration.training.numSamples
        guard let ema = engine.ema else { return }
        let noise = SamplerNoise.device(seed: SplitMix64.mix(configuration.training.seed, 0x53414D50))
        let rule = SamplerKind.configured(configuration.diffusion)
        var columns: Int?
        switch model {
        case let .unconditional(diffusion):
            if sampler == nil { sampler = try DiffusionSampler(diffusion: diffusion, sampler: rule, batch: count, queue: queue) }
        case let .classConditional(diffusion, _):
            // One row per class, ⌈num_samples / classes⌉ columns, with the reference sampler's
            // default guidance (scale 6, rescaled_phi 0.7, parallel component removed).
            let k = diffusion.numClasses
            let perClass = (count + k - 1) / k
            columns = perClass
            if sampler == nil {
                let chain = try DiffusionSampler(diffusion: diffusion, sampler: rule, batch: k * perClass, queue: queue)
                try chain.setClasses((0..<k).flatMap { Array(repeating: $0, count: perClass) })
                sampler = chain
            }
        }
        guard let sampler else { return }
        try sampler.copyWeights(from: ema)
        let images = try sampler.sample(noise: noise)
        try SampleGenerator.checkFinite(images, what: "the sample grid of training step \(completedSteps)") {
            try sampler.sample(noise: noise, checkEachStep: true)
        }
        let grid = ImageGrid.make(images, count: sampler.batch, channels: configuration.channels,
                                  height: configuration.diffusion.imageHeight, width: configuration.diffusion.imageWidth,
                                  columns: columns)
        let path = "\(outputDirectory)/" + String(format: "sample-%08d.png", completedSteps)
        // Enlarged by a whole factor for viewing, as `ddpm sample --grid-size auto` writes grids
        // (a 64-image grid of 8×8 digits is 82 pixels wide before, 328 after).
        try grid.enlargedForViewing().writePNG(to: path)
        events(.samplesWritten(step: completedSteps, path: path))
    }
}
