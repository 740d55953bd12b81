import Devices
import XCTest
@testable import CPUBackend

/// The cpu device's thread count: the affinity mask, shared by unbound mpirun ranks, overridden
/// by DDPM_CPU_THREADS.
final class CPUThreadsTests: XCTestCase {
    func testThreadCountFollowsAffinityAndMPIRanks() throws {
        XCTAssertEqual(try CPUThreads.decide(affinity: 3, online: 8, environment: [:]).count, 3, "bound to 3 of 8 cores")
        XCTAssertEqual(try CPUThreads.decide(affinity: nil, online: 8, environment: [:]).count, 8)
        // mpirun bound each of 4 local ranks to 2 cores: the mask already says so.
        XCTAssertEqual(try CPUThreads.decide(affinity: 2, online: 8, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "4"]).count, 2)
        // Bound to a socket of 4 cores shared with another rank: half of it.
        XCTAssertEqual(try CPUThreads.decide(affinity: 4, online: 8, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "4"]).count, 2)
        // Unbound (--bind-to none, oversubscribed): 4 ranks share 8 cores, 3 ranks share 2.
        XCTAssertEqual(try CPUThreads.decide(affinity: 8, online: 8, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "4"]).count, 2)
        XCTAssertEqual(try CPUThreads.decide(affinity: 2, online: 2, environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "3"]).count, 1)
        XCTAssertEqual(try CPUThreads.decide(affinity: 8, online: 8, environment: ["DDPM_CPU_THREADS": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "4"]).count, 1)
        for bad in ["zero", "0", "100000"] {
            XCTAssertThrowsError(try CPUThreads.decide(affinity: 8, online: 8, environment: ["DDPM_CPU_THREADS": bad])) { error in
                XCTAssertEqual(error as? DeviceError,
                               .unavailable(name: "cpu", reason: "DDPM_CPU_THREADS is '\(bad)', expected a thread count from 1 to 4096"))
            }
        }
    }

    func testAffinityMaskIsRead() throws {
        let count = try XCTUnwrap(CPUThreads.affinityCount(), "sched_getaffinity")
        XCTAssertGreaterThanOrEqual(count, 1)
        XCTAssertLessThanOrEqual(count, ProcessInfo.processInfo.processorCount)
    }
}
