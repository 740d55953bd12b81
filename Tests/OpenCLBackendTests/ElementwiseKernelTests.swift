import Devices
import Foundation
import XCTest
@testable import OpenCLBackend

/// `elementwise.cl`: every unary op and derivative, and broadcasting binary ops.
final class ElementwiseKernelTests: XCTestCase {
    /// The defining formula of each op in double precision.
    private func reference(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .identity: return x
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .relu: return Swift.max(x, 0)
        case .silu: return x / (1 + Foundation.exp(-x))
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .square: return x * x
        case .reciprocal: return 1 / x
        case let .affine(scale, shift): return Double(scale) * x + Double(shift)
        case let .clamp(low, high): return Swift.min(Swift.max(x, Double(low)), Double(high))
        }
    }

    /// Inputs in the op's domain that stay away from kinks (0 for abs/relu, the clamp bounds).
    private func inputs(for op: UnaryOp, count: Int) -> [Float] {
        var data = TestData(seed: 3)
        let range: ClosedRange<Float> = op.inputDomain == .positive ? 0.1...4 : -4...4
        return data.floats(count, in: range).map { value in
            switch op {
            case .abs, .relu: return Swift.abs(value) < 0.01 ? value + 0.05 : value
            case .clamp: return [-0.5, 0.5].contains(where: { Swift.abs(value - $0) < 0.01 }) ? value + 0.03 : value
            default: return value
            }
        }
    }

    func testEveryUnaryOpMatchesItsFormula() throws {
        let queue = try makeQueue()
        let count = 1001
        for op in UnaryOp.allCases {
            let values = inputs(for: op, count: count)
            let x = try upload(values, on: queue, padding: 3)
            let y = try output(count, on: queue, padding: 1)
            try queue.launch(.unary(op, count: count), [x, y])
            let expected = values.map { Float(reference(op, Double($0))) }
            assertClose(try queue.readFloats(y, count: count), expected, tolerance: 2e-6, op.name)
        }
    }

    func testUnaryInPlace() throws {
        let queue = try makeQueue()
        let x = try upload([-2, -0.5, 0, 1.5], on: queue)
        try queue.launch(.unary(.relu, count: 4), [x, x])
        XCTAssertEqual(try queue.readFloats(x, count: 4), [0, 0, 0, 1.5])
    }

    func testEveryDerivativeMatchesFiniteDifferences() throws {
        let queue = try makeQueue()
        let count = 257
        var data = TestData(seed: 4)
        let upstream = data.floats(count)
        for op in UnaryOp.allCases {
            let values = inputs(for: op, count: count)
            let x = try upload(values, on: queue)
            let dy = try upload(upstream, on: queue, padding: 2)
            let dx = try output(count, on: queue)
            try queue.launch(.unaryBackward(op, count: count), [x, dy, dx])
            let expected = zip(values, upstream).map { value, g -> Float in
                let h = 1e-6 * Swift.max(1, Swift.abs(Double(value)))
                let slope = (reference(op, Double(value) + h) - reference(op, Double(value) - h)) / (2 * h)
                return Float(slope * Double(g))
            }
            assertClose(try queue.readFloats(dx, count: count), expected, tolerance: 1e-4, op.name)
        }
    }

    func testBinaryOpsBroadcastLikeNumPy() throws {
        let queue = try makeQueue()
        let aShape = [2, 3, 1, 4], bShape = [3, 5, 1]
        let broadcast = Broadcast.numpy(aShape, bShape)
        XCTAssertEqual(broadcast.shape, [2, 3, 5, 4])
        var data = TestData(seed: 5)
        let aValues = data.floats(24), bValues = data.floats(15, in: 0.5...2)
        for op in BinaryOp.allCases {
            let a = try upload(aValues, on: queue, padding: 1)
            let b = try upload(bValues, on: queue, padding: 2)
            let out = try output(broadcast.count, on: queue)
            try queue.launch(.binary(op, broadcast), [a, b, out])
            var expected: [Float] = []
            for i in 0..<2 { for j in 0..<3 { for k in 0..<5 { for l in 0..<4 {
                let av = aValues[(i * 3 + j) * 4 + l], bv = bValues[j * 5 + k]
                switch op {
                case .add: expected.append(av + bv)
                case .sub: expected.append(av - bv)
                case .mul: expected.append(av * bv)
                case .div: expected.append(av / bv)
                case .maximum: expected.append(Swift.max(av, bv))
                case .minimum: expected.append(Swift.min(av, bv))
                }
            } } } }
            XCTAssertEqual(try queue.readFloats(out, count: broadcast.count), expected, op.rawValue)
        }
    }

    func testDenseBinaryMayOverwriteAnInput() throws {
        let queue = try makeQueue()
        let a = try upload([1, 2, 3, 4, 5], on: queue)
        let b = try upload([10, 20, 30, 40, 50], on: queue)
        try queue.launch(.binary(.sub, .dense(5)), [a, b, b])
        XCTAssertEqual(try queue.readFloats(b, count: 5), [-9, -18, -27, -36, -45])
        // Dense operands collapse to one contiguous dimension (the `_rows` kernel's [1, 1, count]).
        for plan in [BroadcastPlan(.dense(5)), BroadcastPlan(.numpy([2, 3], [2, 3]))] {
            XCTAssertEqual([plan.shape, plan.aStrides, plan.bStrides], [[plan.shape[0]], [1], [1]])
        }
        let row = BroadcastPlan(.numpy([2, 3], [3]))
        XCTAssertEqual([row.shape, row.aStrides, row.bStrides], [[2, 3], [3, 1], [0, 1]])
    }

    func testScalarBroadcastOverRankSix() throws {
        let queue = try makeQueue()
        let shape = [2, 1, 2, 1, 2, 3]
        let broadcast = Broadcast(shape: shape, aStrides: [12, 12, 6, 6, 3, 1], bStrides: [0, 0, 0, 0, 0, 0])
        let a = try upload((0..<24).map(Float.init), on: queue)
        let b = try upload([100], on: queue)
        let out = try output(24, on: queue)
        try queue.launch(.binary(.add, broadcast), [a, b, out])
        XCTAssertEqual(try queue.readFloats(out, count: 24), (0..<24).map { Float($0) + 100 })
    }
}
