import Devices
import XCTest
@testable import CPUBackend

/// `cpu` against `cpu-reference` on every kernel family: odd sizes, non-zero byte offsets, and
/// sizes large enough to take the parallel paths.
final class FastAgreementTests: XCTestCase {
    func testMemoryKernels() throws {
        try assertAgreement(.fill(count: 1001, value: 0.5), exact: true)
        try assertAgreement(.fill(count: 70_001, value: -2), exact: true)
        try assertAgreement(.copy(.contiguous(1003)), exact: true)
        try assertAgreement(.copy(.contiguous(70_001, accumulate: true)))
        // Permute [3, 5, 7] → [7, 3, 5].
        try assertAgreement(.copy(StridedCopy(shape: [3, 5, 7], srcStrides: [35, 7, 1], dstStrides: [5, 1, 15])), exact: true)
        // Broadcast a row over 6 rows into a column slice of a wider matrix (concat-style).
        try assertAgreement(.copy(StridedCopy(shape: [6, 9], srcStrides: [0, 1], dstStrides: [13, 1])), exact: true)
        // The adjoint of that broadcast: accumulate 6 rows into one.
        try assertAgreement(.copy(StridedCopy(shape: [6, 9], srcStrides: [13, 1], dstStrides: [0, 1], accumulate: true)))
        try assertAgreement(.copy(StridedCopy(shape: [400, 300], srcStrides: [1, 400], dstStrides: [300, 1])), exact: true)
        // Negative strides walk down from the top of the span (the slice is its lowest address).
        try assertAgreement(.copy(StridedCopy(shape: [4, 5], srcStrides: [-5, -1], dstStrides: [5, 1])), exact: true)
        try assertAgreement(.copy(StridedCopy(shape: [300, 200], srcStrides: [200, 1], dstStrides: [-1, 300])), exact: true)
        try assertAgreement(.copy(StridedCopy(shape: [2, 1, 3, 1, 2, 5], srcStrides: [30, 0, 10, 0, 5, 1],
                                              dstStrides: [1, 7, 2, 3, 6, 12], accumulate: true)))
    }

    func testUnaryForwardAndBackward() throws {
        for op in UnaryOp.allCases {
            for count in [1003, 40_001] {
                try assertAgreement(.unary(op, count: count), seed: UInt64(count))
                try assertAgreement(.unaryBackward(op, count: count), seed: UInt64(count))
            }
        }
    }

    func testBinaryBroadcasts() throws {
        for op in BinaryOp.allCases {
            try assertAgreement(.binary(op, .dense(1003)))
            try assertAgreement(.binary(op, .numpy([4, 1, 5], [3, 1])))
            try assertAgreement(.binary(op, .numpy([7, 6000], [6000])))
            try assertAgreement(.binary(op, .numpy([3, 1], [3, 20_000])))
            // Transposed `a`: strides [1, 9] over shape [9, 11].
            try assertAgreement(.binary(op, Broadcast(shape: [9, 11], aStrides: [1, 9], bStrides: [11, 1])))
        }
    }

    func testReductionsAndSoftmax() throws {
        let shapes = [Reduction(outer: 3, extent: 17, inner: 1), Reduction(outer: 2, extent: 33, inner: 5),
                      Reduction(outer: 1, extent: 100_003, inner: 1), Reduction(outer: 4, extent: 0, inner: 3),
                      Reduction(outer: 5, extent: 2100, inner: 7), Reduction(outer: 1, extent: 70_000, inner: 2),
                      Reduction(outer: 1, extent: 16, inner: 1500)]
        for r in shapes {
            for op in ReduceOp.allCases { try assertAgreement(.reduce(op, r)) }
            try assertAgreement(.softmax(r))
            try assertAgreement(.softmaxBackward(r))
        }
    }

    func testNormalisation() throws {
        for n in [ChannelNorm(batch: 2, channels: 5, spatial: 300), ChannelNorm(batch: 3, channels: 64, spatial: 17),
                  ChannelNorm(batch: 4, channels: 32, spatial: 1024, eps: 1e-6)] {
            try assertAgreement(.rmsNorm(n))
            try assertAgreement(.rmsNormBackward(n))
        }
        for n in [GroupNorm(batch: 2, channels: 6, spatial: 33, groups: 3), GroupNorm(batch: 1, channels: 32, spatial: 64, groups: 8),
                  GroupNorm(batch: 3, channels: 16, spatial: 1000, groups: 16)] {
            try assertAgreement(.groupNorm(n))
            try assertAgreement(.groupNormBackward(n))
        }
    }

    func testGemmVariants() throws {
        for transA in [false, true] {
            for transB in [false, true] {
                try assertAgreement(.gemm(Gemm(m: 33, n: 17, k: 29, transA: transA, transB: transB)), tolerance: 1e-6)
                try assertAgreement(.gemm(Gemm(batch: 3, m: 5, n: 7, k: 9, transA: transA, transB: transB,
                                               alpha: 0.5, beta: 1.5, bias: .perRow)), tolerance: 1e-6)
            }
        }
        try assertAgreement(.gemm(Gemm(m: 128, n: 96, k: 200, bias: .perColumn)), tolerance: 1e-6)
        try assertAgreement(.gemm(Gemm(batch: 2, m: 6, n: 5, k: 4, alpha: 2, beta: -1, lda: 7, ldb: 9, ldc: 8,
                                       strideA: 50, strideB: 0, strideC: 60)), tolerance: 1e-6)
        try assertAgreement(.gemm(Gemm(batch: 24, m: 16, n: 16, k: 8, transB: true)), tolerance: 1e-6)
        // Enough small products to run them concurrently, one OpenBLAS call per core.
        try assertAgreement(.gemm(Gemm(batch: 64, m: 32, n: 32, k: 32, transA: true, bias: .perColumn)), tolerance: 1e-6)
        try assertAgreement(.gemm(Gemm(batch: 2, m: 3, n: 4, k: 0, beta: 0.5, bias: .perRow)), tolerance: 1e-6)
    }

    func testGemmBetaZeroOverwritesNaN() throws {
        let g = Gemm(m: 4, n: 3, k: 2)
        var inputs = makeInputs(for: .gemm(g), seed: 9)
        inputs[2] = Array(repeating: Float.nan.bitPattern, count: 12)
        let fast = try runKernel(.gemm(g), on: TestDevices.fast, inputs: inputs)
        XCTAssertFalse(fast[2].contains { Float(bitPattern: $0).isNaN })
    }

    func testConvolutions() throws {
        let shapes = [
            Conv2d(batch: 2, inChannels: 3, outChannels: 5, height: 7, width: 9, kernel: 3),
            Conv2d(batch: 3, inChannels: 4, outChannels: 6, height: 5, width: 5, kernel: 1),
            Conv2d(batch: 1, inChannels: 4, outChannels: 6, height: 5, width: 3, kernel: 1, hasBias: false),
            Conv2d(batch: 1, inChannels: 2, outChannels: 3, height: 6, width: 5, kernel: 3),
            Conv2d(batch: 2, inChannels: 3, outChannels: 4, height: 6, width: 7, kernelHeight: 3, kernelWidth: 1,
                   padHeight: 1, padWidth: 0, hasBias: true),
            Conv2d(batch: 2, inChannels: 2, outChannels: 3, height: 8, width: 8, kernel: 7, padding: 3),
            Conv2d(batch: 2, inChannels: 2, outChannels: 2, height: 4, width: 5, kernel: 3, padding: 0, hasBias: false),
            Conv2d(batch: 1, inChannels: 1, outChannels: 2, height: 3, width: 3, kernel: 3, padding: 2),
        ]
        for c in shapes {
            try assertAgreement(.conv2d(c), tolerance: 1e-6)
            try assertAgreement(.conv2dBackwardData(c), tolerance: 1e-6)
            try assertAgreement(.conv2dBackwardWeight(c), tolerance: 1e-6)
        }
    }

    func testResampling() throws {
        for r in [Resample(batch: 2, channels: 3, height: 6, width: 8, factor: 2),
                  Resample(batch: 1, channels: 2, height: 9, width: 6, factor: 3),
                  Resample(batch: 2, channels: 1, height: 3, width: 5, factor: 1),
                  Resample(batch: 4, channels: 16, height: 32, width: 32, factor: 2)] {
            try assertAgreement(.pixelUnshuffle(r), exact: true)
            try assertAgreement(.pixelShuffle(r), exact: true)
            try assertAgreement(.upsampleNearest(r), exact: true)
            try assertAgreement(.upsampleNearestBackward(r))
        }
    }

    func testDiffusionHelpers() throws {
        try assertAgreement(.timestepEmbedding(count: 5, dim: 64, theta: 10000))
        try assertAgreement(.timestepEmbedding(count: 3, dim: 10, theta: 100))
        try assertAgreement(.gather(rows: 7, width: 5, tableRows: 11), exact: true)
        for count in [1001, 100_003] {
            try assertAgreement(.random(.uniform(low: -1, high: 1), count: count, stream: 3), exact: true)
            try assertAgreement(.random(.integer(low: 0, high: 1000), count: count, stream: 4), exact: true)
            try assertAgreement(.random(.normal(mean: 0, std: 1), count: count, stream: 5))
        }
        try assertAgreement(.randomAdvance, exact: true)
    }

    func testOptimiserKernels() throws {
        for count in [1001, 70_000] {
            try assertAgreement(.adam(Adam(count: count)))
            try assertAgreement(.adam(Adam(count: count, beta1: 0.8, beta2: 0.999, eps: 1e-6, weightDecay: 0.01)))
            try assertAgreement(.emaUpdate(count: count))
        }
        try assertAgreement(.gradClipScale(maxNorm: 1))
        try assertAgreement(.gradClipScale(maxNorm: 100))
    }
}
