import Diffusion
import Foundation

extension Trainer {
    /// Samples `num_samples` images from the EMA weights with the configuration's sampler and
    /// writes them as `sample-<step>.png`. The noise seed is the same at every step, so
    /// successive grids show the same samples improving.
    func writeSamples() throws {
        let count = configuration.training.numSamples
        if sampler == nil {
            sampler = try DiffusionSampler(diffusion: diffusion, sampler: SamplerKind.configured(configuration.diffusion), batch: count, queue: queue)
        }
        guard let sampler, let ema = engine.ema else { return }
        try sampler.copyWeights(from: ema)
        let noise = SamplerNoise.device(seed: SplitMix64.mix(configuration.training.seed, 0x53414D50))
        let images = try sampler.sample(noise: noise)
        try SampleGenerator.checkFinite(images, what: "the sample grid of training step \(completedSteps)") {
            try sampler.sample(noise: noise, checkEachStep: true)
        }
        let grid = ImageGrid.make(images, count: count, channels: configuration.unet.channels,
                                  height: configuration.diffusion.imageHeight, width: configuration.diffusion.imageWidth)
        let path = "\(outputDirectory)/" + String(format: "sample-%08d.png", completedSteps)
        try grid.writePNG(to: path)
        events(.samplesWritten(step: completedSteps, path: path))
    }
}
