import Foundation
import XCTest
@testable import Training

/// End-to-end training runs on tiny models: losses, determinism, resume, checkpoints, samples.
final class TrainerTests: XCTestCase {
    func testTrainingWritesMetricsCheckpointAndSamples() throws {
        var config = TinyRun.configuration(steps: 6)
        config.training.sampleEvery = 3
        config.training.numSamples = 4
        config.training.saveEvery = 3
        let run = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        XCTAssertEqual(Set(run.losses.keys), Set(1...6))
        XCTAssertTrue(run.losses.values.allSatisfy(\.isFinite))
        XCTAssertEqual(run.outcome, .completed(step: 6, checkpoint: "\(run.directory)/checkpoint-00000006.safetensors"))
        let names = try FileManager.default.contentsOfDirectory(atPath: run.directory).sorted()
        // The run lock stays (unlinking it would race with a run opening it); the reserve is released.
        XCTAssertEqual(names, [".ddpm-train.lock", "checkpoint-00000003.safetensors", "checkpoint-00000006.safetensors", "metrics.jsonl",
                               "sample-00000003.png", "sample-00000006.png"])
        let grid = try Image(contentsOf: "\(run.directory)/sample-00000006.png")
        // A 2×2 grid of 8×8 images with 2-pixel borders (22 pixels), enlarged ×12 for viewing (264 ≥ 256).
        XCTAssertEqual([grid.width, grid.height, grid.channels], [12 * (2 * 10 + 2), 12 * (2 * 10 + 2), 1])
    }
}

/// Reference Unet options that change the training graph.
final class ModelOptionTests: XCTestCase {
    func testSelfConditioningTrainsAndSamples() throws {
        var config = TinyRun.configuration(steps: 3)
        config.unet.selfCondition = true
        config.training.numSamples = 2
        let run = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: run.directory) }
        XCTAssertEqual(run.losses.count, 3)
        XCTAssertTrue(run.losses.values.allSatisfy(\.isFinite))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(run.directory)/sample-00000003.png"))
        XCTAssertTrue(try Checkpoint(contentsOf: "\(run.directory)/checkpoint-00000003.safetensors").configuration.unet.selfCondition)
    }
}

/// Same seed, same losses; interrupted and resumed equals uninterrupted.
final class DeterminismTests: XCTestCase {
    func testSameSeedGivesSameLossesAndAnotherSeedDoesNot() throws {
        let config = TinyRun.configuration(steps: 5, seed: 11)
        let a = try TinyRun.train(config), b = try TinyRun.train(config)
        var other = config
        other.training.seed = 12
        let c = try TinyRun.train(other)
        for d in [a.directory, b.directory, c.directory] { try? FileManager.default.removeItem(atPath: d) }
        XCTAssertEqual(a.losses, b.losses)
        XCTAssertEqual(a.losses.count, 5)
        XCTAssertNotEqual(a.losses, c.losses)
    }

    func testInterruptedAndResumedRunMatchesUninterruptedRun() throws {
        var config = TinyRun.configuration(steps: 10, seed: 3)
        config.training.flip = true
        config.training.ema?.updateEvery = 2
        let whole = try TinyRun.train(config)
        defer { try? FileManager.default.removeItem(atPath: whole.directory) }

        let first = try TinyRun.train(config, stopAfter: 4)
        defer { try? FileManager.default.removeItem(atPath: first.directory) }
        XCTAssertEqual(first.outcome, .interrupted(step: 4, checkpoint: "\(first.directory)/checkpoint-00000004.safetensors"))
        let second = try TinyRun.train(config, in: first.directory, resume: true)
        XCTAssertEqual(second.outcome, .completed(step: 10, checkpoint: "\(first.directory)/checkpoint-00000010.safetensors"))
        XCTAssertEqual(second.losses, whole.losses, "the resumed run continues exactly")

        // The final weights and EMA agree bit for bit too.
        let x = try Checkpoint(contentsOf: "\(whole.directory)/checkpoint-00000010.safetensors")
        let y = try Checkpoint(contentsOf: "\(first.directory)/checkpoint-00000010.safetensors")
        XCTAssertEqual(x.model, y.model)
        XCTAssertEqual(x.ema, y.ema)
        XCTAssertEqual(x.deviceRandomState, y.deviceRandomState)
    }
}

/// A diverging run stops with a clear error and keeps its last good checkpoint.
final class DivergenceTests: XCTestCase {
    func testNonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint() throws {
        var config = TinyRun.configuration(steps: 40)
        config.training.learningRate = 1e30
        config.training.maxGradNorm = nil
        config.training.saveEvery = 1
        let dir = Fixtures.temporaryDirectory("ddpm-nan")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trainer = try Trainer(configuration: config, outputDirectory: dir, device: TinyRun.device())
        XCTAssertThrowsError(try trainer.run()) { error in
            let message = "\(error)"
            switch error as? TrainingError {
            case let .nonFiniteLoss(_, loss, checkpoint)?:
                XCTAssertFalse(loss.isFinite)
                XCTAssertEqual(checkpoint, trainer.lastCheckpoint)
            case let .nonFiniteWeights(_, checkpoint)?:
                XCTAssertEqual(checkpoint, trainer.lastCheckpoint)
            default:
                XCTFail("unexpected \(error)")
            }
            XCTAssertTrue(message.contains("training stopped"), message)
            XCTAssertTrue(message.contains("--lr"), message)
        }
        // Every checkpoint left behind is finite and loads.
        for c in CheckpointDirectory(path: dir).checkpoints() {
            let checkpoint = try Checkpoint(contentsOf: c.path)
            XCTAssertTrue(checkpoint.model.values.allSatisfy { $0.allSatisfy(\.isFinite) }, c.path)
        }
    }
}
