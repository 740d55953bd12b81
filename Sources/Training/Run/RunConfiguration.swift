import Diffusion
import Foundation

/// Everything that defines a training run: the Unet, the diffusion and the trainer settings.
/// Stored as JSON in every checkpoint, so a checkpoint alone can resume training or sample.
public struct RunConfiguration: Equatable, Sendable {
    public var unet: UnetConfiguration
    public var diffusion: DiffusionConfiguration
    public var training: TrainingSettings

    public init(unet: UnetConfiguration, diffusion: DiffusionConfiguration, training: TrainingSettings = TrainingSettings()) {
        self.unet = unet
        self.diffusion = diffusion
        self.training = training
    }

    /// Checks every part and their pairing (what `GaussianDiffusion` checks, plus the trainer's).
    public func validate() throws {
        try training.validate()
        try diffusion.validate()
        _ = try GaussianDiffusion(unet: Unet(unet), configuration: diffusion)
        // Host memory of one step's batches, bounded before anything is allocated
        // (every factor is bounded, so these products cannot overflow).
        let imageBytes = unet.channels * diffusion.imageHeight * diffusion.imageWidth * 4
        let stepBytes = training.batchSize * training.gradientAccumulation * imageBytes
        guard stepBytes <= TrainingSettings.maxBatchBytes else {
            throw TrainingError.invalidSetting("--batch-size \(training.batchSize) x --grad-accum \(training.gradientAccumulation) images of "
                + "\(unet.channels)x\(diffusion.imageHeight)x\(diffusion.imageWidth) need \(stepBytes) bytes per step, more than the limit of "
                + "\(TrainingSettings.maxBatchBytes); lower --batch-size, --grad-accum or --image-size")
        }
        guard unet.dropout == 0 else {
            throw TrainingError.invalidSetting("training with dropout is not supported (the graph builds the evaluation form); use dropout 0")
        }
    }

    /// The configuration as JSON: `{"unet": {...}, "diffusion": {...}, "training": {...}}`, the
    /// first two with the reference's keyword arguments.
    public var json: [String: Any] {
        ["unet": unet.json, "diffusion": diffusion.json, "training": training.json]
    }

    public var jsonString: String { jsonText(json) }

    /// Reads the form ``json`` writes.
    public init(json: [String: Any], context: String = "config") throws {
        var fields = JSONFields(json, context: context)
        guard let u = try fields.object("unet"), let d = try fields.object("diffusion") else {
            throw CheckpointError.invalidConfiguration("\(context) needs 'unet' and 'diffusion' objects")
        }
        do {
            unet = try UnetConfiguration(json: u)
            diffusion = try DiffusionConfiguration(json: d)
        } catch let error as DiffusionError {
            throw CheckpointError.invalidConfiguration("\(context): \(error)")
        }
        training = try fields.object("training").map { try TrainingSettings(json: $0, context: "\(context).training") } ?? TrainingSettings()
        try fields.rejectUnknownKeys()
    }

    /// Differences with `other` that a resumed run may not have, as `key: ours (checkpoint: theirs)`
    /// lines; empty when `self` can continue `other`'s training.
    public func resumeConflicts(with other: RunConfiguration) -> [String] {
        var lines: [String] = []
        func compare(_ prefix: String, _ a: [String: Any], _ b: [String: Any], skipping: Set<String> = []) {
            for key in Set(a.keys).union(b.keys).sorted() where !skipping.contains(key) {
                let x = a[key].map(jsonFragment) ?? "unset", y = b[key].map(jsonFragment) ?? "unset"
                if x != y { lines.append("\(prefix)\(key): \(x) (checkpoint: \(y))") }
            }
        }
        compare("unet.", unet.json, other.unet.json)
        compare("diffusion.", diffusion.json, other.diffusion.json)
        compare("training.", training.json, other.training.json, skipping: TrainingSettings.adjustableOnResume)
        return lines
    }
}

/// A JSON value as compact text, for comparing and showing settings.
func jsonFragment(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}

extension TrainingSettings {
    /// The settings under snake_case keys (the seed as a decimal string: JSON numbers are doubles).
    public var json: [String: Any] {
        var o: [String: Any] = [
            "data": data.description, "flip": flip, "batch_size": batchSize, "grad_accum": gradientAccumulation,
            "steps": steps, "lr": learningRate, "adam_betas": [adamBeta1, adamBeta2], "adam_eps": adamEpsilon,
            "lr_warmup": warmupSteps, "lr_schedule": learningRateSchedule.rawValue, "ema_decay": emaDecay,
            "ema_update_every": emaUpdateEvery, "ema_update_after_step": emaUpdateAfterStep, "seed": String(seed),
            "save_every": saveEvery, "sample_every": sampleEvery, "num_samples": numSamples,
            "keep_checkpoints": keepCheckpoints, "log_every": logEvery,
        ]
        o["max_grad_norm"] = maxGradNorm ?? 0
        return o
    }

    init(json: [String: Any], context: String) throws {
        self.init()
        var f = JSONFields(json, context: context)
        if let s = try f.string("data") { data = DataSource(argument: s) }
        flip = try f.bool("flip") ?? flip
        batchSize = try f.integer("batch_size") ?? batchSize
        gradientAccumulation = try f.integer("grad_accum") ?? gradientAccumulation
        steps = try f.integer("steps") ?? steps
        learningRate = try f.number("lr") ?? learningRate
        f.ignore("adam_betas")
        if let betas = json["adam_betas"] {
            guard let pair = betas as? [NSNumber], pair.count == 2 else {
                throw CheckpointError.invalidConfiguration("\(context).adam_betas must be a pair of numbers")
            }
            (adamBeta1, adamBeta2) = (pair[0].doubleValue, pair[1].doubleValue)
        }
        adamEpsilon = try f.number("adam_eps") ?? adamEpsilon
        warmupSteps = try f.integer("lr_warmup") ?? warmupSteps
        if let s = try f.string("lr_schedule") {
            guard let schedule = LearningRateSchedule(rawValue: s) else {
                throw CheckpointError.invalidConfiguration("\(context).lr_schedule must be constant or cosine, got \(s)")
            }
            learningRateSchedule = schedule
        }
        if let clip = try f.number("max_grad_norm") { maxGradNorm = clip > 0 ? clip : nil }
        emaDecay = try f.number("ema_decay") ?? emaDecay
        emaUpdateEvery = try f.integer("ema_update_every") ?? emaUpdateEvery
        emaUpdateAfterStep = try f.integer("ema_update_after_step") ?? emaUpdateAfterStep
        seed = try f.unsigned("seed") ?? seed
        saveEvery = try f.integer("save_every") ?? saveEvery
        sampleEvery = try f.integer("sample_every") ?? sampleEvery
        numSamples = try f.integer("num_samples") ?? numSamples
        keepCheckpoints = try f.integer("keep_checkpoints") ?? keepCheckpoints
        logEvery = try f.integer("log_every") ?? logEvery
        try f.rejectUnknownKeys()
    }
}
