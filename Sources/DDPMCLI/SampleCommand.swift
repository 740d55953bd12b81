import ArgumentParser
import Diffusion
import Foundation
import SafeTensors
import Training

/// `ddpm sample`: images from a trained model (see docs/cli.md).
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate images from a checkpoint, or from a PyTorch Unet state_dict and its configuration.",
        discussion: """
            --checkpoint takes a checkpoint file or a run folder (its newest checkpoint) and uses the EMA \
            weights unless --no-ema. --weights takes a safetensors export of the reference Unet \
            (safetensors.torch.save_file(unet.state_dict(), path)) and needs --config, a JSON file \
            {"unet": {...}, "diffusion": {...}} with the reference keyword arguments. --output ending in \
            .png writes one grid; anything else is a folder that receives sample-00000.png, ...
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("A ddpm checkpoint, or a run folder (its newest checkpoint).", valueName: "path"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Reference Unet weights (safetensors state_dict); needs --config.", valueName: "file"))
    var weights: String?
    @Option(help: ArgumentHelp("JSON configuration for --weights.", valueName: "file"))
    var config: String?
    @Flag(help: "Use the online weights instead of the EMA weights.")
    var noEma = false

    @Option(help: ArgumentHelp("Number of images.", valueName: "n"))
    var count: Int = 16
    @Option(help: ArgumentHelp("The sampler (default: the model's configuration: DDIM when its sampling_timesteps < timesteps).", valueName: "name"))
    var sampler: SamplerKind?
    @Option(help: ArgumentHelp("Sampling steps of ddim and dpm++ (default: the configuration's sampling_timesteps, else its timesteps for ddim and 20 for dpm++).", valueName: "n"))
    var steps: Int?
    @Option(help: ArgumentHelp("DDIM eta: 0 deterministic, 1 DDPM-like (default: the configuration's ddim_sampling_eta).", valueName: "x"))
    var eta: Double?
    @Option(help: ArgumentHelp("DPM-Solver++ order: 1, 2 (2M, the default) or 3.", valueName: "n"))
    var order: Int?
    @Option(help: ArgumentHelp("DPM-Solver++ timestep spacing: linspace (default), leading or trailing.", valueName: "name"))
    var timestepSpacing: DPMSolverSampler.Spacing?
    @Option(help: ArgumentHelp("Seed of the noise.", valueName: "n"))
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Images per device batch.", valueName: "n"))
    var batchSize: Int = 16
    @Option(help: ArgumentHelp("A .png file for one grid, or a folder for one PNG per image.", valueName: "path"))
    var output: String = "samples.png"

    /// Images in one grid (held in memory until the grid is written) and in one run (one file each).
    static let maxGridCount = 4096
    static let maxCount = 10_000_000

    func validate() throws {
        switch (checkpoint, weights) {
        case (nil, nil): throw ValidationError("give --checkpoint PATH, or --weights FILE with --config FILE")
        case (.some, .some): throw ValidationError("give either --checkpoint or --weights, not both")
        case (nil, .some): if config == nil { throw ValidationError("--weights needs --config FILE (the Unet and diffusion settings)") }
        case (.some, nil): if config != nil { throw ValidationError("--config goes with --weights; a checkpoint carries its own configuration") }
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard batchSize <= TrainingSettings.maxBatchSize else {
            throw ValidationError("--batch-size is \(batchSize), more than the limit of \(TrainingSettings.maxBatchSize)")
        }
        guard count <= SampleCommand.maxCount else {
            throw ValidationError("--count is \(count), more than the limit of \(SampleCommand.maxCount)")
        }
        if output.lowercased().hasSuffix(".png"), count > SampleCommand.maxGridCount {
            throw ValidationError("--count is \(count), more than the limit of \(SampleCommand.maxGridCount) images in one grid (.png); "
                + "give a folder as --output to write one PNG per image")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let eta, !(eta >= 0 && eta.isFinite) { throw ValidationError("--eta must be non-negative, got \(eta)") }
    }

    func run() throws {
        try reportingErrors {
            let model: SamplingModel
            if let checkpoint {
                model = try SamplingModel(checkpoint: checkpoint, useEMA: !noEma)
            } else {
                model = try SamplingModel(stateDict: weights!, configuration: config!, useEMA: !noEma)
            }
            let device = try global.resolveDevice(withFallback: true)
            let generator = try SampleGenerator(model: model, sampler: try sampler(for: model.diffusion), device: device)
            let (c, h, w) = (model.unet.channels, model.diffusion.imageHeight, model.diffusion.imageWidth)
            print("model: \(model.origin)")
            print("sampling \(count) image\(count == 1 ? "" : "s") of \(h)x\(w)x\(c) with \(generator.sampler) on \(device.info.name), seed \(seed)")
            let start = Date()
            func report(_ done: Int) {
                print("  \(done)/\(count) images (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            }
            if output.lowercased().hasSuffix(".png") {
                let gridBytes = count * generator.imageElements * 4
                guard gridBytes <= TrainingSettings.maxBatchBytes else {
                    throw TrainingError.invalidSetting("a grid of \(count) images of \(h)x\(w)x\(c) needs \(gridBytes) bytes, more than the limit of "
                        + "\(TrainingSettings.maxBatchBytes); give a folder as --output to write one PNG per image")
                }
                let images: [Float] = try generator.generate(count: count, batchSize: batchSize, seed: seed, progress: { done, _ in report(done) })
                try ImageGrid.make(images, count: count, channels: c, height: h, width: w).writePNG(to: output)
                print("wrote \(output)")
            } else {
                do {
                    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
                } catch {
                    throw TrainingError.io(path: output, reason: "cannot create the folder: \(error.localizedDescription)")
                }
                // Streamed: each batch is written before the next is drawn, so memory stays at one
                // batch and an interrupted run keeps every image finished so far. Temporary files of
                // an earlier run that was killed mid-write are removed first.
                SafeTensorsWriter.removeStaleTemporaries(in: output)
                let size = c * h * w
                try generator.generate(count: count, batchSize: batchSize, seed: seed, eachBatch: { first, images in
                    for i in 0..<(images.count / size) {
                        let image = Image(planarFloats: Array(images[(i * size)..<((i + 1) * size)]), channels: c, height: h, width: w)
                        try image.writePNG(to: "\(output)/" + String(format: "sample-%05d.png", first + i))
                    }
                    report(first + images.count / size)
                })
                print("wrote \(count) images to \(output)/")
            }
        }
    }

    /// The sampler the options ask for, defaulting to the configuration's; `--steps` or `--eta`
    /// alone select DDIM, `--order` or `--timestep-spacing` alone DPM-Solver++.
    func sampler(for diffusion: DiffusionConfiguration) throws -> any Sampler {
        let implied: SamplerKind? = order != nil || timestepSpacing != nil ? .dpmSolver : steps != nil || eta != nil ? .ddim : nil
        guard let kind = sampler ?? implied else { return SamplerKind.configured(diffusion) }
        do {
            return try kind.sampler(for: diffusion, steps: steps, eta: eta.map(Float.init), order: order, spacing: timestepSpacing)
        } catch let DiffusionError.invalidConfiguration(message) {
            throw ValidationError("--sampler \(kind.rawValue): \(message)")
        }
    }
}
