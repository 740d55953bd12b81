import Devices
import XCTest
@testable import CPUBackend

/// The oracle checked against values worked out by hand (or with the reference formulas in Python).
final class ReferenceKnownValueTests: XCTestCase {
    func testGemmTwoByThreeByTwo() throws {
        // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: AB = [[58,64],[139,154]].
        let g = Gemm(m: 2, n: 2, k: 3, alpha: 2, beta: 0.5, bias: .perRow)
        let out = try reference(.gemm(g), [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12], [1, 1, 1, 1], [10, 20]])
        XCTAssertEqual(out[2], [126.5, 138.5, 298.5, 328.5])
        // The same product from Aᵀ stored as [3, 2] and Bᵀ stored as [2, 3], per-column bias.
        let t = Gemm(m: 2, n: 2, k: 3, transA: true, transB: true, bias: .perColumn)
        let outT = try reference(.gemm(t), [[1, 4, 2, 5, 3, 6], [7, 9, 11, 8, 10, 12], [0, 0, 0, 0], [1, 2]])
        XCTAssertEqual(outT[2], [59, 66, 140, 156])
    }

    func testGemmBetaZeroIgnoresNaN() throws {
        let g = Gemm(m: 1, n: 2, k: 1)
        let out = try reference(.gemm(g), [[2], [3, 4], [.nan, .nan]])
        XCTAssertEqual(out[2], [6, 8])
    }

    func testConvolutionByHand() throws {
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let conv = Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 3)
        let plus: [Float] = [0, 1, 0, 1, 1, 1, 0, 1, 0]
        XCTAssertEqual(try reference(.conv2d(conv), [x, plus, Array(repeating: 0, count: 9), [0.5]])[2],
                       [7.5, 11.5, 11.5, 17.5, 25.5, 23.5, 19.5, 29.5, 23.5])
        // A single tap at (0, 0) shifts the image down-right: cross-correlation, not convolution.
        let corner: [Float] = [1, 0, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(try reference(.conv2d(conv), [x, corner, Array(repeating: 0, count: 9), [0]])[2],
                       [0, 0, 0, 0, 1, 2, 0, 4, 5])
        let ones = [Float](repeating: 1, count: 9)
        XCTAssertEqual(try reference(.conv2dBackwardData(conv), [ones, corner, Array(repeating: 0, count: 9)])[2],
                       [1, 1, 0, 1, 1, 0, 0, 0, 0])
        let grads = try reference(.conv2dBackwardWeight(conv), [x, ones, Array(repeating: 0, count: 9), [0]])
        XCTAssertEqual(grads[2][0], 12)   // x[0..1, 0..1]
        XCTAssertEqual(grads[2][4], 45)   // every pixel
        XCTAssertEqual(grads[3], [9])
    }

    func testTimestepEmbeddingValues() throws {
        let out = try reference(.timestepEmbedding(count: 1, dim: 64, theta: 10000), [[1], Array(repeating: 0, count: 64)])[1]
        XCTAssertEqual(out[0], 0.841471, accuracy: 1e-6)
        XCTAssertEqual(out[1], 0.676474, accuracy: 1e-6)
        XCTAssertEqual(out[32], 0.540302, accuracy: 1e-6)
        XCTAssertEqual(out[31], Float(sin(1e-4)), accuracy: 1e-9)
    }

    func testRMSNormOfKnownVector() throws {
        // ‖(3, 4)‖ = 5, √C = √2.
        let norm = ChannelNorm(batch: 1, channels: 2, spatial: 1)
        let y = try reference(.rmsNorm(norm), [[3, 4], [1, 2], [0, 0]])[2]
        XCTAssertEqual(y[0], 0.6 * Float(2).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(y[1], 1.6 * Float(2).squareRoot(), accuracy: 1e-6)
        // Below eps the denominator is eps: x = 0 maps to 0, not NaN.
        XCTAssertEqual(try reference(.rmsNorm(norm), [[0, 0], [1, 1], [9, 9]])[2], [0, 0])
    }

    func testGroupNormAndSoftmaxValues() throws {
        let norm = GroupNorm(batch: 1, channels: 1, spatial: 4, groups: 1)
        let y = try reference(.groupNorm(norm), [[1, 2, 3, 4], [2], [0.5], [0, 0, 0, 0]])[3]
        for (value, expected) in zip(y, [-2.1832708, -0.3944236, 1.3944236, 3.1832708] as [Float]) {
            XCTAssertEqual(value, expected, accuracy: 1e-6)
        }
        let s = try reference(.softmax(Reduction(outer: 1, extent: 3, inner: 1)), [[1, 2, 3], [0, 0, 0]])[1]
        for (value, expected) in zip(s, [0.0900306, 0.2447285, 0.6652410] as [Float]) {
            XCTAssertEqual(value, expected, accuracy: 1e-7)
        }
    }

    func testAdamOneStepMatchesPyTorchFormula() throws {
        // AdamW: lr 1e-3, step 3, grad scale 0.5, wd 0.01 (values from the formula in Python, float64).
        let adamW = Adam(count: 2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01)
        let out = try reference(.adam(adamW), [[1, 1], [0.5, 0.5], [0.1, 0.1], [0.2, 0.2], [1e-3, 3, 0.5]])
        XCTAssertEqual(out[0][0], 0.9998259043273072, accuracy: 1e-7)
        XCTAssertEqual(out[2][0], 0.115, accuracy: 1e-8)
        XCTAssertEqual(out[3][0], 0.198625, accuracy: 1e-8)
        // Plain Adam, first step: the update is lr·sign(g) up to eps.
        let adam = Adam(count: 1)
        let first = try reference(.adam(adam), [[-2], [-1], [0], [0], [1e-3, 1, 1]])
        XCTAssertEqual(first[0][0], -1.999, accuracy: 1e-7)
        XCTAssertEqual(first[2][0], -0.1, accuracy: 1e-7)   // β₁ is the Float nearest 0.9
        XCTAssertEqual(first[3][0], 0.01, accuracy: 1e-8)
    }

    func testRandomMatchesPhiloxBits() throws {
        let state: [UInt32] = [0xdead_beef, 42, 7, 0]
        for dist in [RandomDistribution.uniform(low: -1, high: 1), .integer(low: -3, high: 1000), .normal(mean: 1, std: 2)] {
            let kernel = Kernel.random(dist, count: 13, stream: 5)
            let out = try runKernel(kernel, on: TestDevices.reference, inputs: [state, Array(repeating: 0, count: 13)])
            XCTAssertEqual(out[1], Philox.generate(dist, count: 13, stream: 5, state: state), "\(dist)")
        }
        let advanced = try runKernel(.randomAdvance, on: TestDevices.reference, inputs: [[1, 2, 0xffff_ffff, 4]])
        XCTAssertEqual(advanced[0], [1, 2, 0, 4])
    }

    func testEmptyReductionsGatherClampAndUnshuffleOrder() throws {
        let empty = Reduction(outer: 2, extent: 0, inner: 1)
        XCTAssertEqual(try reference(.reduce(.sum, empty), [[], [5, 5]])[1], [0, 0])
        XCTAssertEqual(try reference(.reduce(.mean, empty), [[], [5, 5]])[1], [0, 0])
        XCTAssertEqual(try reference(.reduce(.max, empty), [[], [5, 5]])[1], [-.infinity, -.infinity])

        let table: [Float] = [10, 11, 20, 21, 30, 31]
        let indices: [Int32] = [-5, 1, 2, 99]
        let gathered = try runKernel(.gather(rows: 4, width: 2, tableRows: 3), on: TestDevices.reference,
                               inputs: [table.map(\.bitPattern), indices.map { UInt32(bitPattern: $0) },
                                        Array(repeating: 0, count: 8)])
        XCTAssertEqual(gathered[2].map(Float.init(bitPattern:)), [10, 11, 20, 21, 30, 31, 30, 31])

        // One channel, 2x2 image, f = 2: channel c·4 + 2·dy + dx holds pixel (dy, dx).
        let r = Resample(batch: 1, channels: 1, height: 2, width: 2, factor: 2)
        XCTAssertEqual(try reference(.pixelUnshuffle(r), [[1, 2, 3, 4], [0, 0, 0, 0]])[1], [1, 2, 3, 4])
        let r2 = Resample(batch: 1, channels: 1, height: 2, width: 4, factor: 2)
        XCTAssertEqual(try reference(.pixelUnshuffle(r2), [[1, 2, 3, 4, 5, 6, 7, 8], Array(repeating: 0, count: 8)])[1],
                       [1, 3, 2, 4, 5, 7, 6, 8])
        XCTAssertEqual(try reference(.pixelShuffle(r2), [[1, 3, 2, 4, 5, 7, 6, 8], Array(repeating: 0, count: 8)])[1],
                       [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testGradClipAndEMA() throws {
        XCTAssertEqual(try reference(.gradClipScale(maxNorm: 1), [[16], [0]])[1][0], Float(1 / (4 + 1e-6)), accuracy: 1e-7)
        XCTAssertEqual(try reference(.gradClipScale(maxNorm: 10), [[16], [0]])[1][0], 1)
        XCTAssertEqual(try reference(.emaUpdate(count: 2), [[1, 2], [3, 2], [0.75]])[0], [1.5, 2])
    }
}
