import Conformance
import Devices
import XCTest

/// The case lists themselves: size, coverage of the whole vocabulary, valid parameters.
final class CatalogTests: XCTestCase {
    /// Every family name the vocabulary can produce.
    static let allFamilies: Set<String> = {
        var families: Set<String> = [
            "fill", "copy", "softmax", "softmax.backward", "rms_norm", "rms_norm.backward", "rms_norm_scale_shift_silu",
            "rms_norm_scale_shift_silu.backward", "group_norm",
            "group_norm.backward", "gemm", "conv2d", "conv2d.backward_data", "conv2d.backward_weight",
            "pixel_unshuffle", "pixel_shuffle", "upsample_nearest", "upsample_nearest.backward",
            "timestep_embedding", "gather", "random.uniform", "random.normal", "random.integer",
            "random.advance", "adam", "ema_update", "grad_clip_scale",
        ]
        for op in UnaryOp.allCases { families.insert("unary.\(op.name)"); families.insert("unary_backward.\(op.name)") }
        for op in BinaryOp.allCases { families.insert("binary.\(op.rawValue)") }
        for op in ReduceOp.allCases { families.insert("reduce.\(op.rawValue)") }
        return families
    }()

    func testTestModeCoversEveryFamilyWithValidUniqueCases() {
        let cases = CaseCatalog.kernelCases()
        XCTAssertGreaterThanOrEqual(cases.filter { !$0.isHeavy }.count, 400)
        XCTAssertEqual(Set(cases.map(\.kernel.family)), Self.allFamilies)
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "case strings must be unique")
        for testCase in cases {
            XCTAssertNil(testCase.kernel.parameterProblem, testCase.name)
        }
    }

    func testQueueCasesAreUnique() {
        let names = QueueCatalog.cases().map(\.name)
        XCTAssertGreaterThanOrEqual(names.count, 25)
        XCTAssertEqual(Set(names).count, names.count)
    }

    func testGradModeCoversEveryBackwardKernelAndTheCompositeRules() {
        let cases = GradientCatalog.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 150)
        XCTAssertEqual(Set(cases.map(\.name)).count, cases.count, "case strings must be unique")
        let backwardFamilies = Set(cases.flatMap { $0.steps.map(\.kernel.family) })
        for family in ["softmax.backward", "rms_norm.backward", "rms_norm_scale_shift_silu.backward", "group_norm.backward", "conv2d.backward_data",
                       "conv2d.backward_weight", "upsample_nearest.backward", "pixel_shuffle", "pixel_unshuffle", "gemm", "copy"] {
            XCTAssertTrue(backwardFamilies.contains(family), family)
        }
        for op in UnaryOp.allCases { XCTAssertTrue(backwardFamilies.contains("unary_backward.\(op.name)"), op.name) }
        let forwardFamilies = Set(cases.map(\.forward.family))
        for family in ["binary.add", "binary.sub", "binary.mul", "binary.div", "reduce.sum", "reduce.mean", "copy", "gemm"] {
            XCTAssertTrue(forwardFamilies.contains(family), family)
        }
        for testCase in cases {
            XCTAssertNil(testCase.forward.parameterProblem, testCase.name)
            for step in testCase.steps { XCTAssertNil(step.kernel.parameterProblem, testCase.name) }
        }
    }

    func testPerfCasesIncludeTheYardsticks() {
        let names = PerfCatalog.kernels().map(\.caseString)
        XCTAssertTrue(names.contains { $0.hasPrefix("gemm(batch=1, m=1024, n=1024, k=1024,") })
        XCTAssertTrue(names.contains { $0.hasPrefix("gemm(batch=1, m=64, n=16384, k=576,") })
    }
}
