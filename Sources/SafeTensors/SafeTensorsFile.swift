#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file, read and validated in full before any tensor is handed out.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of UTF-8 JSON mapping each tensor
/// name to `{"dtype", "shape", "data_offsets": [begin, end]}` (plus an optional `__metadata__`
/// string map), then the data section. The reader refuses, with an error naming the file and the
/// tensor, a header longer than the file or than ``maxHeaderBytes``, malformed JSON, an unknown
/// dtype, a negative or overflowing shape, offsets out of range, byte counts that differ from
/// dtype size × element count, and ranges that overlap or leave holes (as the reference Rust
/// implementation does, which keeps polyglot files out).
public struct SafeTensorsFile: Sendable {
    /// The largest header accepted (the reference implementation uses the same 100 MB bound).
    public static let maxHeaderBytes = 100_000_000

    /// Where the file came from (used in every error message).
    public let path: String
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    /// Every tensor, in data-offset order.
    public let tensors: [SafeTensorInfo]

    private let data: [UInt8]
    private let index: [String: Int]

    /// Reads and validates the file at `path`, incrementally: the 8-byte length, then the header,
    /// which is parsed and checked against the file's size before the data section is read. A
    /// header that lies costs nothing; a data section larger than ``maxDataBytes`` is refused
    /// before it is allocated. Only regular files are opened (a FIFO is refused, not waited on).
    public init(path: String) throws {
        let reader: RegularFile.Reader
        do { reader = try RegularFile.open(path) } catch let error as FileAccessError {
            throw SafeTensorsError.io(file: path, operation: error.operation, reason: error.reason)
        }
        func read(_ count: Int) throws -> [UInt8] {
            do { return try reader.read(count) } catch let error as FileAccessError {
                throw SafeTensorsError.io(file: path, operation: error.operation, reason: error.reason)
            }
        }
        let size = reader.size
        guard size >= 8 else { throw SafeTensorsError.invalidHeader(file: path, reason: SafeTensorsFile.tooShort(size)) }
        let headerLength = try SafeTensorsFile.headerLength(try read(8), fileSize: size, path: path)
        let header = try read(headerLength)
        let dataSize = size - 8 - headerLength
        let (metadata, tensors) = try SafeTensorsFile.layout(header: header, dataSize: dataSize, path: path)
        guard dataSize <= SafeTensorsFile.maxDataBytes else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "the data section holds \(RegularFile.formatBytes(dataSize)), more than the "
                    + "\(RegularFile.formatBytes(SafeTensorsFile.maxDataBytes)) limit (this machine's memory)")
        }
        self.init(path: path, metadata: metadata, tensors: tensors, data: try read(dataSize))
    }

    /// Parses and validates the bytes of a whole safetensors file; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        guard bytes.count >= 8 else { throw SafeTensorsError.invalidHeader(file: path, reason: SafeTensorsFile.tooShort(bytes.count)) }
        let headerLength = try SafeTensorsFile.headerLength(Array(bytes[0..<8]), fileSize: bytes.count, path: path)
        let header = Array(bytes[8..<(8 + headerLength)])
        let (metadata, tensors) = try SafeTensorsFile.layout(header: header, dataSize: bytes.count - 8 - headerLength, path: path)
        self.init(path: path, metadata: metadata, tensors: tensors, data: Array(bytes[(8 + headerLength)...]))
    }

    private init(path: String, metadata: [String: String], tensors: [SafeTensorInfo], data: [UInt8]) {
        self.path = path
        self.metadata = metadata
        self.tensors = tensors
        self.data = data
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The largest data section read into memory: the machine's physical memory.
    public static var maxDataBytes: Int { RegularFile.physicalMemory }

    private static func tooShort(_ size: Int) -> String { "the file is \(size) bytes, shorter than the 8-byte header length" }

    /// The header length from the first 8 bytes, checked against the limit and the file size.
    private static func headerLength(_ prefix: [UInt8], fileSize: Int, path: String) throws -> Int {
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(prefix[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(SafeTensorsFile.maxHeaderBytes) else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "header length \(length) exceeds the \(SafeTensorsFile.maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(length)
        guard headerLength <= fileSize - 8 else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "header length \(headerLength) runs past the end of the \(fileSize)-byte file")
        }
        return headerLength
    }

    /// The metadata and the validated tensor layout of a header over a data section of `dataSize` bytes.
    private static func layout(header: [UInt8], dataSize: Int, path: String) throws -> ([String: String], [SafeTensorInfo]) {
        let (metadata, entries) = try SafeTensorsHeader.parse(header, path: path)
        return (metadata, try SafeTensorsHeader.validateLayout(entries, dataSize: dataSize, path: path))
    }

    /// Tensor names in data-offset order.
    public var names: [String] { tensors.map(\.name) }

    /// Whether the file has a tensor called `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The header entry of `name`.
    public func info(_ name: String) throws -> SafeTensorInfo {
        guard let i = index[name] else {
            throw SafeTensorsError.missingTensor(file: path, tensor: name, available: names)
        }
        return tensors[i]
    }

    /// The raw little-endian bytes of `name`.
    public func bytes(_ name: String) throws -> [UInt8] {
        let t = try info(name)
        return Array(data[t.dataOffsets])
    }

    /// The values of `name` as `Float`, converting F64, F16, BF16 and integer dtypes
    /// (F64 and 64-bit integers round to nearest, as `tensor.float()` does).
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        return data.withUnsafeBytes { raw in
            SafeTensorsConversion.floats(UnsafeRawBufferPointer(rebasing: raw[t.dataOffsets]), dtype: t.dtype)
        }
    }

    /// The values of an integer (or BOOL) tensor as `Int64`; floating dtypes are refused.
    public func int64s(_ name: String) throws -> [Int64] {
        let t = try info(name)
        guard !t.dtype.isFloatingPoint else {
            throw SafeTensorsError.unsupportedConversion(file: path, tensor: name, from: t.dtype.rawValue, to: "Int64")
        }
        let values = data.withUnsafeBytes { raw in
            SafeTensorsConversion.integers(UnsafeRawBufferPointer(rebasing: raw[t.dataOffsets]), dtype: t.dtype)
        }
        guard let values else {
            throw SafeTensorsError.invalidTensor(file: path, tensor: name, reason: "a U64 value exceeds Int64.max")
        }
        return values
    }

    /// The values of an integer tensor as `Int32`; values outside the Int32 range are refused.
    public func int32s(_ name: String) throws -> [Int32] {
        let wide = try int64s(name)
        var out = [Int32]()
        out.reserveCapacity(wide.count)
        for v in wide {
            guard let narrow = Int32(exactly: v) else {
                throw SafeTensorsError.invalidTensor(file: path, tensor: name, reason: "value \(v) does not fit in Int32")
            }
            out.append(narrow)
        }
        return out
    }
}

/// The text of the current `errno`.
func errnoText() -> String { String(cString: strerror(errno)) }
