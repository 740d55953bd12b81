import Devices

/// Elementwise functions and arithmetic with NumPy broadcasting.
extension GraphBuilder {
    /// `f(x)` elementwise.
    public func unary(_ op: UnaryOp, _ x: Tensor) throws -> Tensor { try apply1(.unary(op), [x]) }

    /// `x · sigmoid(x)`.
    public func silu(_ x: Tensor) throws -> Tensor { try unary(.silu, x) }
    /// Exact GELU with the error function (`nn.GELU()`).
    public func gelu(_ x: Tensor) throws -> Tensor { try unary(.gelu, x) }
    public func relu(_ x: Tensor) throws -> Tensor { try unary(.relu, x) }
    public func sigmoid(_ x: Tensor) throws -> Tensor { try unary(.sigmoid, x) }
    public func tanh(_ x: Tensor) throws -> Tensor { try unary(.tanh, x) }
    public func exp(_ x: Tensor) throws -> Tensor { try unary(.exp, x) }
    public func log(_ x: Tensor) throws -> Tensor { try unary(.log, x) }
    public func sqrt(_ x: Tensor) throws -> Tensor { try unary(.sqrt, x) }
    public func rsqrt(_ x: Tensor) throws -> Tensor { try unary(.rsqrt, x) }
    public func square(_ x: Tensor) throws -> Tensor { try unary(.square, x) }
    public func neg(_ x: Tensor) throws -> Tensor { try unary(.neg, x) }
    public func sin(_ x: Tensor) throws -> Tensor { try unary(.sin, x) }
    public func cos(_ x: Tensor) throws -> Tensor { try unary(.cos, x) }
    public func reciprocal(_ x: Tensor) throws -> Tensor { try unary(.reciprocal, x) }

    /// `scale · x + shift` in one kernel.
    public func affine(_ x: Tensor, scale: Float = 1, shift: Float = 0) throws -> Tensor {
        try unary(.affine(scale: scale, shift: shift), x)
    }

    /// `min(max(x, low), high)`.
    public func clamp(_ x: Tensor, low: Float, high: Float) throws -> Tensor {
        try unary(.clamp(low: low, high: high), x)
    }

    /// `a ∘ b` with NumPy broadcasting (right-aligned shapes, extents equal or 1).
    public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor) throws -> Tensor { try apply1(.binary(op), [a, b]) }

    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.add, a, b) }
    public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.sub, a, b) }
    public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.mul, a, b) }
    public func div(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.div, a, b) }
    public func maximum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.maximum, a, b) }
    public func minimum(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.minimum, a, b) }

    /// `x · s` for a constant scalar (one affine kernel).
    public func mul(_ x: Tensor, _ s: Float) throws -> Tensor { try affine(x, scale: s) }
    /// `x + s` for a constant scalar (one affine kernel).
    public func add(_ x: Tensor, _ s: Float) throws -> Tensor { try affine(x, shift: s) }

    /// The reference Unet's FiLM: `x · (scale + 1) + shift`, with `scale`, `shift` `[N, C]`
    /// broadcast over the spatial axes of `x` `[N, C, H, W]`.
    public func scaleShift(_ x: Tensor, scale: Tensor, shift: Tensor) throws -> Tensor {
        guard x.rank >= 2, scale.shape == [x.shape[0], x.shape[1]], shift.shape == scale.shape else {
            throw problem("scale_shift", [x, scale, shift], "scale and shift must be [N, C] of x [N, C, ...]")
        }
        let spatial = Array(repeating: 1, count: x.rank - 2)
        let s = try reshape(scale, scale.shape + spatial)
        let b = try reshape(shift, shift.shape + spatial)
        // A binary add with a scalar reads the `scale` half of the FiLM projection in place; an
        // affine kernel would first need a dense copy of that strided view.
        return try add(mul(x, add(s, scalar(1))), b)
    }
}
