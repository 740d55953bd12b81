import Devices

/// Reductions, softmax and normalisation.
extension GraphBuilder {
    /// Reduces `axes` (any set; each run of adjacent axes is one kernel).
    ///
    /// With `keepDims` the reduced axes stay as extent 1 (`torch.sum(..., keepdim=True)`).
    public func reduce(_ op: ReduceOp, _ x: Tensor, axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let sorted = Array(Set(axes)).sorted()
        guard !sorted.isEmpty, sorted.allSatisfy({ $0 >= 0 && $0 < x.rank }) else {
            throw problem("reduce.\(op.rawValue)", [x], "axes \(axes) are empty or out of range for rank \(x.rank)")
        }
        if op == .max || op == .sumOfSquares, runs(of: sorted).count > 1 {
            throw problem("reduce.\(op.rawValue)", [x], "axes \(axes) must be adjacent for \(op.rawValue)")
        }
        var y = x
        // Reduce the innermost run first so the outer axis numbers stay valid.
        for run in runs(of: sorted).reversed() {
            let runOp: ReduceOp = op == .mean ? .mean : op
            y = try apply1(.reduce(runOp, first: run.lowerBound, count: run.count), [y])
        }
        if keepDims {
            var shape = x.shape
            for a in sorted { shape[a] = 1 }
            y = try reshape(y, shape)
        }
        return y
    }

    /// Sum over `axes`.
    public func sum(_ x: Tensor, axes: [Int], keepDims: Bool = false) throws -> Tensor {
        try reduce(.sum, x, axes: axes, keepDims: keepDims)
    }

    /// Mean over `axes`.
    public func mean(_ x: Tensor, axes: [Int], keepDims: Bool = false) throws -> Tensor {
        try reduce(.mean, x, axes: axes, keepDims: keepDims)
    }

    /// Sum of every element, as a scalar `[]`.
    public func sumAll(_ x: Tensor) throws -> Tensor {
        if x.rank == 0 { return x }
        return try sum(x, axes: Array(0..<x.rank))
    }

    /// Mean of every element, as a scalar `[]`.
    public func meanAll(_ x: Tensor) throws -> Tensor {
        if x.rank == 0 { return x }
        return try mean(x, axes: Array(0..<x.rank))
    }

    /// Max-subtracted softmax along `axis`.
    public func softmax(_ x: Tensor, axis: Int) throws -> Tensor { try apply1(.softmax(axis: axis), [x]) }

    /// The reference Unet's RMSNorm: `x / max(‖x‖₂ over C, eps) · g · √C` for `x` `[N, C, ...]`
    /// and `g` with C elements (any shape, e.g. the state_dict's `[1, C, 1, 1]`).
    public func rmsNorm(_ x: Tensor, gain g: Tensor, eps: Float = 1e-12) throws -> Tensor {
        try apply1(.rmsNorm(eps: eps), [x, g])
    }

    /// `silu(rmsNorm(x, gain: g) · (scale + 1) + shift)` in one kernel, the reference ResnetBlock's
    /// `block1` (with `scaleShift` `[N, 2C]`: scale, then shift, as `chunk(2, dim=1)` splits it)
    /// and `block2` (without). Equal to ``rmsNorm(_:gain:eps:)``, ``scaleShift(_:scale:shift:)``
    /// and ``silu(_:)`` up to rounding.
    public func rmsNormScaleShiftSilu(_ x: Tensor, gain g: Tensor, scaleShift: Tensor? = nil, eps: Float = 1e-12) throws -> Tensor {
        try apply1(.rmsNormScaleShiftSilu(eps: eps), [x, g] + (scaleShift.map { [$0] } ?? []))
    }

    /// Group norm of `x` `[N, C, ...]` with per-channel `gamma`, `beta`.
    public func groupNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, groups: Int, eps: Float = 1e-5) throws -> Tensor {
        try apply1(.groupNorm(groups: groups, eps: eps), [x, gamma, beta])
    }

    /// Maximal runs of consecutive integers in a sorted list.
    private func runs(of sorted: [Int]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        for a in sorted {
            if let last = result.last, last.upperBound == a {
                result[result.count - 1] = last.lowerBound..<(a + 1)
            } else {
                result.append(a..<(a + 1))
            }
        }
        return result
    }
}
