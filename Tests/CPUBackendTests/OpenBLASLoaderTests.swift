import Devices
import XCTest
@testable import CPUBackend

/// Core-type selection from CPU flags, and how a missing OpenBLAS is reported.
final class OpenBLASLoaderTests: XCTestCase {
    private func features(_ flags: String) -> CPUFeatures {
        CPUFeatures(cpuinfo: """
            processor\t: 0
            vendor_id\t: GenuineIntel
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
        let parsed = features(avx512)
        XCTAssertEqual(parsed.modelName, "Test CPU")
        XCTAssertEqual(parsed.vendor, "GenuineIntel")
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
}
