import Devices
import Foundation

/// The fused RMS norm, scale-shift and SiLU of the reference ResnetBlock, in Double.
extension CPUReference {
    /// `u = x / max(‖x‖₂ over C, eps) · g · √C`, `v = u · (scale + 1) + shift` (`v = u` without
    /// `scaleShift` `[N, 2C]`), `y = v · σ(v)`, for `x` `[N, C, S]`.
    func rmsNormScaleShiftSilu(_ n: ChannelNorm, x: Pointer, g: Pointer, scaleShift: Pointer?, y: Pointer) {
        let (channels, spatial) = (n.channels, n.spatial)
        let rootC = Double(channels).squareRoot()
        for b in 0..<n.batch {
            for s in 0..<spatial {
                let at = { (c: Int) in (b * channels + c) * spatial + s }
                let denominator = max(Self.channelNorm(n, x: x, sample: b, position: s), Double(n.eps))
                for c in 0..<channels {
                    let u = Double(x[at(c)]) / denominator * Double(g[c]) * rootC
                    let (gain, shift) = Self.film(scaleShift, sample: b, channel: c, channels: channels)
                    y[at(c)] = Float(Self.value(.silu, u * gain + shift))
                }
            }
        }
    }

    /// Gradients of ``rmsNormScaleShiftSilu(_:x:g:scaleShift:y:)``.
    ///
    /// With `v` as in the forward pass, `dv = dy · silu'(v)`, `dscale[n, c] = Σ_s dv·u`,
    /// `dshift[n, c] = Σ_s dv`, and `du = dv · (scale + 1)` goes through the formulas of
    /// ``rmsNormBackward(_:x:g:dy:dx:dg:)`` (`dg[c] = Σ du·x·√C/d`, `dx` from `du`).
    func rmsNormScaleShiftSiluBackward(_ n: ChannelNorm, x: Pointer, g: Pointer, scaleShift: Pointer?, dy: Pointer,
                                       dx: Pointer, dg: Pointer, dScaleShift: Pointer?) {
        let (channels, spatial) = (n.channels, n.spatial)
        let rootC = Double(channels).squareRoot()
        let eps = Double(n.eps)
        var dgSum = [Double](repeating: 0, count: channels)
        var du = [Double](repeating: 0, count: channels)
        for b in 0..<n.batch {
            var dScale = [Double](repeating: 0, count: channels)
            var dShift = [Double](repeating: 0, count: channels)
            for s in 0..<spatial {
                let at = { (c: Int) in (b * channels + c) * spatial + s }
                let r = Self.channelNorm(n, x: x, sample: b, position: s)
                let d = max(r, eps)
                var dot = 0.0
                for c in 0..<channels {
                    let xv = Double(x[at(c)])
                    let u = xv / d * Double(g[c]) * rootC
                    let (gain, shift) = Self.film(scaleShift, sample: b, channel: c, channels: channels)
                    let dv = Double(dy[at(c)]) * Self.derivative(.silu, u * gain + shift)
                    du[c] = dv * gain
                    dScale[c] += dv * u
                    dShift[c] += dv
                    dot += Double(g[c]) * du[c] * xv
                    dgSum[c] += du[c] * xv * rootC / d
                }
                for c in 0..<channels {
                    let gdu = Double(g[c]) * du[c]
                    let value = r >= eps
                        ? rootC / r * gdu - rootC * Double(x[at(c)]) / (r * r * r) * dot
                        : rootC * gdu / eps
                    dx[at(c)] = Float(value)
                }
            }
            if let dScaleShift {
                for c in 0..<channels {
                    dScaleShift[2 * b * channels + c] = Float(dScale[c])
                    dScaleShift[(2 * b + 1) * channels + c] = Float(dShift[c])
                }
            }
        }
        for c in 0..<channels { dg[c] = Float(dgSum[c]) }
    }

    /// `(scale + 1, shift)` of channel `c` of a sample, or `(1, 0)` without a scale-shift operand.
    static func film(_ scaleShift: Pointer?, sample b: Int, channel c: Int, channels: Int) -> (gain: Double, shift: Double) {
        guard let scaleShift else { return (1, 0) }
        return (Double(scaleShift[2 * b * channels + c]) + 1, Double(scaleShift[(2 * b + 1) * channels + c]))
    }
}
