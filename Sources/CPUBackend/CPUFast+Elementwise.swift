import Devices
import Foundation

/// Fast unary and binary elementwise kernels in Float.
///
/// Each op is a function *type* (``Fn``) handed to a generic loop, so the compiler specialises
/// one loop per op and, for arithmetic ops and ``FastMath/exp(_:)``, vectorises it; loops split
/// over the cores when large. tanh, GELU's erf, log, sin and cos remain libm calls.
extension CPUFast {
    /// `y[i] = f(x[i])`; `y` may alias `x`.
    func unary(_ op: UnaryOp, count: Int, x: Pointer, y: Pointer) {
        switch op {
        case .identity: if x != y { Parallel.forEach(count) { r in (y + r.lowerBound).update(from: x + r.lowerBound, count: r.count) } }
        case .neg: Self.map(Fn.Neg(), count, x, y)
        case .abs: Self.map(Fn.Abs(), count, x, y)
        case .relu: Self.map(Fn.Relu(), count, x, y)
        case .silu: Self.map(Fn.Silu(), count, x, y)
        case .sigmoid: Self.map(Fn.Sigmoid(), count, x, y)
        case .tanh: Self.map(Fn.Tanh(), count, x, y)
        case .gelu: Self.map(Fn.Gelu(), count, x, y)
        case .exp: Self.map(Fn.Exp(), count, x, y)
        case .log: Self.map(Fn.Log(), count, x, y)
        case .sqrt: Self.map(Fn.Sqrt(), count, x, y)
        case .rsqrt: Self.map(Fn.Rsqrt(), count, x, y)
        case .sin: Self.map(Fn.Sin(), count, x, y)
        case .cos: Self.map(Fn.Cos(), count, x, y)
        case .square: Self.map(Fn.Square(), count, x, y)
        case .reciprocal: Self.map(Fn.Reciprocal(), count, x, y)
        case let .affine(scale, shift): Self.map(Fn.Affine(scale: scale, shift: shift), count, x, y)
        case let .clamp(low, high): Self.map(Fn.Clamp(low: low, high: high), count, x, y)
        }
    }

    /// `dx[i] = dy[i] · f'(x[i])`; `dx` may alias `dy`.
    func unaryBackward(_ op: UnaryOp, count: Int, x: Pointer, dy: Pointer, dx: Pointer) {
        switch op {
        case .identity: Self.zip(Fn.IdentityGrad(), count, x, dy, dx)
        case .neg: Self.zip(Fn.NegGrad(), count, x, dy, dx)
        case .abs: Self.zip(Fn.AbsGrad(), count, x, dy, dx)
        case .relu: Self.zip(Fn.ReluGrad(), count, x, dy, dx)
        case .silu: Self.zip(Fn.SiluGrad(), count, x, dy, dx)
        case .sigmoid: Self.zip(Fn.SigmoidGrad(), count, x, dy, dx)
        case .tanh: Self.zip(Fn.TanhGrad(), count, x, dy, dx)
        case .gelu: Self.zip(Fn.GeluGrad(), count, x, dy, dx)
        case .exp: Self.zip(Fn.ExpGrad(), count, x, dy, dx)
        case .log: Self.zip(Fn.LogGrad(), count, x, dy, dx)
        case .sqrt: Self.zip(Fn.SqrtGrad(), count, x, dy, dx)
        case .rsqrt: Self.zip(Fn.RsqrtGrad(), count, x, dy, dx)
        case .sin: Self.zip(Fn.SinGrad(), count, x, dy, dx)
        case .cos: Self.zip(Fn.CosGrad(), count, x, dy, dx)
        case .square: Self.zip(Fn.SquareGrad(), count, x, dy, dx)
        case .reciprocal: Self.zip(Fn.ReciprocalGrad(), count, x, dy, dx)
        case let .affine(scale, _): Self.zip(Fn.AffineGrad(scale: scale), count, x, dy, dx)
        case let .clamp(low, high): Self.zip(Fn.ClampGrad(low: low, high: high), count, x, dy, dx)
        }
    }

    /// `out[i] = a[·] ∘ b[·]` over the broadcast shape; `out` is dense and may alias a dense input.
    func binary(_ op: BinaryOp, _ shape: Broadcast, a: Pointer, b: Pointer, out: Pointer) {
        switch op {
        case .add: Self.broadcast(Fn.Add(), shape, a, b, out)
        case .sub: Self.broadcast(Fn.Sub(), shape, a, b, out)
        case .mul: Self.broadcast(Fn.Mul(), shape, a, b, out)
        case .div: Self.broadcast(Fn.Div(), shape, a, b, out)
        case .maximum: Self.broadcast(Fn.Maximum(), shape, a, b, out)
        case .minimum: Self.broadcast(Fn.Minimum(), shape, a, b, out)
        }
    }

    // MARK: Loops

    // In-place launches (the memory planner runs most elementwise nodes over a dying input) get
    // loops over one pointer per array: the compiler vectorises a loop whose output may alias an
    // input only behind a runtime overlap check, and an exactly aliased pair fails that check and
    // runs scalar (measured 4.6x slower for SiLU). With the output named as the input it reads,
    // there is nothing to check.

    static func map<F: UnaryFunction>(_ f: F, _ count: Int, _ x: Pointer, _ y: Pointer) {
        Parallel.forEach(count) { range in
            if x == y {
                for i in range { x[i] = f(x[i]) }
            } else {
                for i in range { y[i] = f(x[i]) }
            }
        }
    }

    static func zip<F: UnaryGradient>(_ f: F, _ count: Int, _ x: Pointer, _ dy: Pointer, _ dx: Pointer) {
        Parallel.forEach(count) { range in
            if dx == dy {
                for i in range { dy[i] = f(x[i], dy[i]) }
            } else {
                for i in range { dx[i] = f(x[i], dy[i]) }
            }
        }
    }

    /// Rows of the fused broadcast space; the inner loop is specialised for the common
    /// unit-stride / broadcast-scalar layouts.
    static func broadcast<F: BinaryFunction>(_ f: F, _ shape: Broadcast, _ a: Pointer, _ b: Pointer, _ out: Pointer) {
        guard shape.count > 0 else { return }
        let dense = StridedRows.denseStrides(shape.shape)
        let rows = StridedRows(shape: shape.shape, strides: [shape.aStrides, shape.bStrides, dense])
        let length = rows.rowLength
        let (sa, sb) = (rows.rowStride(0), rows.rowStride(1))
        if rows.rowCount == 1 {
            // One long row (dense or one broadcast side): split the row itself over the cores.
            let (pa, pb) = (a + rows.bases[0], b + rows.bases[1])
            Parallel.forEach(length) { range in row(f, pa, sa, pb, sb, out, range) }
            return
        }
        Parallel.forEach(rows.rowCount, grain: max(1, Parallel.elementGrain / max(length, 1))) { range in
            rows.forEachRow(range) { _, o in row(f, a + o[0], sa, b + o[1], sb, out + o[2], 0..<length) }
        }
    }

    /// `out[i] = f(a[i·sa], b[i·sb])` for `i` in `range`, with the unit/zero-stride cases split out.
    @inline(__always)
    static func row<F: BinaryFunction>(_ f: F, _ a: Pointer, _ sa: Int, _ b: Pointer, _ sb: Int, _ out: Pointer,
                                       _ range: Range<Int>) {
        // Output aliasing an input gets its own loop, as in ``map(_:_:_:_:)``.
        if sa == 1, sb == 1 {
            if out == a {
                for i in range { a[i] = f(a[i], b[i]) }
            } else if out == b {
                for i in range { b[i] = f(a[i], b[i]) }
            } else {
                for i in range { out[i] = f(a[i], b[i]) }
            }
        } else if sa == 1, sb == 0 {
            let bv = b[0]
            if out == a {
                for i in range { a[i] = f(a[i], bv) }
            } else {
                for i in range { out[i] = f(a[i], bv) }
            }
        } else if sa == 0, sb == 1 {
            let av = a[0]
            if out == b {
                for i in range { b[i] = f(av, b[i]) }
            } else {
                for i in range { out[i] = f(av, b[i]) }
            }
        } else {
            for i in range { out[i] = f(a[i * sa], b[i * sb]) }
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
