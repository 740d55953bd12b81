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
        XCTAssertEqual(names, ["checkpoint-00000003.safetensors", "checkpoint-00000006.safetensors", "metrics.jsonl",
                               "sample-00000003.png", "sample-00000006.png"])
        let grid = try Image(contentsOf: "\(run.directory)/sample-00000006.png")
        XCTAssertEqual([grid.width, grid.height, grid.channels], [2 * 10 + 2, 2 * 10 + 2, 1])
    }
}
