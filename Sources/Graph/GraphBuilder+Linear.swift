import Devices

/// Matrix products, linear layers and convolutions.
extension GraphBuilder {
    /// Batched `alpha · op(a) · op(b)`: `a` `[..., M, K]`, `b` `[..., K, N]` (transposed when asked);
    /// batch axes equal, or one operand a plain `[rows, cols]` matrix shared by the batch.
    public func matmul(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false, alpha: Float = 1) throws -> Tensor {
        try apply1(.matmul(Matmul(transA: transA, transB: transB, alpha: alpha)), [a, b])
    }

    /// `nn.Linear`: `x` `[..., in]`, `weight` `[out, in]`, `bias` `[out]` → `[..., out]` (one GEMM with a bias epilogue).
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        guard x.rank >= 1, weight.rank == 2, x.shape[x.rank - 1] == weight.shape[1] else {
            throw problem("linear", [x, weight], "x [..., in] and weight [out, in] do not match")
        }
        let rows = x.count / x.shape[x.rank - 1]
        let x2 = try reshape(x, [rows, weight.shape[1]])
        var inputs = [x2, weight]
        if let bias { inputs.append(bias) }
        let y = try apply1(.matmul(Matmul(transB: true, bias: bias == nil ? .none : .perColumn)), inputs)
        return try reshape(y, Array(x.shape.dropLast()) + [weight.shape[0]])
    }

    /// `nn.Conv2d` with stride 1: `x` `[N, Cin, H, W]`, `weight` `[Cout, Cin, KH, KW]`, optional `bias` `[Cout]`.
    /// `padding` defaults to "same" (`KH/2`).
    public func conv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, padding: Int? = nil) throws -> Tensor {
        guard weight.rank == 4 else { throw problem("conv2d", [x, weight], "weight must be [Cout, Cin, KH, KW]") }
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let conv = Convolution(kernelHeight: kh, kernelWidth: kw, padHeight: padding ?? kh / 2,
                               padWidth: padding ?? kw / 2, hasBias: bias != nil)
        return try apply1(.conv2d(conv), bias.map { [x, weight, $0] } ?? [x, weight])
    }
}
