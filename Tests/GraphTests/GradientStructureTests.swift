import Devices
import Graph
import XCTest

/// Finite-difference checks of data-movement, reduction and normalisation gradients.
final class GradientStructureTests: XCTestCase {
    func testReshapePermuteTranspose() throws {
        try checkGradients([CheckParameter("x", [2, 3, 4])]) { g, p in
            let t = try g.permute(p[0], [2, 0, 1])
            return try g.square(g.reshape(g.transpose(t, 0, 2), [6, -1]))
        }
    }

    func testSliceSplitChunkPad() throws {
        try checkGradients([CheckParameter("x", [2, 6, 3])]) { g, p in
            let parts = try g.split(p[0], axis: 1, sizes: [1, 2, 3])
            let halves = try g.chunk(parts[2], 3, axis: 1)
            let padded = try g.pad(parts[1], axis: 2, before: 1, after: 2)
            return try g.add(g.mul(halves[0], halves[2]), g.sumAll(g.square(padded)))
        }
    }

    func testConcatOfViewsAndComputedTensors() throws {
        try checkGradients([CheckParameter("a", [2, 3, 2]), CheckParameter("m", [1, 3, 4])]) { g, p in
            let mem = try g.expand(p[1], to: [2, 3, 4])                      // stride-0 view
            let sliced = try g.slice(p[0], axis: 1, start: 1, length: 2)    // strided view
            let cat = try g.concat([mem, g.silu(p[0])], axis: 2)
            return try g.add(g.sumAll(g.square(cat)), g.sumAll(g.mul(sliced, sliced)))
        }
    }

    func testExpandThenElementwise() throws {
        try checkGradients([CheckParameter("x", [3, 1]), CheckParameter("y", [3, 4])]) { g, p in
            try g.mul(g.tanh(g.expand(p[0], to: [2, 3, 4])), p[1])
        }
    }

    func testReductions() throws {
        try checkGradients([CheckParameter("x", [2, 3, 4, 5])]) { g, p in
            let a = try g.sum(p[0], axes: [1, 2])
            let b = try g.mean(p[0], axes: [0, 3], keepDims: true)
            let c = try g.reduce(.sumOfSquares, p[0], axes: [3])
            return try g.add(g.add(g.sumAll(g.square(a)), g.sumAll(g.square(b))), g.sumAll(g.sin(c)))
        }
    }

    func testSoftmaxOverEachAxis() throws {
        for axis in 0..<3 {
            try checkGradients([CheckParameter("x", [2, 3, 4], scale: 2)]) { g, p in try g.softmax(p[0], axis: axis) }
        }
    }

    func testRMSNormWithReferenceGainShape() throws {
        let gain = testValues(4, seed: 11).map { $0 * 0.5 + 1 }
        try checkGradients([CheckParameter("x", [2, 4, 3, 3]), CheckParameter("g", [1, 4, 1, 1], values: gain)]) { g, p in
            try g.rmsNorm(p[0], gain: p[1])
        }
    }

    func testFusedRMSNormScaleShiftSilu() throws {
        let gain = testValues(4, seed: 11).map { $0 * 0.5 + 1 }
        // block1: the FiLM operand is a linear layer's [N, 2C] output (scale, then shift).
        try checkGradients([CheckParameter("x", [2, 4, 3, 3]), CheckParameter("g", [1, 4, 1, 1], values: gain),
                            CheckParameter("ss", [2, 8])]) { g, p in
            try g.rmsNormScaleShiftSilu(p[0], gain: p[1], scaleShift: p[2])
        }
        // block2: no FiLM.
        try checkGradients([CheckParameter("x", [2, 4, 3, 3]), CheckParameter("g", [1, 4, 1, 1], values: gain)]) { g, p in
            try g.rmsNormScaleShiftSilu(p[0], gain: p[1])
        }
    }

    func testGroupNorm() throws {
        try checkGradients([CheckParameter("x", [2, 4, 3, 2]), CheckParameter("gamma", [4]), CheckParameter("beta", [4])]) { g, p in
            try g.groupNorm(p[0], gamma: p[1], beta: p[2], groups: 2)
        }
    }

    func testMSELossWithWeights() throws {
        let weights = testValues(3, seed: 5).map { $0 * 0.5 + 1 }
        try checkGradients([CheckParameter("pred", [3, 2, 2, 2]), CheckParameter("target", [3, 2, 2, 2]),
                            CheckParameter("w", [3], values: weights)]) { g, p in
            try g.mseLoss(p[0], p[1], weights: p[2])
        }
    }
}
