import Devices

/// Reference strided batched GEMM: a triple loop with a Double accumulator.
extension CPUReference {
    /// `C_b = α · op(A_b) · op(B_b) + β · C_b (+ bias)`, row-major; `β == 0` never reads `C`.
    func gemm(_ g: Gemm, a: Pointer, b: Pointer, c: Pointer, bias: Pointer?) {
        for batch in 0..<g.batch {
            let aBase = a + batch * g.strideA
            let bBase = b + batch * g.strideB
            let cBase = c + batch * g.strideC
            for i in 0..<g.m {
                for j in 0..<g.n {
                    var sum = 0.0
                    for p in 0..<g.k {
                        let av = g.transA ? aBase[p * g.lda + i] : aBase[i * g.lda + p]
                        let bv = g.transB ? bBase[j * g.ldb + p] : bBase[p * g.ldb + j]
                        sum += Double(av) * Double(bv)
                    }
                    var value = Double(g.alpha) * sum
                    if g.beta != 0 { value += Double(g.beta) * Double(cBase[i * g.ldc + j]) }
                    switch g.bias {
                    case .none: break
                    case .perRow: value += Double(bias![i])
                    case .perColumn: value += Double(bias![j])
                    }
                    cBase[i * g.ldc + j] = Float(value)
                }
            }
        }
    }
}
