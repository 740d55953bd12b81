#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files: the header in the order the tensors are given, data packed without
/// gaps, the header padded with spaces to a multiple of 8 bytes (so the data section is aligned),
/// and the file replaced atomically.
public enum SafeTensorsWriter {
    /// The bytes of a whole safetensors file holding `tensors` and `metadata`.
    public static func encode(_ tensors: [SafeTensor], metadata: [String: String] = [:]) throws -> [UInt8] {
        var seen = Set<String>()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            guard !t.name.isEmpty, t.name != "__metadata__" else {
                throw SafeTensorsError.invalidInput(tensor: t.name, reason: "the name is empty or reserved")
            }
            guard seen.insert(t.name).inserted else {
                throw SafeTensorsError.invalidInput(tensor: t.name, reason: "the name appears twice")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError.invalidInput(tensor: t.name, reason: "shape \(t.shape) has a negative dimension")
            }
            let expected = t.shape.reduce(1, *) * t.dtype.size
            guard expected == t.bytes.count else {
                throw SafeTensorsError.invalidInput(
                    tensor: t.name, reason: "\(t.bytes.count) bytes given, \(t.dtype.rawValue) \(t.shape) needs \(expected)")
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for t in tensors { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Writes `tensors` to `path` atomically: a temporary file in the same directory, fsync,
    /// rename over `path`, then fsync of the directory. A crash leaves the old file or the new
    /// one, never a torn one.
    public static func write(_ tensors: [SafeTensor], metadata: [String: String] = [:], to path: String) throws {
        let bytes = try encode(tensors, metadata: metadata)
        try writeAtomically(bytes, to: path)
    }

    /// Replaces `path` with `bytes` atomically (see ``write(_:metadata:to:)``).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temp = "\(directory)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw SafeTensorsError.io(file: temp, operation: "create", reason: errnoText()) }
        var ok = false
        defer { if !ok { unlink(temp) } }
        do {
            var closed = false
            defer { if !closed { close(fd) } }
            do { try RegularFile.writeAll(bytes, to: fd, path: temp) } catch let error as FileAccessError {
                throw SafeTensorsError.io(file: temp, operation: error.operation, reason: error.reason)
            }
            guard fsync(fd) == 0 else { throw SafeTensorsError.io(file: temp, operation: "fsync", reason: errnoText()) }
            closed = true
            // close reports deferred write errors on some file systems (NFS, quotas).
            guard close(fd) == 0 else { throw SafeTensorsError.io(file: temp, operation: "close", reason: errnoText()) }
        }
        guard rename(temp, path) == 0 else {
            throw SafeTensorsError.io(file: path, operation: "rename \(temp) to", reason: errnoText())
        }
        ok = true
        // Make the rename itself durable; a failure here leaves a complete file, so it is not an error.
        let dfd = open(directory, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Removes the temporary files that interrupted ``writeAtomically(_:to:)`` calls left in
    /// `directory` (`.<name>.tmp-<pid>-<n>`) whose writing process is gone; returns their paths.
    /// A `kill -9` between creating and renaming the temporary file leaves one behind.
    @discardableResult
    public static func removeStaleTemporaries(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            names.append(name)
        }
        closedir(dir)
        var removed: [String] = []
        for name in names where name.hasPrefix(".") {
            guard let last = name.split(separator: ".").last, last.hasPrefix("tmp-") else { continue }
            let parts = last.dropFirst(4).split(separator: "-")
            guard parts.count == 2, let pid = Int32(parts[0]), UInt32(parts[1]) != nil else { continue }
            // Alive (or not ours to judge): leave it. ESRCH: the writer is gone.
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                let path = "\(directory)/\(name)"
                if unlink(path) == 0 { removed.append(path) }
            }
        }
        return removed
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
