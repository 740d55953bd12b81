import Devices

extension CaseCatalog {
    static func unaryCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        for op in UnaryOp.allCases {
            for n in oddCounts { cases.append(KernelCase(.unary(op, count: n))) }
            // Saturation and overflow (sigmoid(±1e30), exp(100) = inf, tanh(1e30) = 1). Huge
            // arguments of sin and cos are left out: their argument reduction is not pinned down.
            if op != .sin && op != .cos {
                cases.append(KernelCase(.unary(op, count: 64), variant: "special values", inputs: .specialValues))
            }
        }
        cases.append(KernelCase(.unary(.silu, count: 0)))
        for op in [UnaryOp.silu, .gelu, .affine(scale: 2, shift: 1)] {
            cases.append(.inPlace(.unary(op, count: 4099), output: 1, input: 0))
        }
        for op in [UnaryOp.sin, .cos, .exp] {
            cases.append(KernelCase(.unary(op, count: 1027), variant: "inputs ×10", inputs: .scaled(10)))
        }
        // Unet activations: SiLU after every block, [N, 64, 32, 32].
        cases.append(KernelCase(.unary(.silu, count: 2 * 64 * 1024)))
        cases.append(KernelCase(.unary(.silu, count: 16 * 64 * 1024), heavy: true))
        return cases
    }

    static func unaryBackwardCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        for op in UnaryOp.allCases {
            for n in [3, 129] { cases.append(KernelCase(.unaryBackward(op, count: n))) }
        }
        cases.append(.inPlace(.unaryBackward(.silu, count: 1027), output: 2, input: 1))
        cases.append(KernelCase(.unaryBackward(.gelu, count: 2 * 64 * 1024)))
        return cases
    }

    static func binaryCases() -> [KernelCase] {
        var cases: [KernelCase] = []
        let patterns: [Broadcast] = [
            .dense(1),
            .dense(1027),
            // Per-channel scale or bias of a feature map: [2, 8, 5, 5] ∘ [8, 1, 1].
            .numpy([2, 8, 5, 5], [8, 1, 1]),
            // Row vector over a matrix, and the reverse (a broadcast, b dense).
            .numpy([4, 33], [33]),
            .numpy([1, 33], [4, 33]),
            // Outer broadcast: both operands broadcast.
            .numpy([7, 1], [1, 9]),
            // Transposed a read against dense b.
            Broadcast(shape: [5, 7], aStrides: [1, 5], bStrides: [7, 1]),
        ]
        for op in BinaryOp.allCases {
            for pattern in patterns { cases.append(KernelCase(.binary(op, pattern))) }
        }
        // A reversed operand (negative stride).
        cases.append(KernelCase(.binary(.sub, Broadcast(shape: [4, 9], aStrides: [9, -1], bStrides: [9, 1]))))
        // Rank 6, a scalar operand, and empty shapes.
        cases.append(KernelCase(.binary(.add, .numpy([2, 3, 1, 2, 3, 2], [3, 1, 2, 1, 1]))))
        cases.append(KernelCase(.binary(.mul, .numpy([3, 17], [1]))))
        cases.append(KernelCase(.binary(.sub, .numpy([0, 3], [3]))))
        cases.append(KernelCase(.binary(.add, .dense(0))))
        // In place: out reuses a dense a (residual additions).
        cases.append(.inPlace(.binary(.add, .numpy([4, 33], [33])), output: 2, input: 0))
        cases.append(.inPlace(.binary(.mul, .dense(1027)), output: 2, input: 1))
        // Unet: scale-shift from the time embedding, [N, 128, 16, 16] ∘ [N, 128, 1, 1].
        cases.append(KernelCase(.binary(.mul, .numpy([2, 128, 16, 16], [2, 128, 1, 1]))))
        cases.append(KernelCase(.binary(.add, .numpy([16, 128, 16, 16], [16, 128, 1, 1])), heavy: true))
        return cases
    }
}
