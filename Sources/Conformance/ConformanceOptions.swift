/// What a conformance run does (ggml test-backend-ops' modes).
public enum ConformanceMode: String, CaseIterable, Sendable {
    /// Every kernel case against the oracle, plus the runtime-behaviour checks.
    case test
    /// Backward kernels against finite differences of their forward kernels.
    case grad
    /// Timings: GFLOP/s or GB/s per case.
    case perf
    /// Which kernel families each device supports.
    case support
}

/// Selects cases by their case string: a case matches when it contains `pattern` as a
/// substring or, if `pattern` is a valid regular expression, when the expression matches.
///
/// Substring matching comes first so case strings full of brackets and parentheses can be
/// pasted verbatim (`--filter 'gemm(batch=1, m=3'`).
public struct CaseFilter: @unchecked Sendable {  // Regex is an immutable value
    public let pattern: String
    private let regex: Regex<AnyRegexOutput>?

    public init(_ pattern: String) {
        self.pattern = pattern
        self.regex = try? Regex(pattern)
    }

    public func matches(_ name: String) -> Bool {
        if name.contains(pattern) { return true }
        guard let regex else { return false }
        return (try? regex.firstMatch(in: name)) != nil
    }
}

/// Settings of one run.
public struct ConformanceOptions: Sendable {
    public var mode: ConformanceMode
    /// Only cases whose string matches; `nil` runs everything.
    public var filter: CaseFilter?
    /// Seed of every input draw (the same seed gives the same inputs on every device).
    public var seed: UInt64
    /// Print a line for every case, not just failures.
    public var verbose: Bool
    /// Include the Unet-sized heavy cases of test mode.
    public var includeHeavy: Bool
    /// Seconds of timed launches per perf case.
    public var perfSecondsPerCase: Double

    public init(mode: ConformanceMode = .test, filter: CaseFilter? = nil, seed: UInt64 = 0, verbose: Bool = false,
                includeHeavy: Bool = true, perfSecondsPerCase: Double = 0.5) {
        self.mode = mode
        self.filter = filter
        self.seed = seed
        self.verbose = verbose
        self.includeHeavy = includeHeavy
        self.perfSecondsPerCase = perfSecondsPerCase
    }
}
