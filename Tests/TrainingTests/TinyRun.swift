import Backends
import Devices
import Diffusion
import Foundation
import Graph
@testable import Training

/// Tiny run configurations that train in well under a second per step on one CPU core.
enum TinyRun {
    /// A 2-stage Unet (dim 8) on 8x8 images, 50 timesteps, DDIM sampling in 5 steps.
    static func configuration(channels: Int = 1, data: DataSource = .shapes, steps: Int = 6, batch: Int = 4,
                              seed: UInt64 = 7, objective: Objective = .predNoise) -> RunConfiguration {
        let unet = UnetConfiguration(dim: 8, dimMults: [1, 2], channels: channels, attnDimHead: .all(4), attnHeads: .all(2))
        var diffusion = DiffusionConfiguration(imageHeight: 8, imageWidth: 8, timesteps: 50, samplingTimesteps: 5,
                                               objective: objective, betaSchedule: .linear)
        diffusion.ddimSamplingEta = 0
        var training = TrainingConfiguration()
        training.batchSize = batch
        training.steps = steps
        training.learningRate = 1e-3
        training.seed = seed
        training.saveEvery = 1000
        training.sampleEvery = 0
        training.numSamples = 0
        training.logEvery = 1
        training.ema?.updateEvery = 1
        training.ema?.updateAfterStep = 2
        return RunConfiguration(unet: unet, diffusion: diffusion, training: training, data: data)
    }

    static func device(_ name: String = "cpu") throws -> Device { try DeviceRegistry.device(named: name) }

    /// Trains `configuration` in a fresh folder and returns the losses by step and the folder.
    static func train(_ configuration: RunConfiguration, device: String = "cpu", in directory: String? = nil,
                      resume: Bool = false, stopAfter: Int? = nil) throws -> (losses: [Int: Float], directory: String, outcome: TrainingOutcome) {
        let dir = directory ?? Fixtures.temporaryDirectory("ddpm-train")
        let trainer = try Trainer(configuration: configuration, outputDirectory: dir, device: try TinyRun.device(device), resume: resume)
        let outcome = try trainer.run(shouldStop: { stopAfter.map { trainer.completedSteps >= $0 } ?? false })
        var losses: [Int: Float] = [:]
        for r in MetricsLog.read("\(dir)/metrics.jsonl") { losses[r.step] = r.loss }
        return (losses, dir, outcome)
    }
}
