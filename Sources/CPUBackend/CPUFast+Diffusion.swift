import Devices
import Foundation

/// Fast diffusion helpers: timestep embedding, row gather and Philox random numbers.
extension CPUFast {
    /// `out[n] = [sin(t[n]·f) ‖ cos(t[n]·f)]`, `fᵢ = exp(−i·ln θ/(half−1))`; the frequencies are
    /// computed once in Double, the angles in Float as the reference Unet does.
    func timestepEmbedding(count: Int, dim: Int, theta: Float, t: Pointer, out: Pointer) {
        let half = dim / 2
        let step = log(Double(theta)) / Double(half - 1)
        let frequencies = (0..<half).map { Float(exp(-Double($0) * step)) }
        Parallel.forEachItem(count, itemCost: 8 * dim) { n in
            let row = out + n * dim
            let time = t[n]
            for i in 0..<half {
                let angle = time * frequencies[i]
                row[i] = sin(angle)
                row[half + i] = cos(angle)
            }
        }
    }

    /// `out[r, :] = table[clamp(index[r], 0, tableRows − 1), :]` (zeros when the table is empty).
    func gather(rows: Int, width: Int, tableRows: Int, table: Pointer, index: UnsafeMutablePointer<Int32>, out: Pointer) {
        guard tableRows > 0 else { return fill(count: rows * width, value: 0, out: out) }
        Parallel.forEachItem(rows, itemCost: width) { r in
            let row = Swift.min(Swift.max(Int(index[r]), 0), tableRows - 1)
            (out + r * width).update(from: table + row * width, count: width)
        }
    }

    /// The Philox stream of ``Philox/generate(_:count:stream:state:)``, blocks spread over the cores.
    func random(_ distribution: RandomDistribution, count: Int, stream: UInt32,
                state: UnsafeMutablePointer<UInt32>, out: UnsafeMutablePointer<UInt32>) {
        let key = (state[0], state[1])
        let step = state[2]
        let blocks = (count + 3) / 4
        Parallel.forEach(blocks, grain: Parallel.elementGrain / 16) { range in
            for j in range {
                let w = Philox.block((UInt32(truncatingIfNeeded: j), stream, step, 0), key: key)
                var lanes: (UInt32, UInt32, UInt32, UInt32)
                switch distribution {
                case let .uniform(low, high):
                    lanes = (Philox.uniform(w.0, low: low, high: high).bitPattern, Philox.uniform(w.1, low: low, high: high).bitPattern,
                             Philox.uniform(w.2, low: low, high: high).bitPattern, Philox.uniform(w.3, low: low, high: high).bitPattern)
                case let .normal(mean, std):
                    let (z0, z1) = Philox.normal(w.0, w.1)
                    let (z2, z3) = Philox.normal(w.2, w.3)
                    lanes = (mean.addingProduct(std, z0).bitPattern, mean.addingProduct(std, z1).bitPattern,
                             mean.addingProduct(std, z2).bitPattern, mean.addingProduct(std, z3).bitPattern)
                case let .integer(low, high):
                    let range = UInt32(truncatingIfNeeded: Int64(high) - Int64(low))
                    lanes = (UInt32(bitPattern: Philox.integer(w.0, low: low, range: range)),
                             UInt32(bitPattern: Philox.integer(w.1, low: low, range: range)),
                             UInt32(bitPattern: Philox.integer(w.2, low: low, range: range)),
                             UInt32(bitPattern: Philox.integer(w.3, low: low, range: range)))
                }
                let base = j * 4
                out[base] = lanes.0
                if base + 1 < count { out[base + 1] = lanes.1 }
                if base + 2 < count { out[base + 2] = lanes.2 }
                if base + 3 < count { out[base + 3] = lanes.3 }
            }
        }
    }
}
