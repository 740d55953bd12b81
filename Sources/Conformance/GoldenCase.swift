import Diffusion
import Foundation
import SafeTensors

/// One golden case folder: `config.json`, `weights.safetensors` (a reference Unet state_dict)
/// and `io.safetensors` (inputs and expected outputs).
/// folder written by `make_golden.py` or, for the class-conditional model,
/// `make_golden_cfg.py` (recognised by `num_classes` in its `unet` block).
public struct GoldenCase {
    public let name: String
    public let directory: String
    public let kind: ModelKind
    /// The Unet of an unconditional case (nil for a class-conditional one).
    public let unet: UnetConfiguration?
    /// The Unet of a class-conditional case (nil for an unconditional one).
    public let conditionalUnet: ConditionalUnetConfiguration?
    /// The guidance of the guided forward and chains (`guidance` block; class-conditional cases only).
    public let guidance: Guidance?
    public let imageHeight: Int
    public let imageWidth: Int
    public let batch: Int
    /// The settings of the forward, loss and DDIM checks.
    public let diffusion: DiffusionConfiguration
    /// The settings of the ancestral-chain check (the `ddpm` block; sampling_timesteps = timesteps).
    public let ddpm: DiffusionConfiguration
    /// Every tensor of `io.safetensors` with its shape, as config.json lists it.
    public let tensors: [String: [Int]]

    public var weightsPath: String { directory + "/weights.safetensors" }
    public var ioPath: String { directory + "/io.safetensors" }

    /// Reads `directory/config.json`, refusing a malformed one with the file named.
    public init(directory: String) throws {
        let path = directory + "/config.json"
        let object: Any
        do {
            object = try JSONDocument.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch let failure as JSONDocument.Failure {
            throw GoldenCaseError.badConfig(file: path, reason: failure.message)
        } catch {
            throw GoldenCaseError.badConfig(file: path, reason: "\(error.localizedDescription)")
        }
        func fail(_ reason: String) -> GoldenCaseError { .badConfig(file: path, reason: reason) }
        guard let top = object as? [String: Any] else { throw fail("the top level is not a JSON object") }
        var o = JSONOptions(top, context: "config")
        do {
            guard let unetJSON = try o.object("unet") else { throw fail("missing \"unet\" object") }
            guard let diffusionJSON = try o.object("diffusion") else { throw fail("missing \"diffusion\" object") }
            guard let ddpmJSON = try o.object("ddpm") else { throw fail("missing \"ddpm\" object") }
            guard let batch = try o.int("batch"), batch >= 1 else { throw fail("\"batch\" must be a positive integer") }
            guard let size = try o.imageSize("image_size") else { throw fail("\"image_size\" must be an integer or [height, width]") }
            guard let tensorList = try o.object("tensors") else { throw fail("missing \"tensors\" object") }
            var shapes = JSONOptions(tensorList, context: "tensors")
            var tensors: [String: [Int]] = [:]
            for k in tensorList.keys { tensors[k] = try shapes.ints(k) }
            kind = unetJSON["num_classes"] != nil ? .classConditional : .unconditional
            switch kind {
            case .unconditional:
                unet = try UnetConfiguration(json: unetJSON)
                conditionalUnet = nil
                guidance = nil
            case .classConditional:
                unet = nil
                conditionalUnet = try ConditionalUnetConfiguration(json: unetJSON)
                guard let g = try o.object("guidance") else {
                    throw fail("a class-conditional case needs \"guidance\": {\"cond_scale\": number, \"rescaled_phi\": number}")
                }
                var settings = JSONOptions(g, context: "guidance")
                guard let scale = try settings.double("cond_scale"), let phi = try settings.double("rescaled_phi") else {
                    throw fail("guidance needs cond_scale and rescaled_phi")
                }
                try settings.rejectUnknownKeys()
                guidance = Guidance(scale: Float(scale), rescaledPhi: Float(phi))
            }
            diffusion = try DiffusionConfiguration(json: diffusionJSON, imageSize: size, kind: kind)
            var ddpmSettings = ddpmJSON
            if ddpmSettings["sampling_timesteps"] == nil { ddpmSettings["sampling_timesteps"] = ddpmJSON["timesteps"] }
            ddpm = try DiffusionConfiguration(json: ddpmSettings, imageSize: size, context: "ddpm", kind: kind)
            self.imageHeight = size.0
            self.imageWidth = size.1
            self.batch = batch
            self.tensors = tensors
        } catch let error as GoldenCaseError {
            throw error
        } catch {
            throw fail("\(error)")
        }
        self.name = URL(fileURLWithPath: directory).lastPathComponent
        self.directory = directory
    }

    /// Every case folder (a folder holding `config.json`) directly inside `directory`, by name.
    public static func discover(in directory: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GoldenCaseError.badDirectory(path: directory, reason: "no such directory")
        }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw GoldenCaseError.badDirectory(path: directory, reason: error.localizedDescription)
        }
        return entries.sorted().filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/config.json") }
            .map { "\(directory)/\($0)" }
    }
}

/// Why a golden case could not be read.
public enum GoldenCaseError: Error, CustomStringConvertible {
    case badConfig(file: String, reason: String)
    case badDirectory(path: String, reason: String)
    case missingTensor(file: String, name: String)

    public var description: String {
        switch self {
        case let .badConfig(file, reason): return "\(file): \(reason)"
        case let .badDirectory(path, reason): return "\(path): cannot list golden cases: \(reason)"
        case let .missingTensor(file, name): return "\(file): the golden case has no tensor '\(name)'"
        }
    }
}
