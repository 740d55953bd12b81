import Devices

/// Views, permutations, slices, concatenation and 2-D resampling.
extension GraphBuilder {
    /// The same elements under `shape`; one extent may be `-1` (inferred). Free: a view.
    public func reshape(_ x: Tensor, _ shape: [Int]) throws -> Tensor {
        var shape = shape
        let unknown = shape.indices.filter { shape[$0] == -1 }
        if unknown.count > 1 { throw problem("reshape", [x], "more than one -1 in \(shape)") }
        if let i = unknown.first {
            let known = shape.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            guard known > 0, x.count % known == 0 else {
                throw problem("reshape", [x], "cannot reshape \(x.count) elements to \(shape)")
            }
            shape[i] = x.count / known
        }
        if shape == x.shape { return x }
        return try apply1(.reshape(shape), [x])
    }

    /// Collapses axes `from...` into one.
    public func flatten(_ x: Tensor, from axis: Int = 1) throws -> Tensor {
        guard axis >= 0, axis < x.rank else { throw problem("flatten", [x], "axis \(axis) is out of range") }
        return try reshape(x, Array(x.shape[..<axis]) + [x.shape[axis...].reduce(1, *)])
    }

    /// Axis permutation: result axis `i` is input axis `perm[i]` (`torch.permute`).
    public func permute(_ x: Tensor, _ perm: [Int]) throws -> Tensor {
        if perm == Array(0..<x.rank) { return x }
        return try apply1(.permute(perm), [x])
    }

    /// Swaps two axes.
    public func transpose(_ x: Tensor, _ a: Int, _ b: Int) throws -> Tensor {
        guard a >= 0, b >= 0, a < x.rank, b < x.rank else { throw problem("transpose", [x], "axes \(a), \(b) out of range") }
        var perm = Array(0..<x.rank)
        perm.swapAt(a, b)
        return try permute(x, perm)
    }

    /// `length` entries of `axis` from `start`.
    public func slice(_ x: Tensor, axis: Int, start: Int, length: Int) throws -> Tensor {
        if axis >= 0, axis < x.rank, start == 0, length == x.shape[axis] { return x }
        return try apply1(.slice(axis: axis, start: start, length: length), [x])
    }

    /// Splits `axis` into pieces of the given sizes (which must add up to the extent).
    public func split(_ x: Tensor, axis: Int, sizes: [Int]) throws -> [Tensor] {
        guard axis >= 0, axis < x.rank, sizes.reduce(0, +) == x.shape[axis] else {
            throw problem("split", [x], "sizes \(sizes) do not add up to axis \(axis) of \(x.shape)")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(x, axis: axis, start: start, length: size)
        }
    }

    /// Splits `axis` into `count` equal pieces (`torch.chunk` with an exact division).
    public func chunk(_ x: Tensor, _ count: Int, axis: Int) throws -> [Tensor] {
        guard count > 0, axis >= 0, axis < x.rank, x.shape[axis] % count == 0 else {
            throw problem("chunk", [x], "axis \(axis) of \(x.shape) does not split into \(count) equal pieces")
        }
        return try split(x, axis: axis, sizes: Array(repeating: x.shape[axis] / count, count: count))
    }

    /// Concatenation along `axis`, in order (`torch.cat`).
    public func concat(_ xs: [Tensor], axis: Int) throws -> Tensor {
        if xs.count == 1 { return xs[0] }
        return try apply1(.concat(axis: axis), xs)
    }

    /// Zero padding of `axis`: `before` zeros, the tensor, `after` zeros.
    public func pad(_ x: Tensor, axis: Int, before: Int, after: Int) throws -> Tensor {
        try apply1(.pad(axis: axis, before: before, after: after), [x])
    }

    /// NumPy broadcast of `x` to `shape` (a stride-0 view, materialised only where needed).
    public func expand(_ x: Tensor, to shape: [Int]) throws -> Tensor {
        if shape == x.shape { return x }
        return try apply1(.expand(shape), [x])
    }

    /// `x` as a constant for differentiation (`detach`): the self-conditioning prediction, targets.
    public func stopGradient(_ x: Tensor) throws -> Tensor { try apply1(.stopGradient, [x]) }

    /// Space-to-depth (`nn.PixelUnshuffle(factor)`): `[N, C, H, W] → [N, C·f², H/f, W/f]`.
    public func pixelUnshuffle(_ x: Tensor, _ factor: Int = 2) throws -> Tensor {
        try apply1(.pixelUnshuffle(factor: factor), [x])
    }

    /// Depth-to-space (`nn.PixelShuffle(factor)`): `[N, C·f², H, W] → [N, C, H·f, W·f]`.
    public func pixelShuffle(_ x: Tensor, _ factor: Int = 2) throws -> Tensor {
        try apply1(.pixelShuffle(factor: factor), [x])
    }

    /// Nearest upsampling (`nn.Upsample(scale_factor: f, mode: "nearest")`).
    public func upsampleNearest(_ x: Tensor, _ factor: Int = 2) throws -> Tensor {
        try apply1(.upsampleNearest(factor: factor), [x])
    }
}
