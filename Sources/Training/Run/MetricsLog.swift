import Foundation
import SafeTensors

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
    /// The log's descriptor, opened for appending (internal: fault-injection tests replace it).
    let fd: Int32
    /// The first write error; later appends are dropped (the run is stopping because of it).
    public private(set) var failure: TrainingError?

    /// The largest metrics file read back when resuming (a line per logged step: ~150 bytes).
    static let maxBytes = 1 << 30

    /// Opens (creating) the log, dropping lines of steps after `keepingStepsThrough`.
    public init(path: String, keepingStepsThrough lastStep: Int) throws {
        self.path = path
        var kept: [UInt8] = []
        if FileBytes.exists(path) {
            let bytes: [UInt8]
            switch FileBytes.read(path, limit: MetricsLog.maxBytes, what: "the metrics log") {
            case let .success(b): bytes = b
            case let .failure(f): throw TrainingError.io(path: path, reason: f.reason)
            }
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                let text = Substring(String(decoding: line, as: UTF8.self))
                if (MetricsLog.step(of: text) ?? Int.max) <= lastStep {
                    kept += line
                    kept.append(UInt8(ascii: "\n"))
                }
            }
        }
        // Rewritten through a temporary file and a rename, so a failure here leaves the old log whole.
        do { try SafeTensorsWriter.writeAtomically(kept, to: path) } catch {
            throw TrainingError.io(path: path, reason: "cannot rewrite the metrics log: \(error)")
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw TrainingError.io(path: path, reason: "cannot open the metrics log: \(errnoText())") }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The `step` field of a metrics line.
    static func step(of line: Substring) -> Int? {
        guard let range = line.range(of: "\"step\":") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    /// Appends one line. A failed write (a full disk: ENOSPC, a file size limit: EFBIG) throws
    /// ``TrainingError/io(path:reason:)`` with the C library's reason, once; the log then ignores
    /// further appends so that the trainer can still write its checkpoint.
    public func append(_ record: TrainingRecord) throws {
        guard failure == nil else { return }
        do { try RegularFile.writeAll(Array((record.jsonLine + "\n").utf8), to: fd, path: path) } catch let error as FileAccessError {
            let failure = TrainingError.io(path: path, reason: "cannot write the metrics log at step \(record.step): \(error.reason)")
            self.failure = failure
            throw failure
        }
    }

    /// Pushes the appended lines to the disk (at checkpoints); a failure is reported like a write's.
    public func sync() throws {
        guard failure == nil else { return }
        guard fsync(fd) == 0 else {
            let failure = TrainingError.io(path: path, reason: "cannot fsync the metrics log: \(errnoText())")
            self.failure = failure
            throw failure
        }
    }

    /// The records of a metrics file (for tests and tools); lines that do not parse are skipped.
    public static func read(_ path: String) -> [(step: Int, loss: Float)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let o = try? JSONDocument.parseObject(Array(line.utf8)),
                  let step = (o["step"] as? NSNumber)?.intValue, let loss = (o["loss"] as? NSNumber)?.floatValue else { return nil }
            return (step, loss)
        }
    }
}
