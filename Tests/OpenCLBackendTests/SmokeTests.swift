import Devices
import XCTest
@testable import OpenCLBackend

final class SmokeTests: XCTestCase {
    func testEveryKernelFileBuilds() throws {
        let device = try TestDevice.shared()
        for file in EmbeddedKernels.sources.keys.sorted() {
            let start = Date()
            _ = try device.programs.program(file: file)
            print("built \(file) in \(Date().timeIntervalSince(start)) s")
        }
    }
}
