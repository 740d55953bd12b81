import XCTest
import Conformance
import Devices

/// Every shipped golden case, unconditional and class-conditional, on every device: all checks
/// must pass, nothing is skipped.
final class GoldenCaseTests: XCTestCase {
    func run(on name: String) throws {
        let device = try TestDevices.device(name)
        var lines: [String] = []
        let summary = try GoldenRunner.run(directory: GoldenFixtures.directory, device: device, verbose: true) { lines.append($0) }
        print(lines.map { "[\(name)] \($0)" }.joined(separator: "\n"))
        XCTAssertEqual(summary.cases.map(\.name), GoldenFixtures.cases)
        for result in summary.cases {
            XCTAssertNil(result.error, "\(name) \(result.name)")
            // Unconditional: forward, loss, gradients, 3 schedules + ᾱ, DDIM, DDPM. Class-conditional:
            // 3 forwards, 4 guided forwards, loss, gradients, DDIM, DDIM with CFG++, DDPM.
            let expected = GoldenFixtures.conditionalCases.contains(result.name) ? 12 : 9
            XCTAssertEqual(result.checks.count, expected, "\(name) \(result.name)")
            for check in result.checks { XCTAssertTrue(check.passed, "\(name) \(result.name): \(check.line)") }
        }
        XCTAssertEqual(lines.last, "\(GoldenFixtures.cases.count) passed, 0 failed")
    }

    func testCPU() throws { try run(on: "cpu") }
}

extension GoldenCaseTests {
    /// PoCL on machines without a GPU; fails (never skips) when no OpenCL device is available.
    func testOpenCL() throws { try run(on: "opencl") }
}
