import Diffusion
import Foundation
import XCTest
@testable import Training

/// Class-conditional runs: labels from the data, class names in the checkpoint, condition
/// dropout that resumes exactly, grids with one row per class, guided sampling by class.
final class ConditionalTrainingTests: XCTestCase {
    /// A tiny class-conditional run on the digits (8x8 gray, 10 classes).
    static func configuration(steps: Int = 6, seed: UInt64 = 5) -> RunConfiguration {
        let unet = ConditionalUnetConfiguration(dim: 8, numClasses: 10, dimMults: [1, 2], channels: 1, attnDimHead: 4, attnHeads: 2)
        var diffusion = DiffusionConfiguration.defaults(for: .classConditional, imageHeight: 8, imageWidth: 8)
        diffusion.timesteps = 50
        diffusion.samplingTimesteps = 3
        var config = RunConfiguration(classConditional: ClassConditionalModel(unet: unet, classNames: (0...9).map(String.init)),
                                      diffusion: diffusion, training: TinyRun.configuration(steps: steps, seed: seed).training, data: .digits)
        config.training.ema?.updateEvery = 2
        return config
    }

    func testFolderClassesAreItsSortedSubfoldersAndLooseImagesAreRefused() throws {
        let root = Fixtures.temporaryDirectory("ddpm-classes")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let image = Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 128, count: 16))
        for (folder, count) in [("zebra", 2), ("ant", 3), ("ant/deep", 1)] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
            for i in 0..<count { try image.writePNG(to: "\(root)/\(folder)/\(i).png") }
        }
        XCTAssertEqual(try DataSource.folder(root).classNames(), ["ant", "zebra"])
        let dataset = try ImageFolderDataset(root: root, channels: 1, height: 4, width: 4)
        XCTAssertEqual(dataset.classNames, ["ant", "zebra"])
        XCTAssertEqual((0..<dataset.count).map { dataset.label(at: $0) }, [0, 0, 0, 0, 1, 1], "\(dataset.files)")

        try image.writePNG(to: "\(root)/loose.png")
        XCTAssertThrowsError(try DataSource.folder(root).classNames()) { error in
            XCTAssertTrue("\(error)".contains("1 image(s) lie directly in the folder"), "\(error)")
        }
        XCTAssertThrowsError(try DataSource.shapes.classNames()) { error in
            XCTAssertTrue("\(error)".contains("no class labels"), "\(error)")
        }
    }

    func testBatchesCarryTheLabelsAfterTheImages() throws {
        let digits = try DigitsDataset(channels: 1, height: 8, width: 8)
        let order = DataOrder(seed: 3, count: digits.count, flips: false)
        var cache: [Int: [Int]] = [:]
        let batch = try order.assemble(batch: 2, size: 5, from: digits, labels: true, cache: &cache)
        XCTAssertEqual(batch.values.count, 5 * 64 + 5)
        let positions = (10..<15).map { order.permutation(epoch: 0)[$0] }
        XCTAssertEqual(Array(batch.values.suffix(5)), positions.map { Float(DigitsData.labels[$0]) })
    }

    /// Condition dropout is drawn on the device from the run's random state, so an interrupted
    /// and resumed run continues exactly; the checkpoint records the model kind and the classes.
    func testResumedConditionalRunMatchesUninterruptedRunAndKeepsItsClasses() throws {
        let config = Self.configuration(steps: 6)
        let whole = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: whole.directory) }
        let first = try TinyRun.train(config, stopAfter: 3)
        defer { try? FileManager.default.removeItem(atPath: first.directory) }
        let second = try TinyRun.train(config, in: first.directory, resume: true)
        XCTAssertEqual(second.losses, whole.losses)
        XCTAssertEqual(whole.losses.count, 6)
        let x = try Checkpoint(contentsOf: "\(whole.directory)/checkpoint-00000006.safetensors")
        let y = try Checkpoint(contentsOf: "\(first.directory)/checkpoint-00000006.safetensors")
        XCTAssertEqual(x.model, y.model)
        XCTAssertEqual(x.ema, y.ema)
        XCTAssertEqual(x.configuration.kind, .classConditional)
        XCTAssertEqual(x.configuration.classConditional?.classNames, (0...9).map(String.init))
        XCTAssertEqual(x.model.count, try ConditionalUnet(config.classConditional!.unet).parameterSpecs.count)
        XCTAssertNotNil(x.model["null_classes_emb"])

        // The same folder cannot be resumed as an unconditional run.
        var other = TinyRun.configuration(data: .digits, steps: 8)
        other.training = config.training
        XCTAssertThrowsError(try TinyRun.train(other, in: first.directory, resume: true)) { error in
            XCTAssertTrue("\(error)".contains("model: unconditional (checkpoint: class-conditional)"), "\(error)")
        }
    }

    /// The training grid has one row per class; sampling by class checks the class.
    func testGridHasOneRowPerClassAndSamplingTakesClasses() throws {
        var config = Self.configuration(steps: 2)
        config.training.sampleEvery = 2
        config.training.numSamples = 12   // ⌈12 / 10⌉ = 2 columns
        let run = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        let grid = try Image(contentsOf: "\(run.directory)/sample-00000002.png")
        // [2 + 2·10, 2 + 10·10] pixels of cells, enlarged ×3 for viewing (long side 102 → 306 ≥ 256).
        XCTAssertEqual([grid.width, grid.height], [3 * (2 * 10 + 2), 3 * (10 * 10 + 2)])

        let model = try SamplingModel(checkpoint: run.directory)
        XCTAssertEqual(try model.classConditional?.classIndex("7"), 7)
        XCTAssertThrowsError(try model.classConditional?.classIndex("seven")) { error in
            XCTAssertEqual("\(error)", "unknown class 'seven'; the model's classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9")
        }
        let generator = try SampleGenerator(model: model, guidance: Guidance(scale: 3), device: TinyRun.device())
        let a = try generator.generate(count: 3, batchSize: 2, seed: 1, classes: [0, 3, 3])
        XCTAssertEqual(a.count, 3 * 64)
        XCTAssertTrue(a.allSatisfy(\.isFinite))
        XCTAssertEqual(a, try generator.generate(count: 3, batchSize: 2, seed: 1, classes: [0, 3, 3]))
        XCTAssertNotEqual(a, try generator.generate(count: 3, batchSize: 2, seed: 1, classes: [1, 3, 3]))
        XCTAssertThrowsError(try generator.generate(count: 3, batchSize: 2, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("needs one class per image"), "\(error)")
        }
    }
}
