import Devices
import Foundation
import XCTest
@testable import CPUBackend

/// Core-type selection from CPU flags, and how a missing OpenBLAS is reported.
final class OpenBLASLoaderTests: XCTestCase {
    private func features(_ flags: String, vendor: String = "GenuineIntel", family: Int = 6) -> CPUFeatures {
        CPUFeatures(cpuinfo: """
            processor\t: 0
            vendor_id\t: \(vendor)
            cpu family\t: \(family)
            model name\t: Test CPU
            flags\t\t: \(flags)

            processor\t: 1
            flags\t\t: sse sse2
            """)
    }

    func testCoreTypeFollowsFeatureFlags() {
        let avx512 = "fpu sse sse2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl"
        XCTAssertEqual(features(avx512).openBLASCoreType, "SkylakeX")
        XCTAssertEqual(features(avx512 + " avx512_bf16").openBLASCoreType, "Cooperlake")
        XCTAssertEqual(features("sse sse2 avx fma avx2").openBLASCoreType, "Haswell")
        // AVX-512 foundation alone is not enough for OpenBLAS's SkylakeX kernels.
        XCTAssertEqual(features("sse avx fma avx2 avx512f").openBLASCoreType, "Haswell")
        XCTAssertNil(features("sse sse2 sse4_2 avx").openBLASCoreType)
        // Zen 4 (AMD family 25) runs AVX-512 on 256-bit units: the Haswell kernels are faster there.
        XCTAssertEqual(features(avx512 + " avx512_bf16", vendor: "AuthenticAMD", family: 25).openBLASCoreType, "Haswell")
        XCTAssertEqual(features(avx512, vendor: "AuthenticAMD", family: 26).openBLASCoreType, "SkylakeX")
        let parsed = features(avx512)
        XCTAssertEqual(parsed.modelName, "Test CPU")
        XCTAssertEqual(parsed.vendor, "GenuineIntel")
        XCTAssertEqual(parsed.family, 6)
        XCTAssertFalse(parsed.flags.contains("sse4_2"), "only the first processor's flags are read")
    }

    func testLoadedLibraryRunsADetectedCore() throws {
        guard case let .success(blas) = OpenBLAS.shared else { return XCTFail("OpenBLAS did not load") }
        XCTAssertNotEqual(blas.coreName, "Prescott")
        if getenv("OPENBLAS_CORETYPE") == nil, let expected = CPUFeatures.host.openBLASCoreType {
            XCTAssertEqual(blas.coreName, expected, blas.coreTypeSource)
        }
    }

    func testMissingLibraryIsReportedWithAFix() {
        guard case let .failure(error) = OpenBLAS.load(candidates: ["libopenblas-missing-for-test.so.9"]) else {
            return XCTFail("a library that does not exist loaded")
        }
        XCTAssertTrue(error.description.contains("libopenblas.so.0 not found"), error.description)
        XCTAssertTrue(error.description.contains("apt-get install libopenblas-dev"), error.description)
    }

    /// The exit handler closes the gate and waits for the calls in flight; later calls wait at the gate.
    func testExitGateWaitsForCallsInFlightAndHoldsLaterOnes() {
        let gate = OpenBLAS.ExitGate()
        gate.enter()
        XCTAssertEqual(gate.callsInFlight, 1)
        let closed = expectation(description: "close returns once the call in flight has left")
        Thread.detachNewThread {
            gate.close()
            closed.fulfill()
        }
        while !gate.isClosed && gate.callsInFlight == 1 {
            // close() sets the flag before it waits; the call is still in flight.
            usleep(1_000)
            if gate.isClosed { break }
        }
        XCTAssertTrue(gate.isClosed)
        XCTAssertEqual(gate.callsInFlight, 1, "close is still waiting for the call")
        let late = expectation(description: "a call after close never enters")
        late.isInverted = true
        Thread.detachNewThread {
            gate.enter()
            late.fulfill()
        }
        gate.leave()
        wait(for: [closed, late], timeout: 0.5)
        XCTAssertEqual(gate.callsInFlight, 0)
    }
}
