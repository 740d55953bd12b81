import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// Shared helpers: the device under test, typed transfers and tolerant comparisons.
///
/// Every test needs a real OpenCL device. When none exists the helpers throw, so the tests FAIL
/// with the factory's reason instead of being skipped: a machine that is meant to run these tests
/// without an OpenCL platform is misconfigured.
enum TestDevice {
    /// A private program-cache directory for the whole test run, so tests never touch the user's cache.
    static let cacheDirectory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ddpm-opencl-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// The first available OpenCL device behind the front end, shared across tests (its programs are built once).
    static func shared() throws -> FrontEndDevice {
        try sharedResult.get()
    }

    private static let sharedResult: Result<FrontEndDevice, Error> = Result {
        let first = try firstAvailable()
        return FrontEndDevice(try OpenCLDevice(sameHardwareAs: first, cacheDirectory: cacheDirectory))
    }

    /// The first available entry of the factory as a device, or an error carrying every entry's reason.
    static func firstAvailable() throws -> OpenCLDevice {
        let entries = OpenCLDeviceFactory().enumerate()
        for entry in entries {
            if case let .available(make) = entry.status, let device = (try make() as? FrontEndDevice)?.backend as? OpenCLDevice {
                return device
            }
        }
        let reasons = entries.map { entry -> String in
            if case let .unavailable(reason) = entry.status { return "\(entry.name): \(reason)" }
            return "\(entry.name): available but not an OpenCLDevice"
        }
        throw DeviceError.unavailable(name: "opencl", reason: reasons.joined(separator: "; "))
    }
}

extension XCTestCase {
    /// A fresh queue on the shared test device.
    func makeQueue() throws -> Queue {
        try TestDevice.shared().makeQueue()
    }

    /// Uploads `values` into a new buffer with `padding` spare floats before them; returns the slice.
    func upload(_ values: [Float], on queue: Queue, padding: Int = 0) throws -> BufferSlice {
        let buffer = try queue.device.allocate(bytes: (values.count + padding) * 4)
        if padding > 0 { try queue.upload([Float](repeating: .nan, count: padding), to: buffer.slice()) }
        if !values.isEmpty { try queue.upload(values, to: buffer.slice(offset: padding * 4)) }
        return buffer.slice(offset: padding * 4)
    }

    /// A new buffer of `count` floats filled with NaN (so an unwritten output is visible).
    func output(_ count: Int, on queue: Queue, padding: Int = 0) throws -> BufferSlice {
        try upload([Float](repeating: .nan, count: count), on: queue, padding: padding)
    }

    func assertClose(_ actual: [Float], _ expected: [Float], tolerance: Float = 1e-5,
                     _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            let scale = max(1, abs(e))
            if !(abs(a - e) <= tolerance * scale) {
                XCTFail("element \(i): \(a) != \(e) (tolerance \(tolerance)) \(message)", file: file, line: line)
                return
            }
        }
    }

    /// Normalised mean squared error Σ(a − e)² / Σe², the conformance suite's metric.
    func nmse(_ actual: [Float], _ expected: [Float]) -> Double {
        var error = 0.0, energy = 0.0
        for (a, e) in zip(actual, expected) {
            error += Double(a - e) * Double(a - e)
            energy += Double(e) * Double(e)
        }
        return energy == 0 ? error : error / energy
    }
}

/// Deterministic test data without depending on the device RNG.
struct TestData {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    /// `count` floats uniform in [low, high).
    mutating func floats(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24)
            return range.lowerBound + (range.upperBound - range.lowerBound) * unit
        }
    }
}

extension FrontEndDevice {
    /// The OpenCL backend behind a front-end device.
    var openCL: OpenCLDevice { backend as! OpenCLDevice }
    var capabilities: OpenCLCapabilities { openCL.capabilities }
    var programs: OpenCLProgramLibrary { openCL.programs }

    /// Another device on the same hardware with its own context and program cache directory.
    static func openCL(sameHardwareAs other: FrontEndDevice, cacheDirectory: URL?) throws -> FrontEndDevice {
        FrontEndDevice(try OpenCLDevice(sameHardwareAs: other.openCL, cacheDirectory: cacheDirectory))
    }
}
