import Devices
import Foundation

/// Reference reductions and softmax over the middle axis of `[outer, extent, inner]`.
extension CPUReference {
    /// `y[o, i] = ⊕_r x[o, r, i]`; empty extents give 0 (sum, mean, sumOfSquares) or -inf (max).
    func reduce(_ op: ReduceOp, _ r: Reduction, x: Pointer, y: Pointer) {
        for o in 0..<r.outer {
            for i in 0..<r.inner {
                var sum = 0.0
                var maximum = -Double.infinity
                for e in 0..<r.extent {
                    let v = Double(x[(o * r.extent + e) * r.inner + i])
                    switch op {
                    case .sum, .mean: sum += v
                    case .sumOfSquares: sum += v * v
                    case .max: if v > maximum || v.isNaN { maximum = v }
                    }
                    if maximum.isNaN { break }
                }
                let out: Double
                switch op {
                case .sum, .sumOfSquares: out = sum
                case .mean: out = r.extent > 0 ? sum / Double(r.extent) : 0
                case .max: out = maximum
                }
                y[o * r.inner + i] = Float(out)
            }
        }
    }

    /// `y = exp(x − max) / Σ exp(x − max)` along the extent; `y` may alias `x`.
    func softmax(_ r: Reduction, x: Pointer, y: Pointer) {
        for o in 0..<r.outer {
            for i in 0..<r.inner {
                let at = { (e: Int) in (o * r.extent + e) * r.inner + i }
                var maximum = -Double.infinity
                for e in 0..<r.extent { maximum = max(maximum, Double(x[at(e)])) }
                var sum = 0.0
                for e in 0..<r.extent { sum += exp(Double(x[at(e)]) - maximum) }
                for e in 0..<r.extent { y[at(e)] = Float(exp(Double(x[at(e)]) - maximum) / sum) }
            }
        }
    }

    /// `dx = y · (dy − Σ_extent dy·y)`; `dx` may alias `dy`.
    func softmaxBackward(_ r: Reduction, y: Pointer, dy: Pointer, dx: Pointer) {
        for o in 0..<r.outer {
            for i in 0..<r.inner {
                let at = { (e: Int) in (o * r.extent + e) * r.inner + i }
                var dot = 0.0
                for e in 0..<r.extent { dot += Double(dy[at(e)]) * Double(y[at(e)]) }
                for e in 0..<r.extent { dx[at(e)] = Float(Double(y[at(e)]) * (Double(dy[at(e)]) - dot)) }
            }
        }
    }
}
