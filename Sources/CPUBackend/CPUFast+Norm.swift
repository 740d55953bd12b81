import Devices
import Foundation

/// Fast channel RMS norm and group norm.
///
/// RMS norm works on tiles of ``tile`` spatial positions: channel sums accumulate into a small
/// per-tile vector, so every inner loop is a unit-stride, vectorisable sweep over positions.
extension CPUFast {
    /// Spatial positions per RMS-norm work item.
    static let tile = 256

    /// `scale[s] = √C / max(‖x[sample, :, s0 + s]‖₂, eps)` for the `count` positions from `s0`:
    /// Σ_c x² per position, a row of the tile at a time, then the factor.
    @inline(__always)
    static func normFactors(_ n: ChannelNorm, x: Pointer, sample b: Int, from s0: Int, count len: Int, rootC: Float,
                            into scale: UnsafeMutablePointer<Float>) {
        scale.initialize(repeating: 0, count: len)
        for c in 0..<n.channels {
            let row = x + (b * n.channels + c) * n.spatial + s0
            for s in 0..<len { scale[s] += row[s] * row[s] }
        }
        // max(·, 0) is a no-op on sums of squares; it lets the root vectorise (no errno branch).
        for s in 0..<len { scale[s] = rootC / Swift.max(Swift.max(scale[s], 0).squareRoot(), n.eps) }
    }

    /// `y = x / max(‖x‖₂ over C, eps) · g · √C` for `x` `[N, C, S]`.
    func rmsNorm(_ n: ChannelNorm, x: Pointer, g: Pointer, y: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let tiles = (spatial + Self.tile - 1) / Self.tile
        let rootC = Float(channels).squareRoot()
        Parallel.forEachItem(n.batch * tiles, itemCost: 2 * channels * Self.tile) { item in
            let (b, t) = item.quotientAndRemainder(dividingBy: tiles)
            let s0 = t * Self.tile
            let len = min(Self.tile, spatial - s0)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: len) { buffer in
                let scale = buffer.baseAddress!
                Self.normFactors(n, x: x, sample: b, from: s0, count: len, rootC: rootC, into: scale)
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (row, out, gc) = (x + offset, y + offset, g[c])
                    for s in 0..<len { out[s] = row[s] * scale[s] * gc }
                }
            }
        }
    }

    /// Gradients of ``rmsNorm(_:x:g:y:)`` (formulas in ``CPUReference/rmsNormBackward``).
    ///
    /// `dg` sums over batch and positions: each work range keeps its own Double partial,
    /// combined in range order afterwards.
    func rmsNormBackward(_ n: ChannelNorm, x: Pointer, g: Pointer, dy: Pointer, dx: Pointer, dg: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let tiles = (spatial + Self.tile - 1) / Self.tile
        let rootC = Float(channels).squareRoot()
        let items = n.batch * tiles
        let perItem = channels * Swift.min(Self.tile, spatial)
        let partials = Parallel.map(items, grain: Swift.max(1, Parallel.elementGrain / Swift.max(perItem, 1))) { range in
            var dgPartial = [Double](repeating: 0, count: channels)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * Self.tile)
            defer { scratch.deallocate() }
            let (squares, dots, slope) = (scratch, scratch + Self.tile, scratch + 2 * Self.tile)
            for item in range {
                let (b, t) = item.quotientAndRemainder(dividingBy: tiles)
                let s0 = t * Self.tile
                let len = min(Self.tile, spatial - s0)
                for s in 0..<len { squares[s] = 0; dots[s] = 0 }
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (xr, gr, gc) = (x + offset, dy + offset, g[c])
                    for s in 0..<len {
                        squares[s] += xr[s] * xr[s]
                        dots[s] += gc * gr[s] * xr[s]
                    }
                }
                // squares → √C/d (for dg and the g·dy term), slope → the coefficient of x in dx.
                for s in 0..<len {
                    let r = Swift.max(squares[s], 0).squareRoot()   // vectorisable root, as in rmsNorm
                    let inverse = rootC / Swift.max(r, n.eps)
                    squares[s] = inverse
                    slope[s] = r >= n.eps ? -rootC * dots[s] / (r * r * r) : 0
                }
                for c in 0..<channels {
                    let offset = (b * channels + c) * spatial + s0
                    let (xr, gr, out, gc) = (x + offset, dy + offset, dx + offset, g[c])
                    var dgSum: Float = 0
                    for s in 0..<len {
                        let (xv, gv) = (xr[s], gr[s])
                        dgSum += gv * xv * squares[s]
                        out[s] = squares[s] * gc * gv + xv * slope[s]
                    }
                    dgPartial[c] += Double(dgSum)
                }
            }
            return dgPartial
        }
        for c in 0..<channels { dg[c] = Float(partials.reduce(0) { $0 + $1[c] }) }
    }

    /// Per (sample, group): biased mean and variance, `y = (x − μ)/√(σ² + eps) · γ + β`.
    func groupNorm(_ n: GroupNorm, x: Pointer, gamma: Pointer, beta: Pointer, y: Pointer) {
        let perGroup = n.channels / n.groups
        let size = perGroup * n.spatial
        Parallel.forEachItem(n.batch * n.groups, itemCost: 3 * size) { item in
            let (b, group) = item.quotientAndRemainder(dividingBy: n.groups)
            let start = (b * n.channels + group * perGroup) * n.spatial
            let (mean, rstd) = Self.moments(x + start, count: size, eps: n.eps)
            for k in 0..<perGroup {
                let c = group * perGroup + k
                let scale = rstd * gamma[c]
                let shift = beta[c] - mean * scale
                let (row, out) = (x + start + k * n.spatial, y + start + k * n.spatial)
                for s in 0..<n.spatial { out[s] = row[s] * scale + shift }
            }
        }
    }

    /// Gradients of ``groupNorm(_:x:gamma:beta:y:)`` (formulas in ``CPUReference/groupNormBackward``).
    ///
    /// Per-(sample, channel) sums of `dy` and `dy·x̂` go to scratch, so `dγ`/`dβ` are reduced
    /// over the batch afterwards without two threads writing one channel.
    func groupNormBackward(_ n: GroupNorm, x: Pointer, gamma: Pointer, dy: Pointer, dx: Pointer,
                           dgamma: Pointer, dbeta: Pointer, workspace: Workspace) throws {
        let perGroup = n.channels / n.groups
        let size = perGroup * n.spatial
        let sumDy = try workspace.floats(0, count: n.batch * n.channels)
        let sumDyX = try workspace.floats(1, count: n.batch * n.channels)
        Parallel.forEachItem(n.batch * n.groups, itemCost: 4 * size) { item in
            let (b, group) = item.quotientAndRemainder(dividingBy: n.groups)
            let start = (b * n.channels + group * perGroup) * n.spatial
            let (mean, rstd) = Self.moments(x + start, count: size, eps: n.eps)
            var meanG: Double = 0
            var meanGX: Double = 0
            for k in 0..<perGroup {
                let c = group * perGroup + k
                let (row, grad) = (x + start + k * n.spatial, dy + start + k * n.spatial)
                var sg: Float = 0
                var sgx: Float = 0
                for s in 0..<n.spatial {
                    sg += grad[s]
                    sgx += grad[s] * (row[s] - mean)
                }
                sgx *= rstd
                sumDy[b * n.channels + c] = sg
                sumDyX[b * n.channels + c] = sgx
                meanG += Double(gamma[c] * sg)
                meanGX += Double(gamma[c] * sgx)
            }
            let mg = Float(meanG / Double(size))
            let mgx = Float(meanGX / Double(size))
            for k in 0..<perGroup {
                let c = group * perGroup + k
                let offset = start + k * n.spatial
                let (row, grad, out, gc) = (x + offset, dy + offset, dx + offset, gamma[c])
                for s in 0..<n.spatial {
                    let xhat = (row[s] - mean) * rstd
                    out[s] = rstd * (grad[s] * gc - mg - xhat * mgx)
                }
            }
        }
        for c in 0..<n.channels {
            var sg = 0.0
            var sgx = 0.0
            for b in 0..<n.batch {
                sg += Double(sumDy[b * n.channels + c])
                sgx += Double(sumDyX[b * n.channels + c])
            }
            dbeta[c] = Float(sg)
            dgamma[c] = Float(sgx)
        }
    }

    /// Mean and `1/√(biased variance + eps)` of `count` contiguous values (two passes).
    static func moments(_ x: Pointer, count: Int, eps: Float) -> (mean: Float, rstd: Float) {
        guard count > 0 else { return (0, 1 / eps.squareRoot()) }
        let mean = reduceStrided(.sum, x, count: count, stride: 1) / Double(count)
        var squares = 0.0
        var start = 0
        let m = Float(mean)
        while start < count {
            let n = Swift.min(blockLength, count - start)
            var lanes = SIMD16<Float>()
            var k = 0
            let p = x + start
            while k + 16 <= n {
                let v = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD16<Float>.self) - SIMD16(repeating: m)
                lanes += v * v   // not addProduct: without FMA in the target it becomes a libm call per lane
                k += 16
            }
            var total = lanes.sum()
            while k < n { total += (p[k] - m) * (p[k] - m); k += 1 }
            squares += Double(total)
            start += n
        }
        return (m, Float(1 / (squares / Double(count) + Double(eps)).squareRoot()))
    }
}
