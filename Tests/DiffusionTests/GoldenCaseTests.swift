import XCTest
import Conformance
import Devices

/// Both shipped golden cases on every device: all checks must pass, nothing is skipped.
final class GoldenCaseTests: XCTestCase {
    func run(on name: String) throws {
        let device = try TestDevices.device(name)
        var lines: [String] = []
        let summary = try GoldenRunner.run(directory: GoldenFixtures.directory, device: device, verbose: true) { lines.append($0) }
        print(lines.map { "[\(name)] \($0)" }.joined(separator: "\n"))
        XCTAssertEqual(summary.cases.count, GoldenFixtures.cases.count)
        for result in summary.cases {
            XCTAssertNil(result.error, "\(name) \(result.name)")
            XCTAssertEqual(result.checks.count, 9, "\(name) \(result.name)")
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
