import ArgumentParser
import Diffusion
import Graph
import Training

/// `ddpm interpolate`: a row of images between two images (the reference's `interpolate`).
struct InterpolateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Interpolate between two images through the model (the reference's GaussianDiffusion.interpolate).",
        discussion: """
            Both images are noised to the level --strength chooses (with one pair of draws shared by the \
            row), mixed as (1 − λ)·A + λ·B for λ = 0 … 1, and denoised by the sampler; the --frames images \
            are written as one row. A class-conditional model needs --class (or --classes, one per image \
            of the row) and takes the guidance options of ddpm sample.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var samplerOptions: SamplerOptions
    @OptionGroup var classOptions: ClassOptions
    @OptionGroup var grid: GridOptions

    @Argument(help: ArgumentHelp("The first image (λ = 0).", valueName: "A"))
    var first: String
    @Argument(help: ArgumentHelp("The second image (λ = 1).", valueName: "B"))
    var second: String
    @Option(name: .customLong("frames"), help: ArgumentHelp("Images in the row, both ends included.", valueName: "k"))
    var frames: Int = 8
    @Option(help: ArgumentHelp("The part of the chain run, in (0, 1] (1: from the first step, as the reference's default t = T − 1).", valueName: "s"))
    var strength: Double = 1
    @Option(help: ArgumentHelp("Seed of the noise.", valueName: "n"))
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("The .png row to write.", valueName: "file"))
    var output: String = "interpolation.png"

    func validate() throws {
        guard (2...TrainingConfiguration.maxBatchSize).contains(frames) else {
            throw ValidationError("--frames must be in 2...\(TrainingConfiguration.maxBatchSize), got \(frames)")
        }
        guard strength > 0, strength <= 1 else { throw ValidationError("--strength must be in (0, 1], got \(strength)") }
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must be a .png file, got '\(output)'") }
    }

    func run() throws {
        try reportingErrors {
            let model = try self.model.load()
            let labels = try classOptions.editLabels(count: frames, what: "--frames", for: model)
            let (a, b) = (try EditInputs.image(first, for: model), try EditInputs.image(second, for: model))
            let device = try global.resolveDevice(withFallback: true)
            let sampler = try samplerOptions.sampler(for: model.diffusion)
            let editor = try ImageEditor(model: model, guidance: classOptions.guidanceSettings(for: model), device: device)
            let (skipped, time) = try editor.skippedSteps(sampler, strength: strength)
            print("model: \(model.origin)")
            print("interpolating \(first) → \(second) in \(frames) images: noised to timestep \(time), then \(editor.describe(sampler)) without its first "
                + "\(skipped) steps on \(device.info.name), seed \(seed)")
            let images = try editor.interpolate(a, b, frames: frames, strength: strength, sampler: sampler, seed: seed, classes: labels)
            let (c, h, w) = (model.channels, model.diffusion.imageHeight, model.diffusion.imageWidth)
            try grid.apply(ImageGrid.make(images, count: frames, channels: c, height: h, width: w, columns: frames)).writePNG(to: output)
            print("wrote \(output)")
        }
    }
}
