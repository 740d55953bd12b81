import Devices

/// Element type of a graph tensor. Every type is four bytes wide, as every kernel operand is.
public enum DType: String, Hashable, Sendable, CustomStringConvertible {
    case float32, int32

    /// Bytes per element.
    public var size: Int { 4 }

    public var description: String {
        switch self {
        case .float32: return "f32"
        case .int32: return "i32"
        }
    }
}

/// The shape and element type of one value in a graph.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    /// Extents, outermost first (`[N, C, H, W]` for images). Rank 0 is a scalar.
    public var shape: [Int]
    public var dtype: DType

    public init(_ shape: [Int], _ dtype: DType = .float32) {
        self.shape = shape
        self.dtype = dtype
    }

    /// Number of elements (1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// Bytes of a dense copy.
    public var byteCount: Int { count * dtype.size }
    public var rank: Int { shape.count }

    public var description: String { "\(dtype)\(shape)" }
}

/// Row-major strides of a dense tensor of `shape`, in elements.
func denseStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = acc
        acc *= shape[i]
    }
    return strides
}
