import ArgumentParser
import Backends
import Conformance
import Devices

extension ConformanceMode: ExpressibleByArgument {}

/// `ddpm conformance`: the backend-conformance suite on the `--device` (see docs/conformance.md).
struct ConformanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Check a device against the reference CPU device (test), finite differences (grad), time it (perf) or list what it supports (support).",
        discussion: """
            Prints one line per failure naming the exact case, then `N passed, M failed` (and `, K skipped`
            when some kernels are not supported). Exits with status 1 when anything failed.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "test, grad, perf or support.")
    var mode: ConformanceMode = .test

    @Option(name: .long, help: ArgumentHelp("Run only cases whose case string contains this text or matches this regular expression.", valueName: "pattern"))
    var filter: String?

    @Flag(name: .long, help: "Print a line for every case, not only failures.")
    var verbose = false

    @Option(name: .long, help: "Seed of the generated inputs.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Skip the Unet-sized heavy cases of test mode.")
    var quick = false

    @Flag(name: .long, help: "List the case strings the run would execute, without running them.")
    var list = false

    @Option(name: .long, help: ArgumentHelp("Seconds of timed launches per perf case.", valueName: "seconds"))
    var perfSeconds: Double = 0.5

    @Option(name: .long, help: ArgumentHelp("Registry name of the oracle device for test mode.", valueName: "name"))
    var oracle: String = DeviceRegistry.oracleDeviceName

    @Option(name: .long, help: ArgumentHelp("Run the PyTorch golden cases in this directory (one folder per case) instead of the kernel suite.", valueName: "dir"))
    var golden: String?

    func validate() throws {
        guard perfSeconds > 0 else { throw ValidationError("--perf-seconds must be positive, got \(perfSeconds)") }
        if let filter, filter.isEmpty { throw ValidationError("--filter needs a non-empty pattern") }
    }

    func run() throws {
        if let golden {
            try runGolden(directory: golden)
            return
        }
        let options = ConformanceOptions(
            mode: mode, filter: filter.map(CaseFilter.init), seed: seed, verbose: verbose,
            includeHeavy: !quick, perfSecondsPerCase: perfSeconds)
        if mode == .support && !list {
            try runSupport(options)
            return
        }
        let device = try global.resolveDevice()
        let oracleDevice = try withCleanErrors { try DeviceRegistry.device(named: oracle) }
        let suite = ConformanceSuite(device: device, oracle: oracleDevice, options: options)
        if list {
            suite.caseNames().forEach { print($0) }
            return
        }
        let result = try withCleanErrors { try suite.run() }
        if result.failed > 0 { throw ExitCode(1) }
    }

    /// `--golden DIR`: every case of DIR on `--device` (see docs/diffusion.md); exit status 1 when a case fails.
    /// Like training, a plugin device runs with the CPU as fallback for kernels it lacks.
    private func runGolden(directory: String) throws {
        let device = try global.resolveDevice(withFallback: true)
        let summary: GoldenSummary
        do {
            summary = try GoldenRunner.run(directory: directory, device: device, verbose: verbose)
        } catch {
            printError("error: \(error)")
            throw ExitCode(2)
        }
        if summary.failedCount > 0 { throw ExitCode(1) }
    }

    /// The support table spans every registry entry, not only `--device`.
    private func runSupport(_ options: ConformanceOptions) throws {
        let columns = DeviceRegistry.entries().map { entry -> SupportMatrix.Column in
            if case let .unavailable(reason) = entry.status { return .unavailable(name: entry.name, reason: reason) }
            do {
                return .device(try DeviceRegistry.device(named: entry.name))
            } catch {
                return .unavailable(name: entry.name, reason: "\(error)")
            }
        }
        let matrix = SupportMatrix.build(columns: columns, filter: options.filter)
        print(matrix.markdown)
    }
}
