import Diffusion
import Foundation
import Graph

/// Everything that defines a training run: the Unet, the diffusion, the data and the training settings.
/// Stored as JSON in every checkpoint, so a checkpoint alone can resume training or sample.
public struct RunConfiguration: Equatable, Sendable {
    /// The unconditional model's Unet (unused when ``classConditional`` is set).
    public var unet: UnetConfiguration
    public var diffusion: DiffusionConfiguration
    /// How to train (the engine's settings, the schedule and the bookkeeping).
    public var training: TrainingConfiguration
    /// Where the images come from (stored as `"data"` in the `"training"` object of ``json``).
    public var data: DataSource
    /// The class-conditional model and its class names, when the run trains one; nil for the
    /// unconditional model (``unet``).
    public var classConditional: ClassConditionalModel?

    public var kind: ModelKind { classConditional == nil ? .unconditional : .classConditional }
    /// Image channels of the model.
    public var channels: Int { classConditional?.unet.channels ?? unet.channels }

    /// The run's Unet, of either kind.
    public func referenceModel() throws -> any ReferenceModel {
        if let classConditional { return try ConditionalUnet(classConditional.unet) }
        return try Unet(unet)
    }

    /// The parameters of the run's model in state_dict order.
    public func parameterSpecs() throws -> [UnetParameterSpec] { try referenceModel().parameterSpecs }

    /// One line describing the model (for logs and `ddpm inspect`).
    public var modelSummary: String {
        if let c = classConditional {
            return "class-conditional Unet dim \(c.unet.dim), mults \(c.unet.dimMults), \(c.unet.numClasses) classes (\(c.classList)), "
                + "cond_drop_prob \(c.unet.condDropProb)"
        }
        return "Unet dim \(unet.dim), mults \(unet.dimMults)"
    }

    public init(unet: UnetConfiguration, diffusion: DiffusionConfiguration, training: TrainingConfiguration = TrainingConfiguration(),
                data: DataSource = .shapes) {
        self.unet = unet
        self.diffusion = diffusion
        self.training = training
        self.data = data
    }

    /// A run of the class-conditional model.
    public init(classConditional: ClassConditionalModel, diffusion: DiffusionConfiguration,
                training: TrainingConfiguration = TrainingConfiguration(), data: DataSource = .shapes) {
        let u = classConditional.unet
        self.init(unet: UnetConfiguration(dim: u.dim, dimMults: u.dimMults, channels: u.channels), diffusion: diffusion,
                  training: training, data: data)
        self.classConditional = classConditional
    }

    /// Checks every part and their pairing (what `GaussianDiffusion` checks, plus the trainer's).
    public func validate() throws {
        try training.validate()
        try diffusion.validate()
        if let classConditional {
            try classConditional.validate()
            _ = try ConditionalDiffusion(unet: ConditionalUnet(classConditional.unet), configuration: diffusion)
        } else {
            _ = try GaussianDiffusion(unet: Unet(unet), configuration: diffusion)
        }
        // Host memory of one step's batches, bounded before anything is allocated
        // (every factor is bounded, so these products cannot overflow).
        let imageBytes = channels * diffusion.imageHeight * diffusion.imageWidth * 4
        let stepBytes = training.batchSize * training.gradientAccumulation * imageBytes
        guard stepBytes <= TrainingConfiguration.maxBatchBytes else {
            throw TrainingError.invalidSetting("--batch-size \(training.batchSize) x --grad-accum \(training.gradientAccumulation) images of "
                + "\(channels)x\(diffusion.imageHeight)x\(diffusion.imageWidth) need \(stepBytes) bytes per step, more than the limit of "
                + "\(TrainingConfiguration.maxBatchBytes); lower --batch-size, --grad-accum or --image-size")
        }
        guard unet.dropout == 0 else {
            throw TrainingError.invalidSetting("training with dropout is not supported (the graph builds the evaluation form); use dropout 0")
        }
    }

    /// The configuration as JSON: `{"unet": {...}, "diffusion": {...}, "training": {...}}`, the
    /// first two with the reference's keyword arguments, the last ``trainingJSON`` (the training
    /// settings and the data source); a class-conditional run adds
    /// `"model": "class-conditional"` and `"classes": [names]`, and its `unet` holds the
    /// conditional Unet's arguments.
    public var json: [String: Any] {
        guard let classConditional else { return ["unet": unet.json, "diffusion": diffusion.json, "training": trainingJSON] }
        return ["model": ModelKind.classConditional.rawValue, "unet": classConditional.unet.json, "classes": classConditional.classNames,
                "diffusion": diffusion.json(kind: .classConditional), "training": trainingJSON]
    }

    /// The `"training"` object: ``training``'s settings and, under `"data"`, the data source
    /// (where checkpoints have always kept it).
    public var trainingJSON: [String: Any] {
        var o = training.json
        o["data"] = data.description
        return o
    }

    public var jsonString: String { jsonText(json) }

    /// Reads the form ``json`` writes.
    public init(json: [String: Any], context: String = "config") throws {
        do {
            try self.init(reading: json, context: context)
        } catch let error as DiffusionError {
            // The reader names the key; in a checkpoint or config file it is a configuration error.
            if case let .invalidConfiguration(message) = error { throw CheckpointError.invalidConfiguration(message) }
            throw CheckpointError.invalidConfiguration("\(context): \(error)")
        }
    }

    private init(reading json: [String: Any], context: String) throws {
        var fields = JSONOptions(json, context: context)
        guard let u = try fields.object("unet"), let d = try fields.object("diffusion") else {
            throw CheckpointError.invalidConfiguration("\(context) needs 'unet' and 'diffusion' objects")
        }
        let kind: ModelKind
        do {
            kind = try fields.string("model").map { try ModelKind(name: $0) } ?? .unconditional
            switch kind {
            case .unconditional:
                unet = try UnetConfiguration(json: u)
                classConditional = nil
            case .classConditional:
                let conditional = try ConditionalUnetConfiguration(json: u)
                guard let names = json["classes"] as? [String] else {
                    throw CheckpointError.invalidConfiguration("\(context).classes must be a list of class names for a class-conditional model")
                }
                fields.ignore("classes")
                guard names.count == conditional.numClasses else {
                    throw CheckpointError.invalidConfiguration(
                        "\(context).classes has \(names.count) names but unet.num_classes is \(conditional.numClasses)")
                }
                classConditional = ClassConditionalModel(unet: conditional, classNames: names)
                unet = UnetConfiguration(dim: conditional.dim, dimMults: conditional.dimMults, channels: conditional.channels)
            }
            diffusion = try DiffusionConfiguration(json: d, kind: kind)
        } catch let error as DiffusionError {
            throw CheckpointError.invalidConfiguration("\(context): \(error)")
        }
        training = TrainingConfiguration()
        data = .shapes
        if var t = try fields.object("training") {
            // "data" is the run's, not a training setting; it is read here and the rest by the settings.
            var dataField = JSONOptions(t, context: "\(context).training")
            if let s = try dataField.string("data") { data = DataSource(argument: s) }
            t["data"] = nil
            training = try TrainingConfiguration(json: t, context: "\(context).training")
        }
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
        if kind != other.kind { lines.append("model: \(kind.rawValue) (checkpoint: \(other.kind.rawValue))") }
        compare("unet.", classConditional?.unet.json ?? unet.json, other.classConditional?.unet.json ?? other.unet.json)
        if let mine = classConditional?.classNames, let theirs = other.classConditional?.classNames, mine != theirs {
            lines.append("classes: \(jsonFragment(mine)) (checkpoint: \(jsonFragment(theirs)))")
        }
        compare("diffusion.", diffusion.json(kind: kind), other.diffusion.json(kind: other.kind))
        compare("training.", trainingJSON, other.trainingJSON, skipping: TrainingConfiguration.adjustableOnResume)
        return lines
    }
}

/// A JSON value as compact text, for comparing and showing settings.
func jsonFragment(_ value: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else { return "\(value)" }
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}
