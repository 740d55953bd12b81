import Devices
import Foundation

/// Fast reductions over the middle axis of `[outer, extent, inner]` (softmax: `CPUFast+Softmax.swift`).
///
/// Sums run in Float over blocks of at most ``blockLength`` elements and are carried across
/// blocks in Double, so long reductions (a global gradient norm over millions of values) keep
/// near-Double accuracy at Float speed.
extension CPUFast {
    /// Elements summed in Float before the partial sum is moved into a Double.
    static let blockLength = 1024

    /// `y[o, i] = ⊕_r x[o, r, i]`; empty extents give 0 or -inf.
    func reduce(_ op: ReduceOp, _ r: Reduction, x: Pointer, y: Pointer) {
        let outputs = r.outer * r.inner
        guard outputs > 0 else { return }
        if r.extent == 0 {
            fill(count: outputs, value: op == .max ? -.infinity : 0, out: y)
            return
        }
        if outputs < Parallel.workers, r.extent >= 2 * Parallel.elementGrain {
            // Few outputs, long extent: split the extent over the cores and combine partials.
            for o in 0..<r.outer {
                for i in 0..<r.inner {
                    let partials = Parallel.map(r.extent) { range in
                        Self.reduceStrided(op, x + (o * r.extent + range.lowerBound) * r.inner + i,
                                           count: range.count, stride: r.inner)
                    }
                    let total = partials.dropFirst().reduce(partials[0]) { op == .max ? Self.maxNaN($0, $1) : $0 + $1 }
                    y[o * r.inner + i] = Float(Self.finish(op, total, extent: r.extent))
                }
            }
            return
        }
        if r.inner == 1 {
            Parallel.forEachItem(r.outer, itemCost: r.extent) { o in
                y[o] = Float(Self.finish(op, Self.reduceStrided(op, x + o * r.extent, count: r.extent, stride: 1),
                                         extent: r.extent))
            }
            return
        }
        // Inner > 1: items are (outer, slice of ≤ 512 inner positions); each accumulates whole
        // row slices, a unit-stride loop the compiler vectorises along the inner axis.
        let width = 512
        let slices = (r.inner + width - 1) / width
        Parallel.forEachItem(r.outer * slices, itemCost: r.extent * Swift.min(width, r.inner)) { item in
            let (o, slice) = item.quotientAndRemainder(dividingBy: slices)
            let i0 = slice * width
            let n = Swift.min(width, r.inner - i0)
            let acc = UnsafeMutablePointer<Double>.allocate(capacity: n)
            let block = UnsafeMutablePointer<Float>.allocate(capacity: n)
            defer { acc.deallocate(); block.deallocate() }
            acc.initialize(repeating: op == .max ? -.infinity : 0, count: n)
            var start = 0
            while start < r.extent {
                let end = Swift.min(start + Self.blockLength, r.extent)
                let first = x + (o * r.extent + start) * r.inner + i0
                for i in 0..<n { block[i] = op == .sumOfSquares ? first[i] * first[i] : first[i] }
                for e in (start + 1)..<Swift.max(end, start + 1) {
                    let row = x + (o * r.extent + e) * r.inner + i0
                    switch op {
                    case .sum, .mean: for i in 0..<n { block[i] += row[i] }
                    case .sumOfSquares: for i in 0..<n { block[i] += row[i] * row[i] }
                    case .max: for i in 0..<n { block[i] = Self.maxNaN(block[i], row[i]) }
                    }
                }
                for i in 0..<n {
                    acc[i] = op == .max ? Self.maxNaN(acc[i], Double(block[i])) : acc[i] + Double(block[i])
                }
                start = end
            }
            for i in 0..<n { y[o * r.inner + i0 + i] = Float(Self.finish(op, acc[i], extent: r.extent)) }
        }
    }

    // MARK: Helpers

    /// The raw reduction (sum, sum of squares or max) of `count` values `stride` apart.
    static func reduceStrided(_ op: ReduceOp, _ x: Pointer, count: Int, stride: Int) -> Double {
        var total: Double = op == .max ? -.infinity : 0
        var start = 0
        while start < count {
            let n = min(blockLength, count - start)
            let p = x + start * stride
            switch op {
            case .sum, .mean: total += Double(stride == 1 ? sumContiguous(p, n) : sumStrided(p, n, stride) { $0 })
            case .sumOfSquares:
                total += Double(stride == 1 ? sumOfSquaresContiguous(p, n) : sumStrided(p, n, stride) { $0 * $0 })
            case .max:
                var m = -Float.infinity
                for k in 0..<n { m = maxNaN(m, p[k * stride]) }
                total = maxNaN(total, Double(m))
            }
            start += n
        }
        return total
    }

    /// The larger value, NaN when either is NaN (as `torch.max`).
    @inline(__always)
    static func maxNaN<T: FloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }

    /// Mean divides by the extent; the others are already final.
    static func finish(_ op: ReduceOp, _ value: Double, extent: Int) -> Double {
        op == .mean ? value / Double(extent) : value
    }

    /// Sum of `n` contiguous floats with 16 independent lanes (vectorises without reassociation flags).
    @inline(__always)
    static func sumContiguous(_ p: Pointer, _ n: Int) -> Float {
        var lanes = SIMD16<Float>()
        var k = 0
        while k + 16 <= n {
            lanes += UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<Float>.self)
            k += 16
        }
        var total = lanes.sum()
        while k < n { total += p[k]; k += 1 }
        return total
    }

    /// Sum of squares of `n` contiguous floats with 16 independent lanes.
    @inline(__always)
    static func sumOfSquaresContiguous(_ p: Pointer, _ n: Int) -> Float {
        var lanes = SIMD16<Float>()
        var k = 0
        while k + 16 <= n {
            let v = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<Float>.self)
            lanes += v * v   // not addProduct: without FMA in the target it becomes a libm call per lane
            k += 16
        }
        var total = lanes.sum()
        while k < n { total += p[k] * p[k]; k += 1 }
        return total
    }

    @inline(__always)
    static func sumStrided(_ p: Pointer, _ n: Int, _ stride: Int, _ f: (Float) -> Float) -> Float {
        var total: Float = 0
        for k in 0..<n { total += f(p[k * stride]) }
        return total
    }
}
