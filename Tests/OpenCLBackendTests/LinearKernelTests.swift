import Devices
import XCTest
@testable import OpenCLBackend

/// `gemm.cl` and `conv.cl` against plain double-precision loops, over every parameter.
final class LinearKernelTests: XCTestCase {
    private func run(_ g: Gemm, on queue: Queue, seed: UInt64, nanC: Bool = false) throws -> (got: [Float], want: [Float]) {
        var data = TestData(seed: seed)
        let aCount = Kernel.gemm(g).operands[0].count, bCount = Kernel.gemm(g).operands[1].count
        let cCount = Kernel.gemm(g).operands[2].count
        let aValues = data.floats(aCount), bValues = data.floats(bCount)
        let cValues = nanC ? [Float](repeating: .nan, count: cCount) : data.floats(cCount)
        let biasValues = data.floats(g.bias == .perRow ? g.m : g.n)
        var operands = [try upload(aValues, on: queue, padding: 1), try upload(bValues, on: queue, padding: 2),
                        try upload(cValues, on: queue, padding: 3)]
        if g.bias != .none { operands.append(try upload(biasValues, on: queue, padding: 1)) }
        try queue.launch(.gemm(g), operands)
        let got = try queue.readFloats(operands[2], count: cCount)
        return (got, Naive.gemm(g, a: aValues, b: bValues, c: cValues, bias: g.bias == .none ? nil : biasValues))
    }

    func testGemmOverTransposesScalesAndBiases() throws {
        let queue = try makeQueue()
        var seed: UInt64 = 20
        for transA in [false, true] {
            for transB in [false, true] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1.5)] {
                    for bias in [Gemm.Bias.none, .perRow, .perColumn] {
                        let g = Gemm(m: 17, n: 23, k: 31, transA: transA, transB: transB, alpha: alpha, beta: beta, bias: bias)
                        seed += 1
                        let (got, want) = try run(g, on: queue, seed: seed, nanC: beta == 0)
                        XCTAssertLessThan(nmse(got, want), 1e-12, "\(Kernel.gemm(g).caseDescription)")
                    }
                }
            }
        }
    }

    func testGemmBatchesStridesAndLeadingDimensions() throws {
        let queue = try makeQueue()
        let cases = [
            // Shared A (stride 0) across a batch of 3, padded leading dimensions everywhere.
            Gemm(batch: 3, m: 5, n: 7, k: 9, lda: 12, ldb: 8, ldc: 10, strideA: 0, strideB: 80, strideC: 60),
            Gemm(batch: 2, m: 33, n: 1, k: 40, transA: true, beta: 1, bias: .perRow),
            Gemm(batch: 4, m: 1, n: 1, k: 1, alpha: 2),
            Gemm(m: 3, n: 4, k: 0, beta: 0.5, bias: .perColumn),   // k = 0: C = βC + bias
            Gemm(m: 64, n: 48, k: 100, transB: true),
        ]
        for (i, g) in cases.enumerated() {
            let (got, want) = try run(g, on: queue, seed: UInt64(40 + i))
            XCTAssertLessThan(nmse(got, want), 1e-12, "\(Kernel.gemm(g).caseDescription)")
        }
    }

    func testGemmWithBetaZeroIgnoresNaNInC() throws {
        let queue = try makeQueue()
        let (got, _) = try run(Gemm(m: 3, n: 3, k: 3), on: queue, seed: 50, nanC: true)
        XCTAssertFalse(got.contains { $0.isNaN })
    }

    func testConvolutionForwardAndGradients() throws {
        let queue = try makeQueue()
        let cases = [
            Conv2d(batch: 2, inChannels: 3, outChannels: 5, height: 6, width: 7, kernel: 3),
            Conv2d(batch: 1, inChannels: 2, outChannels: 4, height: 9, width: 8, kernel: 7),
            Conv2d(batch: 2, inChannels: 6, outChannels: 3, height: 4, width: 4, kernel: 1, hasBias: false),
            Conv2d(batch: 1, inChannels: 3, outChannels: 2, height: 5, width: 6, kernelHeight: 3, kernelWidth: 2,
                   padHeight: 0, padWidth: 1, hasBias: true),
            Conv2d(batch: 1, inChannels: 1, outChannels: 1, height: 3, width: 3, kernel: 3, padding: 2, hasBias: true),
        ]
        var data = TestData(seed: 60)
        for c in cases {
            let name = Kernel.conv2d(c).caseDescription
            let xValues = data.floats(c.inputCount), wValues = data.floats(c.weightCount)
            let biasValues = data.floats(c.outChannels), dyValues = data.floats(c.outputCount)
            let x = try upload(xValues, on: queue, padding: 1)
            let w = try upload(wValues, on: queue, padding: 2)
            let y = try output(c.outputCount, on: queue)
            var forward = [x, w, y]
            if c.hasBias { forward.append(try upload(biasValues, on: queue)) }
            try queue.launch(.conv2d(c), forward)
            let want = Naive.conv2d(c, x: xValues, w: wValues, bias: c.hasBias ? biasValues : nil)
            XCTAssertLessThan(nmse(try queue.readFloats(y, count: c.outputCount), want), 1e-12, name)

            let dy = try upload(dyValues, on: queue, padding: 3)
            let dx = try output(c.inputCount, on: queue)
            try queue.launch(.conv2dBackwardData(c), [dy, w, dx])
            let wantDx = Naive.conv2dBackwardData(c, dy: dyValues, w: wValues)
            XCTAssertLessThan(nmse(try queue.readFloats(dx, count: c.inputCount), wantDx), 1e-12, "data \(name)")

            let dw = try output(c.weightCount, on: queue)
            var weight = [x, dy, dw]
            let dbias = try output(c.outChannels, on: queue, padding: 1)
            if c.hasBias { weight.append(dbias) }
            try queue.launch(.conv2dBackwardWeight(c), weight)
            let (wantDw, wantDbias) = Naive.conv2dBackwardWeight(c, x: xValues, dy: dyValues)
            XCTAssertLessThan(nmse(try queue.readFloats(dw, count: c.weightCount), wantDw), 1e-12, "weight \(name)")
            if c.hasBias {
                XCTAssertLessThan(nmse(try queue.readFloats(dbias, count: c.outChannels), wantDbias), 1e-12, "bias \(name)")
            }
        }
    }
}
