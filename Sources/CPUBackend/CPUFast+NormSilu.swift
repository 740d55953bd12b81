import Devices

/// Fast fused RMS norm, scale-shift and SiLU: one read of `x` per pass over the channels.
///
/// Tiles of ``CPUFast/tile`` positions, as ``CPUFast/rmsNorm(_:x:g:y:)``; a missing scale-shift
/// is the exact identity `v · 1 + 0`, so both forms share one loop.
extension CPUFast {
    /// `y = silu(u · (scale + 1) + shift)` with `u = x / max(‖x‖₂ over C, eps) · g · √C`, `x` `[N, C, S]`.
    func rmsNormScaleShiftSilu(_ n: ChannelNorm, x: Pointer, g: Pointer, scaleShift: Pointer?, y: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let tiles = (spatial + Self.tile - 1) / Self.tile
        let rootC = Float(channels).squareRoot()
        let silu = Fn.Silu()
        Parallel.forEachItem(n.batch * tiles, itemCost: 4 * channels * Self.tile) { item in
            let (b, t) = item.quotientAndRemainder(dividingBy: tiles)
            let s0 = t * Self.tile
            let len = min(Self.tile, spatial - s0)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: len) { buffer in
                let scale = buffer.baseAddress!
                Self.normFactors(n, x: x, sample: b, from: s0, count: len, rootC: rootC, into: scale)
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (row, out, gc) = (x + offset, y + offset, g[c])
                    let (gain, shift) = Self.film(scaleShift, sample: b, channel: c, channels: channels)
                    for s in 0..<len { out[s] = silu(row[s] * scale[s] * gc * gain + shift) }
                }
            }
        }
    }

    /// Gradients of ``rmsNormScaleShiftSilu(_:x:g:scaleShift:y:)`` (formulas in
    /// ``CPUReference/rmsNormScaleShiftSiluBackward``), recomputing the forward pass.
    ///
    /// Each (sample, tile) item writes its per-channel sums of `du·x·√C/d`, `dv·u` and `dv` to
    /// scratch; `dg`, `dscale` and `dshift` add them up afterwards in item order, so the result
    /// does not depend on how the items were split over threads. `dx` holds `du` in between.
    func rmsNormScaleShiftSiluBackward(_ n: ChannelNorm, x: Pointer, g: Pointer, scaleShift: Pointer?, dy: Pointer,
                                       dx: Pointer, dg: Pointer, dScaleShift: Pointer?, workspace: Workspace) throws {
        let (channels, spatial) = (n.channels, n.spatial)
        let tiles = (spatial + Self.tile - 1) / Self.tile
        let rootC = Float(channels).squareRoot()
        let items = n.batch * tiles
        let sums = try workspace.floats(0, count: 3 * items * channels)
        let (dgSums, dScaleSums, dShiftSums) = (sums, sums + items * channels, sums + 2 * items * channels)
        let perItem = 6 * channels * Swift.min(Self.tile, spatial)
        Parallel.forEach(items, grain: Swift.max(1, Parallel.elementGrain / Swift.max(perItem, 1))) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 6 * Self.tile)
            defer { scratch.deallocate() }
            let (inverse, dots, slope) = (scratch, scratch + Self.tile, scratch + 2 * Self.tile)
            let (dgTerms, dScaleTerms, dvs) = (scratch + 3 * Self.tile, scratch + 4 * Self.tile, scratch + 5 * Self.tile)
            for item in range {
                let (b, t) = item.quotientAndRemainder(dividingBy: tiles)
                let s0 = t * Self.tile
                let len = min(Self.tile, spatial - s0)
                for s in 0..<len { inverse[s] = 0; dots[s] = 0 }
                for c in 0..<channels {
                    let xr = x + (b * channels + c) * spatial + s0
                    for s in 0..<len { inverse[s] += xr[s] * xr[s] }
                }
                // inverse → √C/d; slope keeps r until the channel dots are known.
                for s in 0..<len {
                    let r = Swift.max(inverse[s], 0).squareRoot()   // vectorisable root, as in rmsNorm
                    slope[s] = r
                    inverse[s] = rootC / Swift.max(r, n.eps)
                }
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (xr, gr, out, gc) = (x + offset, dy + offset, dx + offset, g[c])
                    let (gain, shift) = Self.film(scaleShift, sample: b, channel: c, channels: channels)
                    for s in 0..<len {
                        let xv = xr[s]
                        let u = xv * inverse[s] * gc
                        let dv = Fn.SiluGrad()(u * gain + shift, gr[s])
                        let du = dv * gain
                        out[s] = du
                        dots[s] += gc * du * xv
                        dgTerms[s] = du * xv * inverse[s]
                        dScaleTerms[s] = dv * u
                        dvs[s] = dv
                    }
                    let at = item * channels + c
                    dgSums[at] = Self.sumContiguous(dgTerms, len)
                    dScaleSums[at] = Self.sumContiguous(dScaleTerms, len)
                    dShiftSums[at] = Self.sumContiguous(dvs, len)
                }
                for s in 0..<len {
                    let r = slope[s]
                    slope[s] = r >= n.eps ? -rootC * dots[s] / (r * r * r) : 0
                }
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (xr, out, gc) = (x + offset, dx + offset, g[c])
                    for s in 0..<len { out[s] = inverse[s] * gc * out[s] + xr[s] * slope[s] }
                }
            }
        }
        for c in 0..<channels {
            var total = 0.0
            for item in 0..<items { total += Double(dgSums[item * channels + c]) }
            dg[c] = Float(total)
        }
        guard let dScaleShift else { return }
        for b in 0..<n.batch {
            for c in 0..<channels {
                var (scale, shift) = (0.0, 0.0)
                for t in 0..<tiles {
                    scale += Double(dScaleSums[(b * tiles + t) * channels + c])
                    shift += Double(dShiftSums[(b * tiles + t) * channels + c])
                }
                dScaleShift[2 * b * channels + c] = Float(scale)
                dScaleShift[(2 * b + 1) * channels + c] = Float(shift)
            }
        }
    }

    /// `(scale + 1, shift)` of channel `c` of a sample, or `(1, 0)` without a scale-shift operand.
    @inline(__always)
    static func film(_ scaleShift: Pointer?, sample b: Int, channel c: Int, channels: Int) -> (gain: Float, shift: Float) {
        guard let scaleShift else { return (1, 0) }
        return (scaleShift[2 * b * channels + c] + 1, scaleShift[(2 * b + 1) * channels + c])
    }
}
