import Devices
import Foundation

/// Fast unary and binary elementwise kernels in Float.
///
/// Each op is a closure handed to an always-inlined loop, so the compiler specialises (and,
/// for arithmetic ops, vectorises) one loop per op; loops split over the cores when large.
extension CPUFast {
    /// `y[i] = f(x[i])`; `y` may alias `x`.
    func unary(_ op: UnaryOp, count: Int, x: Pointer, y: Pointer) {
        switch op {
        case .identity: if x != y { Parallel.forEach(count) { r in (y + r.lowerBound).update(from: x + r.lowerBound, count: r.count) } }
        case .neg: map(count, x, y) { -$0 }
        case .abs: map(count, x, y) { Swift.abs($0) }
        case .relu: map(count, x, y) { $0 > 0 ? $0 : 0 }
        case .silu: map(count, x, y) { $0 / (1 + exp(-$0)) }
        case .sigmoid: map(count, x, y) { 1 / (1 + exp(-$0)) }
        case .tanh: map(count, x, y) { tanh($0) }
        case .gelu: map(count, x, y) { 0.5 * $0 * (1 + erf($0 * 0.70710678118654752)) }
        case .exp: map(count, x, y) { exp($0) }
        case .log: map(count, x, y) { log($0) }
        case .sqrt: map(count, x, y) { $0.squareRoot() }
        case .rsqrt: map(count, x, y) { 1 / $0.squareRoot() }
        case .sin: map(count, x, y) { sin($0) }
        case .cos: map(count, x, y) { cos($0) }
        case .square: map(count, x, y) { $0 * $0 }
        case .reciprocal: map(count, x, y) { 1 / $0 }
        case let .affine(scale, shift): map(count, x, y) { scale * $0 + shift }
        case let .clamp(low, high): map(count, x, y) { Swift.min(Swift.max($0, low), high) }
        }
    }

    /// `dx[i] = dy[i] · f'(x[i])`; `dx` may alias `dy`.
    func unaryBackward(_ op: UnaryOp, count: Int, x: Pointer, dy: Pointer, dx: Pointer) {
        switch op {
        case .identity: zip(count, x, dy, dx) { _, g in g }
        case .neg: zip(count, x, dy, dx) { _, g in -g }
        case .abs: zip(count, x, dy, dx) { v, g in v > 0 ? g : (v < 0 ? -g : 0) }
        case .relu: zip(count, x, dy, dx) { v, g in v > 0 ? g : 0 }
        case .silu:
            zip(count, x, dy, dx) { v, g in
                let s = 1 / (1 + exp(-v))
                return g * s * (1 + v * (1 - s))
            }
        case .sigmoid:
            zip(count, x, dy, dx) { v, g in
                let s = 1 / (1 + exp(-v))
                return g * s * (1 - s)
            }
        case .tanh:
            zip(count, x, dy, dx) { v, g in
                let t = tanh(v)
                return g * (1 - t * t)
            }
        case .gelu:
            zip(count, x, dy, dx) { v, g in
                let cdf = 0.5 * (1 + erf(v * 0.70710678118654752))
                return g * (cdf + v * exp(-0.5 * v * v) * 0.39894228040143268)
            }
        case .exp: zip(count, x, dy, dx) { v, g in g * exp(v) }
        case .log: zip(count, x, dy, dx) { v, g in g / v }
        case .sqrt: zip(count, x, dy, dx) { v, g in 0.5 * g / v.squareRoot() }
        case .rsqrt: zip(count, x, dy, dx) { v, g in -0.5 * g / (v * v.squareRoot()) }
        case .sin: zip(count, x, dy, dx) { v, g in g * cos(v) }
        case .cos: zip(count, x, dy, dx) { v, g in -g * sin(v) }
        case .square: zip(count, x, dy, dx) { v, g in 2 * v * g }
        case .reciprocal: zip(count, x, dy, dx) { v, g in -g / (v * v) }
        case let .affine(scale, _): zip(count, x, dy, dx) { _, g in scale * g }
        case let .clamp(low, high): zip(count, x, dy, dx) { v, g in v > low && v < high ? g : 0 }
        }
    }

    /// `out[i] = a[·] ∘ b[·]` over the broadcast shape; `out` is dense and may alias a dense input.
    func binary(_ op: BinaryOp, _ shape: Broadcast, a: Pointer, b: Pointer, out: Pointer) {
        switch op {
        case .add: broadcast(shape, a, b, out) { $0 + $1 }
        case .sub: broadcast(shape, a, b, out) { $0 - $1 }
        case .mul: broadcast(shape, a, b, out) { $0 * $1 }
        case .div: broadcast(shape, a, b, out) { $0 / $1 }
        case .maximum: broadcast(shape, a, b, out) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .minimum: broadcast(shape, a, b, out) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        }
    }

    // MARK: Loops

    @inline(__always)
    private func map(_ count: Int, _ x: Pointer, _ y: Pointer, _ f: (Float) -> Float) {
        Parallel.forEach(count) { range in
            for i in range { y[i] = f(x[i]) }
        }
    }

    @inline(__always)
    private func zip(_ count: Int, _ x: Pointer, _ dy: Pointer, _ dx: Pointer, _ f: (Float, Float) -> Float) {
        Parallel.forEach(count) { range in
            for i in range { dx[i] = f(x[i], dy[i]) }
        }
    }

    /// Rows of the fused broadcast space; the inner loop is specialised for the common
    /// unit-stride / broadcast-scalar layouts.
    @inline(__always)
    private func broadcast(_ shape: Broadcast, _ a: Pointer, _ b: Pointer, _ out: Pointer, _ f: (Float, Float) -> Float) {
        let count = shape.count
        guard count > 0 else { return }
        let dense = StridedRows.denseStrides(shape.shape)
        let rows = StridedRows(shape: shape.shape, strides: [shape.aStrides, shape.bStrides, dense])
        let length = rows.rowLength
        let (sa, sb) = (rows.rowStride(0), rows.rowStride(1))
        Parallel.forEach(rows.rowCount, grain: max(1, Parallel.elementGrain / max(length, 1))) { range in
            rows.forEachRow(range) { _, o in
                let (pa, pb, po) = (a + o[0], b + o[1], out + o[2])
                if sa == 1, sb == 1 {
                    for i in 0..<length { po[i] = f(pa[i], pb[i]) }
                } else if sa == 1, sb == 0 {
                    let bv = pb[0]
                    for i in 0..<length { po[i] = f(pa[i], bv) }
                } else if sa == 0, sb == 1 {
                    let av = pa[0]
                    for i in 0..<length { po[i] = f(av, pb[i]) }
                } else {
                    for i in 0..<length { po[i] = f(pa[i * sa], pb[i * sb]) }
                }
            }
        }
    }
}

extension StridedRows {
    /// Row-major element strides of a dense tensor of `shape`.
    static func denseStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = acc
            acc *= shape[d]
        }
        return strides
    }
}
