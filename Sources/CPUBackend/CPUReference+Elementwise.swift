import Foundation
import Devices

/// Reference unary and binary elementwise kernels, evaluated in Double and rounded once.
extension CPUReference {
    /// `y[i] = f(x[i])`; `y` may alias `x` (each element is read before it is written).
    func unary(_ op: UnaryOp, count: Int, x: Pointer, y: Pointer) {
        for i in 0..<count { y[i] = Float(Self.value(op, Double(x[i]))) }
    }

    /// `dx[i] = dy[i] · f'(x[i])`; `dx` may alias `dy`.
    func unaryBackward(_ op: UnaryOp, count: Int, x: Pointer, dy: Pointer, dx: Pointer) {
        for i in 0..<count { dx[i] = Float(Double(dy[i]) * Self.derivative(op, Double(x[i]))) }
    }

    /// `out[i] = a[·] ∘ b[·]` over the broadcast shape, `out` dense.
    func binary(_ op: BinaryOp, _ b: Broadcast, a: Pointer, b bp: Pointer, out: Pointer) {
        var i = 0
        referenceForEachIndex(b.shape, [b.aStrides, b.bStrides]) { o in
            out[i] = Float(Self.value(op, Double(a[o[0]]), Double(bp[o[1]])))
            i += 1
        }
    }

    /// `f(x)` in Double.
    static func value(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .identity: return x
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .relu: return x > 0 ? x : 0
        case .silu: return x / (1 + exp(-x))
        case .sigmoid: return 1 / (1 + exp(-x))
        case .tanh: return tanh(x)
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .exp: return exp(x)
        case .log: return log(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .sin: return sin(x)
        case .cos: return cos(x)
        case .square: return x * x
        case .reciprocal: return 1 / x
        case let .affine(scale, shift): return Double(scale) * x + Double(shift)
        case let .clamp(low, high): return Swift.min(Swift.max(x, Double(low)), Double(high))
        }
    }

    /// `f'(x)` in Double; at kinks the one-sided value PyTorch uses (relu'(0) = 0, |x|'(0) = 0).
    static func derivative(_ op: UnaryOp, _ x: Double) -> Double {
        switch op {
        case .identity: return 1
        case .neg: return -1
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .relu: return x > 0 ? 1 : 0
        case .silu:
            let s = 1 / (1 + exp(-x))
            return s * (1 + x * (1 - s))
        case .sigmoid:
            let s = 1 / (1 + exp(-x))
            return s * (1 - s)
        case .tanh:
            let t = tanh(x)
            return 1 - t * t
        case .gelu:
            let cdf = 0.5 * (1 + erf(x / 2.0.squareRoot()))
            let pdf = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
            return cdf + x * pdf
        case .exp: return exp(x)
        case .log: return 1 / x
        case .sqrt: return 0.5 / x.squareRoot()
        case .rsqrt: return -0.5 / (x * x.squareRoot())
        case .sin: return cos(x)
        case .cos: return -sin(x)
        case .square: return 2 * x
        case .reciprocal: return -1 / (x * x)
        case let .affine(scale, _): return Double(scale)
        case let .clamp(low, high): return x > Double(low) && x < Double(high) ? 1 : 0
        }
    }

    /// `a ∘ b` in Double; maximum and minimum propagate NaN, as `torch.maximum` does.
    static func value(_ op: BinaryOp, _ a: Double, _ b: Double) -> Double {
        switch op {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .maximum: return a.isNaN || b.isNaN ? .nan : Swift.max(a, b)
        case .minimum: return a.isNaN || b.isNaN ? .nan : Swift.min(a, b)
        }
    }
}
