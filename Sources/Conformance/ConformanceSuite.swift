import Devices
import Foundation

/// The backend-conformance suite: runs one mode on one device and reports case by case.
///
/// ```swift
/// let suite = ConformanceSuite(device: try DeviceRegistry.device(named: "opencl"),
///                              oracle: try DeviceRegistry.device(named: "cpu-reference"),
///                              options: ConformanceOptions(mode: .test, filter: CaseFilter("gemm")))
/// let result = try suite.run()          // prints failures, then "N passed, M failed"
/// ```
///
/// Test mode compares every kernel case with the oracle (the plain reference CPU path) and runs
/// the runtime-behaviour checks; grad mode checks backward kernels against finite differences on
/// the device itself; perf mode times the Unet's heavy launches. Support mode, which spans all
/// devices, is ``SupportMatrix``.
public struct ConformanceSuite {
    public let device: Device
    /// The device every output is compared against in test mode.
    public let oracle: Device
    public var options: ConformanceOptions
    /// Shares oracle results between suites in one process (nil: compute them every time).
    public var oracleCache: OracleCache?
    /// Receives every report line as it is produced.
    public var output: (String) -> Void

    public init(device: Device, oracle: Device, options: ConformanceOptions = ConformanceOptions(),
                oracleCache: OracleCache? = nil, output: @escaping (String) -> Void = { print($0) }) {
        self.device = device
        self.oracle = oracle
        self.options = options
        self.oracleCache = oracleCache
        self.output = output
    }

    /// The case strings this run would execute, in order.
    public func caseNames() -> [String] {
        switch options.mode {
        case .test:
            let leakCheck = selected(Self.finalLeakCheck) ? [Self.finalLeakCheck] : []
            return queueCases().map(\.name) + kernelCases().map(\.name) + leakCheck
        case .grad: return gradientCases().map(\.name)
        case .perf: return perfKernels().map(\.caseString)
        case .support: return SupportMatrix.build(columns: [.device(device)], filter: options.filter).families
        }
    }

    /// Runs the selected mode, printing failures (and, when verbose, every case) as they happen
    /// and the summary line `N passed, M failed[, K skipped]` last.
    public func run() throws -> ConformanceResult {
        let outcomes: [CaseOutcome]
        switch options.mode {
        case .test: outcomes = try runTestMode()
        case .grad: outcomes = try runGradMode()
        case .perf: outcomes = try runPerfMode()
        case .support:
            let matrix = SupportMatrix.build(columns: [.device(device)], filter: options.filter)
            output(matrix.markdown)
            outcomes = []
        }
        let result = ConformanceResult(mode: options.mode, device: device.info.name, outcomes: outcomes)
        output(result.summaryLine)
        return result
    }

    // MARK: Case selection

    private func selected(_ name: String) -> Bool { options.filter?.matches(name) ?? true }

    func queueCases() -> [QueueCase] { QueueCatalog.cases().filter { selected($0.name) } }

    func kernelCases() -> [KernelCase] {
        CaseCatalog.kernelCases().filter { (options.includeHeavy || !$0.isHeavy) && selected($0.name) }
    }

    func gradientCases() -> [GradientCase] { GradientCatalog.cases().filter { selected($0.name) } }

    func perfKernels() -> [Kernel] { PerfCatalog.kernels().filter { selected($0.caseString) } }

    static let finalLeakCheck = "memory.no-leaks(after the whole run)"

    // MARK: Modes

    private func header(_ count: Int) {
        let info = device.info
        var line = "conformance \(options.mode.rawValue): device '\(info.name)' (\(info.deviceName), \(info.platform))"
        if options.mode == .test { line += " vs oracle '\(oracle.info.name)'" }
        line += ", seed \(options.seed), \(count) cases"
        if let filter = options.filter { line += " matching '\(filter.pattern)'" }
        output(line)
    }

    private func report(_ outcome: CaseOutcome) {
        if options.verbose {
            output(outcome.line + String(format: "  [%.3f s]", outcome.seconds))
        } else if outcome.isFailure || options.mode == .perf {
            output(outcome.line)
        }
    }

    private func runTestMode() throws -> [CaseOutcome] {
        let queueChecks = queueCases()
        let kernels = kernelCases()
        let checkLeaks = selected(Self.finalLeakCheck)
        header(queueChecks.count + kernels.count + (checkLeaks ? 1 : 0))
        let baseline = device.memoryStats
        var outcomes: [CaseOutcome] = []
        for check in queueChecks {
            let outcome = check.run(on: device)
            report(outcome)
            outcomes.append(outcome)
        }
        do {
            let runner = KernelCaseRunner(deviceQueue: try device.makeQueue(), oracleQueue: try oracle.makeQueue(),
                                          seed: options.seed, cache: oracleCache)
            for testCase in kernels {
                let outcome = runner.run(testCase)
                report(outcome)
                outcomes.append(outcome)
            }
        }
        if checkLeaks {
            // Every buffer of the run has been dropped: the device must be back where it started.
            let outcome = QueueCase(Self.finalLeakCheck) { device in
                try QueueCatalog.waitForBaseline(device, baseline, what: "after the run")
            }.run(on: device)
            report(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }

    private func runGradMode() throws -> [CaseOutcome] {
        let cases = gradientCases()
        header(cases.count)
        let runner = GradientRunner(queue: try device.makeQueue(), seed: options.seed)
        return cases.map { testCase in
            let outcome = runner.run(testCase)
            report(outcome)
            return outcome
        }
    }

    private func runPerfMode() throws -> [CaseOutcome] {
        let kernels = perfKernels()
        header(kernels.count)
        let runner = PerfRunner(queue: try device.makeQueue(), seed: options.seed, secondsPerCase: options.perfSecondsPerCase)
        return kernels.map { kernel in
            let outcome = runner.run(kernel)
            report(outcome)
            return outcome
        }
    }
}
