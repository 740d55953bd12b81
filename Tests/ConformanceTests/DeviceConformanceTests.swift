import Backends
import Conformance
import Devices
import XCTest

/// The full suite (test and grad modes, heavy Unet shapes left to `ddpm conformance`) on every
/// device this project ships. A device that is missing is a failure, never a skip: `make test`
/// must prove the OpenCL path on every machine it runs on.
final class DeviceConformanceTests: XCTestCase {
    /// Oracle results are computed once and shared by the cpu and opencl runs.
    static let oracleCache = OracleCache()

    /// Runs `mode` on `name`, printing failures, and asserts no failure and at least `minimumPassed` passes.
    private func check(_ name: String, _ mode: ConformanceMode, minimumPassed: Int,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let device: Device
        let oracle: Device
        do {
            device = try DeviceRegistry.device(named: name)
            oracle = try DeviceRegistry.device(named: DeviceRegistry.oracleDeviceName)
        } catch {
            XCTFail("device '\(name)' is required by the test suite: \(error)", file: file, line: line)
            return
        }
        let suite = ConformanceSuite(
            device: device, oracle: oracle,
            options: ConformanceOptions(mode: mode, includeHeavy: false),
            oracleCache: Self.oracleCache,
            output: { print("[\(name) \(mode.rawValue)] \($0)") })
        let result = try suite.run()
        XCTAssertEqual(result.failed, 0, "failing cases on \(name):\n" + result.failures.map(\.line).joined(separator: "\n"),
                       file: file, line: line)
        XCTAssertGreaterThanOrEqual(result.passed, minimumPassed, result.summaryLine, file: file, line: line)
    }

    func testCPUPassesTestMode() throws { try check("cpu", .test, minimumPassed: 450) }
    func testCPUPassesGradMode() throws { try check("cpu", .grad, minimumPassed: 160) }
    func testOpenCLPassesTestMode() throws { try check("opencl", .test, minimumPassed: 450) }
    func testOpenCLPassesGradMode() throws { try check("opencl", .grad, minimumPassed: 160) }
}
