import Diffusion
import Foundation
import SafeTensors

/// A Unet with its weights and the diffusion it was trained for: what sampling needs, read from
/// a `ddpm` checkpoint or from a plain PyTorch state_dict plus a configuration file.
public struct SamplingModel {
    /// The unconditional model's Unet (unused when ``classConditional`` is set).
    public var unet: UnetConfiguration
    /// The class-conditional model and its class names, for a model of that kind.
    public var classConditional: ClassConditionalModel?
    public var diffusion: DiffusionConfiguration
    /// Weights by reference state_dict key.
    public var weights: [String: [Float]]
    /// Where the weights came from, for messages (`…/checkpoint-00001000.safetensors (EMA, step 1000)`).
    public var origin: String

    public init(unet: UnetConfiguration, diffusion: DiffusionConfiguration, weights: [String: [Float]], origin: String) {
        self.unet = unet
        self.diffusion = diffusion
        self.weights = weights
        self.origin = origin
    }

    /// The EMA (default) or online weights of a checkpoint file, or of a run folder's newest
    /// intact checkpoint (damaged newer ones are skipped and counted in ``origin``).
    public init(checkpoint path: String, useEMA: Bool = true) throws {
        var file: String, checkpoint: Checkpoint, skipped: [String] = []
        if FileBytes.isDirectory(path), let found = try CheckpointDirectory(path: path).newestIntact({ try Checkpoint(contentsOf: $0) }) {
            (file, checkpoint, skipped) = (found.path, found.value, found.skipped)
        } else {
            file = try CheckpointDirectory.resolve(path)
            checkpoint = try Checkpoint(contentsOf: file)
        }
        let note = skipped.isEmpty ? "" : "; skipped \(skipped.count) damaged newer checkpoint\(skipped.count == 1 ? "" : "s")"
        self.init(unet: checkpoint.configuration.unet, diffusion: checkpoint.configuration.diffusion,
                  weights: useEMA ? checkpoint.ema : checkpoint.model,
                  origin: "\(file) (\(useEMA ? "EMA" : "online") weights, step \(checkpoint.step)\(note))")
        classConditional = checkpoint.configuration.classConditional
    }

    /// Image channels of the model.
    public var channels: Int { classConditional?.unet.channels ?? unet.channels }

    /// Key prefixes under which exported reference weights are found, in the order tried: a plain
    /// `unet.state_dict()`, then the pieces of a lucidrains Trainer checkpoint (`ema` state_dict
    /// with `ema_model.model.*`, the GaussianDiffusion state_dict with `model.*`).
    static let emaPrefixes = ["ema_model.model.", "ema.ema_model.model.", "ema."]
    static let onlinePrefixes = ["model.", "online_model.model.", "ema.online_model.model.", "model.model."]

    /// A plain reference state_dict (`safetensors.torch.save_file(unet.state_dict(), path)`)
    /// with a JSON configuration: `{"unet": {Unet kwargs}, "diffusion": {GaussianDiffusion
    /// kwargs}}`, where `image_size` may sit in `diffusion` or at the top level (the golden cases'
    /// `config.json` works as is). Other top-level keys are ignored.
    ///
    /// A `unet` block with `num_classes` is the class-conditional Unet (its `GaussianDiffusion`
    /// defaults apply to `diffusion`); its classes are named by an optional top-level
    /// `"classes": [names]`, else `0`…`num_classes − 1`.
    public init(stateDict weightsPath: String, configuration configPath: String, useEMA: Bool = true) throws {
        let (unet, diffusion, conditional) = try SamplingModel.readConfiguration(configPath)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: weightsPath) } catch let error as SafeTensorsError {
            throw CheckpointError.damaged(path: weightsPath, reason: "\(error)")
        }
        let candidates = [""] + (useEMA ? SamplingModel.emaPrefixes : []) + SamplingModel.onlinePrefixes
        guard let prefix = candidates.first(where: { file.contains($0 + "init_conv.weight") }) else {
            throw CheckpointError.foreign(path: weightsPath, reason: "no Unet weights found (looked for init_conv.weight under the prefixes "
                + candidates.map { "'\($0)'" }.joined(separator: ", ") + ")")
        }
        let model: any ReferenceModel = try conditional.map { try ConditionalUnet($0.unet) } ?? Unet(unet)
        let weights = try model.readStateDict(file, prefix: prefix)
        self.init(unet: unet, diffusion: diffusion, weights: weights,
                  origin: "\(weightsPath)\(prefix.isEmpty ? "" : " (keys '\(prefix)*')") with \(configPath)")
        classConditional = conditional
    }

    /// The largest configuration file read.
    static let maxConfigurationBytes = 16 << 20

    /// Reads a sampling configuration file (see ``init(stateDict:configuration:useEMA:)``).
    public static func readConfiguration(_ path: String) throws -> (UnetConfiguration, DiffusionConfiguration, ClassConditionalModel?) {
        let text: String
        switch FileBytes.read(path, limit: SamplingModel.maxConfigurationBytes, what: "a configuration file") {
        case let .success(bytes): text = String(decoding: bytes, as: UTF8.self)
        case .failure where !FileBytes.exists(path): throw CheckpointError.notFound(path: path)
        case let .failure(f): throw CheckpointError.invalidConfiguration("\(path): \(f.reason)")
        }
        let json = try parseJSONObject(text, what: path)
        guard let u = json["unet"] as? [String: Any] else {
            throw CheckpointError.invalidConfiguration("\(path): needs a \"unet\" object with the Unet's keyword arguments")
        }
        let d = json["diffusion"] as? [String: Any] ?? [:]
        var size: (Int, Int)?
        switch json["image_size"] {
        case let n as Int: size = (n, n)
        case let pair as [Int] where pair.count == 2: size = (pair[0], pair[1])
        case nil: size = nil
        default: throw CheckpointError.invalidConfiguration("\(path): image_size must be an integer or [height, width]")
        }
        do {
            guard u["num_classes"] != nil else {
                return (try UnetConfiguration(json: u), try DiffusionConfiguration(json: d, imageSize: size, context: "diffusion"), nil)
            }
            let conditional = try ConditionalUnetConfiguration(json: u)
            let names: [String]
            switch json["classes"] {
            case nil: names = (0..<conditional.numClasses).map(String.init)
            case let list as [String]: names = list
            default: throw CheckpointError.invalidConfiguration("\(path): classes must be a list of class names")
            }
            let model = ClassConditionalModel(unet: conditional, classNames: names)
            do { try model.validate() } catch { throw CheckpointError.invalidConfiguration("\(path): \(error)") }
            let diffusion = try DiffusionConfiguration(json: d, imageSize: size, context: "diffusion", kind: .classConditional)
            return (UnetConfiguration(dim: conditional.dim, dimMults: conditional.dimMults, channels: conditional.channels), diffusion, model)
        } catch let error as DiffusionError {
            throw CheckpointError.invalidConfiguration("\(path): \(error)")
        }
    }
}
