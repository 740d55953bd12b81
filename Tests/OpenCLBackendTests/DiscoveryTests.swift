import Devices
import XCTest
@testable import OpenCLBackend

/// Discovery, `DeviceInfo`, capability gating and the small utilities they rely on.
final class DiscoveryTests: XCTestCase {
    func testFactoryNumbersEveryDeviceAndOffersOne() throws {
        let entries = OpenCLDeviceFactory().enumerate()
        XCTAssertFalse(entries.isEmpty)
        XCTAssertEqual(entries.map(\.name), entries.indices.map { "opencl:\($0)" })
        _ = try TestDevice.firstAvailable()
        for entry in entries { XCTAssertFalse(entry.summary.isEmpty, entry.name) }
    }

    func testEveryLookupOfANameSharesOneDevice() throws {
        let first = try TestDevice.firstAvailable()
        let second = try TestDevice.firstAvailable()
        XCTAssertTrue(first === second, "buffers of one lookup must be usable on queues of another")
        let queue = try FrontEndDevice(second).makeQueue()
        let buffer = try queue.makeBuffer([Float(1), 2])
        try queue.launch(.fill(count: 2, value: 5), [buffer.slice()])
        XCTAssertEqual(try queue.readFloats(buffer.slice(), count: 2), [5, 5])
    }

    func testDeviceInfoIsFilledLikeClinfo() throws {
        let device = try TestDevice.firstAvailable()
        let info = device.info
        XCTAssertTrue(info.name.hasPrefix("opencl:"))
        XCTAssertFalse(info.deviceName.isEmpty)
        XCTAssertFalse(info.vendor.isEmpty)
        XCTAssertFalse(info.driverVersion.isEmpty)
        XCTAssertTrue(info.platform.contains(device.capabilities.platformName))
        XCTAssertTrue(info.platform.contains(device.capabilities.platformVersion))
        XCTAssertGreaterThan(info.computeUnits, 0)
        XCTAssertGreaterThan(info.globalMemoryBytes, 0)
        XCTAssertGreaterThan(info.maxAllocationBytes, 0)
        XCTAssertLessThanOrEqual(info.maxAllocationBytes, info.globalMemoryBytes)
        XCTAssertGreaterThanOrEqual(info.alignment, 4)
        XCTAssertEqual(info.alignment & (info.alignment - 1), 0, "alignment \(info.alignment) is a power of two")
        XCTAssertEqual(info.supportsFP16, device.capabilities.extensions.contains("cl_khr_fp16"))
        let version = try XCTUnwrap(info.properties.first { $0.key == "OpenCL C" }?.value)
        XCTAssertGreaterThanOrEqual(OpenCLCVersion(parsing: "OpenCL C \(version)"), OpenCLCVersion(major: 1, minor: 2))
        let keys = info.properties.map(\.key)
        for key in ["max work-group size", "local memory", "preferred vector width (float)", "max clock", "extensions"] {
            XCTAssertTrue(keys.contains(key), "missing property \(key)")
        }
        XCTAssertEqual(info.properties.first { $0.key == "extensions" }?.value,
                       String(device.capabilities.extensions.count))
    }

    func testOpenCLCVersionParsing() {
        XCTAssertEqual(OpenCLCVersion(parsing: "OpenCL C 1.2 PoCL"), OpenCLCVersion(major: 1, minor: 2))
        XCTAssertEqual(OpenCLCVersion(parsing: "OpenCL C 3.0 "), OpenCLCVersion(major: 3, minor: 0))
        XCTAssertEqual(OpenCLCVersion(parsing: "OpenCL C 2.0-beta"), OpenCLCVersion(major: 2, minor: 0))
        XCTAssertEqual(OpenCLCVersion(parsing: "garbage"), OpenCLCVersion(major: 0, minor: 0))
        XCTAssertLessThan(OpenCLCVersion(major: 1, minor: 2), OpenCLCVersion(major: 2, minor: 0))
        XCTAssertLessThan(OpenCLCVersion(major: 1, minor: 1), OpenCLCVersion(major: 1, minor: 2))
    }

    func testCapabilityGateNamesTheMissingCapability() throws {
        let base = try TestDevice.firstAvailable().capabilities
        XCTAssertNil(base.unusableReason)
        var old = base
        old.openCLC = OpenCLCVersion(major: 1, minor: 1)
        XCTAssertTrue(old.unusableReason?.contains("OpenCL C 1.1") ?? false, String(describing: old.unusableReason))
        var small = base
        small.maxWorkGroupSize = 32
        XCTAssertTrue(small.unusableReason?.contains("work-group size 32") ?? false)
        var noLocal = base
        noLocal.localMemoryBytes = 1024
        XCTAssertTrue(noLocal.unusableReason?.contains("local memory") ?? false)
        var noCompiler = base
        noCompiler.isCompilerAvailable = false
        XCTAssertTrue(noCompiler.unusableReason?.contains("compiler") ?? false)
    }

    func testBuildOptionsComeFromTheDevice() throws {
        let device = try TestDevice.shared()
        let version = device.capabilities.openCLC
        let elementwise = device.programs.buildOptions(file: "elementwise.cl")
        XCTAssertTrue(elementwise.contains("-cl-std=CL\(version.major).\(version.minor)"), elementwise)
        XCTAssertFalse(elementwise.contains("-cl-mad-enable"), "elementwise kernels must keep full precision")
        XCTAssertEqual(elementwise.contains("-cl-fp32-correctly-rounded-divide-sqrt"),
                       device.capabilities.correctlyRoundedDivideSqrt)
        XCTAssertTrue(device.programs.buildOptions(file: "gemm.cl").contains("-cl-mad-enable"))
        // Tile sizes are compiled in from the per-device tuning table.
        XCTAssertTrue(device.programs.buildOptions(file: "gemm.cl").contains("-DGEMM_MR="))
    }

    func testNoPlatformReasonIsActionable() {
        XCTAssertTrue(OpenCLDeviceFactory.noPlatformReason.contains("pocl-opencl-icd"))
    }

    func testErrorNamesAndBackendFailures() {
        XCTAssertEqual(CLError.name(-5), "CL_OUT_OF_RESOURCES")
        XCTAssertEqual(CLError.name(-1001), "CL_PLATFORM_NOT_FOUND_KHR")
        XCTAssertEqual(CLError.name(-9999), "unknown OpenCL error")
        XCTAssertThrowsError(try CLError.check(-38, "clEnqueueReadBuffer", device: "opencl:7")) { error in
            XCTAssertEqual(error as? DeviceError, .backendFailure(device: "opencl:7", call: "clEnqueueReadBuffer",
                                                                  code: -38, message: "CL_INVALID_MEM_OBJECT"))
        }
        XCTAssertThrowsError(try CLError.check(-4, "clCreateBuffer", device: "opencl:7", requestedBytes: 64)) { error in
            XCTAssertEqual(error as? DeviceError, .outOfMemory(device: "opencl:7", requested: 64))
        }
        XCTAssertNoThrow(try CLError.check(0, "clFinish", device: "opencl:7"))
    }
}
