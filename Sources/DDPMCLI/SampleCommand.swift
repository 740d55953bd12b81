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
    @Option(help: ArgumentHelp("DDIM steps (default: the configuration's sampling_timesteps, else its timesteps).", valueName: "n"))
    var steps: Int?
    @Option(help: ArgumentHelp("DDIM eta: 0 deterministic, 1 DDPM-like (default: the configuration's ddim_sampling_eta).", valueName: "x"))
    var eta: Double?
    @Option(help: ArgumentHelp("Seed of the noise.", valueName: "n"))
    var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Images per device batch.", valueName: "n"))
    var batchSize: Int = 16
    @Option(help: ArgumentHelp("A .png file for one grid, or a folder for one PNG per image.", valueName: "path"))
    var output: String = "samples.png"

    // Class-conditional models
    @Option(name: .customLong("class"), help: ArgumentHelp(
        "Class of every image: a class name (e.g. a folder name) or label number (default: every class in turn, one grid row each).",
        valueName: "c"))
    var classChoice: String?
    @Option(help: ArgumentHelp("One class per image, comma-separated (names or numbers; as many as --count).", valueName: "list"))
    var classes: String?
    @Option(help: ArgumentHelp("Guidance scale, the reference's cond_scale (default 6; 1 = the conditional model alone).", valueName: "s"))
    var guidance: Double?
    @Option(help: ArgumentHelp("Guidance rescaling, the reference's rescaled_phi, in [0, 1] (default 0.7).", valueName: "phi"))
    var rescale: Double?
    @Flag(help: "CFG++: DDIM renoises with the null prediction (default: the model configuration's use_cfg_plus_plus).")
    var cfgPlusPlus = false
    @Flag(inversion: .prefixedNo, help: "Remove the guidance update's component parallel to the conditional prediction (default: on).")
    var removeParallelComponent = true

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
        if let guidance, !(guidance >= 0 && guidance.isFinite) { throw ValidationError("--guidance must be finite and non-negative, got \(guidance)") }
        if let rescale, !(0...1).contains(rescale) { throw ValidationError("--rescale must be in [0, 1], got \(rescale)") }
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
            let (labels, columns) = try classLabels(for: model)
            let generator = try SampleGenerator(model: model, sampler: try sampler(for: model.diffusion), guidance: guidanceSettings(for: model),
                                                device: device)
            let (c, h, w) = (model.channels, model.diffusion.imageHeight, model.diffusion.imageWidth)
            print("model: \(model.origin)")
            print("sampling \(count) image\(count == 1 ? "" : "s") of \(h)x\(w)x\(c) with \(generator.description) on \(device.info.name), seed \(seed)")
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
                let images: [Float] = try generator.generate(count: count, batchSize: batchSize, seed: seed, classes: labels,
                                                             progress: { done, _ in report(done) })
                try ImageGrid.make(images, count: count, channels: c, height: h, width: w, columns: columns).writePNG(to: output)
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
                try generator.generate(count: count, batchSize: batchSize, seed: seed, classes: labels, eachBatch: { first, images in
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

    /// The class of every image and the grid's columns for a class-conditional model: `--class`
    /// for all, `--classes` one each, else every class in turn, ⌈count / classes⌉ per class,
    /// one grid row per class. Nil for an unconditional model (where class options are errors).
    func classLabels(for model: SamplingModel) throws -> (labels: [Int]?, columns: Int?) {
        guard let conditional = model.classConditional else {
            let given = [(classChoice != nil, "--class"), (classes != nil, "--classes"), (guidance != nil, "--guidance"),
                         (rescale != nil, "--rescale"), (cfgPlusPlus, "--cfg-plus-plus"), (!removeParallelComponent, "--no-remove-parallel-component")]
            if let option = given.first(where: { $0.0 })?.1 {
                throw ValidationError("\(option) needs a class-conditional model; \(model.origin) is unconditional")
            }
            return (nil, nil)
        }
        do {
            if classChoice != nil, classes != nil { throw ValidationError("give --class or --classes, not both") }
            if let classChoice { return (Array(repeating: try conditional.classIndex(classChoice), count: count), nil) }
            if let classes {
                let list = try classes.split(separator: ",", omittingEmptySubsequences: false)
                    .map { try conditional.classIndex($0.trimmingCharacters(in: .whitespaces)) }
                guard list.count == count else {
                    throw ValidationError("--classes lists \(list.count) class\(list.count == 1 ? "" : "es") for --count \(count); give one per image")
                }
                return (list, nil)
            }
        } catch let error as TrainingError {
            throw ValidationError("\(error)")
        }
        let k = conditional.classNames.count
        let perClass = (count + k - 1) / k
        return ((0..<count).map { min($0 / perClass, k - 1) }, perClass)
    }

    /// The guidance options over the reference's defaults (and the configuration's CFG++).
    func guidanceSettings(for model: SamplingModel) -> Guidance {
        var g = Guidance(cfgPlusPlus: model.diffusion.useCFGPlusPlus)
        if let guidance { g.scale = Float(guidance) }
        if let rescale { g.rescaledPhi = Float(rescale) }
        if cfgPlusPlus { g.cfgPlusPlus = true }
        g.removeParallelComponent = removeParallelComponent
        return g
    }

    /// The sampler the options ask for, defaulting to the configuration's; `--steps` or `--eta`
    /// alone select DDIM.
    func sampler(for diffusion: DiffusionConfiguration) throws -> any Sampler {
        guard let kind = sampler ?? (steps != nil || eta != nil ? .ddim : nil) else { return SamplerKind.configured(diffusion) }
        do {
            return try kind.sampler(for: diffusion, steps: steps, eta: eta.map(Float.init))
        } catch let DiffusionError.invalidConfiguration(message) {
            throw ValidationError("--sampler \(kind.rawValue): \(message)")
        }
    }
}
