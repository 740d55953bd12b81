import Devices
import Foundation

/// Reference optimiser kernels: Adam/AdamW, EMA and the global-norm clip factor, in Double.
extension CPUReference {
    /// One step of `torch.optim.Adam`/`AdamW` (single-tensor path) with `g = grad · gradScale`:
    /// `p ← p·(1 − lr·wd)` (when `wd ≠ 0`), `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps)`.
    func adam(_ a: Adam, param: Pointer, grad: Pointer, m: Pointer, v: Pointer, hyper: Pointer) {
        let lr = Double(hyper[AdamHyper.lr])
        let step = Double(hyper[AdamHyper.step])
        let scale = Double(hyper[AdamHyper.gradScale])
        let (b1, b2) = (Double(a.beta1), Double(a.beta2))
        let stepSize = lr / (1 - pow(b1, step))
        let correction2 = (1 - pow(b2, step)).squareRoot()
        for i in 0..<a.count {
            let g = Double(grad[i]) * scale
            var p = Double(param[i])
            if a.weightDecay != 0 { p *= 1 - lr * Double(a.weightDecay) }
            let mNew = b1 * Double(m[i]) + (1 - b1) * g
            let vNew = b2 * Double(v[i]) + (1 - b2) * g * g
            p -= stepSize * mNew / (vNew.squareRoot() / correction2 + Double(a.eps))
            param[i] = Float(p)
            m[i] = Float(mNew)
            v[i] = Float(vNew)
        }
    }

    /// `ema ← ema + (1 − decay)·(param − ema)` with `decay = hyper[0]`.
    func emaUpdate(count: Int, ema: Pointer, param: Pointer, hyper: Pointer) {
        let keep = 1 - Double(hyper[0])
        for i in 0..<count { ema[i] = Float(Double(ema[i]) + keep * (Double(param[i]) - Double(ema[i]))) }
    }

    /// `scale = min(1, maxNorm / (√sumOfSquares + 1e-6))`, as `clip_grad_norm_`.
    func gradClipScale(maxNorm: Float, sumOfSquares: Pointer, scale: Pointer) {
        let norm = Double(sumOfSquares[0]).squareRoot()
        scale[0] = Float(min(1, Double(maxNorm) / (norm + 1e-6)))
    }
}
