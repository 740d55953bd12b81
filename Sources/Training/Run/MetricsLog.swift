import Foundation

/// One read-back of the training loss, as logged to `metrics.jsonl` and shown in the progress.
public struct TrainingRecord: Sendable, Equatable {
    /// The optimiser step whose loss this is (1-based).
    public var step: Int
    public var loss: Float
    /// Learning rate of that step.
    public var learningRate: Double
    /// Global L2 norm of the gradients before clipping.
    public var gradNorm: Float
    /// Training throughput over the window since the previous record.
    public var imagesPerSecond: Double
    /// Seconds since this process started training.
    public var elapsedSeconds: Double

    /// The JSON line written to `metrics.jsonl`.
    public var jsonLine: String {
        func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "\"\(v)\"" }
        return "{\"step\":\(step),\"loss\":\(number(Double(loss))),\"lr\":\(number(learningRate)),"
            + "\"grad_norm\":\(number(Double(gradNorm))),\"images_per_second\":\(number((imagesPerSecond * 100).rounded() / 100)),"
            + "\"elapsed_seconds\":\(number((elapsedSeconds * 1000).rounded() / 1000))}"
    }
}

/// `DIR/metrics.jsonl`: one JSON object per loss read-back, appended as training goes.
///
/// When a run resumes from the checkpoint of step `s`, lines of later steps (written before the
/// interruption, and about to be trained again) are removed first, so the file describes one
/// continuous run.
public final class MetricsLog {
    public let path: String
    private let handle: FileHandle

    /// Opens (creating) the log, dropping lines of steps after `keepingStepsThrough`.
    public init(path: String, keepingStepsThrough lastStep: Int) throws {
        self.path = path
        var kept = ""
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") where (MetricsLog.step(of: line) ?? Int.max) <= lastStep {
                kept += line + "\n"
            }
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(kept.utf8)),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.io(path: path, reason: "cannot create the metrics log")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// The `step` field of a metrics line.
    static func step(of line: Substring) -> Int? {
        guard let range = line.range(of: "\"step\":") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    public func append(_ record: TrainingRecord) {
        handle.write(Data((record.jsonLine + "\n").utf8))
    }

    /// Pushes the appended lines to the disk (at checkpoints).
    public func sync() { try? handle.synchronize() }

    /// The records of a metrics file (for tests and tools); lines that do not parse are skipped.
    public static func read(_ path: String) -> [(step: Int, loss: Float)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let data = line.data(using: .utf8),
                  let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let step = (o["step"] as? NSNumber)?.intValue, let loss = (o["loss"] as? NSNumber)?.floatValue else { return nil }
            return (step, loss)
        }
    }
}
