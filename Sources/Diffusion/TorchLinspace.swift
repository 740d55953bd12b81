/// `torch.linspace` exactly as PyTorch's CPU kernel computes it, so that derived values (beta
/// schedules, DDIM timesteps truncated to integers) match the reference bit for bit.
///
/// The kernel computes `step = (end − start)/(steps − 1)` in the element type, then element `i`
/// as the fused multiply-add `start + step·i` for the first half and `end − step·(steps − 1 − i)`
/// for the second, so both ends are exact. (Verified against torch 2.13 for float32 and float64.)
enum TorchLinspace {
    static func float64(_ start: Double, _ end: Double, _ steps: Int) -> [Double] {
        guard steps > 1 else { return steps == 1 ? [start] : [] }
        let step = (end - start) / Double(steps - 1)
        let half = steps / 2
        return (0..<steps).map { i in
            i < half ? start.addingProduct(step, Double(i)) : end.addingProduct(-step, Double(steps - 1 - i))
        }
    }

    static func float32(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        guard steps > 1 else { return steps == 1 ? [start] : [] }
        let step = (end - start) / Float(steps - 1)
        let half = steps / 2
        return (0..<steps).map { i in
            i < half ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - 1 - i))
        }
    }
}
