import Devices
import Foundation

/// Reference channel RMS norm and group norm, forward and backward, in Double.
extension CPUReference {
    /// `‖x[sample, :, position]‖₂` in Double.
    static func channelNorm(_ n: ChannelNorm, x: Pointer, sample b: Int, position s: Int) -> Double {
        var squares = 0.0
        for c in 0..<n.channels {
            let v = Double(x[(b * n.channels + c) * n.spatial + s])
            squares += v * v
        }
        return squares.squareRoot()
    }

    /// `y = x / max(‖x‖₂ over C, eps) · g · √C` for `x` `[N, C, S]`.
    func rmsNorm(_ n: ChannelNorm, x: Pointer, g: Pointer, y: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let rootC = Double(channels).squareRoot()
        for b in 0..<n.batch {
            for s in 0..<spatial {
                let at = { (c: Int) in (b * channels + c) * spatial + s }
                let denominator = max(Self.channelNorm(n, x: x, sample: b, position: s), Double(n.eps))
                for c in 0..<channels { y[at(c)] = Float(Double(x[at(c)]) / denominator * Double(g[c]) * rootC) }
            }
        }
    }

    /// Gradients of ``rmsNorm(_:x:g:y:)``.
    ///
    /// With `r = ‖x‖` over C and `d = max(r, eps)`: `dg[c] = Σ dy·x·√C/d`; when `r ≥ eps` (where
    /// `clamp_min` passes the gradient) `dx = √C/r · g·dy − √C·x/r³ · Σ_c g·dy·x`, else
    /// `dx = √C·g·dy/eps`. Each column is read completely before its `dx` is written.
    func rmsNormBackward(_ n: ChannelNorm, x: Pointer, g: Pointer, dy: Pointer, dx: Pointer, dg: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let rootC = Double(channels).squareRoot()
        let eps = Double(n.eps)
        var dgSum = [Double](repeating: 0, count: channels)
        for b in 0..<n.batch {
            for s in 0..<spatial {
                let at = { (c: Int) in (b * channels + c) * spatial + s }
                var squares = 0.0
                var dot = 0.0
                for c in 0..<channels {
                    let xv = Double(x[at(c)])
                    squares += xv * xv
                    dot += Double(g[c]) * Double(dy[at(c)]) * xv
                }
                let r = squares.squareRoot()
                let d = max(r, eps)
                for c in 0..<channels { dgSum[c] += Double(dy[at(c)]) * Double(x[at(c)]) * rootC / d }
                for c in 0..<channels {
                    let gdy = Double(g[c]) * Double(dy[at(c)])
                    let value = r >= eps
                        ? rootC / r * gdy - rootC * Double(x[at(c)]) / (r * r * r) * dot
                        : rootC * gdy / eps
                    dx[at(c)] = Float(value)
                }
            }
        }
        for c in 0..<channels { dg[c] = Float(dgSum[c]) }
    }

    /// Per (sample, group): biased mean and variance, `y = (x − μ)/√(σ² + eps) · γ + β`.
    func groupNorm(_ n: GroupNorm, x: Pointer, gamma: Pointer, beta: Pointer, y: Pointer) {
        let perGroup = n.channels / n.groups
        let size = perGroup * n.spatial
        for b in 0..<n.batch {
            for group in 0..<n.groups {
                let start = (b * n.channels + group * perGroup) * n.spatial
                let (mean, rstd) = Self.moments(x + start, count: size, eps: n.eps)
                for k in 0..<size {
                    let c = group * perGroup + k / n.spatial
                    y[start + k] = Float((Double(x[start + k]) - mean) * rstd * Double(gamma[c]) + Double(beta[c]))
                }
            }
        }
    }

    /// Gradients of ``groupNorm(_:x:gamma:beta:y:)``: with `x̂ = (x − μ)·rstd` and `ĝ = dy·γ`,
    /// `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))` per group, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
    func groupNormBackward(_ n: GroupNorm, x: Pointer, gamma: Pointer, dy: Pointer, dx: Pointer,
                           dgamma: Pointer, dbeta: Pointer) {
        let perGroup = n.channels / n.groups
        let size = perGroup * n.spatial
        var dgammaSum = [Double](repeating: 0, count: n.channels)
        var dbetaSum = [Double](repeating: 0, count: n.channels)
        for b in 0..<n.batch {
            for group in 0..<n.groups {
                let start = (b * n.channels + group * perGroup) * n.spatial
                let (mean, rstd) = Self.moments(x + start, count: size, eps: n.eps)
                var meanG = 0.0
                var meanGX = 0.0
                for k in 0..<size {
                    let c = group * perGroup + k / n.spatial
                    let xhat = (Double(x[start + k]) - mean) * rstd
                    let gy = Double(dy[start + k]) * Double(gamma[c])
                    meanG += gy
                    meanGX += gy * xhat
                    dgammaSum[c] += Double(dy[start + k]) * xhat
                    dbetaSum[c] += Double(dy[start + k])
                }
                meanG /= Double(size)
                meanGX /= Double(size)
                for k in 0..<size {
                    let c = group * perGroup + k / n.spatial
                    let xhat = (Double(x[start + k]) - mean) * rstd
                    let gy = Double(dy[start + k]) * Double(gamma[c])
                    dx[start + k] = Float(rstd * (gy - meanG - xhat * meanGX))
                }
            }
        }
        for c in 0..<n.channels {
            dgamma[c] = Float(dgammaSum[c])
            dbeta[c] = Float(dbetaSum[c])
        }
    }

    /// Mean and `1/√(biased variance + eps)` of `count` values (two passes, Double).
    static func moments(_ x: Pointer, count: Int, eps: Float) -> (mean: Double, rstd: Double) {
        guard count > 0 else { return (0, 1 / Double(eps).squareRoot()) }
        var sum = 0.0
        for k in 0..<count { sum += Double(x[k]) }
        let mean = sum / Double(count)
        var squares = 0.0
        for k in 0..<count { squares += (Double(x[k]) - mean) * (Double(x[k]) - mean) }
        return (mean, 1 / (squares / Double(count) + Double(eps)).squareRoot())
    }
}
