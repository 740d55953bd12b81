import Conformance
import Devices
import XCTest

/// The suite's own machinery, exercised with a test double: it passes what is right and names
/// what is wrong (NaN, wrong values, guard writes, clobbered inputs, wrong derivatives, leaks).
final class MachineryTests: XCTestCase {
    /// Runs `mode` on a double with `fault` against a faultless double oracle.
    private func run(_ fault: TestDoubleDevice.Fault, mode: ConformanceMode = .test, filter: String? = nil) throws
        -> (ConformanceResult, [String])
    {
        let device = TestDoubleDevice(name: "double", fault: fault)
        let oracle = TestDoubleDevice(name: "double-oracle")
        var lines: [String] = []
        let suite = ConformanceSuite(
            device: device, oracle: oracle,
            options: ConformanceOptions(mode: mode, filter: filter.map(CaseFilter.init), includeHeavy: false),
            output: { lines.append($0) })
        return (try suite.run(), lines)
    }

    func testFaultlessDoublePassesWhatItSupportsAndSkipsTheRest() throws {
        let (result, lines) = try run(.none)
        XCTAssertEqual(result.failed, 0, lines.filter { $0.hasPrefix("FAIL") }.joined(separator: "\n"))
        XCTAssertGreaterThan(result.passed, 150)
        XCTAssertGreaterThan(result.skipped, 100, "gemm, conv, norms… are unsupported by the double")
        XCTAssertTrue(result.outcomes.contains { $0.name.hasPrefix("gemm") && $0.status == .skipped(reason: "not supported") })
        XCTAssertEqual(lines.last, "\(result.passed) passed, 0 failed, \(result.skipped) skipped")
    }

    func testNaNIsCaught() throws {
        let (result, lines) = try run(.nanOutput, filter: "unary.silu(count=33)")
        XCTAssertEqual(result.failed, 1)
        XCTAssertEqual(result.passed, 0)
        let failure = try XCTUnwrap(lines.first { $0.hasPrefix("FAIL") })
        XCTAssertTrue(failure.hasPrefix("FAIL  unary.silu(count=33): operand 'y': element [0] is NaN"), failure)
        XCTAssertEqual(lines.last, "0 passed, 1 failed")
    }

    func testWrongValueIsCaughtByNMSE() throws {
        let (result, lines) = try run(.wrongValue, filter: "^unary\\.")
        XCTAssertGreaterThan(result.failed, 50)
        let failure = try XCTUnwrap(lines.first { $0.hasPrefix("FAIL  unary.silu(count=1027)") })
        XCTAssertTrue(failure.contains("NMSE 1.0e-04 > 1.0e-07"), failure)
    }

    func testGuardOverwriteIsCaught() throws {
        let (result, lines) = try run(.guardOverwrite, filter: "unary.exp(count=7)")
        XCTAssertEqual(result.failed, 1)
        let failure = try XCTUnwrap(lines.first { $0.hasPrefix("FAIL") })
        XCTAssertTrue(failure.contains("guard overwritten: operand 'y' was written at element [7], outside 0..<7"), failure)
    }

    func testModifiedReadOnlyOperandIsCaught() throws {
        let (result, lines) = try run(.clobbersInput, filter: "unary.neg(count=7)")
        XCTAssertEqual(result.failed, 1)
        XCTAssertTrue(lines.contains { $0.contains("read-only operand 'x' was modified at element [0]") }, lines.joined(separator: "\n"))
    }

    func testWrongDerivativeFailsGradModeAndRightOnesPass() throws {
        let (wrong, wrongLines) = try run(.wrongDerivative, mode: .grad, filter: "unary")
        let siluFailures = wrong.failures.filter { $0.name.contains("unary.silu") }
        XCTAssertEqual(siluFailures.count, 4, wrongLines.joined(separator: "\n"))
        XCTAssertEqual(wrong.failed, 4, "only silu's derivative is wrong")
        XCTAssertTrue(siluFailures.allSatisfy {
            if case let .failed(reason) = $0.status { return reason.contains("relative error") }
            return false
        })
        // Every unary derivative of the faultless double matches its finite differences.
        let (right, rightLines) = try run(.none, mode: .grad, filter: "unary")
        XCTAssertEqual(right.failed, 0, rightLines.joined(separator: "\n"))
        XCTAssertEqual(right.passed, UnaryOp.allCases.count * 4)
    }

    func testLeakIsCaught() throws {
        let (result, lines) = try run(.leak, filter: "unary.neg|memory.no-leaks\\(after")
        XCTAssertEqual(result.failed, 1, lines.joined(separator: "\n"))
        XCTAssertGreaterThan(result.passed, 4)
        XCTAssertTrue(lines.contains { $0.contains("leak after the run") }, lines.joined(separator: "\n"))
    }

    func testFilterSelectsBySubstringAndRegex() throws {
        let device = TestDoubleDevice(name: "double")
        func names(_ pattern: String) -> [String] {
            ConformanceSuite(device: device, oracle: device,
                             options: ConformanceOptions(filter: CaseFilter(pattern), includeHeavy: false)).caseNames()
        }
        XCTAssertEqual(names("gemm(batch=1, m=3, n=5, k=7,"), ["gemm(batch=1, m=3, n=5, k=7, trans=NN, alpha=1.0, beta=0.0, ld=7/5/5, bias=none)"])
        XCTAssertTrue(names("^binary\\.(add|sub)\\(").allSatisfy { $0.hasPrefix("binary.add(") || $0.hasPrefix("binary.sub(") })
        XCTAssertFalse(names("^binary\\.(add|sub)\\(").isEmpty)
        XCTAssertEqual(names("no case has this name"), [])
    }

    func testSummaryLineFormat() {
        let passed = CaseOutcome(name: "a", status: .passed)
        let failed = CaseOutcome(name: "b", status: .failed(reason: "x"))
        let skipped = CaseOutcome(name: "c", status: .skipped(reason: "not supported"))
        XCTAssertEqual(ConformanceResult(mode: .test, device: "d", outcomes: [passed, failed]).summaryLine, "1 passed, 1 failed")
        XCTAssertEqual(ConformanceResult(mode: .test, device: "d", outcomes: [passed, skipped, skipped]).summaryLine,
                       "1 passed, 0 failed, 2 skipped")
        XCTAssertEqual(failed.line, "FAIL  b: x")
    }
}
