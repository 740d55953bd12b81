import Devices

/// Fast softmax and its backward over the middle axis of `[outer, extent, inner]`.
///
/// Every loop runs along contiguous memory so it vectorises: contiguous rows (inner = 1) sweep
/// each row with SIMD lanes for the max and the sums; a strided axis (inner > 1, e.g. the linear
/// attention's softmax over `dim_head` of `[B·heads, dim_head, positions]`) works on slices of
/// up to ``sliceWidth`` inner positions, with per-position running max/sum arrays, so each pass
/// streams whole rows instead of walking one column at a stride of `inner` floats.
extension CPUFast {
    /// Inner positions per work item of a strided softmax (their max and sum arrays stay in L1).
    static let sliceWidth = 256

    /// `y = exp(x − max) / Σ exp(x − max)` along the extent; `y` may alias `x`.
    func softmax(_ r: Reduction, x: Pointer, y: Pointer) {
        guard r.extent > 0, r.outer > 0, r.inner > 0 else { return }
        if r.inner == 1 {
            Parallel.forEachItem(r.outer, itemCost: 4 * r.extent) { o in
                let (row, out) = (x + o * r.extent, y + o * r.extent)
                let maximum = Self.maxContiguous(row, r.extent)
                // One pointer when in place, so the exp loop vectorises (see `map` in
                // CPUFast+Elementwise.swift).
                if row == out {
                    for e in 0..<r.extent { out[e] = FastMath.exp(out[e] - maximum) }
                } else {
                    for e in 0..<r.extent { out[e] = FastMath.exp(row[e] - maximum) }
                }
                let scale = 1 / Self.sumContiguous(out, r.extent)
                for e in 0..<r.extent { out[e] *= scale }
            }
            return
        }
        let slices = (r.inner + Self.sliceWidth - 1) / Self.sliceWidth
        Parallel.forEachItem(r.outer * slices, itemCost: 4 * r.extent * Swift.min(r.inner, Self.sliceWidth)) { item in
            let (o, slice) = item.quotientAndRemainder(dividingBy: slices)
            let i0 = slice * Self.sliceWidth
            let n = Swift.min(Self.sliceWidth, r.inner - i0)
            let base = o * r.extent * r.inner + i0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { scratch in
                let (maximum, sum) = (scratch.baseAddress!, scratch.baseAddress! + n)
                maximum.update(from: x + base, count: n)
                for e in 1..<r.extent {
                    let row = x + base + e * r.inner
                    for i in 0..<n {
                        let v = row[i]
                        maximum[i] = v > maximum[i] ? v : maximum[i]
                    }
                }
                sum.update(repeating: 0, count: n)
                for e in 0..<r.extent {
                    let (row, out) = (x + base + e * r.inner, y + base + e * r.inner)
                    if row == out {
                        for i in 0..<n {
                            let v = FastMath.exp(out[i] - maximum[i])
                            out[i] = v
                            sum[i] += v
                        }
                    } else {
                        for i in 0..<n {
                            let v = FastMath.exp(row[i] - maximum[i])
                            out[i] = v
                            sum[i] += v
                        }
                    }
                }
                for i in 0..<n { sum[i] = 1 / sum[i] }
                for e in 0..<r.extent {
                    let out = y + base + e * r.inner
                    for i in 0..<n { out[i] *= sum[i] }
                }
            }
        }
    }

    /// `dx = y · (dy − Σ_extent dy·y)`; `dx` may alias `dy`.
    func softmaxBackward(_ r: Reduction, y: Pointer, dy: Pointer, dx: Pointer) {
        guard r.extent > 0, r.outer > 0, r.inner > 0 else { return }
        if r.inner == 1 {
            Parallel.forEachItem(r.outer, itemCost: 3 * r.extent) { o in
                let (yr, dyr, dxr) = (y + o * r.extent, dy + o * r.extent, dx + o * r.extent)
                let dot = Self.dotContiguous(dyr, yr, r.extent)
                if dxr == dyr {
                    for e in 0..<r.extent { dyr[e] = yr[e] * (dyr[e] - dot) }
                } else {
                    for e in 0..<r.extent { dxr[e] = yr[e] * (dyr[e] - dot) }
                }
            }
            return
        }
        let slices = (r.inner + Self.sliceWidth - 1) / Self.sliceWidth
        Parallel.forEachItem(r.outer * slices, itemCost: 3 * r.extent * Swift.min(r.inner, Self.sliceWidth)) { item in
            let (o, slice) = item.quotientAndRemainder(dividingBy: slices)
            let i0 = slice * Self.sliceWidth
            let n = Swift.min(Self.sliceWidth, r.inner - i0)
            let base = o * r.extent * r.inner + i0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { scratch in
                let dot = scratch.baseAddress!
                dot.update(repeating: 0, count: n)
                for e in 0..<r.extent {
                    let (yr, dyr) = (y + base + e * r.inner, dy + base + e * r.inner)
                    for i in 0..<n { dot[i] += dyr[i] * yr[i] }
                }
                for e in 0..<r.extent {
                    let (yr, dyr, dxr) = (y + base + e * r.inner, dy + base + e * r.inner, dx + base + e * r.inner)
                    if dxr == dyr {
                        for i in 0..<n { dyr[i] = yr[i] * (dyr[i] - dot[i]) }
                    } else {
                        for i in 0..<n { dxr[i] = yr[i] * (dyr[i] - dot[i]) }
                    }
                }
            }
        }
    }

    /// The largest of `n` contiguous floats, as a compare-and-select over 16 SIMD lanes
    /// (`pointwiseMax` on SIMD types measured 25x slower, and the compiler leaves the scalar
    /// form scalar: it was 40% of the row softmax). A NaN is skipped here but still reaches
    /// every output of its row through `exp(x − max)` and the sum.
    @inline(__always)
    static func maxContiguous(_ p: Pointer, _ n: Int) -> Float {
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var k = 0
        while k + 16 <= n {
            let v = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<Float>.self)
            lanes.replace(with: v, where: v .> lanes)
            k += 16
        }
        var m = lanes.max()
        while k < n {
            let v = p[k]
            m = v > m ? v : m
            k += 1
        }
        return m
    }

    /// `Σ a[k]·b[k]` over `n` contiguous floats, with 16 SIMD lanes.
    @inline(__always)
    static func dotContiguous(_ a: Pointer, _ b: Pointer, _ n: Int) -> Float {
        var lanes = SIMD16<Float>()
        var k = 0
        while k + 16 <= n {
            lanes += UnsafeRawPointer(a + k).loadUnaligned(as: SIMD16<Float>.self)
                * UnsafeRawPointer(b + k).loadUnaligned(as: SIMD16<Float>.self)
            k += 16
        }
        var total = lanes.sum()
        while k < n { total += a[k] * b[k]; k += 1 }
        return total
    }
}
