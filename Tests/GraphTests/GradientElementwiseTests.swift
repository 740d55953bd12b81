import Devices
import Graph
import XCTest

/// Finite-difference checks of every elementwise op's gradient.
final class GradientElementwiseTests: XCTestCase {
    func testSmoothUnaryOps() throws {
        let ops: [UnaryOp] = [.silu, .gelu, .sigmoid, .tanh, .exp, .sin, .cos, .square, .identity, .neg,
                              .affine(scale: -1.5, shift: 0.25)]
        for op in ops {
            try checkGradients([CheckParameter("x", [2, 3, 4])]) { g, p in try g.unary(op, p[0]) }
        }
    }

    func testPositiveDomainUnaryOps() throws {
        // log, sqrt, rsqrt, reciprocal on [0.5, 1.5].
        let positive = testValues(24, seed: 3).map { $0 * 0.5 + 1 }
        for op in [UnaryOp.log, .sqrt, .rsqrt, .reciprocal] {
            try checkGradients([CheckParameter("x", [4, 6], values: positive)]) { g, p in try g.unary(op, p[0]) }
        }
    }

    func testKinkedUnaryOpsAwayFromKinks() throws {
        // Values at least 0.2 away from 0 and from the clamp bounds ±0.5.
        let values: [Float] = [-0.9, -0.7, -0.3, 0.25, 0.3, 0.7, 0.95, -0.25]
        for op in [UnaryOp.relu, .abs, .clamp(low: -0.5, high: 0.5)] {
            try checkGradients([CheckParameter("x", [8], values: values)]) { g, p in try g.unary(op, p[0]) }
        }
    }

    func testBroadcastingBinaryOps() throws {
        let shapes: [([Int], [Int])] = [([2, 3, 4], [3, 1]), ([2, 3, 4], [4]), ([2, 1, 4], [2, 3, 1]), ([3], [2, 3])]
        for (sa, sb) in shapes {
            for op in [BinaryOp.add, .sub, .mul] {
                try checkGradients([CheckParameter("a", sa), CheckParameter("b", sb)]) { g, p in try g.binary(op, p[0], p[1]) }
            }
            let positive = testValues(sb.reduce(1, *), seed: 5).map { $0 * 0.4 + 1 }
            try checkGradients([CheckParameter("a", sa), CheckParameter("b", sb, values: positive)]) { g, p in try g.div(p[0], p[1]) }
        }
    }

    func testScalarFoldsAndSharedUse() throws {
        // x·2 + 1, (x·x) with one tensor used twice, and x − 3 folded into affine kernels.
        try checkGradients([CheckParameter("x", [3, 5])]) { g, p in
            let a = try g.add(g.mul(p[0], g.scalar(2)), g.scalar(1))
            let b = try g.mul(p[0], p[0])
            return try g.add(g.sub(a, g.scalar(3)), b)
        }
    }

    func testScaleShift() throws {
        try checkGradients([CheckParameter("x", [2, 3, 2, 2]), CheckParameter("scale", [2, 3]), CheckParameter("shift", [2, 3])]) { g, p in
            try g.scaleShift(p[0], scale: p[1], shift: p[2])
        }
    }
}
