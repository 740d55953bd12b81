import Devices
import XCTest
@testable import OpenCLBackend

/// The tuned `gemm.cl` against double-precision loops: tile edges, K blocks, every layout,
/// batch strides, leading dimensions, slice offsets, the epilogue, and writes confined to C.
final class OpenCLGemmTests: XCTestCase {
    /// Runs `g` on slices that start `offset` floats into their buffers and returns the whole of
    /// C's buffer (offset gap included) next to the expected one.
    private func check(_ g: Gemm, seed: UInt64, offset: Int = 3, nanC: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let queue = try makeQueue()
        var data = TestData(seed: seed)
        let kernel = Kernel.gemm(g)
        let aValues = data.floats(kernel.operands[0].count), bValues = data.floats(kernel.operands[1].count)
        let cCount = kernel.operands[2].count
        var cValues = nanC ? [Float](repeating: .nan, count: cCount) : data.floats(cCount)
        // Elements of C's span that are not part of any C_b (ldc > n, strideC gaps) must survive.
        let sentinel: Float = 12345
        var inside = [Bool](repeating: false, count: cCount)
        for batch in 0..<g.batch {
            for i in 0..<g.m {
                for j in 0..<g.n { inside[batch * g.strideC + i * g.ldc + j] = true }
            }
        }
        for index in cValues.indices where !inside[index] { cValues[index] = sentinel }
        let biasValues = data.floats(g.bias == .perRow ? g.m : g.n)
        var operands = [try upload(aValues, on: queue, padding: offset), try upload(bValues, on: queue, padding: offset + 1),
                        try upload(cValues, on: queue, padding: offset + 2)]
        if g.bias != .none { operands.append(try upload(biasValues, on: queue, padding: offset)) }
        try queue.launch(.gemm(g), operands)
        let got = try queue.readFloats(operands[2], count: cCount)
        let want = Naive.gemm(g, a: aValues, b: bValues, c: cValues, bias: g.bias == .none ? nil : biasValues)
        let name = kernel.caseDescription
        XCTAssertLessThan(nmse(got, want), 1e-12, name, file: file, line: line)
        XCTAssertFalse(got.contains { $0.isNaN }, "NaN in the result of \(name)", file: file, line: line)
        for index in cValues.indices where !inside[index] {
            XCTAssertEqual(got[index], sentinel, "\(name) wrote element \(index) outside every C_b", file: file, line: line)
        }
        // The floats before C's slice are untouched too.
        let before = try queue.readFloats(operands[2].advanced(by: -(offset + 2) * 4), count: offset + 2)
        XCTAssertTrue(before.allSatisfy { $0.isNaN }, "\(name) wrote before C", file: file, line: line)
    }

    /// Shapes around the CPU tile (4 × 24, K blocks of 256) and the GPU tile (4 × 4, K blocks of
    /// 16): single elements, exact tiles, one past, and K spanning several blocks.
    func testEveryLayoutAcrossTileEdges() throws {
        let shapes = [(1, 1, 1), (4, 24, 8), (5, 25, 17), (3, 50, 257), (65, 23, 40), (16, 96, 513), (33, 7, 1)]
        var seed: UInt64 = 100
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    seed += 1
                    try check(Gemm(m: m, n: n, k: k, transA: transA, transB: transB), seed: seed)
                }
            }
        }
    }

    func testEpilogueOnFullAndPartialTiles() throws {
        var seed: UInt64 = 200
        for (m, n) in [(8, 48), (9, 50)] {
            for (alpha, beta) in [(Float(1), Float(0)), (-0.5, 2), (2, 1)] {
                for bias in [Gemm.Bias.none, .perRow, .perColumn] {
                    seed += 1
                    try check(Gemm(m: m, n: n, k: 19, alpha: alpha, beta: beta, bias: bias), seed: seed, nanC: beta == 0)
                }
            }
        }
    }

    func testBatchStridesLeadingDimensionsAndSharedOperands() throws {
        let cases = [
            // A shared by the whole batch, B and C with gaps between matrices and rows.
            Gemm(batch: 3, m: 6, n: 30, k: 11, lda: 13, ldb: 33, ldc: 31, strideA: 0, strideB: 400, strideC: 200),
            // B shared, transposed operands with padded leading dimensions.
            Gemm(batch: 4, m: 9, n: 26, k: 20, transA: true, transB: true, beta: 0.5, bias: .perColumn,
                 lda: 10, ldb: 21, ldc: 27, strideA: 210, strideB: 0, strideC: 250),
            // Attention-like: many small products with K along the contiguous axis of both.
            Gemm(batch: 8, m: 16, n: 16, k: 40, transB: true, alpha: 0.125),
            Gemm(batch: 8, m: 16, n: 40, k: 16, transA: true),
            Gemm(batch: 2, m: 1, n: 100, k: 3, bias: .perRow),
        ]
        for (i, g) in cases.enumerated() { try check(g, seed: UInt64(300 + i), offset: 5 + i) }
    }

    func testLargeProductAcrossManyWorkGroups() throws {
        try check(Gemm(m: 130, n: 200, k: 300, beta: 1, bias: .perColumn), seed: 400)
        try check(Gemm(m: 70, n: 150, k: 290, transA: true, transB: true, bias: .perRow), seed: 401)
    }

    func testEmptyReductionGivesScaledCPlusBias() throws {
        try check(Gemm(m: 5, n: 30, k: 0, beta: 0.5, bias: .perColumn), seed: 500)
        try check(Gemm(m: 5, n: 30, k: 0, bias: .perRow), seed: 501, nanC: true)
    }

    func testEmptyOutputsLaunchNothing() throws {
        let queue = try makeQueue()
        let a = try upload([1, 2, 3, 4], on: queue), b = try upload([5, 6, 7, 8], on: queue)
        let c = try upload([9, 9, 9, 9], on: queue)
        try queue.launch(.gemm(Gemm(m: 0, n: 2, k: 2)), [a, b, c])
        try queue.launch(.gemm(Gemm(batch: 0, m: 2, n: 2, k: 2)), [a, b, c])
        XCTAssertEqual(try queue.readFloats(c, count: 4), [9, 9, 9, 9])
    }

    /// On CPU drivers short products over contiguous rows of B read B in place and long `A·Bᵀ`
    /// products run as dot products; the rest pack B. Each path at partial tiles, with alpha,
    /// beta, both biases and batch strides.
    func testKernelChoiceAndEachKernel() throws {
        let capabilities = try TestDevice.shared().capabilities
        let tiles = OpenCLTuning.forDevice(capabilities).gemm
        func kernel(_ g: Gemm) -> GemmKernel {
            GemmKernel(GemmLayout(batch: g.batch, m: g.m, n: g.n, k: g.k,
                                  aRowStride: g.transA ? 1 : g.lda, aDepthStride: g.transA ? g.lda : 1,
                                  bDepthStride: g.transB ? 1 : g.ldb, bColumnStride: g.transB ? g.ldb : 1, ldc: g.ldc),
                       tiles)
        }
        let direct = Gemm(batch: 3, m: 13, n: 50, k: 29, transA: true, alpha: 0.5, beta: 1, bias: .perColumn,
                          strideA: 0)
        let dot = Gemm(batch: 2, m: 13, n: 7, k: 203, transB: true, alpha: -1.5, beta: 0.5, bias: .perRow)
        let packed = Gemm(m: 9, n: 30, k: 300)
        if capabilities.kind == .cpu {
            XCTAssertEqual(kernel(direct), .direct)
            XCTAssertEqual(kernel(dot), .dot)
            XCTAssertEqual(kernel(packed), .packed)
            XCTAssertEqual(kernel(Gemm(m: 9, n: 30, k: 40, transB: true)), .packed, "a short A·Bᵀ packs its B")
        }
        try check(direct, seed: 600)
        try check(dot, seed: 610)
        try check(packed, seed: 620)
    }

    /// The tile table respects every device limit it is given.
    func testTuningFitsDeviceLimits() throws {
        var capabilities = try TestDevice.shared().capabilities
        let native = OpenCLTuning.forDevice(capabilities)
        XCTAssertLessThanOrEqual(native.gemm.groupRows * native.gemm.groupColumns, capabilities.maxWorkGroupSize)
        XCTAssertLessThanOrEqual(native.gemm.localFloats(lx: native.gemm.groupRows, ly: native.gemm.groupColumns) * 4,
                                 capabilities.localMemoryBytes)
        for kind in [DeviceInfo.Kind.cpu, .gpu] {
            capabilities.kind = kind
            capabilities.maxWorkGroupSize = OpenCLCapabilities.minimumWorkGroupSize
            capabilities.localMemoryBytes = OpenCLCapabilities.minimumLocalMemoryBytes
            let small = OpenCLTuning.forDevice(capabilities)
            XCTAssertLessThanOrEqual(small.gemm.groupRows * small.gemm.groupColumns, capabilities.maxWorkGroupSize, "\(kind)")
            XCTAssertLessThanOrEqual(small.conv.group, capabilities.maxWorkGroupSize, "\(kind)")
            XCTAssertLessThanOrEqual(small.gemm.localFloats(lx: small.gemm.groupRows, ly: small.gemm.groupColumns) * 4,
                                     capabilities.localMemoryBytes, "\(kind)")
            XCTAssertTrue([4, 8, 16].contains(small.gemm.width), "\(kind)")
        }
        XCTAssertEqual(OpenCLTuning.groupExtent(tiles: 1, limit: 16), 1)
        XCTAssertEqual(OpenCLTuning.groupExtent(tiles: 5, limit: 16), 8)
        XCTAssertEqual(OpenCLTuning.groupExtent(tiles: 500, limit: 16), 16)
    }
}
