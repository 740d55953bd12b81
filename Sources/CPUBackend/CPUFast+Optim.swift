import Devices
import Foundation

/// Fast optimiser kernels: Adam/AdamW and EMA as parallel Float loops, and the clip factor.
extension CPUFast {
    /// One Adam/AdamW step (PyTorch semantics, see ``CPUReference/adam``); the per-step
    /// constants are formed once in Double.
    func adam(_ a: Adam, param: Pointer, grad: Pointer, m: Pointer, v: Pointer, hyper: Pointer) {
        let lr = Double(hyper[AdamHyper.lr])
        let step = Double(hyper[AdamHyper.step])
        let scale = hyper[AdamHyper.gradScale]
        let stepSize = Float(lr / (1 - pow(Double(a.beta1), step)))
        let inverseCorrection2 = Float(1 / (1 - pow(Double(a.beta2), step)).squareRoot())
        let decay = Float(1 - lr * Double(a.weightDecay))
        let (b1, b2, eps) = (a.beta1, a.beta2, a.eps)
        let (c1, c2) = (1 - a.beta1, 1 - a.beta2)
        Parallel.forEach(a.count, grain: Parallel.elementGrain / 4) { range in
            for i in range {
                let g = grad[i] * scale
                let mi = b1 * m[i] + c1 * g
                let vi = b2 * v[i] + c2 * g * g
                m[i] = mi
                v[i] = vi
                // max(v, 0) changes nothing for valid v (≥ 0; NaN still propagates) but proves the
                // root's argument non-negative, so no errno branch blocks vectorisation (4x faster).
                param[i] = param[i] * decay - stepSize * mi / (Swift.max(vi, 0).squareRoot() * inverseCorrection2 + eps)
            }
        }
    }

    /// `ema ← ema + (1 − decay)·(param − ema)`.
    func emaUpdate(count: Int, ema: Pointer, param: Pointer, hyper: Pointer) {
        let keep = 1 - hyper[0]
        Parallel.forEach(count) { range in
            for i in range { ema[i] += keep * (param[i] - ema[i]) }
        }
    }

    /// `scale = min(1, maxNorm / (√sumOfSquares + 1e-6))`.
    func gradClipScale(maxNorm: Float, sumOfSquares: Pointer, scale: Pointer) {
        let norm = Double(sumOfSquares[0]).squareRoot()
        scale[0] = Float(Swift.min(1, Double(maxNorm) / (norm + 1e-6)))
    }
}
