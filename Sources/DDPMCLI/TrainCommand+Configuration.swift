import ArgumentParser
import Diffusion
import Foundation
import Graph
import Training

extension TrainCommand {
    /// The run's configuration: the reference defaults (or, with `--resume`, the newest
    /// checkpoint's configuration) with every option given on the command line applied on top.
    ///
    /// - Parameter processes: the processes of an `mpirun` job (nil outside one). There,
    ///   `--batch-size` is the global batch of a step and `--grad-accum` the micro-batches of each
    ///   process, so the run is stored as what it equals: `batch_size` = batch / (N·K) images per
    ///   micro-batch and `grad_accum` = N·K micro-batches, the configuration of the single-process
    ///   run with the same bits.
    func runConfiguration(processes: Int? = nil) throws -> RunConfiguration {
        var c: RunConfiguration
        if resume, let newest = try CheckpointDirectory(path: output).newestIntact(Checkpoint.readConfiguration) {
            c = newest.value
        } else {
            c = try defaults()
        }
        if let model, try Self.choice(model, option: "--model", { try ModelKind(name: $0) }) != c.kind {
            throw ValidationError("--model \(model): the checkpoint in \(output) holds a \(c.kind.rawValue) model")
        }
        let t = c.training
        var training = t
        if let data { c.data = Self.dataSource(data) }
        if let flip { training.flip = flip }
        if let imageSize { (c.diffusion.imageHeight, c.diffusion.imageWidth) = try Self.parseImageSize(imageSize) }
        if var conditional = c.classConditional {
            // The class-conditional Unet has no self-conditioning, no per-stage attention options
            // (its linear attention is fixed at 4 heads of 32) and one middle attention.
            for (given, option) in [(selfCondition != nil, "--self-condition"), (fullAttn != nil, "--full-attn")] where given {
                throw ValidationError("\(option) does not apply to the class-conditional Unet")
            }
            if let channels { conditional.unet.channels = channels }
            if let dim { conditional.unet.dim = dim }
            if let mults { conditional.unet.dimMults = try Self.parseInts(mults, option: "--mults") }
            if let attnHeads { conditional.unet.attnHeads = try Self.singleValue(attnHeads, option: "--attn-heads") }
            if let attnDimHead { conditional.unet.attnDimHead = try Self.singleValue(attnDimHead, option: "--attn-dim-head") }
            if let condDropProb { conditional.unet.condDropProb = condDropProb }
            c.classConditional = conditional
        } else {
            if condDropProb != nil { throw ValidationError("--cond-drop-prob needs --model class-conditional") }
            if let channels { c.unet.channels = channels }
            if let dim { c.unet.dim = dim }
            if let mults { c.unet.dimMults = try Self.parseInts(mults, option: "--mults") }
            if let attnHeads { c.unet.attnHeads = try Self.parsePerStage(attnHeads, option: "--attn-heads") }
            if let attnDimHead { c.unet.attnDimHead = try Self.parsePerStage(attnDimHead, option: "--attn-dim-head") }
            if let selfCondition { c.unet.selfCondition = selfCondition }
            if let fullAttn { c.unet.fullAttn = try Self.parseBools(fullAttn, option: "--full-attn") }
        }
        if let timesteps { c.diffusion.timesteps = timesteps }
        if let samplingTimesteps { c.diffusion.samplingTimesteps = samplingTimesteps }
        if let objective { c.diffusion.objective = try Self.choice(objective, option: "--objective") { try Objective(name: $0) } }
        if let schedule { c.diffusion.betaSchedule = try Self.choice(schedule, option: "--schedule") { try BetaSchedule(name: $0) } }
        if let minSnr { c.diffusion.minSNRLossWeight = minSnr }
        if let minSnrGamma { c.diffusion.minSNRGamma = minSnrGamma }
        if let offsetNoise { c.diffusion.offsetNoiseStrength = Float(offsetNoise) }
        if let batchSize, processes == nil { training.batchSize = batchSize }
        if let lr { training.learningRate = lr }
        if let adamBetas {
            let betas = try Self.parseDoubles(adamBetas, option: "--adam-betas")
            guard betas.count == 2 else { throw ValidationError("--adam-betas takes two numbers, e.g. 0.9,0.99; got '\(adamBetas)'") }
            (training.adamBeta1, training.adamBeta2) = (betas[0], betas[1])
        }
        if let lrWarmup { training.warmupSteps = lrWarmup }
        if let lrSchedule {
            guard let s = LearningRateSchedule(rawValue: lrSchedule) else {
                throw ValidationError("--lr-schedule must be constant or cosine, got '\(lrSchedule)'")
            }
            training.learningRateSchedule = s
        }
        if let steps { training.steps = steps }
        if let gradAccum, processes == nil { training.gradientAccumulation = gradAccum }
        if let processes, batchSize != nil || gradAccum != nil || !resume {
            let global = batchSize ?? (resume ? t.batchSize * t.gradientAccumulation : TrainingConfiguration().batchSize)
            let perProcess = gradAccum ?? 1
            guard perProcess >= 1, perProcess <= TrainingConfiguration.maxGradientAccumulation else {
                throw ValidationError("--grad-accum must be in 1...\(TrainingConfiguration.maxGradientAccumulation), got \(perProcess)")
            }
            let micro = processes * perProcess
            guard global >= 1, global % micro == 0 else {
                throw ValidationError("--batch-size \(global) is the global batch of one step under mpirun; it must be a positive multiple "
                    + "of the \(processes) processes x \(perProcess) micro-batches each (\(micro))")
            }
            training.batchSize = global / micro
            training.gradientAccumulation = micro
        }
        if let maxGradNorm {
            guard maxGradNorm >= 0 else { throw ValidationError("--max-grad-norm must be positive, or 0 to disable clipping; got \(maxGradNorm)") }
            training.maxGradNorm = maxGradNorm > 0 ? maxGradNorm : nil
        }
        if let emaDecay { training.ema?.beta = emaDecay }
        if let emaUpdateEvery { training.ema?.updateEvery = emaUpdateEvery }
        if let seed { training.seed = seed }
        if let saveEvery { training.saveEvery = saveEvery }
        if let sampleEvery { training.sampleEvery = sampleEvery }
        if let numSamples { training.numSamples = numSamples }
        if let keepCheckpoints { training.keepCheckpoints = keepCheckpoints }
        if let logEvery { training.logEvery = logEvery }
        c.training = training
        // Out-of-domain values are option errors (exit status 64), like unparsable ones.
        do { try c.validate() } catch let error as TrainingError { throw ValidationError("\(error)") } catch let error as DiffusionError {
            throw ValidationError("\(error)")
        }
        return c
    }

    /// The reference defaults, with the image size and channels of the chosen data: the
    /// built-in digits are 8x8 gray; shapes and folders default to 32x32 RGB.
    ///
    /// With `--model class-conditional` the classes are read from the data (the digits' labels,
    /// or a folder's class subfolders, sorted), and the diffusion takes the class-conditional
    /// module's defaults (pred_noise, cosine schedule, DDIM eta 1).
    func defaults() throws -> RunConfiguration {
        let source = data.map(Self.dataSource) ?? .shapes
        let isDigits = source == .digits
        let side = isDigits ? 8 : 32
        let kind = try model.map { try Self.choice($0, option: "--model") { try ModelKind(name: $0) } } ?? .unconditional
        switch kind {
        case .unconditional:
            return RunConfiguration(unet: UnetConfiguration(dim: 64, channels: isDigits ? 1 : 3),
                                    diffusion: DiffusionConfiguration(imageHeight: side, imageWidth: side),
                                    data: source)
        case .classConditional:
            let names: [String]
            do { names = try source.classNames() } catch let error as DatasetError { throw ValidationError("--data: \(error)") }
            let unet = ConditionalUnetConfiguration(dim: 64, numClasses: names.count, channels: isDigits ? 1 : 3)
            return RunConfiguration(classConditional: ClassConditionalModel(unet: unet, classNames: names),
                                    diffusion: .defaults(for: .classConditional, imageHeight: side, imageWidth: side),
                                    data: source)
        }
    }

    /// One integer (the class-conditional Unet's middle attention takes no per-stage list).
    static func singleValue(_ text: String, option: String) throws -> Int {
        let values = try parseInts(text, option: option)
        guard values.count == 1 else { throw ValidationError("\(option) takes one value for the class-conditional Unet, got '\(text)'") }
        return values[0]
    }

    /// `--data` with a folder made absolute, so a checkpoint names it the same from any directory.
    static func dataSource(_ argument: String) -> DataSource {
        switch DataSource(argument: argument) {
        case let .folder(path):
            let expanded = (path as NSString).expandingTildeInPath
            return .folder(URL(fileURLWithPath: expanded).standardizedFileURL.path)
        case let builtIn:
            return builtIn
        }
    }

    /// `S` or `HxW`.
    static func parseImageSize(_ text: String) throws -> (Int, Int) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        switch parts.count {
        case 1: if let s = parts[0], s >= 1 { return (s, s) }
        case 2: if let h = parts[0], let w = parts[1], h >= 1, w >= 1 { return (h, w) }
        default: break
        }
        throw ValidationError("--image-size must be a positive size S or HxW (e.g. 32 or 32x48), got '\(text)'")
    }

    static func parseInts(_ text: String, option: String) throws -> [Int] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) must be a comma-separated list of integers, got '\(text)'")
        }
        return values.map { $0! }
    }

    static func parseDoubles(_ text: String, option: String) throws -> [Double] {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) must be a comma-separated list of numbers, got '\(text)'")
        }
        return values.map { $0! }
    }

    static func parsePerStage(_ text: String, option: String) throws -> PerStage<Int> {
        let values = try parseInts(text, option: option)
        return values.count == 1 ? .all(values[0]) : .each(values)
    }

    static func parseBools(_ text: String, option: String) throws -> PerStage<Bool> {
        let values: [Bool?] = text.split(separator: ",", omittingEmptySubsequences: false).map {
            switch $0.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: return nil
            }
        }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) must be true/false, one value or one per stage, got '\(text)'")
        }
        return values.count == 1 ? .all(values[0]!) : .each(values.map { $0! })
    }

    /// A named choice, turning the library's error into an option error.
    static func choice<T>(_ text: String, option: String, _ make: (String) throws -> T) throws -> T {
        do { return try make(text) } catch let error as DiffusionError {
            throw ValidationError("\(option): \(error)")
        }
    }
}
