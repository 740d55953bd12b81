import Conformance
import Devices
import Foundation
import XCTest
@testable import Backends

/// `examples/device-plugin`: the plain-C template plugin passes the conformance suite for what it
/// implements (fill, copy, elementwise, gemm) and reports everything else as unsupported.
final class ExampleDeviceTests: XCTestCase {
    static let source = PluginLoadingTests.root.appendingPathComponent("examples/device-plugin/example_device.c").path

    /// Builds the example with the flags of its Makefile.
    static func build() throws -> String {
        let file = PluginLoadingTests.directory.appendingPathComponent("libddpm-device-example.so").path
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
                              "-I", PluginLoadingTests.header, "-o", file, source, "-lm"]
        try compiler.run()
        compiler.waitUntilExit()
        XCTAssertEqual(compiler.terminationStatus, 0, "building \(source)")
        return file
    }

    func testExampleDevicePassesWhatItSupports() throws {
        let library = try PluginLibrary(path: try Self.build())
        XCTAssertEqual(library.devices.map(\.name), ["example"])
        let device = FrontEndDevice(try PluginDevice(library: library, index: 0))
        let oracle = try DeviceRegistry.device(named: DeviceRegistry.oracleDeviceName)
        var lines: [String] = []
        let result = try ConformanceSuite(device: device, oracle: oracle,
                                          options: ConformanceOptions(mode: .test, includeHeavy: false),
                                          output: { lines.append($0) }).run()
        XCTAssertEqual(result.failed, 0, result.failures.map(\.line).joined(separator: "\n"))
        XCTAssertGreaterThanOrEqual(result.passed, 280, result.summaryLine)
        XCTAssertGreaterThanOrEqual(result.skipped, 150, "convolutions, norms, reductions ... are unsupported, not failed")
        // What it implements it runs; what it does not, the front end refuses by name.
        XCTAssertTrue(device.supports(.gemm(Gemm(m: 2, n: 2, k: 2))))
        XCTAssertFalse(device.supports(.conv2d(Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 3))))
    }
}
