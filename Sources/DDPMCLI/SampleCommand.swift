import ArgumentParser
import Diffusion
import Foundation
import Graph
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
    @OptionGroup var model: ModelOptions
    @OptionGroup var samplerOptions: SamplerOptions
    @OptionGroup var classOptions: ClassOptions
    @OptionGroup var grid: GridOptions

    @Option(help: ArgumentHelp("Number of images.", valueName: "n"))
    var count: Int = 16
    @Option(help: ArgumentHelp("Seed of the noise.", valueName: "n"))
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Images per device batch.", valueName: "n"))
    var batchSize: Int = 16
    @Option(help: ArgumentHelp("A .png file for one grid, or a folder for one PNG per image.", valueName: "path"))
    var output: String = "samples.png"
    @Option(name: .customLong("init"), help: ArgumentHelp("Image-to-image: start from this PNG or JPEG, noised as --strength says.", valueName: "image"))
    var initImage: String?
    @Option(help: ArgumentHelp("With --init: the part of the chain run, in (0, 1]; 1 keeps little of the image (default 0.6).", valueName: "s"))
    var strength: Double?
    @Option(help: ArgumentHelp("Also write N evenly spaced steps of the first batch's chain (x_t and x̂₀ rows, first 4 images) to FILE.png.", valueName: "n"))
    var saveChain: Int?
    @Option(help: ArgumentHelp("Where --save-chain writes (default: the output's name with -chain.png).", valueName: "file"))
    var chainOutput: String?

    /// `--strength` without a value: enough of the chain to change details, not the composition.
    static let defaultStrength = 0.6

    /// Images in one grid (held in memory until the grid is written) and in one run (one file each).
    static let maxGridCount = 4096
    static let maxCount = 10_000_000

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, got \(count)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        guard batchSize <= TrainingConfiguration.maxBatchSize else {
            throw ValidationError("--batch-size is \(batchSize), more than the limit of \(TrainingConfiguration.maxBatchSize)")
        }
        guard count <= SampleCommand.maxCount else {
            throw ValidationError("--count is \(count), more than the limit of \(SampleCommand.maxCount)")
        }
        if output.lowercased().hasSuffix(".png"), count > SampleCommand.maxGridCount {
            throw ValidationError("--count is \(count), more than the limit of \(SampleCommand.maxGridCount) images in one grid (.png); "
                + "give a folder as --output to write one PNG per image")
        }
        if strength != nil, initImage == nil { throw ValidationError("--strength goes with --init IMAGE") }
        if let strength, !(strength > 0 && strength <= 1) { throw ValidationError("--strength must be in (0, 1], got \(strength)") }
        if let saveChain, !(2...ChainStrip.maxSteps).contains(saveChain) {
            throw ValidationError("--save-chain must be in 2...\(ChainStrip.maxSteps), got \(saveChain)")
        }
        if initImage != nil, saveChain != nil { throw ValidationError("--save-chain is not available with --init") }
        if initImage != nil, count > TrainingConfiguration.maxBatchSize {
            throw ValidationError("--count is \(count); image-to-image draws all images in one batch of at most \(TrainingConfiguration.maxBatchSize)")
        }
        if chainOutput != nil, saveChain == nil { throw ValidationError("--chain-output goes with --save-chain N") }
    }

    func run() throws {
        try reportingErrors {
            let model = try self.model.load()
            let device = try global.resolveDevice(withFallback: true)
            let sampler = try samplerOptions.sampler(for: model.diffusion)
            let (c, h, w) = (model.channels, model.diffusion.imageHeight, model.diffusion.imageWidth)
            // Image-to-image needs the classes given; sampling defaults to every class in turn.
            let (labels, columns) = initImage == nil ? try classLabels(for: model)
                : (try classOptions.editLabels(count: count, what: "--count", for: model), nil)
            print("model: \(model.origin)")
            if let initImage {
                let editor = try ImageEditor(model: model, guidance: classOptions.guidanceSettings(for: model), device: device)
                let image = try EditInputs.image(initImage, for: model)
                let strength = self.strength ?? SampleCommand.defaultStrength
                let (skipped, time) = try editor.skippedSteps(sampler, strength: strength)
                print("image-to-image: \(count) image\(count == 1 ? "" : "s") of \(h)x\(w)x\(c) from \(initImage), noised to timestep \(time), "
                    + "then \(editor.describe(sampler)) without its first \(skipped) steps on \(device.info.name), seed \(seed)")
                let images = try editor.imageToImage(image, strength: strength, sampler: sampler, count: count, seed: seed, classes: labels)
                try write(images, channels: c, height: h, width: w)
                return
            }
            let generator = try SampleGenerator(model: model, sampler: sampler, guidance: classOptions.guidanceSettings(for: model), device: device)
            print("sampling \(count) image\(count == 1 ? "" : "s") of \(h)x\(w)x\(c) with \(generator.description) on \(device.info.name), seed \(seed)")
            let start = Date()
            func report(_ done: Int) {
                print("  \(done)/\(count) images (\(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
            }
            let capture = try saveChain.map { ChainStrip.steps(count: $0, of: try generator.stepCount()) } ?? []
            let chainPath = chainOutput ?? SampleCommand.chainPath(for: output)
            let keepChain: (SampledChainView) throws -> Void = { chain in
                let strip = ChainStrip.make(chain, images: 4, channels: c, height: h, width: w)
                try grid.apply(strip).writePNG(to: chainPath)
                print("wrote the chain (steps \(capture.map { "\($0 + 1)" }.joined(separator: ", ")) of \(try generator.stepCount())) to \(chainPath)")
            }
            if output.lowercased().hasSuffix(".png") {
                let gridBytes = count * generator.imageElements * 4
                guard gridBytes <= TrainingConfiguration.maxBatchBytes else {
                    throw TrainingError.invalidSetting("a grid of \(count) images of \(h)x\(w)x\(c) needs \(gridBytes) bytes, more than the limit of "
                        + "\(TrainingConfiguration.maxBatchBytes); give a folder as --output to write one PNG per image")
                }
                var images: [Float] = []
                try generator.generate(count: count, batchSize: batchSize, seed: seed, classes: labels, capture: capture, chain: keepChain,
                                       eachBatch: { _, batch in
                    images += batch
                    report(images.count / generator.imageElements)
                })
                try write(images, channels: c, height: h, width: w, columns: columns)
            } else {
                try makeFolder()
                let size = c * h * w
                try generator.generate(count: count, batchSize: batchSize, seed: seed, classes: labels, capture: capture, chain: keepChain,
                                       eachBatch: { first, images in
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

    /// `out.png` → `out-chain.png`; a folder → `folder/chain.png`.
    static func chainPath(for output: String) -> String {
        output.lowercased().hasSuffix(".png") ? String(output.dropLast(4)) + "-chain.png" : output + "/chain.png"
    }

    /// Creates the output folder, removing temporaries of an earlier run that was killed mid-write.
    /// (Streamed: each batch is written before the next is drawn, so memory stays at one batch and
    /// an interrupted run keeps every image finished so far.)
    func makeFolder() throws {
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.io(path: output, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        SafeTensorsWriter.removeStaleTemporaries(in: output)
    }

    /// Writes images held in memory: one grid (enlarged for viewing) or one file each.
    func write(_ images: [Float], channels c: Int, height h: Int, width w: Int, columns: Int? = nil) throws {
        let n = images.count / (c * h * w)
        if output.lowercased().hasSuffix(".png") {
            try grid.apply(ImageGrid.make(images, count: n, channels: c, height: h, width: w, columns: columns)).writePNG(to: output)
            print("wrote \(output)")
        } else {
            try makeFolder()
            let size = c * h * w
            for i in 0..<n {
                try Image(planarFloats: Array(images[(i * size)..<((i + 1) * size)]), channels: c, height: h, width: w)
                    .writePNG(to: "\(output)/" + String(format: "sample-%05d.png", i))
            }
            print("wrote \(n) images to \(output)/")
        }
    }

    /// The class of every image and the grid's columns for a class-conditional model: `--class`
    /// for all, `--classes` one each, else every class in turn, ⌈count / classes⌉ per class,
    /// one grid row per class. Nil for an unconditional model (where class options are errors).
    func classLabels(for model: SamplingModel) throws -> (labels: [Int]?, columns: Int?) {
        if let given = try classOptions.givenLabels(count: count, for: model) { return (given, nil) }
        guard let conditional = model.classConditional else { return (nil, nil) }
        let k = conditional.classNames.count
        let perClass = (count + k - 1) / k
        return ((0..<count).map { min($0 / perClass, k - 1) }, perClass)
    }
}
