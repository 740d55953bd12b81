import ArgumentParser
import Diffusion
import Graph
import Training

/// `ddpm inpaint`: RePaint completions of a masked image (see docs/cli.md).
struct InpaintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inpaint",
        abstract: "Fill the masked part of an image with RePaint (the reference's repaint.py).",
        discussion: """
            --image and --mask are PNG or JPEG files of the same size; both are scaled to the model's \
            images as training images are. White in the mask marks what is kept (--mask-keeps black \
            turns that round). The output grid shows the masked input first (the generated region \
            gray), then the --count completions. A class-conditional model needs --class (or --classes, \
            one per completion) and takes the guidance options of ddpm sample.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var classOptions: ClassOptions
    @OptionGroup var grid: GridOptions

    @Option(help: ArgumentHelp("The image to complete.", valueName: "file"))
    var image: String
    @Option(help: ArgumentHelp("The mask, the image's size: white = keep (see --mask-keeps).", valueName: "file"))
    var mask: String
    @Option(help: ArgumentHelp("Which colour of the mask marks the kept region: white or black.", valueName: "colour"))
    var maskKeeps: EditInputs.MaskKeeps = .white
    @Option(help: ArgumentHelp("Completions to draw (one batch).", valueName: "n"))
    var count: Int = 4
    @Option(help: ArgumentHelp("Times each resampling point goes back up the chain (the reference's resample_iter).", valueName: "n"))
    var resampleIter: Int = 10
    @Option(help: ArgumentHelp("Timesteps one resampling goes back (the reference's resample_jump).", valueName: "n"))
    var jumpLength: Int = 10
    @Option(help: ArgumentHelp("Resample at every timestep divisible by this, and at t = 1 (the reference's resample_every).", valueName: "n"))
    var resampleEvery: Int = 50
    @Option(help: ArgumentHelp("paper (go back jump-length levels, as RePaint's paper) or reference (repaint.py 2.3.4's loop).", valueName: "name"))
    var resampling: RePaintSampler.Resampling = .paper
    @Option(help: ArgumentHelp("Seed of the noise.", valueName: "n"))
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("The .png grid to write.", valueName: "file"))
    var output: String = "inpainted.png"

    func validate() throws {
        guard (1...TrainingConfiguration.maxBatchSize).contains(count) else {
            throw ValidationError("--count must be in 1...\(TrainingConfiguration.maxBatchSize), got \(count)")
        }
        guard resampleIter >= 0 else { throw ValidationError("--resample-iter must be at least 0, got \(resampleIter)") }
        guard jumpLength >= 1 else { throw ValidationError("--jump-length must be at least 1, got \(jumpLength)") }
        guard resampleEvery >= 1 else { throw ValidationError("--resample-every must be at least 1, got \(resampleEvery)") }
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output must be a .png file, got '\(output)'") }
    }

    func run() throws {
        try reportingErrors {
            let model = try self.model.load()
            let labels = try classOptions.editLabels(count: count, what: "--count", for: model)
            let known = try EditInputs.image(image, for: model)
            let keep = try EditInputs.mask(mask, image: image, keeps: maskKeeps, for: model)
            let device = try global.resolveDevice(withFallback: true)
            let sampler = RePaintSampler(resampleIterations: resampleIter, jumpLength: jumpLength, resampleEvery: resampleEvery, resampling: resampling)
            let editor = try ImageEditor(model: model, guidance: classOptions.guidanceSettings(for: model), device: device)
            let steps = try sampler.plan(model.diffusion.noiseSchedule()).times.count
            let (c, h, w) = (model.channels, model.diffusion.imageHeight, model.diffusion.imageWidth)
            print("model: \(model.origin)")
            print("inpainting \(image) (\(keep.filter { $0 > 0 }.count / c) of \(h * w) pixels kept) with \(editor.describe(sampler)): \(steps) steps, "
                + "\(count) completion\(count == 1 ? "" : "s") on \(device.info.name), seed \(seed)")
            let images = try editor.inpaint(known, mask: keep, sampler: sampler, count: count, seed: seed, classes: labels)
            // The input as the model sees it, the generated region gray.
            let shown = zip(known, keep).map { $1 > 0 ? $0 : 0.5 }
            try grid.apply(ImageGrid.make(shown + images, count: count + 1, channels: c, height: h, width: w)).writePNG(to: output)
            print("wrote \(output)")
        }
    }
}
