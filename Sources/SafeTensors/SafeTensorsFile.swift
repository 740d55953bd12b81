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

    /// Reads and validates the file at `path`.
    public init(path: String) throws {
        let bytes = try SafeTensorsFile.readWholeFile(path)
        try self.init(bytes: bytes, path: path)
    }

    /// Parses and validates the bytes of a whole safetensors file; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        self.path = path
        guard bytes.count >= 8 else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "the file is \(bytes.count) bytes, shorter than the 8-byte header length")
        }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(SafeTensorsFile.maxHeaderBytes) else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "header length \(length) exceeds the \(SafeTensorsFile.maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(length)
        guard headerLength <= bytes.count - 8 else {
            throw SafeTensorsError.invalidHeader(
                file: path, reason: "header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let header = Array(bytes[8..<(8 + headerLength)])
        let (metadata, entries) = try SafeTensorsHeader.parse(header, path: path)
        let dataSize = bytes.count - 8 - headerLength
        let tensors = try SafeTensorsHeader.validateLayout(entries, dataSize: dataSize, path: path)
        self.metadata = metadata
        self.tensors = tensors
        self.data = Array(bytes[(8 + headerLength)...])
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
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

    /// Reads a whole regular file with POSIX calls, so a failure names the file and the reason.
    static func readWholeFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafeTensorsError.io(file: path, operation: "open", reason: errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SafeTensorsError.io(file: path, operation: "stat", reason: errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SafeTensorsError.io(file: path, operation: "read", reason: "not a regular file")
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, size - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError.io(file: path, operation: "read", reason: errnoText())
            }
            if n == 0 { break }
            done += n
        }
        guard done == size else {
            throw SafeTensorsError.io(file: path, operation: "read", reason: "the file shrank while it was read")
        }
        return bytes
    }
}

/// The text of the current `errno`.
func errnoText() -> String { String(cString: strerror(errno)) }
