/// One tensor entry of a safetensors header, validated.
public struct SafeTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Dimensions, outermost first (row-major); `[]` is a scalar.
    public let shape: [Int]
    /// Byte range inside the data section (after the 8-byte length and the header).
    public let dataOffsets: Range<Int>

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataOffsets: Range<Int>) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffsets = dataOffsets
    }

    /// Product of the dimensions (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    public var byteCount: Int { dataOffsets.count }
}
