import Devices
import Foundation

/// Runs test-mode kernel cases: the same launch on the device under test and on the oracle,
/// then guards, read-only operands and outputs are checked.
struct KernelCaseRunner {
    let deviceQueue: Queue
    let oracleQueue: Queue
    let seed: UInt64
    let cache: OracleCache?

    var device: Device { deviceQueue.device }
    var oracle: Device { oracleQueue.device }

    /// The words every operand starts with (`nil` for operands that alias an earlier one).
    func inputs(for testCase: KernelCase) -> [[UInt32]?] {
        testCase.kernel.operands.enumerated().map { i, operand in
            if testCase.aliases[i] != nil { return nil }
            if operand.access == .write { return TestData.prefill(for: operand) }
            var generator = TestData.generator(case: testCase.name, operand: i, seed: seed)
            return TestData.words(for: operand, inputs: testCase.inputs, generator: &generator)
        }
    }

    func run(_ testCase: KernelCase) -> CaseOutcome {
        let start = DispatchTime.now()
        var outcome = evaluate(testCase)
        outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        return outcome
    }

    private func evaluate(_ testCase: KernelCase) -> CaseOutcome {
        let kernel = testCase.kernel
        let name = testCase.name
        guard device.supports(kernel) else { return CaseOutcome(name: name, status: .skipped(reason: "not supported")) }
        guard oracle.supports(kernel) else {
            return CaseOutcome(name: name, status: .skipped(reason: "not supported by the oracle '\(oracle.info.name)'"))
        }
        let operands = kernel.operands
        let inputs = inputs(for: testCase)

        let tested: GuardedLaunch
        do {
            tested = try GuardedLaunch.run(kernel, inputs: inputs, aliases: testCase.aliases, on: deviceQueue)
        } catch {
            return CaseOutcome(name: name, status: .failed(reason: "device error: \(error)"))
        }
        let reference: GuardedLaunch
        let cacheKey = "\(oracle.info.name)|\(seed)|\(name)"
        if let cached = cache?.value(for: cacheKey) {
            reference = cached
        } else {
            do {
                reference = try GuardedLaunch.run(kernel, inputs: inputs, aliases: testCase.aliases, on: oracleQueue)
            } catch {
                return CaseOutcome(name: name, status: .failed(reason: "oracle '\(oracle.info.name)' error: \(error)"))
            }
            cache?.store(reference, for: cacheKey)
        }

        // Operands written through an alias are checked through the operand they alias.
        var written = Set<Int>()
        for (i, operand) in operands.enumerated() where operand.access != .read {
            written.insert(testCase.aliases[i] ?? i)
        }

        var worstError = 0.0
        for (i, operand) in operands.enumerated() {
            guard let result = tested.results[i], let oracleResult = reference.results[i] else { continue }
            if let violation = result.guardViolation {
                let element = violation.before ? -violation.index : operand.count + violation.index
                return CaseOutcome(name: name, status: .failed(
                    reason: "guard overwritten: operand '\(operand.name)' was written at element [\(element)], outside 0..<\(operand.count)"))
            }
            if let violation = oracleResult.guardViolation {
                return CaseOutcome(name: name, status: .failed(
                    reason: "oracle '\(oracle.info.name)' overwrote the guard of operand '\(operand.name)' (\(violation.before ? "before" : "after") it)"))
            }
            if !written.contains(i) {
                if let input = inputs[i], input != result.data {
                    let k = input.indices.first { input[$0] != result.data[$0] } ?? 0
                    return CaseOutcome(name: name, status: .failed(
                        reason: "read-only operand '\(operand.name)' was modified at element [\(k)]"))
                }
                continue
            }
            let comparison = OutputComparison.compare(
                operand, device: result.data, oracle: oracleResult.data,
                prefilledWithNaN: operand.access == .write && operand.type == .float32,
                tolerance: kernel.tolerance)
            if let failure = comparison.failure {
                return CaseOutcome(name: name, status: .failed(reason: failure))
            }
            worstError = max(worstError, comparison.error)
        }
        let detail = kernel.tolerance == .exact ? "exact" : "NMSE \(formatScientific(worstError))"
        return CaseOutcome(name: name, status: .passed, detail: detail)
    }
}

/// Oracle outputs by case, seed and oracle, shared across runs in one process.
///
/// The oracle is the slow plain reference path; when the suite checks several devices in one
/// process (the unit tests check `cpu` and `opencl`) its results are computed once.
public final class OracleCache: @unchecked Sendable {
    private var entries: [String: GuardedLaunch] = [:]
    private let lock = NSLock()

    public init() {}

    func value(for key: String) -> GuardedLaunch? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func store(_ value: GuardedLaunch, for key: String) {
        lock.lock()
        defer { lock.unlock() }
        entries[key] = value
    }
}
