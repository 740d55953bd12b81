import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// Discovery on a machine without any OpenCL platform, simulated in a child process whose ICD
/// loader is pointed at an empty vendor directory (`OCL_ICD_VENDORS`). The loader reads that
/// variable once per process, hence the child.
final class NoPlatformTests: XCTestCase {
    private static let childFlag = "DDPM_OPENCL_TEST_NO_ICD_CHILD"

    func testWithoutAnyPlatformTheFactoryExplainsWhatToInstall() throws {
        if ProcessInfo.processInfo.environment[Self.childFlag] != nil {
            let entries = OpenCLDeviceFactory().enumerate()
            XCTAssertEqual(entries.map(\.name), ["opencl"])
            guard case let .unavailable(reason) = entries.first?.status else {
                return XCTFail("expected one unavailable entry, got \(entries.map(\.name))")
            }
            XCTAssertEqual(reason, OpenCLDeviceFactory.noPlatformReason)
            return
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-no-icd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["OpenCLBackendTests.NoPlatformTests/testWithoutAnyPlatformTheFactoryExplainsWhatToInstall"]
        var environment = ProcessInfo.processInfo.environment
        environment["OCL_ICD_VENDORS"] = empty.path
        environment[Self.childFlag] = "1"
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        XCTAssertEqual(child.terminationStatus, 0, log)
        XCTAssertTrue(log.contains("Executed 1 test"), "the child ran the probe:\n\(log)")
    }
}
