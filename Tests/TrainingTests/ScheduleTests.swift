import Foundation
import Graph
import XCTest
@testable import Training

/// The learning-rate schedule against its formula (the EMA's: TrainingStepTests), settings validation.
final class ScheduleTests: XCTestCase {
    func testLearningRateWarmupAndCosine() {
        var s = TrainingConfiguration()
        s.learningRate = 1e-3
        XCTAssertEqual(s.learningRate(atStep: 1), 1e-3)
        s.warmupSteps = 10
        XCTAssertEqual(s.learningRate(atStep: 1), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(atStep: 10), 1e-3, accuracy: 1e-12)
        XCTAssertEqual(s.learningRate(atStep: 500), 1e-3)
        s.learningRateSchedule = .cosine
        s.steps = 110
        XCTAssertEqual(s.learningRate(atStep: 60), 5e-4, accuracy: 1e-12, "half way down the cosine")
        XCTAssertEqual(s.learningRate(atStep: 110), 0, accuracy: 1e-12)
    }

    func testSettingsValidationNamesTheOption() {
        func message(_ change: (inout TrainingConfiguration) -> Void) -> String {
            var s = TrainingConfiguration()
            change(&s)
            do { try s.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { _ in }, "")
        XCTAssertTrue(message { $0.batchSize = 0 }.contains("--batch-size"))
        XCTAssertTrue(message { $0.learningRate = -1 }.contains("--lr"))
        XCTAssertTrue(message { $0.adamBeta2 = 1 }.contains("--adam-betas"))
        XCTAssertTrue(message { $0.ema?.beta = 1.5 }.contains("--ema-decay"))
        XCTAssertTrue(message { $0.ema = nil }.contains("needs an EMA"), "a run samples from its EMA")
        XCTAssertTrue(message { $0.ema?.warmup = false }.contains("warms up"), "a constant EMA is for the engine alone")
        XCTAssertTrue(message { $0.weightDecay = 0.01 }.contains("weight decay"))
        XCTAssertTrue(message { $0.gradientAccumulation = 0 }.contains("--grad-accum"))
        XCTAssertTrue(message { $0.saveEvery = 0 }.contains("--save-every"))
    }
}

/// `metrics.jsonl` bookkeeping.
final class MetricsLogTests: XCTestCase {
    func testResumeDropsLinesAfterTheCheckpointStep() throws {
        let dir = Fixtures.temporaryDirectory("ddpm-metrics")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/metrics.jsonl"
        do {
            let log = try MetricsLog(path: path, keepingStepsThrough: 0)
            for step in 1...7 {
                try log.append(TrainingRecord(step: step, loss: Float(step) / 10, learningRate: 1e-4, gradNorm: 1,
                                          imagesPerSecond: 3, elapsedSeconds: Double(step)))
            }
        }
        XCTAssertEqual(MetricsLog.read(path).map(\.step), Array(1...7))
        do {
            let log = try MetricsLog(path: path, keepingStepsThrough: 4)  // resumed from step 4's checkpoint
            try log.append(TrainingRecord(step: 5, loss: 0.55, learningRate: 1e-4, gradNorm: 1, imagesPerSecond: 3, elapsedSeconds: 1))
        }
        let records = MetricsLog.read(path)
        XCTAssertEqual(records.map(\.step), [1, 2, 3, 4, 5])
        XCTAssertEqual(records.last?.loss, 0.55)
        let nan = TrainingRecord(step: 9, loss: .nan, learningRate: 1e-4, gradNorm: .infinity, imagesPerSecond: 0, elapsedSeconds: 0)
        XCTAssertTrue(nan.jsonLine.contains("\"loss\":\"nan\""), nan.jsonLine)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(nan.jsonLine.utf8)), "non-finite values stay valid JSON")
    }
}
