import Foundation

/// A Float → Float function as a type, so generic loops specialise on it.
///
/// The fast elementwise loops run inside `concurrentPerform` closures; a per-op *closure* passed
/// down two closure levels stays an indirect call per element (measured 8x slower for `neg`),
/// whereas a generic parameter is resolved at compile time, inlined and vectorised.
protocol UnaryFunction {
    func callAsFunction(_ x: Float) -> Float
}

/// `(x, dy) → dx` for unary backward passes, as a type.
protocol UnaryGradient {
    func callAsFunction(_ x: Float, _ dy: Float) -> Float
}

/// `(a, b) → out` for binary ops, as a type.
protocol BinaryFunction {
    func callAsFunction(_ a: Float, _ b: Float) -> Float
}

/// The fast path's elementwise functions (Float arithmetic; exp through ``FastMath``).
enum Fn {
    struct Neg: UnaryFunction { func callAsFunction(_ x: Float) -> Float { -x } }
    struct Abs: UnaryFunction { func callAsFunction(_ x: Float) -> Float { Swift.abs(x) } }
    struct Relu: UnaryFunction { func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 } }
    struct Silu: UnaryFunction { func callAsFunction(_ x: Float) -> Float { x / (1 + FastMath.exp(-x)) } }
    struct Sigmoid: UnaryFunction { func callAsFunction(_ x: Float) -> Float { 1 / (1 + FastMath.exp(-x)) } }
    struct Tanh: UnaryFunction { func callAsFunction(_ x: Float) -> Float { Foundation.tanh(x) } }
    struct Gelu: UnaryFunction {
        func callAsFunction(_ x: Float) -> Float { 0.5 * x * (1 + Foundation.erf(x * 0.707_106_781_186_547_52)) }
    }
    struct Exp: UnaryFunction { func callAsFunction(_ x: Float) -> Float { FastMath.exp(x) } }
    struct Log: UnaryFunction { func callAsFunction(_ x: Float) -> Float { Foundation.log(x) } }
    struct Sqrt: UnaryFunction { func callAsFunction(_ x: Float) -> Float { x.squareRoot() } }
    struct Rsqrt: UnaryFunction { func callAsFunction(_ x: Float) -> Float { 1 / x.squareRoot() } }
    struct Sin: UnaryFunction { func callAsFunction(_ x: Float) -> Float { Foundation.sin(x) } }
    struct Cos: UnaryFunction { func callAsFunction(_ x: Float) -> Float { Foundation.cos(x) } }
    struct Square: UnaryFunction { func callAsFunction(_ x: Float) -> Float { x * x } }
    struct Reciprocal: UnaryFunction { func callAsFunction(_ x: Float) -> Float { 1 / x } }
    struct Affine: UnaryFunction {
        let scale: Float, shift: Float
        func callAsFunction(_ x: Float) -> Float { scale * x + shift }
    }
    struct Clamp: UnaryFunction {
        let low: Float, high: Float
        func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, low), high) }
    }

    // MARK: Derivatives: dx = dy · f'(x)

    struct IdentityGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { g } }
    struct NegGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { -g } }
    struct AbsGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { x > 0 ? g : (x < 0 ? -g : 0) } }
    struct ReluGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { x > 0 ? g : 0 } }
    struct SiluGrad: UnaryGradient {
        func callAsFunction(_ x: Float, _ g: Float) -> Float {
            let s = 1 / (1 + FastMath.exp(-x))
            return g * s * (1 + x * (1 - s))
        }
    }
    struct SigmoidGrad: UnaryGradient {
        func callAsFunction(_ x: Float, _ g: Float) -> Float {
            let s = 1 / (1 + FastMath.exp(-x))
            return g * s * (1 - s)
        }
    }
    struct TanhGrad: UnaryGradient {
        func callAsFunction(_ x: Float, _ g: Float) -> Float {
            let t = Foundation.tanh(x)
            return g * (1 - t * t)
        }
    }
    struct GeluGrad: UnaryGradient {
        func callAsFunction(_ x: Float, _ g: Float) -> Float {
            let cdf = 0.5 * (1 + Foundation.erf(x * 0.707_106_781_186_547_52))
            return g * (cdf + x * FastMath.exp(-0.5 * x * x) * 0.398_942_280_401_432_68)
        }
    }
    struct ExpGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { g * FastMath.exp(x) } }
    struct LogGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { g / x } }
    struct SqrtGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { 0.5 * g / x.squareRoot() } }
    struct RsqrtGrad: UnaryGradient {
        func callAsFunction(_ x: Float, _ g: Float) -> Float { -0.5 * g / (x * x.squareRoot()) }
    }
    struct SinGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { g * Foundation.cos(x) } }
    struct CosGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { -g * Foundation.sin(x) } }
    struct SquareGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { 2 * x * g } }
    struct ReciprocalGrad: UnaryGradient { func callAsFunction(_ x: Float, _ g: Float) -> Float { -g / (x * x) } }
    struct AffineGrad: UnaryGradient {
        let scale: Float
        func callAsFunction(_ x: Float, _ g: Float) -> Float { scale * g }
    }
    struct ClampGrad: UnaryGradient {
        let low: Float, high: Float
        func callAsFunction(_ x: Float, _ g: Float) -> Float { x > low && x < high ? g : 0 }
    }

    // MARK: Binary

    struct Add: BinaryFunction { func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
    struct Sub: BinaryFunction { func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
    struct Mul: BinaryFunction { func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
    struct Div: BinaryFunction { func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
    /// NaN-propagating, as `torch.maximum`.
    struct Maximum: BinaryFunction {
        func callAsFunction(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.max(a, b) }
    }
    /// NaN-propagating, as `torch.minimum`.
    struct Minimum: BinaryFunction {
        func callAsFunction(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : Swift.min(a, b) }
    }
}
