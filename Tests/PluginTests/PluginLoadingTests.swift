import Devices
import Foundation
import XCTest
@testable import Backends

/// Device plugins: a correct C plugin runs through the front end, and each kind of broken plugin
/// fails to load with a clear error naming its file (one test per failure the interface guards).
///
/// The plugins are built from `Fixtures/test_plugin.c` with the system C compiler, one variant
/// per `-D` macro, against the project's `ddpm_device.h`.
final class PluginLoadingTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let header = root.appendingPathComponent("Sources/CDeviceAPI/include").path
    static let source = root.appendingPathComponent("Tests/PluginTests/Fixtures/test_plugin.c").path
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-plugin-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Compiles the test plugin with `define` (nil: the correct plugin) into `folder/name`.
    static func build(_ define: String?, name: String? = nil, in folder: URL = directory) throws -> String {
        let file = folder.appendingPathComponent(name ?? "libddpm-device-\(define?.lowercased() ?? "testdev").so").path
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        compiler.arguments = ["cc", "-std=c99", "-Wall", "-Werror", "-shared", "-fPIC", "-I", header]
            + (define.map { ["-D", $0] } ?? []) + ["-o", file, source]
        let errors = Pipe()
        compiler.standardError = errors
        try compiler.run()
        compiler.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard compiler.terminationStatus == 0 else {
            throw NSError(domain: "cc", code: Int(compiler.terminationStatus), userInfo: [NSLocalizedDescriptionKey: log])
        }
        return file
    }

    /// Loading `define`'s variant fails with a ``PluginError`` for that file whose reason contains `expected`.
    private func assertRefused(_ define: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try Self.build(define)
        XCTAssertThrowsError(try PluginLibrary(path: path), file: file, line: line) { error in
            guard let failure = error as? PluginError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(failure.file, path, file: file, line: line)
            XCTAssertTrue(failure.reason.contains(expected), "'\(failure.reason)' should contain '\(expected)'", file: file, line: line)
            XCTAssertTrue(failure.description.hasPrefix("device plugin \(path): "), file: file, line: line)
        }
    }

    // MARK: A correct plugin

    func testCorrectPluginRunsThroughTheFrontEnd() throws {
        let library = try PluginLibrary(path: try Self.build(nil))
        XCTAssertEqual(library.interfaceVersion, "1.1")
        XCTAssertEqual(library.pluginName, "testdev")
        XCTAssertEqual(library.devices.map(\.name), ["testdev:0"])
        XCTAssertEqual(library.devices[0].properties, [.init("memory", "host (malloc)")])
        XCTAssertTrue(library.notes.isEmpty)

        let device = FrontEndDevice(try PluginDevice(library: library, index: 0))
        let queue = try device.makeQueue()
        let x = try queue.makeBuffer([Float](repeating: 1, count: 8))
        try queue.launch(.fill(count: 4, value: 2.5), [x.slice(offset: 8)])
        XCTAssertEqual(try queue.readFloats(x.slice(), count: 8), [1, 1, 2.5, 2.5, 2.5, 2.5, 1, 1])
        XCTAssertEqual(queue.counters.kernelsLaunched, 1)
        XCTAssertEqual(queue.counters.bytesUploaded, 32)
        XCTAssertEqual(device.memoryStats.liveBuffers, 1)

        // The front end refuses what the contract says it refuses, before the plugin sees it.
        XCTAssertThrowsError(try queue.launch(.unary(.silu, count: 8), [x.slice(), x.slice()])) { error in
            guard case let .unsupportedKernel(name, kernel)? = error as? DeviceError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "testdev:0")
            XCTAssertTrue(kernel.hasPrefix("unary.silu"), kernel)
        }
        XCTAssertThrowsError(try queue.copy(from: x.slice(), to: x.slice(offset: 4), byteCount: 16)) { error in
            guard case let .invalidOperands(_, reason)? = error as? DeviceError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("overlap"), reason)
        }
        XCTAssertThrowsError(try queue.launch(.fill(count: 9, value: 0), [x.slice()])) { error in
            guard case let .invalidOperands(_, reason)? = error as? DeviceError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("needs 36 bytes"), reason)
        }
        XCTAssertThrowsError(try device.allocate(bytes: (1 << 20) + 1)) { error in
            XCTAssertEqual(error as? DeviceError, .allocationTooLarge(device: "testdev:0", requested: (1 << 20) + 1, limit: 1 << 20))
        }
        // A schedule replays through queue_launch when the plugin has no schedule slots.
        let schedule = try queue.prepare([PreparedLaunch(kernel: .fill(count: 2, value: 7), operands: [x.slice()])])
        XCTAssertFalse(schedule.isRecordedByDevice)
        try queue.run(schedule)
        XCTAssertEqual(try queue.readFloats(x.slice(), count: 3), [7, 7, 2.5])
        XCTAssertEqual(queue.counters.kernelsLaunched, 2)
    }

    // MARK: Broken plugins, one per failure

    func testNotASharedLibrary() throws {
        let path = Self.directory.appendingPathComponent("libddpm-device-text.so").path
        try Data("not an ELF file\n".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PluginLibrary(path: path)) { error in
            guard let failure = error as? PluginError else { return XCTFail("\(error)") }
            XCTAssertEqual(failure.file, path)
            XCTAssertTrue(failure.reason.hasPrefix("cannot be loaded: "), failure.reason)
        }
    }

    func testMissingEntryPoint() throws {
        try assertRefused("BROKEN_NO_ENTRY", "exports no 'ddpm_device_get_api'")
    }

    func testMajorVersionMismatch() throws {
        try assertRefused("BROKEN_MAJOR", "was built for device interface 2.1; this ddpm speaks 1.1")
    }

    func testNewerMinorRunsWithTheCommonPart() throws {
        let library = try PluginLibrary(path: try Self.build("NEWER_MINOR"))
        XCTAssertEqual(library.interfaceVersion, "1.7")
        XCTAssertEqual(library.notes, ["built for interface 1.7, newer than this ddpm's 1.1: running with the 1.1 part of its table"])
        let device = FrontEndDevice(try PluginDevice(library: library, index: 0))
        let queue = try device.makeQueue()
        let x = try device.allocate(bytes: 8)
        try queue.launch(.fill(count: 2, value: 3), [x.slice()])
        XCTAssertEqual(try queue.readFloats(x.slice(), count: 2), [3, 3])
    }

    func testInitializeFailure() throws {
        try assertRefused("BROKEN_INIT", "initialize failed: simulated: the test accelerator is not plugged in")
        XCTAssertThrowsError(try PluginLibrary(path: try Self.build("BROKEN_INIT"))) { error in
            XCTAssertEqual((error as? PluginError)?.unavailable, true, "DDPM_ERROR_UNAVAILABLE marks the family unavailable")
        }
    }

    func testTwoDevicesWithOneName() throws {
        try assertRefused("BROKEN_DUPLICATE", "reports two devices named 'testdev:0'")
    }

    func testTableSmallerThanItsVersionRequires() throws {
        try assertRefused("BROKEN_SHORT_TABLE", "its DdpmDeviceApi.struct_size is")
        try assertRefused("BROKEN_SHORT_TABLE", "bytes interface 1.1 requires")
    }

    func testDeviceInfoSmallerThanItsVersionRequires() throws {
        try assertRefused("BROKEN_SHORT_INFO", "device 0: DdpmDeviceInfo.struct_size is 16 bytes, smaller than")
    }

    func testRequiredSlotLeftNull() throws {
        try assertRefused("BROKEN_NULL_SLOT", "leaves required slot queue_launch NULL")
    }

    func testHalfOfAnOptionalGroup() throws {
        try assertRefused("BROKEN_HALF_GROUP", "sets some of schedule_create, schedule_replay, schedule_destroy but not all three")
    }

    func testDeviceNameTakenByABuiltInDevice() throws {
        let path = try Self.build("CLASH_WITH_CPU")
        let discovery = PluginDiscovery.run(explicitFiles: [path], environment: [:], executable: nil, taken: ["cpu", "cpu-reference"])
        XCTAssertTrue(discovery.loaded.isEmpty)
        XCTAssertEqual(discovery.failures.map(\.file), [path])
        XCTAssertEqual(discovery.failures.first?.reason, "reports a device named 'cpu', a name another device already has")
    }

    // MARK: Discovery

    func testDiscoveryFindsPluginsInDevicePathOnceEach() throws {
        let folder = Self.directory.appendingPathComponent("path-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let good = try Self.build(nil, name: "libddpm-device-testdev.so", in: folder)
        let broken = try Self.build("BROKEN_MAJOR", name: "libddpm-device-old.so", in: folder)
        _ = try Self.build(nil, name: "libother.so", in: folder)   // not named like a plugin: ignored
        let discovery = PluginDiscovery.run(explicitFiles: [good], environment: ["DDPM_DEVICE_PATH": "/nonexistent:" + folder.path],
                                            executable: nil, taken: [])
        XCTAssertEqual(discovery.loaded.map(\.path), [good], "found twice (explicit and in the path), loaded once")
        XCTAssertEqual(discovery.failures.map(\.file), [broken])
        XCTAssertEqual(discovery.folders, ["/nonexistent", folder.path])
    }

    func testExplicitFileThatDoesNotExist() {
        let discovery = PluginDiscovery.run(explicitFiles: ["/nonexistent/libx.so"], environment: [:], executable: nil, taken: [])
        XCTAssertEqual(discovery.failures.map(\.description), ["device plugin /nonexistent/libx.so: does not exist"])
    }
}

/// `ddpm devices` as a user sees it: plugin devices with their file, and why OpenCL is missing.
final class DevicesCommandPluginTests: XCTestCase {
    /// The `ddpm` executable built next to the test bundle, with the OpenCL plugin beside it.
    static var binary: URL { Bundle.main.bundleURL.appendingPathComponent("ddpm") }

    private func devicesJSON(_ binary: URL, _ arguments: [String] = [], environment: [String: String] = [:]) throws
        -> (devices: [[String: Any]], failures: [String]) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments + ["devices", "--json"]
        var env = ProcessInfo.processInfo.environment
        env["DDPM_DEVICE_PATH"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (try XCTUnwrap(object["devices"] as? [[String: Any]]), try XCTUnwrap(object["pluginFailures"] as? [String]))
    }

    private func entry(_ name: String, in devices: [[String: Any]]) throws -> [String: Any] {
        try XCTUnwrap(devices.first { $0["name"] as? String == name }, "no entry \(name) in \(devices.map { $0["name"] ?? "?" })")
    }

    func testOpenCLComesFromThePluginNextToTheBinary() throws {
        let (devices, failures) = try devicesJSON(Self.binary)
        XCTAssertEqual(failures, [])
        XCTAssertEqual(try entry("cpu", in: devices)["origin"] as? String, "built in")
        let opencl = try entry("opencl:0", in: devices)
        XCTAssertEqual(opencl["available"] as? Bool, true)
        let plugin = Self.binary.deletingLastPathComponent().appendingPathComponent("libddpm-device-opencl.so").path
        XCTAssertEqual(opencl["origin"] as? String, "plugin \(plugin) (device interface 1.1)")
    }

    func testWithoutThePluginDevicesSaysWhy() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-alone-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lonely = folder.appendingPathComponent("ddpm")
        try FileManager.default.copyItem(at: Self.binary, to: lonely)
        let (devices, _) = try devicesJSON(lonely)
        let opencl = try entry("opencl", in: devices)
        XCTAssertEqual(opencl["available"] as? Bool, false)
        let reason = try XCTUnwrap(opencl["reason"] as? String)
        XCTAssertTrue(reason.hasPrefix("its plugin libddpm-device-opencl.so was not found (searched \(folder.path)"), reason)
        XCTAssertEqual(try entry("cpu", in: devices)["available"] as? Bool, true, "the built-in devices still work")
    }

    func testWithoutAnOpenCLPlatformDevicesSaysWhy() throws {
        // ocl-icd reads its vendor list from OCL_ICD_VENDORS: an empty folder means no platform.
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-no-icd-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let (devices, failures) = try devicesJSON(Self.binary, environment: ["OCL_ICD_VENDORS": empty.path])
        let opencl = try entry("opencl", in: devices)
        XCTAssertEqual(opencl["available"] as? Bool, false)
        let reason = try XCTUnwrap(opencl["reason"] as? String)
        XCTAssertTrue(reason.contains("libddpm-device-opencl.so: initialize failed"), reason)
        XCTAssertTrue(reason.contains("no OpenCL platform found (install pocl-opencl-icd"), reason)
        XCTAssertEqual(failures.count, 1)
    }

    func testBrokenPluginFileIsListedWithItsReason() throws {
        let broken = try PluginLoadingTests.build("BROKEN_MAJOR", name: "libddpm-device-cli-broken.so")
        let (devices, failures) = try devicesJSON(Self.binary, ["--device-plugin", broken])
        XCTAssertEqual(failures, ["device plugin \(broken): was built for device interface 2.1; this ddpm speaks 1.1 (a different major version is incompatible: rebuild the plugin against this ddpm's ddpm_device.h)"])
        XCTAssertEqual(try entry("opencl:0", in: devices)["available"] as? Bool, true, "other plugins still load")
        let good = try PluginLoadingTests.build(nil, name: "libddpm-device-cli-good.so")
        let (withGood, _) = try devicesJSON(Self.binary, ["--device-plugin", good])
        XCTAssertEqual(try entry("testdev:0", in: withGood)["origin"] as? String, "plugin \(good) (device interface 1.1)")
    }
}

/// The OpenCL plugin through the registry: the optional schedule and profiling slots at work.
final class OpenCLPluginSlotTests: XCTestCase {
    func testSchedulesAreRecordedByThePluginAndReplayedByHandle() throws {
        let device = try DeviceRegistry.device(named: "opencl")
        XCTAssertTrue(device is FrontEndDevice)
        let queue = try device.makeQueue()
        let x = try queue.makeBuffer([Float](repeating: 0, count: 64))
        let y = try device.allocate(bytes: 256)
        let schedule = try queue.prepare([
            PreparedLaunch(kernel: .fill(count: 64, value: 2), operands: [x.slice()]),
            PreparedLaunch(kernel: .unary(.square, count: 64), operands: [x.slice(), y.slice()]),
        ])
        XCTAssertTrue(schedule.isRecordedByDevice, "the OpenCL plugin implements schedule_create")
        queue.resetCounters()
        queue.isProfiling = true
        try queue.run(schedule)
        try queue.run(schedule)
        XCTAssertEqual(try queue.readFloats(y.slice(), count: 64), [Float](repeating: 4, count: 64))
        let counters = queue.counters
        XCTAssertEqual(counters.kernelsLaunched, 4)
        XCTAssertEqual(counters.launchesPerFamily, ["fill": 2, "unary.square": 2])
        XCTAssertEqual(Set(counters.timePerFamily.keys), ["fill", "unary.square"], "times from queue_take_launch_times")
        XCTAssertTrue(counters.timePerFamily.values.allSatisfy { $0 > 0 })
    }
}
