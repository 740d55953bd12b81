import Foundation

/// One comparison of a golden case: what was compared, the error measured and its bound.
public struct GoldenCheck: Sendable, Equatable {
    public enum Metric: String, Sendable {
        /// `max |got − expected|`.
        case maxAbs = "max abs err"
        /// `max |got − expected| / |expected|` over the elements.
        case maxRelative = "max rel err"
        /// `Σ(got − expected)² / Σ expected²`, the worst over the tensors compared.
        case nmse = "NMSE"
    }

    public var name: String
    public var metric: Metric
    public var error: Double
    public var tolerance: Double
    /// Where the worst error is (e.g. the parameter name of the worst gradient).
    public var detail: String

    public var passed: Bool { error <= tolerance }

    public var line: String {
        let where_ = detail.isEmpty ? "" : " (\(detail))"
        return "\(name): \(metric.rawValue) \(GoldenCheck.format(error)) \(passed ? "<=" : ">") \(GoldenCheck.format(tolerance))\(where_)"
    }

    static func format(_ x: Double) -> String { String(format: "%.3g", x) }
}

/// The outcome of one golden case on one device.
public struct GoldenCaseResult: Sendable {
    public var name: String
    public var checks: [GoldenCheck]
    /// Set when the case could not be run at all (unreadable files, a build error).
    public var error: String?

    public var passed: Bool { error == nil && !checks.isEmpty && checks.allSatisfy(\.passed) }
}

/// Every case of a golden run.
public struct GoldenSummary: Sendable {
    public var device: String
    public var cases: [GoldenCaseResult]

    public var passedCount: Int { cases.filter(\.passed).count }
    public var failedCount: Int { cases.count - passedCount }
    /// `N passed, M failed`, counting cases.
    public var line: String { "\(passedCount) passed, \(failedCount) failed" }
}
