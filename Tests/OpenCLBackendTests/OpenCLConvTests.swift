import Devices
import XCTest
@testable import OpenCLBackend

/// The tuned `conv.cl` against double-precision loops: forward, backward-data and
/// backward-weight (with the bias gradient) through both implementations (direct kernels and
/// im2col + GEMM) over kernel sizes, paddings (none, "same", larger than the kernel), odd channel
/// counts and images, the unpadded in-place paths, several gradient splits, slice offsets, and
/// writes confined to the outputs.
final class OpenCLConvTests: XCTestCase {
    /// Runs the three passes of `c` and compares each with the reference.
    private func check(_ c: Conv2d, seed: UInt64, on device: FrontEndDevice? = nil, file: StaticString = #filePath,
                       line: UInt = #line) throws {
        let queue = try (device ?? TestDevice.shared()).makeQueue()
        var data = TestData(seed: seed)
        let name = Kernel.conv2d(c).caseDescription
        let xValues = data.floats(c.inputCount), wValues = data.floats(c.weightCount)
        let biasValues = data.floats(c.outChannels), dyValues = data.floats(c.outputCount)
        // Operands sit at odd offsets; outputs are NaN-filled with NaN guards on both sides.
        let x = try upload(xValues, on: queue, padding: 3)
        let w = try upload(wValues, on: queue, padding: 1)
        let dy = try upload(dyValues, on: queue, padding: 5)

        let y = try guarded(c.outputCount, on: queue)
        var forward = [x, w, y]
        if c.hasBias { forward.append(try upload(biasValues, on: queue, padding: 2)) }
        try queue.launch(.conv2d(c), forward)
        let wantY = Naive.conv2d(c, x: xValues, w: wValues, bias: c.hasBias ? biasValues : nil)
        try expect(y, wantY, on: queue, "forward \(name)", file: file, line: line)

        let dx = try guarded(c.inputCount, on: queue)
        try queue.launch(.conv2dBackwardData(c), [dy, w, dx])
        try expect(dx, Naive.conv2dBackwardData(c, dy: dyValues, w: wValues), on: queue, "data \(name)",
                   file: file, line: line)

        let dw = try guarded(c.weightCount, on: queue)
        let dbias = try guarded(c.outChannels, on: queue)
        try queue.launch(.conv2dBackwardWeight(c), c.hasBias ? [x, dy, dw, dbias] : [x, dy, dw])
        let (wantDw, wantDbias) = Naive.conv2dBackwardWeight(c, x: xValues, dy: dyValues)
        try expect(dw, wantDw, on: queue, "weight \(name)", file: file, line: line)
        if c.hasBias { try expect(dbias, wantDbias, on: queue, "bias \(name)", file: file, line: line) }
    }

    /// A NaN-filled output of `count` floats with `guardCount` NaN floats before and after it.
    private let guardCount = 4
    private func guarded(_ count: Int, on queue: Queue) throws -> BufferSlice {
        try upload([Float](repeating: .nan, count: count + guardCount), on: queue, padding: guardCount)
    }

    private func expect(_ slice: BufferSlice, _ want: [Float], on queue: Queue, _ name: String,
                        file: StaticString, line: UInt) throws {
        let all = try queue.readFloats(slice.advanced(by: -guardCount * 4), count: want.count + 2 * guardCount)
        let got = Array(all[guardCount..<(guardCount + want.count)])
        XCTAssertFalse(got.contains { $0.isNaN }, "\(name): an output element was not written", file: file, line: line)
        XCTAssertLessThan(nmse(got, want), 1e-12, name, file: file, line: line)
        let outside = all[..<guardCount] + all[(guardCount + want.count)...]
        XCTAssertTrue(outside.allSatisfy { $0.isNaN }, "\(name): wrote outside its output", file: file, line: line)
    }

    /// Every configuration at a small image (im2col + GEMM on this device when its output has at
    /// most `columnPositions` positions) and a large one (the direct kernels).
    private func checkBothPaths(_ make: (_ height: Int, _ width: Int) -> Conv2d, seed: UInt64,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let threshold = OpenCLTuning.forDevice(try TestDevice.shared().capabilities).conv.columnPositions
        let small = make(4, 5), large = make(11, 13)
        if threshold != Int.max {
            // A CPU-style table: the two sizes must fall on either side of the threshold.
            XCTAssertLessThanOrEqual(small.outHeight * small.outWidth, threshold, "the small case must use columns",
                                     file: file, line: line)
            XCTAssertGreaterThan(large.outHeight * large.outWidth, threshold, "the large case must run directly",
                                 file: file, line: line)
        }
        try check(small, seed: seed, file: file, line: line)
        try check(large, seed: seed + 1, file: file, line: line)
    }

    func testSquareKernelsWithSamePadding() throws {
        try checkBothPaths({ Conv2d(batch: 2, inChannels: 8, outChannels: 16, height: $0, width: $1, kernel: 3) }, seed: 700)
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 3, outChannels: 8, height: $0, width: $1, kernel: 7) }, seed: 710)
        try checkBothPaths({ Conv2d(batch: 3, inChannels: 5, outChannels: 37, height: $0, width: $1, kernel: 3,
                                    hasBias: false) }, seed: 720)
        try checkBothPaths({ Conv2d(batch: 2, inChannels: 6, outChannels: 5, height: $0, width: $1, kernel: 5) }, seed: 730)
    }

    /// 1×1 and unpadded kernels read the caller's tensors in place, right up to their last float.
    func testUnpaddedKernelsReadInPlace() throws {
        try checkBothPaths({ Conv2d(batch: 2, inChannels: 7, outChannels: 9, height: $0, width: $1, kernel: 1) }, seed: 800)
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 4, outChannels: 3, height: $0, width: $1, kernel: 1,
                                    hasBias: false) }, seed: 810)
        try checkBothPaths({ Conv2d(batch: 2, inChannels: 3, outChannels: 6, height: $0 + 2, width: $1, kernelHeight: 3,
                                    kernelWidth: 1, padHeight: 0, padWidth: 0, hasBias: true) }, seed: 820)
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 2, outChannels: 4, height: $0 + 2, width: $1 + 2, kernel: 3,
                                    padding: 0) }, seed: 830)
    }

    func testAsymmetricAndOversizedPadding() throws {
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 3, outChannels: 2, height: $0 + 2, width: $1 - 1,
                                    kernelHeight: 3, kernelWidth: 2, padHeight: 0, padWidth: 1, hasBias: true) }, seed: 900)
        // Padding larger than kernel − 1: the output is larger than the input and
        // backward-data crops the padded gradient.
        try checkBothPaths({ Conv2d(batch: 2, inChannels: 2, outChannels: 3, height: $0 - 2, width: $1 - 2, kernel: 3,
                                    padding: 2) }, seed: 910)
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 3, outChannels: 5, height: $0 - 2, width: $1 - 2, kernel: 1,
                                    padding: 1) }, seed: 920)
        try checkBothPaths({ Conv2d(batch: 1, inChannels: 2, outChannels: 2, height: $0 - 2, width: $1, kernelHeight: 1,
                                    kernelWidth: 5, padHeight: 1, padWidth: 2, hasBias: true) }, seed: 930)
    }

    /// Enough output rows that the direct weight gradient is cut into several splits, one of
    /// which starts inside an image.
    func testWeightGradientAcrossSplits() throws {
        let tiles = OpenCLTuning.forDevice(try TestDevice.shared().capabilities).conv
        let c = Conv2d(batch: 3, inChannels: 3, outChannels: 5, height: 20, width: 30, kernel: 3)
        if tiles.columnPositions < c.outHeight * c.outWidth {
            let rowsPerSplit = max(1, tiles.splitPositions / (c.outWidth + c.kernelWidth - 1))
            XCTAssertGreaterThan(c.batch * c.outHeight, rowsPerSplit, "the case must need more than one split")
            XCTAssertNotEqual(rowsPerSplit % c.outHeight, 0, "a split must start inside an image")
        }
        try check(c, seed: 1000)
    }

    /// 3×3 convolutions on maps past `winogradPositions` (and `winogradGradientPositions`) run as
    /// F(2×2, 3×3) Winograd on CPU drivers: 32-wide and 16-wide outputs take its eight-tile
    /// vector transforms, odd sizes its per-tile ones; padding 0 and 2 move the tiles' patches.
    func testWinogradShapes() throws {
        try check(Conv2d(batch: 2, inChannels: 5, outChannels: 7, height: 32, width: 32, kernel: 3), seed: 1100)
        try check(Conv2d(batch: 3, inChannels: 4, outChannels: 3, height: 19, width: 21, kernel: 3, hasBias: false),
                  seed: 1110)
        try check(Conv2d(batch: 1, inChannels: 6, outChannels: 9, height: 18, width: 18, kernel: 3, padding: 0),
                  seed: 1120)
        try check(Conv2d(batch: 2, inChannels: 3, outChannels: 5, height: 14, width: 14, kernel: 3, padding: 2),
                  seed: 1130)
        try check(Conv2d(batch: 2, inChannels: 16, outChannels: 6, height: 8, width: 9, kernel: 3), seed: 1140)
    }

    /// On CPU drivers forward and backward-data Winograd run fused (`conv_wino_fused`): blocks of
    /// 24 tiles transformed as rows of eight (16-wide tiles), runs of four (8×8 and 24×24 maps)
    /// or single tiles (4×4 and odd widths), more blocks than work-items, the last block partial,
    /// output channels not a multiple of the panel, and split channel panels (one block).
    func testFusedWinogradShapes() throws {
        let tiles = OpenCLTuning.forDevice(try TestDevice.shared().capabilities).conv
        if tiles.winogradFloats > 0 {
            XCTAssertTrue(OpenCLQueue.fusesWinograd(tiles))
            // 8×8 maps in runs of four: 5 images are 80 tiles, the last block 8 of 24.
            try check(Conv2d(batch: 5, inChannels: 6, outChannels: 10, height: 8, width: 8, kernel: 3), seed: 1200)
            // 24×24: runs of four, outputs stored per tile (24 is not a multiple of 16).
            try check(Conv2d(batch: 1, inChannels: 7, outChannels: 5, height: 24, width: 24, kernel: 3), seed: 1210)
            // 4×4 maps (from `fusedWinogradPositions`), 2 images: one block of 8 tiles, its 5
            // channel panels split across work-items; 40 images: 160 tiles, more blocks than workers.
            try check(Conv2d(batch: 2, inChannels: 33, outChannels: 18, height: 4, width: 4, kernel: 3), seed: 1220)
            try check(Conv2d(batch: 40, inChannels: 3, outChannels: 4, height: 4, width: 4, kernel: 3), seed: 1230)
            // Wide channels at 4×4: the weight gradient takes Winograd too, its products one
            // batched GEMM over 12 tiles (V tile-major).
            XCTAssertLessThanOrEqual(tiles.winogradGradientChannels, 128, "the case must take the Winograd gradient")
            try check(Conv2d(batch: 3, inChannels: 128, outChannels: 130, height: 4, width: 4, kernel: 3), seed: 1240)
        }
    }

    /// A driver preferring 4-wide vectors (SSE, NEON) gets blocks of 12 tiles, which the fused
    /// kernel does not take: forward and backward-data run the three-kernel path (its transforms
    /// four tiles per float4 on 8×8 maps, one at a time on 10×10), in several panels of tiles.
    func testThreeKernelWinogradOnFourWideVectors() throws {
        let native = try TestDevice.shared().openCL
        var capabilities = native.capabilities
        guard capabilities.kind == .cpu else { return }
        capabilities.preferredVectorWidthFloat = 4
        let tiles = OpenCLTuning.forDevice(capabilities).conv
        XCTAssertEqual(tiles.columns, 12)
        XCTAssertFalse(OpenCLQueue.fusesWinograd(tiles))
        let narrow = FrontEndDevice(try OpenCLDevice(name: native.info.name, handle: native.handle,
                                                     capabilities: capabilities, cacheDirectory: TestDevice.cacheDirectory))
        try check(Conv2d(batch: 3, inChannels: 5, outChannels: 9, height: 8, width: 8, kernel: 3), seed: 1300, on: narrow)
        try check(Conv2d(batch: 2, inChannels: 4, outChannels: 3, height: 10, width: 10, kernel: 3, padding: 2),
                  seed: 1310, on: narrow)
    }

    func testEmptyBatchGivesZeroWeightGradients() throws {
        let queue = try makeQueue()
        let c = Conv2d(batch: 0, inChannels: 2, outChannels: 3, height: 4, width: 4, kernel: 3)
        let x = try upload([0], on: queue), dy = try upload([0], on: queue)
        let dw = try output(c.weightCount, on: queue), dbias = try output(c.outChannels, on: queue)
        try queue.launch(.conv2dBackwardWeight(c), [x, dy, dw, dbias])
        XCTAssertEqual(try queue.readFloats(dw, count: c.weightCount), [Float](repeating: 0, count: c.weightCount))
        XCTAssertEqual(try queue.readFloats(dbias, count: c.outChannels), [0, 0, 0])
    }

    func testNoInputChannelsGivesTheBias() throws {
        let queue = try makeQueue()
        let c = Conv2d(batch: 2, inChannels: 0, outChannels: 3, height: 2, width: 2, kernel: 3)
        let x = try upload([0], on: queue), w = try upload([0], on: queue)
        let y = try output(c.outputCount, on: queue), bias = try upload([1, -2, 3], on: queue)
        try queue.launch(.conv2d(c), [x, w, y, bias])
        let want = (0..<c.outputCount).map { [Float(1), -2, 3][($0 / 4) % 3] }
        XCTAssertEqual(try queue.readFloats(y, count: c.outputCount), want)
    }
}
