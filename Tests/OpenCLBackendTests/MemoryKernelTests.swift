import Devices
import XCTest
@testable import OpenCLBackend

/// `fill_copy.cl`: fill and the strided copy in its copy / slice / concat / permute / broadcast uses.
final class MemoryKernelTests: XCTestCase {
    func testFillWritesOnlyItsRange() throws {
        let queue = try makeQueue()
        let out = try output(8, on: queue, padding: 3)
        try queue.launch(.fill(count: 5, value: 2.5), [out])
        let all = try queue.readFloats(out.buffer.slice(), count: 11)
        XCTAssertTrue(all[0..<3].allSatisfy(\.isNaN))
        XCTAssertEqual(Array(all[3..<8]), [2.5, 2.5, 2.5, 2.5, 2.5])
        XCTAssertTrue(all[8...].allSatisfy(\.isNaN))
    }

    func testCopyTransposesAndSlices() throws {
        let queue = try makeQueue()
        let source = (0..<12).map(Float.init)
        let src = try upload(source, on: queue, padding: 1)
        let transposed = try output(12, on: queue)
        try queue.launch(.copy(StridedCopy(shape: [3, 4], srcStrides: [4, 1], dstStrides: [1, 3])), [src, transposed])
        XCTAssertEqual(try queue.readFloats(transposed, count: 12), [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11])

        // Concatenation: a [2, 3] block into columns 2..<5 of a [2, 5] matrix.
        let wide = try upload([Float](repeating: -1, count: 10), on: queue)
        try queue.launch(.copy(StridedCopy(shape: [2, 3], srcStrides: [3, 1], dstStrides: [5, 1])),
                         [src, wide.advanced(by: 8)])
        XCTAssertEqual(try queue.readFloats(wide, count: 10), [-1, -1, 0, 1, 2, -1, -1, 3, 4, 5])
    }

    func testBroadcastCopyAndItsAccumulatingAdjoint() throws {
        let queue = try makeQueue()
        let row = try upload([1, 2, 3, 4], on: queue)
        let tiled = try output(12, on: queue)
        try queue.launch(.copy(StridedCopy(shape: [3, 4], srcStrides: [0, 1], dstStrides: [4, 1])), [row, tiled])
        XCTAssertEqual(try queue.readFloats(tiled, count: 12), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])

        let matrix = try upload((0..<12).map(Float.init), on: queue)
        let sums = try upload([10, 20, 30, 40], on: queue)
        try queue.launch(.copy(StridedCopy(shape: [3, 4], srcStrides: [4, 1], dstStrides: [0, 1], accumulate: true)),
                         [matrix, sums])
        XCTAssertEqual(try queue.readFloats(sums, count: 4), [22, 35, 48, 61])

        // Without accumulation, several sources landing on one destination leave the last one.
        let last = try output(1, on: queue)
        try queue.launch(.copy(StridedCopy(shape: [3], srcStrides: [1], dstStrides: [0])), [row, last])
        XCTAssertEqual(try queue.readFloats(last, count: 1), [3])
    }

    func testRankSixPermutationMatchesHostIndexing() throws {
        let queue = try makeQueue()
        let shape = [2, 3, 1, 4, 2, 3]
        let count = shape.reduce(1, *)
        var data = TestData(seed: 6)
        let values = data.floats(count)
        // Source is dense in reversed dimension order; destination dense in natural order.
        var srcStrides = [Int](repeating: 0, count: 6)
        var dstStrides = [Int](repeating: 0, count: 6)
        var acc = 1
        for k in 0..<6 { srcStrides[k] = acc; acc *= shape[k] }
        acc = 1
        for k in (0..<6).reversed() { dstStrides[k] = acc; acc *= shape[k] }
        let copy = StridedCopy(shape: shape, srcStrides: srcStrides, dstStrides: dstStrides, accumulate: true)
        let src = try upload(values, on: queue)
        let dst = try upload([Float](repeating: 0.5, count: count), on: queue, padding: 5)
        try queue.launch(.copy(copy), [src, dst])
        var expected = [Float](repeating: 0.5, count: count)
        for linear in 0..<count {
            var rest = linear, s = 0, d = 0
            for k in (0..<6).reversed() {
                let i = rest % shape[k]
                rest /= shape[k]
                s += i * srcStrides[k]
                d += i * dstStrides[k]
            }
            expected[d] += values[s]
        }
        XCTAssertEqual(try queue.readFloats(dst, count: count), expected)
    }

    /// The sequential loop that defines a strided copy.
    private func sequentialCopy(_ c: StridedCopy, _ src: [Float], into dst: [Float]) -> [Float] {
        var out = dst
        for linear in 0..<c.count {
            var rest = linear, s = 0, d = 0
            for k in c.shape.indices.reversed() {
                let i = rest % c.shape[k]
                rest /= c.shape[k]
                s += i * c.srcStrides[k]
                d += i * c.dstStrides[k]
            }
            out[d] = c.accumulate ? out[d] + src[s] : src[s]
        }
        return out
    }

    func testGridAndGeneralPathsAgreeWithTheSequentialLoop() throws {
        let queue = try makeQueue()
        let copies = [
            // Four distinct and two stride-0 dimensions: the general kernel.
            StridedCopy(shape: [2, 3, 2, 2, 3, 2], srcStrides: [72, 24, 12, 6, 2, 1], dstStrides: [1, 0, 2, 24, 4, 0]),
            // Two distinct and two stride-0 dimensions: the 3-D grid kernel.
            StridedCopy(shape: [3, 4, 5, 2], srcStrides: [40, 10, 2, 1], dstStrides: [0, 2, 0, 1]),
            StridedCopy(shape: [3, 7, 2], srcStrides: [14, 2, 1], dstStrides: [2, 0, 1]),
            // Four distinct dimensions, nothing merges.
            StridedCopy(shape: [2, 3, 4, 5], srcStrides: [1, 2, 6, 24], dstStrides: [60, 20, 5, 1]),
        ]
        for base in copies {
            for accumulate in [false, true] {
                var copy = base
                copy.accumulate = accumulate
                let spec = Kernel.copy(copy).operands
                let source = (0..<spec[0].count).map { Float($0 % 17) }
                let initial = (0..<spec[1].count).map { Float($0 % 5) }
                let src = try upload(source, on: queue, padding: 1)
                let dst = try upload(initial, on: queue, padding: 2)
                try queue.launch(.copy(copy), [src, dst])
                XCTAssertEqual(try queue.readFloats(dst, count: initial.count), sequentialCopy(copy, source, into: initial),
                               Kernel.copy(copy).caseDescription)
            }
        }
        XCTAssertNil(StridedCopyPlan(copies[0]).grid3D)
        XCTAssertNotNil(StridedCopyPlan(copies[1]).grid3D)
    }

    func testCopyPlanDropsUnitDimensionsAndMergesNeighbours() {
        let dense = StridedCopyPlan(.init(shape: [2, 1, 3, 4], srcStrides: [12, 12, 4, 1], dstStrides: [12, 99, 4, 1]))
        XCTAssertEqual(dense.outerRank, 1)
        XCTAssertEqual(dense.outerCount, 24)
        XCTAssertEqual(dense.innerCount, 1)
        XCTAssertEqual(Array(dense.shape.prefix(1)), [24])
        let reduce = StridedCopyPlan(.init(shape: [5, 3, 4], srcStrides: [12, 4, 1], dstStrides: [0, 0, 1], accumulate: true))
        XCTAssertEqual(reduce.outerRank, 1)
        XCTAssertEqual(reduce.outerCount, 4)
        XCTAssertEqual(reduce.innerCount, 15)
        XCTAssertEqual(Array(reduce.shape.prefix(2)), [4, 15])
        let single = StridedCopyPlan(.init(shape: [1, 1], srcStrides: [3, 3], dstStrides: [5, 5]))
        XCTAssertEqual(single.outerRank, 0)
        XCTAssertEqual(single.outerCount, 1)
    }
}
