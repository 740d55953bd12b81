#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices

/// Fast `fill` and strided `copy`.
extension CPUFast {
    /// `out[i] = value`, split over the cores when large.
    func fill(count: Int, value: Float, out: Pointer) {
        Parallel.forEach(count) { range in (out + range.lowerBound).update(repeating: value, count: range.count) }
    }

    /// `dst[Σ i·dstStrides] (+)= src[Σ i·srcStrides]` over fused rows.
    ///
    /// A destination that revisits elements (stride 0: with `accumulate`, the adjoint of a
    /// broadcast) is walked in order on one thread, so no two threads touch one element and the
    /// result matches the reference order.
    func copy(_ c: StridedCopy, src: Pointer, dst: Pointer) {
        guard c.count > 0 else { return }
        let rows = StridedRows(shape: c.shape, strides: [c.srcStrides, c.dstStrides])
        let length = rows.rowLength
        let (ss, ds) = (rows.rowStride(0), rows.rowStride(1))
        let revisits = StridedRows.revisits(shape: c.shape, strides: c.dstStrides)
        let body = { (range: Range<Int>) in
            rows.forEachRow(range) { _, o in
                let (s, d) = (src + o[0], dst + o[1])
                if c.accumulate {
                    if ss == 1, ds == 1 {
                        for i in 0..<length { d[i] += s[i] }
                    } else {
                        for i in 0..<length { d[i * ds] += s[i * ss] }
                    }
                } else if ss == 1, ds == 1 {
                    memcpy(d, s, length * 4)
                } else {
                    for i in 0..<length { d[i * ds] = s[i * ss] }
                }
            }
        }
        if revisits {
            body(0..<rows.rowCount)
        } else {
            Parallel.forEach(rows.rowCount, grain: max(1, Parallel.elementGrain / max(length, 1)), body)
        }
    }
}

extension StridedRows {
    /// Whether two distinct indices of `shape` map to the same element (a zero stride on a
    /// non-unit extent, or strides too small to separate the extents).
    static func revisits(shape: [Int], strides: [Int]) -> Bool {
        let dims = zip(shape, strides).filter { $0.0 > 1 }.map { ($0.0, abs($0.1)) }.sorted { $0.1 < $1.1 }
        var span = 1
        for (extent, stride) in dims {
            if stride < span { return true }
            span = stride * (extent - 1) + span
        }
        return false
    }
}
