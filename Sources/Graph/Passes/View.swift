/// Where a value's elements live: a strided window onto the dense storage of a root value.
///
/// Compute nodes write their results densely into their own storage (the root is the value
/// itself); ``Op/reshape(_:)``, ``Op/expand(_:)``, ``Op/slice(axis:start:length:)`` and
/// ``Op/permute(_:)`` only make views, which cost no kernel.
struct View: Hashable, Sendable {
    /// The value owning the storage.
    var root: ValueID
    /// Element offset into the root's storage.
    var offset: Int
    /// Element strides, one per axis of the viewed value (0 where broadcast).
    var strides: [Int]

    /// The own, dense storage of a value of `shape`.
    static func own(_ v: ValueID, _ shape: [Int]) -> View { View(root: v, offset: 0, strides: denseStrides(shape)) }

    /// Whether the elements are laid out row-major without gaps (extent-1 axes ignored).
    func isContiguous(_ shape: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// The view after reshaping to `newShape`, or nil when the strides cannot express it
    /// (PyTorch's `computeStride` rule: only merge or split axes that are contiguous together).
    func reshaped(from oldShape: [Int], to newShape: [Int]) -> View? {
        if isContiguous(oldShape) { return View(root: root, offset: offset, strides: denseStrides(newShape)) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewD = newShape.count - 1
        var chunkBase = strides.last ?? 1
        var tensorNumel = 1
        var viewNumel = 1
        for d in stride(from: oldShape.count - 1, through: 0, by: -1) {
            tensorNumel *= oldShape[d]
            if d == 0 || (oldShape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase) {
                while viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1) {
                    newStrides[viewD] = viewNumel * chunkBase
                    viewNumel *= newShape[viewD]
                    viewD -= 1
                }
                if viewNumel != tensorNumel { return nil }
                if d > 0 {
                    chunkBase = strides[d - 1]
                    tensorNumel = 1
                    viewNumel = 1
                }
            }
        }
        return viewD == -1 ? View(root: root, offset: offset, strides: newStrides) : nil
    }

    /// The view broadcast (NumPy, right-aligned) from `shape` to `target`.
    func expanded(from shape: [Int], to target: [Int]) -> View {
        let lead = target.count - shape.count
        var s = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where !(shape[i] == 1 && target[lead + i] != 1) { s[lead + i] = strides[i] }
        return View(root: root, offset: offset, strides: s)
    }

    /// Matrix layout for a GEMM operand of `shape` `[batch..., rows, cols]`:
    /// `(leading dimension, batch stride)`, or nil when the view is not expressible.
    func gemmLayout(_ shape: [Int]) -> (ld: Int, batchStride: Int)? {
        let r = shape.count
        guard r >= 2 else { return nil }
        let (rows, cols) = (shape[r - 2], shape[r - 1])
        guard cols == 1 || strides[r - 1] == 1 else { return nil }
        let ld = rows == 1 ? cols : strides[r - 2]
        guard ld >= cols else { return nil }
        // The batch axes must collapse into one stride (extent-1 axes ignored).
        var batchStride: Int?
        var expected: Int?
        for i in stride(from: r - 3, through: 0, by: -1) where shape[i] != 1 {
            if let e = expected, strides[i] != e { return nil }
            if batchStride == nil { batchStride = strides[i] }
            expected = strides[i] * shape[i]
        }
        return (ld, batchStride ?? rows * ld)
    }
}
