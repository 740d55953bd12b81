import Devices
import Foundation

/// Reference diffusion helpers: timestep embedding, row gather and Philox random numbers.
extension CPUReference {
    /// `half = dim/2`, `fᵢ = exp(−i·ln θ/(half−1))`, `out[n] = [sin(t[n]·f) ‖ cos(t[n]·f)]`, in Double.
    func timestepEmbedding(count: Int, dim: Int, theta: Float, t: Pointer, out: Pointer) {
        let half = dim / 2
        let step = log(Double(theta)) / Double(half - 1)
        for n in 0..<count {
            for i in 0..<half {
                let angle = Double(t[n]) * exp(-Double(i) * step)
                out[n * dim + i] = Float(sin(angle))
                out[n * dim + half + i] = Float(cos(angle))
            }
        }
    }

    /// `out[r, :] = table[clamp(index[r], 0, tableRows − 1), :]`.
    func gather(rows: Int, width: Int, tableRows: Int, table: Pointer, index: UnsafeMutablePointer<Int32>, out: Pointer) {
        guard tableRows > 0 else {
            // No row to clamp to: the only defined output is empty rows, so write zeros.
            for i in 0..<(rows * width) { out[i] = 0 }
            return
        }
        for r in 0..<rows {
            let row = min(max(Int(index[r]), 0), tableRows - 1)
            for k in 0..<width { out[r * width + k] = table[row * width + k] }
        }
    }

    /// The Philox stream exactly as ``Philox/generate(_:count:stream:state:)`` defines it.
    func random(_ distribution: RandomDistribution, count: Int, stream: UInt32,
                state: UnsafeMutablePointer<UInt32>, out: UnsafeMutablePointer<UInt32>) {
        let bits = Philox.generate(distribution, count: count, stream: stream, state: [state[0], state[1], state[2], state[3]])
        for i in 0..<count { out[i] = bits[i] }
    }
}
