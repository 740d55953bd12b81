import Foundation
import Training

/// Shows training progress: on a terminal, one status line redrawn in place (step, loss,
/// images/s, ETA) with events printed above it; otherwise plain lines, at most one every few
/// seconds, so logs stay readable.
final class TrainProgress: @unchecked Sendable {
    let totalSteps: Int
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var firstStep = 0
    private var startTime = 0.0
    private var lastPlainLine = -Double.infinity
    private var statusShown = false
    private var last: TrainingRecord?

    /// Seconds between plain progress lines when the output is not a terminal.
    static let plainInterval = 5.0

    init(totalSteps: Int) { self.totalSteps = totalSteps }

    func handle(_ event: TrainingEvent) {
        lock.withLock {
            switch event {
            case let .preparingData(done, total):
                emit("decoding images: \(done)/\(total)")
            case let .started(lines, first, total):
                firstStep = first
                startTime = ProcessUsage.uptimeSeconds()
                lines.forEach { emit($0) }
                emit(first > 0 ? "training steps \(first + 1)...\(total)" : "training \(total) steps")
            case let .record(r):
                last = r
                if isTerminal {
                    drawStatus(r)
                } else if ProcessUsage.uptimeSeconds() - lastPlainLine >= TrainProgress.plainInterval || r.step == totalSteps {
                    lastPlainLine = ProcessUsage.uptimeSeconds()
                    emit(describe(r))
                }
            case let .checkpointSaved(step, path):
                emit("step \(step): checkpoint \(path)")
            case let .samplesWritten(step, path):
                emit("step \(step): samples \(path)")
            }
        }
    }

    /// Prints a message above the status line.
    func note(_ text: String) { lock.withLock { emit(text) } }

    /// Ends the status line (and prints the last record when it was only shown in place).
    func finish() {
        lock.withLock {
            if statusShown {
                FileHandle.standardError.write(Data("\n".utf8))
                statusShown = false
            }
        }
    }


    private func emit(_ line: String) {
        if isTerminal && statusShown {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
        print(line)
        fflush(stdout)
        if isTerminal, let last { drawStatus(last) }
    }

    private func describe(_ r: TrainingRecord) -> String {
        "step \(r.step)/\(totalSteps)  loss \(String(format: "%.5f", r.loss))  lr \(String(format: "%.2e", r.learningRate))  "
            + "grad norm \(String(format: "%.3f", r.gradNorm))  \(String(format: "%.1f", r.imagesPerSecond)) img/s  ETA \(eta(r))"
    }

    private func drawStatus(_ r: TrainingRecord) {
        let width = 24
        let filled = min(width, totalSteps > 0 ? r.step * width / totalSteps : width)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r\u{1B}[K[\(bar)] " + describe(r)
        FileHandle.standardError.write(Data(line.utf8))
        statusShown = true
    }

    private func eta(_ r: TrainingRecord) -> String {
        let done = r.step - firstStep
        guard done > 0 else { return "--" }
        let seconds = Int((ProcessUsage.uptimeSeconds() - startTime) / Double(done) * Double(totalSteps - r.step))
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
