/// One tensor to write: a name, a dtype, a shape and its little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    public var name: String
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    /// A tensor from raw little-endian bytes; the writer checks that they match dtype × shape.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// An F32 tensor.
    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, dtype: .f32, shape: shape, bytes: SafeTensor.littleEndianBytes(floats.map(\.bitPattern)))
    }

    /// An I64 tensor.
    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(name: name, dtype: .i64, shape: shape, bytes: SafeTensor.littleEndianBytes(int64s))
    }

    /// An I32 tensor.
    public init(name: String, shape: [Int], int32s: [Int32]) {
        self.init(name: name, dtype: .i32, shape: shape, bytes: SafeTensor.littleEndianBytes(int32s))
    }

    /// A U32 tensor (e.g. a random-number state).
    public init(name: String, shape: [Int], uint32s: [UInt32]) {
        self.init(name: name, dtype: .u32, shape: shape, bytes: SafeTensor.littleEndianBytes(uint32s))
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for v in values {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }
}
