import Devices

/// Reference `fill` and strided `copy`.
extension CPUReference {
    /// `out[i] = value`.
    func fill(count: Int, value: Float, out: Pointer) {
        for i in 0..<count { out[i] = value }
    }

    /// `dst[Σ i·dstStrides] (+)= src[Σ i·srcStrides]`.
    ///
    /// With `accumulate`, several source elements may land on one destination element (the
    /// adjoint of a broadcast has destination stride 0), so the sums are formed in Double over a
    /// copy of the destination span and rounded once.
    func copy(_ c: StridedCopy, src: Pointer, dst: Pointer) {
        guard c.count > 0 else { return }
        if !c.accumulate {
            referenceForEachIndex(c.shape, [c.srcStrides, c.dstStrides]) { o in dst[o[1]] = src[o[0]] }
            return
        }
        let span = 1 + zip(c.shape, c.dstStrides).reduce(0) { $0 + ($1.0 - 1) * abs($1.1) }
        var sums = (0..<span).map { Double(dst[$0]) }
        referenceForEachIndex(c.shape, [c.srcStrides, c.dstStrides]) { o in sums[o[1]] += Double(src[o[0]]) }
        // Write back only the elements the view addresses; gaps in a strided destination stay untouched.
        referenceForEachIndex(c.shape, [c.dstStrides]) { o in dst[o[0]] = Float(sums[o[0]]) }
    }
}
