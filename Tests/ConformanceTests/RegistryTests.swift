import Backends
import Devices
import XCTest

final class RegistryTests: XCTestCase {
    func testEntriesListTheCPUDevicesAndOpenCL() {
        let names = DeviceRegistry.names
        XCTAssertTrue(names.contains("cpu"))
        XCTAssertTrue(names.contains("cpu-reference"))
        XCTAssertTrue(names.contains { $0 == "opencl" || $0.hasPrefix("opencl:") }, "\(names)")
    }

    func testDevicesAreConstructedOnceAndAliasesResolve() throws {
        let first = try DeviceRegistry.device(named: "cpu")
        let second = try DeviceRegistry.device(named: "cpu")
        XCTAssertTrue(first === second)
        XCTAssertEqual(first.info.name, "cpu")
        XCTAssertEqual(DeviceRegistry.resolve("opencl"), "opencl:0")
        if DeviceRegistry.availableNames.contains("opencl:0") {
            XCTAssertTrue(try DeviceRegistry.device(named: "opencl") === DeviceRegistry.device(named: "opencl:0"))
        }
    }

    func testUnknownNameListsTheAvailableOnes() {
        XCTAssertThrowsError(try DeviceRegistry.device(named: "tpu")) { error in
            guard case let DeviceError.unknownDevice(name, available) = error else {
                return XCTFail("expected unknownDevice, got \(error)")
            }
            XCTAssertEqual(name, "tpu")
            XCTAssertTrue(available.contains("cpu") && available.contains("cpu-reference"), "\(available)")
            XCTAssertTrue("\(error)".contains("available devices: cpu"), "\(error)")
        }
    }

    func testMissingOpenCLIndexIsUnknownOrUnavailable() {
        XCTAssertThrowsError(try DeviceRegistry.device(named: "opencl:99")) { error in
            switch error as? DeviceError {
            case .unknownDevice?, .unavailable?: break
            default: XCTFail("expected unknownDevice or unavailable, got \(error)")
            }
        }
    }
}
