import Devices
import Foundation

/// Plain double-precision loops that restate kernel definitions independently of the kernels'
/// own loop structure (scatter where the kernel gathers), to check them on small inputs.
enum Naive {
    static func gemm(_ g: Gemm, a: [Float], b: [Float], c: [Float], bias: [Float]?) -> [Float] {
        var out = c
        for batch in 0..<g.batch {
            for i in 0..<g.m {
                for j in 0..<g.n {
                    var sum = 0.0
                    for p in 0..<g.k {
                        let av = g.transA ? a[batch * g.strideA + p * g.lda + i] : a[batch * g.strideA + i * g.lda + p]
                        let bv = g.transB ? b[batch * g.strideB + j * g.ldb + p] : b[batch * g.strideB + p * g.ldb + j]
                        sum += Double(av) * Double(bv)
                    }
                    let index = batch * g.strideC + i * g.ldc + j
                    var value = Double(g.alpha) * sum
                    if g.beta != 0 { value += Double(g.beta) * Double(c[index]) }
                    switch g.bias {
                    case .none: break
                    case .perRow: value += Double(bias![i])
                    case .perColumn: value += Double(bias![j])
                    }
                    out[index] = Float(value)
                }
            }
        }
        return out
    }

    /// Visits every (n, co, ci, oh, ow, ih, iw, kh, kw) term of a convolution with a valid input pixel.
    static func forEachTerm(_ c: Conv2d, _ body: (_ x: Int, _ w: Int, _ y: Int, _ co: Int) -> Void) {
        for n in 0..<c.batch {
            for co in 0..<c.outChannels {
                for ci in 0..<c.inChannels {
                    for oh in 0..<c.outHeight {
                        for ow in 0..<c.outWidth {
                            for kh in 0..<c.kernelHeight {
                                for kw in 0..<c.kernelWidth {
                                    let ih = oh + kh - c.padHeight, iw = ow + kw - c.padWidth
                                    guard ih >= 0, ih < c.height, iw >= 0, iw < c.width else { continue }
                                    body(((n * c.inChannels + ci) * c.height + ih) * c.width + iw,
                                         ((co * c.inChannels + ci) * c.kernelHeight + kh) * c.kernelWidth + kw,
                                         ((n * c.outChannels + co) * c.outHeight + oh) * c.outWidth + ow, co)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    static func conv2d(_ c: Conv2d, x: [Float], w: [Float], bias: [Float]?) -> [Float] {
        var y = [Double](repeating: 0, count: c.outputCount)
        forEachTerm(c) { xi, wi, yi, _ in y[yi] += Double(x[xi]) * Double(w[wi]) }
        if let bias {
            for i in y.indices { y[i] += Double(bias[(i / (c.outHeight * c.outWidth)) % c.outChannels]) }
        }
        return y.map { Float($0) }
    }

    static func conv2dBackwardData(_ c: Conv2d, dy: [Float], w: [Float]) -> [Float] {
        var dx = [Double](repeating: 0, count: c.inputCount)
        forEachTerm(c) { xi, wi, yi, _ in dx[xi] += Double(dy[yi]) * Double(w[wi]) }
        return dx.map { Float($0) }
    }

    static func conv2dBackwardWeight(_ c: Conv2d, x: [Float], dy: [Float]) -> (dw: [Float], dbias: [Float]) {
        var dw = [Double](repeating: 0, count: c.weightCount)
        forEachTerm(c) { xi, wi, yi, _ in dw[wi] += Double(dy[yi]) * Double(x[xi]) }
        var dbias = [Double](repeating: 0, count: c.outChannels)
        for i in dy.indices { dbias[(i / (c.outHeight * c.outWidth)) % c.outChannels] += Double(dy[i]) }
        return (dw.map { Float($0) }, dbias.map { Float($0) })
    }

    static func rmsNorm(_ n: ChannelNorm, x: [Double], g: [Double]) -> [Double] {
        var y = x
        for b in 0..<n.batch {
            for s in 0..<n.spatial {
                var ss = 0.0
                for c in 0..<n.channels { ss += x[(b * n.channels + c) * n.spatial + s] * x[(b * n.channels + c) * n.spatial + s] }
                let d = max(ss.squareRoot(), Double(n.eps))
                for c in 0..<n.channels {
                    let i = (b * n.channels + c) * n.spatial + s
                    y[i] = x[i] / d * g[c] * Double(n.channels).squareRoot()
                }
            }
        }
        return y
    }

    static func groupNorm(_ n: GroupNorm, x: [Double], gamma: [Double], beta: [Double]) -> [Double] {
        var y = x
        let size = n.channels / n.groups * n.spatial
        for block in 0..<(n.batch * n.groups) {
            let range = (block * size)..<((block + 1) * size)
            let mean = range.reduce(0.0) { $0 + x[$1] } / Double(size)
            let variance = range.reduce(0.0) { $0 + (x[$1] - mean) * (x[$1] - mean) } / Double(size)
            for i in range {
                let c = (i / n.spatial) % n.channels
                y[i] = (x[i] - mean) / (variance + Double(n.eps)).squareRoot() * gamma[c] + beta[c]
            }
        }
        return y
    }

    static func softmax(_ r: Reduction, x: [Double]) -> [Double] {
        var y = x
        for o in 0..<r.outer {
            for i in 0..<r.inner {
                let indices = (0..<r.extent).map { (o * r.extent + $0) * r.inner + i }
                let m = indices.map { x[$0] }.max() ?? 0
                let s = indices.reduce(0.0) { $0 + Foundation.exp(x[$1] - m) }
                for k in indices { y[k] = Foundation.exp(x[k] - m) / s }
            }
        }
        return y
    }

    /// ∂/∂v_i of Σ_j dy_j · f(v)_j by central differences, in double precision.
    static func gradient(of f: ([Double]) -> [Double], at v: [Double], dy: [Double], h: Double = 1e-5) -> [Double] {
        v.indices.map { i in
            var plus = v, minus = v
            plus[i] += h
            minus[i] -= h
            let up = zip(f(plus), dy).reduce(0.0) { $0 + $1.0 * $1.1 }
            let down = zip(f(minus), dy).reduce(0.0) { $0 + $1.0 * $1.1 }
            return (up - down) / (2 * h)
        }
    }
}
