import Diffusion
import Foundation
import Graph
import SafeTensors

/// The complete state of a training run at one step: weights, EMA weights, Adam moments, the
/// device random state, the data position and the configuration.
///
/// File layout (safetensors, F32 unless noted), tensors in the Unet's state_dict order:
/// - `model.<key>`, `ema.<key>`: the online and EMA weights under the reference state_dict keys;
/// - `optimizer.exp_avg.<key>`, `optimizer.exp_avg_sq.<key>`: Adam's moments (PyTorch's names);
/// - `training.step` (I64 `[1]`), `training.data_position` (I64 `[1]`, images consumed),
///   `training.device_rng` (U32 `[4]`, the Philox state `[key lo, key hi, counter, 0]`);
/// - `__metadata__`: `format` = `ddpm-checkpoint`, `format_version`, `step`, and `config`, the
///   ``RunConfiguration`` as JSON.
public struct Checkpoint {
    public var configuration: RunConfiguration
    public var step: Int
    /// Images consumed from the data stream (step × batch size × gradient accumulation).
    public var dataPosition: Int
    public var model: [String: [Float]]
    public var ema: [String: [Float]]
    public var adamFirstMoment: [String: [Float]]
    public var adamSecondMoment: [String: [Float]]
    /// The device Philox state `[key lo, key hi, counter, 0]`.
    public var deviceRandomState: [UInt32]

    public static let format = "ddpm-checkpoint"
    public static let formatVersion = "1"

    public init(configuration: RunConfiguration, step: Int, dataPosition: Int, model: [String: [Float]], ema: [String: [Float]],
                adamFirstMoment: [String: [Float]], adamSecondMoment: [String: [Float]], deviceRandomState: [UInt32]) {
        self.configuration = configuration
        self.step = step
        self.dataPosition = dataPosition
        self.model = model
        self.ema = ema
        self.adamFirstMoment = adamFirstMoment
        self.adamSecondMoment = adamSecondMoment
        self.deviceRandomState = deviceRandomState
    }

    /// The file name of the checkpoint of `step` (zero-padded, so names sort by step).
    public static func fileName(step: Int) -> String { String(format: "checkpoint-%08d.safetensors", step) }

    /// Writes the checkpoint to `path` atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        let specs = try configuration.parameterSpecs()
        var tensors: [SafeTensor] = []
        tensors.reserveCapacity(specs.count * 4 + 3)
        for (prefix, values) in [("model.", model), ("ema.", ema), ("optimizer.exp_avg.", adamFirstMoment),
                                 ("optimizer.exp_avg_sq.", adamSecondMoment)] {
            for spec in specs {
                guard let v = values[spec.name], v.count == spec.count else {
                    throw TrainingError.invalidSetting("internal: checkpoint tensor \(prefix)\(spec.name) is missing or mis-sized")
                }
                tensors.append(SafeTensor(name: prefix + spec.name, shape: spec.shape, floats: v))
            }
        }
        tensors.append(SafeTensor(name: "training.step", shape: [1], int64s: [Int64(step)]))
        tensors.append(SafeTensor(name: "training.data_position", shape: [1], int64s: [Int64(dataPosition)]))
        tensors.append(SafeTensor(name: "training.device_rng", shape: [4], uint32s: deviceRandomState))
        let metadata = ["format": Checkpoint.format, "format_version": Checkpoint.formatVersion, "step": String(step),
                        "config": configuration.jsonString]
        do {
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
        } catch let error as SafeTensorsError {
            throw TrainingError.io(path: path, reason: "\(error)")
        }
    }

    /// Reads and checks a checkpoint: the file must be whole, carry ddpm's metadata, and hold
    /// every tensor its configuration implies, with the right shapes.
    public init(contentsOf path: String) throws {
        let file = try Checkpoint.openFile(path)
        let configuration = try Checkpoint.configuration(of: file)
        let unet: any ReferenceModel
        do { unet = try configuration.referenceModel() } catch {
            throw CheckpointError.damaged(path: path, reason: "its configuration is invalid: \(error)")
        }
        func weights(_ prefix: String) throws -> [String: [Float]] {
            do { return try unet.readStateDict(file, prefix: prefix) } catch let error as DiffusionError {
                throw CheckpointError.damaged(path: path, reason: "the '\(prefix)*' tensors do not match its configuration: \(error)")
            }
        }
        func scalar(_ name: String) throws -> Int {
            guard file.contains(name), let v = try? file.int64s(name), v.count == 1 else {
                throw CheckpointError.damaged(path: path, reason: "missing or malformed tensor '\(name)'")
            }
            return Int(v[0])
        }
        let step = try scalar("training.step")
        let position = try scalar("training.data_position")
        guard file.contains("training.device_rng"), let info = try? file.info("training.device_rng"),
              info.dtype == .u32, info.shape == [4] else {
            throw CheckpointError.damaged(path: path, reason: "missing or malformed tensor 'training.device_rng' (U32 [4])")
        }
        let rngBytes = try file.bytes("training.device_rng")
        let rng = (0..<4).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(rngBytes[i * 4 + $1]) << (8 * UInt32($1)) } }
        guard step >= 0, position >= 0 else { throw CheckpointError.damaged(path: path, reason: "negative step or data position") }
        guard step <= TrainingConfiguration.maxSteps else {
            throw CheckpointError.damaged(path: path, reason: "training.step is \(step), more than the limit of \(TrainingConfiguration.maxSteps)")
        }
        self.init(configuration: configuration, step: step, dataPosition: position, model: try weights("model."),
                  ema: try weights("ema."), adamFirstMoment: try weights("optimizer.exp_avg."),
                  adamSecondMoment: try weights("optimizer.exp_avg_sq."), deviceRandomState: rng)
    }

    /// Opens and validates the safetensors container, mapping its errors to checkpoint errors.
    static func openFile(_ path: String) throws -> SafeTensorsFile {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.notFound(path: path) }
        do {
            return try SafeTensorsFile(path: path)
        } catch let SafeTensorsError.io(_, operation, reason) {
            throw CheckpointError.damaged(path: path, reason: "cannot \(operation): \(reason)")
        } catch let error as SafeTensorsError {
            throw CheckpointError.damaged(path: path, reason: "\(error) (the file may be truncated or not a safetensors file)")
        }
    }

    /// The run configuration in a checkpoint's metadata; a file without ddpm's metadata is foreign.
    static func configuration(of file: SafeTensorsFile) throws -> RunConfiguration {
        let path = file.path
        guard file.metadata["format"] == Checkpoint.format else {
            let hint = file.contains("init_conv.weight")
                ? "it looks like a plain Unet state_dict; sample from it with --weights FILE --config CONFIG.json"
                : "its metadata has no \"format\": \"\(Checkpoint.format)\""
            throw CheckpointError.foreign(path: path, reason: hint)
        }
        guard file.metadata["format_version"] == Checkpoint.formatVersion else {
            throw CheckpointError.foreign(path: path, reason: "format version \(file.metadata["format_version"] ?? "none"); this build reads version \(Checkpoint.formatVersion)")
        }
        guard let text = file.metadata["config"] else {
            throw CheckpointError.damaged(path: path, reason: "its metadata has no 'config'")
        }
        do {
            return try RunConfiguration(json: try parseJSONObject(text, what: "the checkpoint's config"), context: "config")
        } catch let CheckpointError.invalidConfiguration(message) {
            throw CheckpointError.damaged(path: path, reason: message)
        }
    }
}

extension Checkpoint {
    /// Only the run configuration of the checkpoint at `path` (the file is still validated whole).
    public static func readConfiguration(_ path: String) throws -> RunConfiguration {
        try configuration(of: try openFile(path))
    }
}
