/// What happened to one case.
public struct CaseOutcome: Sendable {
    public enum Status: Sendable, Equatable {
        case passed
        case failed(reason: String)
        /// Not run: the device does not support the kernel (or the check needs something the
        /// device lacks). Never a failure.
        case skipped(reason: String)
    }

    /// The exact case string.
    public var name: String
    public var status: Status
    /// A one-line measurement for verbose output and perf mode (`NMSE 1.2e-09`, `12.3 GFLOP/s`).
    public var detail: String?
    /// Seconds spent on the case.
    public var seconds: Double

    public init(name: String, status: Status, detail: String? = nil, seconds: Double = 0) {
        self.name = name
        self.status = status
        self.detail = detail
        self.seconds = seconds
    }

    public var isFailure: Bool {
        if case .failed = status { return true }
        return false
    }

    /// The line printed for this case: always for failures, for the others only when verbose.
    public var line: String {
        switch status {
        case .passed: return "ok    \(name)\(detail.map { "  \($0)" } ?? "")"
        case let .failed(reason): return "FAIL  \(name): \(reason)"
        case let .skipped(reason): return "skip  \(name): \(reason)"
        }
    }
}

/// The outcome of one conformance run on one device.
public struct ConformanceResult: Sendable {
    public var mode: ConformanceMode
    /// Registry name of the device under test.
    public var device: String
    public var outcomes: [CaseOutcome]

    public init(mode: ConformanceMode, device: String, outcomes: [CaseOutcome]) {
        self.mode = mode
        self.device = device
        self.outcomes = outcomes
    }

    public var passed: Int { outcomes.filter { $0.status == .passed }.count }
    public var failed: Int { outcomes.filter(\.isFailure).count }
    public var skipped: Int {
        outcomes.filter { if case .skipped = $0.status { return true } else { return false } }.count
    }
    public var failures: [CaseOutcome] { outcomes.filter(\.isFailure) }

    /// `N passed, M failed`, followed by `, K skipped` when K > 0: the last line of every run.
    public var summaryLine: String {
        var line = "\(passed) passed, \(failed) failed"
        if skipped > 0 { line += ", \(skipped) skipped" }
        return line
    }
}
