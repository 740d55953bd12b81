import Diffusion
import Foundation
import SafeTensors
import XCTest
@testable import Training

/// Checkpoint files: round trip, atomic writes, damaged/foreign files, resume rules.
final class CheckpointTests: XCTestCase {
    private var directory = ""

    override func setUp() { directory = Fixtures.temporaryDirectory("ddpm-checkpoints") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// A checkpoint of the tiny configuration with distinct values in every tensor.
    private func sample(step: Int = 12) throws -> Checkpoint {
        let config = TinyRun.configuration()
        let specs = try Unet(config.unet).parameterSpecs
        func tensors(_ offset: Float) -> [String: [Float]] {
            Dictionary(uniqueKeysWithValues: specs.enumerated().map { i, s in
                (s.name, (0..<s.count).map { Float($0 % 7) * 0.25 + Float(i) + offset })
            })
        }
        return Checkpoint(configuration: config, step: step, dataPosition: step * 4, model: tensors(0), ema: tensors(0.5),
                          adamFirstMoment: tensors(-1), adamSecondMoment: tensors(2), deviceRandomState: [7, 0, UInt32(step), 0])
    }

    private func assertThrows(_ path: String, _ check: (CheckpointError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint(contentsOf: path), file: file, line: line) { error in
            guard let e = error as? CheckpointError else { return XCTFail("unexpected \(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "\(e)", file: file, line: line)
            XCTAssertTrue("\(e)".hasPrefix(path), "the message names the file: \(e)", file: file, line: line)
        }
    }

    func testRoundTripKeepsEveryTensorAndTheConfiguration() throws {
        let original = try sample()
        let path = "\(directory)/\(Checkpoint.fileName(step: 12))"
        XCTAssertEqual(Checkpoint.fileName(step: 12), "checkpoint-00000012.safetensors")
        try original.write(to: path)
        let back = try Checkpoint(contentsOf: path)
        XCTAssertEqual(back.configuration, original.configuration)
        XCTAssertEqual(back.step, 12)
        XCTAssertEqual(back.dataPosition, 48)
        XCTAssertEqual(back.model, original.model)
        XCTAssertEqual(back.ema, original.ema)
        XCTAssertEqual(back.adamFirstMoment, original.adamFirstMoment)
        XCTAssertEqual(back.adamSecondMoment, original.adamSecondMoment)
        XCTAssertEqual(back.deviceRandomState, [7, 0, 12, 0])
        // The file is plain safetensors: model weights load by reference key with a prefix.
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata["format"], "ddpm-checkpoint")
        XCTAssertEqual(try file.floats("model.init_conv.weight"), original.model["init_conv.weight"])
        XCTAssertEqual(try RunConfiguration(json: parseJSONObject(file.metadata["config"]!, what: "config")), original.configuration)
    }

    func testWritesAreAtomicAndLeaveNoTemporaryFiles() throws {
        let path = "\(directory)/\(Checkpoint.fileName(step: 1))"
        try sample(step: 1).write(to: path)
        try sample(step: 2).write(to: path)  // replaces the file in one rename
        XCTAssertEqual(try Checkpoint(contentsOf: path).step, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [Checkpoint.fileName(step: 1)])
        // A write that cannot happen leaves nothing behind and says where.
        XCTAssertThrowsError(try sample().write(to: "\(directory)/missing/x.safetensors")) {
            XCTAssertTrue("\($0)".contains("missing"), "\($0)")
        }
        // A stray temporary file of an interrupted write is not taken for a checkpoint.
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory)/.checkpoint-00000009.safetensors.tmp-1-2", contents: Data([1, 2])))
        XCTAssertEqual(CheckpointDirectory(path: directory).checkpoints().map(\.step), [1])
    }

    func testTruncatedAndGarbageFilesAreDamaged() throws {
        let path = "\(directory)/full.safetensors"
        try sample().write(to: path)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        for (name, data) in [("cut.safetensors", bytes.prefix(bytes.count - 100)), ("header.safetensors", bytes.prefix(50)),
                             ("noise.safetensors", Data((0..<4096).map { UInt8(($0 * 131) % 256) }))] {
            let p = "\(directory)/\(name)"
            XCTAssertTrue(FileManager.default.createFile(atPath: p, contents: Data(data)))
            assertThrows(p) { if case .damaged = $0 { return true } else { return false } }
        }
        assertThrows("\(directory)/absent.safetensors") { $0 == .notFound(path: "\(directory)/absent.safetensors") }
    }

    func testForeignFilesAreRecognised() throws {
        // A plain reference state_dict: the error says how to use it instead.
        let plain = "\(directory)/unet.safetensors"
        let unet = try Unet(TinyRun.configuration().unet)
        try SafeTensorsWriter.write(unet.parameterSpecs.map { SafeTensor(name: $0.name, shape: $0.shape, floats: [Float](repeating: 0, count: $0.count)) },
                                    to: plain)
        assertThrows(plain) { if case let .foreign(_, reason) = $0 { return reason.contains("--weights") } else { return false } }
        // Any other safetensors file.
        let other = "\(directory)/other.safetensors"
        try SafeTensorsWriter.write([SafeTensor(name: "x", shape: [1], floats: [1])], metadata: ["format": "pt"], to: other)
        assertThrows(other) { if case .foreign = $0 { return true } else { return false } }
        // A ddpm checkpoint whose tensors disagree with its configuration.
        var broken = try sample()
        broken.model["init_conv.weight"] = [1, 2, 3]
        XCTAssertThrowsError(try broken.write(to: "\(directory)/never.safetensors"))
        let mismatched = "\(directory)/mismatched.safetensors"
        var bigger = try sample()
        bigger.configuration.unet.dim = 16
        try sample().write(to: mismatched)
        let file = try SafeTensorsFile(path: mismatched)
        var metadata = file.metadata
        metadata["config"] = bigger.configuration.jsonString
        try SafeTensorsWriter.write(try file.tensors.map { SafeTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: try file.bytes($0.name)) },
                                    metadata: metadata, to: mismatched)
        assertThrows(mismatched) { if case let .damaged(_, reason) = $0 { return reason.contains("mis-shaped") } else { return false } }
    }

    func testResumeRulesAndPruning() throws {
        var config = TinyRun.configuration(steps: 3)
        config.training.saveEvery = 1
        config.training.keepCheckpoints = 2
        let run = try TinyRun.train(config, in: directory + "/run")
        XCTAssertEqual(CheckpointDirectory(path: run.directory).checkpoints().map(\.step), [2, 3], "only the newest 2 are kept")

        // Without --resume the folder is not overwritten.
        XCTAssertThrowsError(try Trainer(configuration: config, outputDirectory: run.directory, device: TinyRun.device())) {
            XCTAssertEqual($0 as? TrainingError, .outputInUse(directory: run.directory, newestStep: 3))
        }
        // A different model or optimiser setting is refused, naming each difference.
        var changed = config
        changed.unet.dim = 16
        changed.training.learningRate = 5e-4
        changed.training.steps = 10  // adjustable: not reported
        changed.data = .digits  // the run's, but stored and reported under "training"
        XCTAssertThrowsError(try Trainer(configuration: changed, outputDirectory: run.directory, device: TinyRun.device(), resume: true)) {
            guard case let .configurationMismatch(path, differences)? = $0 as? CheckpointError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "\(run.directory)/checkpoint-00000003.safetensors")
            XCTAssertEqual(differences, ["unet.dim: 16 (checkpoint: 8)", "training.data: \"digits\" (checkpoint: \"shapes\")",
                                         "training.lr: 0.0005 (checkpoint: 0.001)"])
        }
        // More steps resume fine.
        var longer = config
        longer.training.steps = 4
        let more = try TinyRun.train(longer, in: run.directory, resume: true)
        XCTAssertEqual(more.outcome, .completed(step: 4, checkpoint: "\(run.directory)/checkpoint-00000004.safetensors"))
        XCTAssertEqual(Set(more.losses.keys), Set(1...4), "metrics continue the same file")
        XCTAssertEqual(try CheckpointDirectory.resolve(run.directory), "\(run.directory)/checkpoint-00000004.safetensors")
    }

    func testConfigurationJSONRoundTripAndUnknownKeys() throws {
        var config = TinyRun.configuration()
        config.training.maxGradNorm = nil
        config.training.seed = UInt64.max
        config.training.learningRateSchedule = .cosine
        config.data = .folder("/data/x y")
        config.diffusion.offsetNoiseStrength = 0.1
        let back = try RunConfiguration(json: parseJSONObject(config.jsonString, what: "test"))
        XCTAssertEqual(back, config)
        // The settings are stored as the Doubles given (not Float-rounded), the data inside "training".
        let text = config.jsonString
        for fragment in ["\"adam_betas\":[0.9,0.99]", "\"ema_decay\":0.995", "\"ema_update_after_step\":2"] {
            XCTAssertTrue(text.contains(fragment), "\(fragment) in \(text)")
        }
        XCTAssertEqual((config.json["training"] as? [String: Any])?["data"] as? String, "/data/x y")
        var json = config.json
        var training = json["training"] as! [String: Any]
        training["learning_rate"] = 1
        json["training"] = training
        XCTAssertThrowsError(try RunConfiguration(json: json)) { XCTAssertTrue("\($0)".contains("learning_rate"), "\($0)") }
    }
}
