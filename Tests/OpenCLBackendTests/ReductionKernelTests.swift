import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// `reduce.cl`: axis reductions on every code path (per item, per group, chunked), softmax and its backward.
final class ReductionKernelTests: XCTestCase {
    private func reference(_ op: ReduceOp, _ r: Reduction, _ x: [Float]) -> [Float] {
        var y: [Float] = []
        for o in 0..<r.outer {
            for i in 0..<r.inner {
                let values = (0..<r.extent).map { Double(x[(o * r.extent + $0) * r.inner + i]) }
                switch op {
                case .sum: y.append(Float(values.reduce(0, +)))
                case .mean: y.append(values.isEmpty ? 0 : Float(values.reduce(0, +) / Double(values.count)))
                case .max: y.append(values.isEmpty ? -.infinity : Float(values.max()!))
                case .sumOfSquares: y.append(Float(values.reduce(0) { $0 + $1 * $1 }))
                }
            }
        }
        return y
    }

    func testHandComputedReductions() throws {
        let queue = try makeQueue()
        // x viewed as [outer 2, extent 3, inner 2]
        let x = try upload([1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6], on: queue)
        let y = try output(4, on: queue)
        let r = Reduction(outer: 2, extent: 3, inner: 2)
        let expected: [ReduceOp: [Float]] = [
            .sum: [9, 12, -9, -12], .mean: [3, 4, -3, -4], .max: [5, 6, -1, -2], .sumOfSquares: [35, 56, 35, 56],
        ]
        for (op, values) in expected {
            try queue.launch(.reduce(op, r), [x, y])
            XCTAssertEqual(try queue.readFloats(y, count: 4), values, op.rawValue)
        }
    }

    func testEmptyExtentGivesIdentity() throws {
        let queue = try makeQueue()
        let empty = try queue.device.allocate(bytes: 0)
        let y = try output(6, on: queue)
        for (op, value) in [(ReduceOp.sum, Float(0)), (.mean, 0), (.sumOfSquares, 0), (.max, -.infinity)] {
            try queue.launch(.reduce(op, Reduction(outer: 2, extent: 0, inner: 3)), [empty.slice(), y])
            XCTAssertEqual(try queue.readFloats(y, count: 6), [Float](repeating: value, count: 6), op.rawValue)
        }
    }

    func testEveryCodePathAgainstDoublePrecision() throws {
        let queue = try makeQueue()
        var data = TestData(seed: 7)
        let shapes = [
            Reduction(outer: 300, extent: 40, inner: 5),   // one item per row (many, short rows)
            Reduction(outer: 3, extent: 1000, inner: 2),   // one work group per row
            Reduction(outer: 1, extent: 70_001, inner: 1), // chunked rows and a second pass
            Reduction(outer: 2, extent: 40_000, inner: 3), // chunked with an inner stride
        ]
        for r in shapes {
            let values = data.floats(r.count)
            let x = try upload(values, on: queue, padding: 1)
            let y = try output(r.outer * r.inner, on: queue)
            for op in ReduceOp.allCases {
                try queue.launch(.reduce(op, r), [x, y])
                let result = try queue.readFloats(y, count: r.outer * r.inner)
                let expected = reference(op, r, values)
                XCTAssertLessThan(nmse(result, expected), 1e-9, "\(op) \(r)")
                try queue.launch(.reduce(op, r), [x, y])
                XCTAssertEqual(try queue.readFloats(y, count: r.outer * r.inner).map(\.bitPattern), result.map(\.bitPattern),
                               "reductions are deterministic (\(op) \(r))")
            }
        }
    }

    func testSoftmaxOnBothPathsAndInPlace() throws {
        let queue = try makeQueue()
        var data = TestData(seed: 8)
        for r in [Reduction(outer: 50, extent: 30, inner: 3), Reduction(outer: 2, extent: 500, inner: 3)] {
            let values = data.floats(r.count, in: -5...5)
            let x = try upload(values, on: queue)
            let y = try output(r.count, on: queue)
            try queue.launch(.softmax(r), [x, y])
            let expected = Naive.softmax(r, x: values.map(Double.init)).map { Float($0) }
            assertClose(try queue.readFloats(y, count: r.count), expected, tolerance: 1e-6, "\(r)")
            try queue.launch(.softmax(r), [x, x])
            assertClose(try queue.readFloats(x, count: r.count), expected, tolerance: 1e-6, "in place \(r)")
        }
    }

    func testSoftmaxBackwardMatchesFiniteDifferences() throws {
        let queue = try makeQueue()
        var data = TestData(seed: 9)
        for r in [Reduction(outer: 3, extent: 7, inner: 2), Reduction(outer: 1, extent: 200, inner: 2)] {
            let values = data.floats(r.count, in: -2...2).map(Double.init)
            let upstream = data.floats(r.count).map(Double.init)
            let probabilities = Naive.softmax(r, x: values)
            let y = try upload(probabilities.map { Float($0) }, on: queue)
            let dy = try upload(upstream.map { Float($0) }, on: queue)
            let dx = try output(r.count, on: queue)
            try queue.launch(.softmaxBackward(r), [y, dy, dx])
            let expected = Naive.gradient(of: { Naive.softmax(r, x: $0) }, at: values, dy: upstream)
            assertClose(try queue.readFloats(dx, count: r.count), expected.map { Float($0) }, tolerance: 1e-5, "\(r)")
            try queue.launch(.softmaxBackward(r), [y, dy, dy])
            assertClose(try queue.readFloats(dy, count: r.count), expected.map { Float($0) }, tolerance: 1e-5, "aliased")
        }
    }
}
