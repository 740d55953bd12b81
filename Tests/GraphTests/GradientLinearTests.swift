import Devices
import Graph
import XCTest

/// Finite-difference checks of GEMM, convolution and resampling gradients.
final class GradientLinearTests: XCTestCase {
    func testMatmulEveryTransposition() throws {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let a = ta ? [4, 3] : [3, 4], b = tb ? [5, 4] : [4, 5]
            try checkGradients([CheckParameter("a", a), CheckParameter("b", b)]) { g, p in
                try g.matmul(p[0], p[1], transA: ta, transB: tb, alpha: 0.5)
            }
        }
    }

    func testBatchedAndSharedMatmul() throws {
        try checkGradients([CheckParameter("a", [2, 3, 3, 4]), CheckParameter("b", [2, 3, 5, 4])]) { g, p in
            try g.matmul(p[0], p[1], transB: true)
        }
        try checkGradients([CheckParameter("w", [3, 4]), CheckParameter("x", [2, 4, 5])]) { g, p in
            try g.matmul(p[0], p[1])
        }
    }

    func testLinearAndBiasFolding() throws {
        try checkGradients([CheckParameter("x", [2, 3, 4]), CheckParameter("w", [5, 4]), CheckParameter("b", [5])]) { g, p in
            try g.gelu(g.linear(p[0], weight: p[1], bias: p[2]))
        }
        // A user-written bias add after a matmul, fused into the GEMM epilogue.
        try checkGradients([CheckParameter("x", [3, 4]), CheckParameter("w", [4, 5]), CheckParameter("b", [5])]) { g, p in
            try g.add(g.matmul(p[0], p[1]), p[2])
        }
    }

    func testResidualIntoGemmEpilogue() throws {
        for fusion in [true, false] {
            try checkGradients([CheckParameter("x", [3, 4]), CheckParameter("w", [5, 4]), CheckParameter("r", [3, 5])], fusion: fusion) { g, p in
                let r = try g.silu(p[2])
                return try g.add(g.linear(p[0], weight: p[1]), r)
            }
        }
    }

    func testConvolutions() throws {
        for (k, pad) in [(3, 1), (7, 3), (1, 0), (3, 0)] {
            try checkGradients([CheckParameter("x", [2, 3, 5, 5]), CheckParameter("w", [4, 3, k, k], scale: 0.5),
                                CheckParameter("b", [4])]) { g, p in
                try g.conv2d(p[0], p[1], bias: p[2], padding: pad)
            }
        }
        try checkGradients([CheckParameter("x", [1, 2, 4, 4]), CheckParameter("w", [3, 2, 3, 3])]) { g, p in
            try g.conv2d(p[0], p[1])
        }
    }

    func testOneByOneConvolutionPlusResidual() throws {
        // Fused into one GEMM with a per-row bias and β = 1 (the Unet's res_conv and to_out + x).
        for fusion in [true, false] {
            try checkGradients([CheckParameter("x", [2, 3, 2, 3]), CheckParameter("w", [4, 3, 1, 1]), CheckParameter("b", [4]),
                                CheckParameter("h", [2, 4, 2, 3])], fusion: fusion) { g, p in
                try g.add(g.square(p[3]), g.conv2d(p[0], p[1], bias: p[2], padding: 0))
            }
        }
    }

    func testResampling() throws {
        try checkGradients([CheckParameter("x", [2, 3, 4, 6])]) { g, p in try g.pixelUnshuffle(p[0], 2) }
        try checkGradients([CheckParameter("x", [2, 8, 2, 3])]) { g, p in try g.pixelShuffle(p[0], 2) }
        try checkGradients([CheckParameter("x", [2, 3, 2, 3])]) { g, p in try g.upsampleNearest(p[0], 2) }
    }
}
