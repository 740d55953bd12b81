#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one way this project opens, reads and writes files it did not create itself.
///
/// The rules (docs/reliability.md): only regular files are opened (a FIFO, a device or a socket
/// named like a checkpoint is refused instead of blocking the process forever: the file is opened
/// with `O_NONBLOCK` and checked with `fstat` before any read); every size is checked against a
/// limit before anything is allocated for it; every read and write is checked, and a failure
/// names the file, the operation and the C library's reason (`strerror(errno)`).
public enum RegularFile {
    /// An open regular file and its size at open time.
    public final class Reader {
        public let path: String
        public let size: Int
        let fd: Int32

        init(path: String, fd: Int32, size: Int) {
            self.path = path
            self.fd = fd
            self.size = size
        }

        deinit { close(fd) }

        /// Reads exactly `count` bytes at the current position; fewer is an error (the file shrank).
        public func read(_ count: Int) throws -> [UInt8] {
            guard count > 0 else { return [] }
            var bytes = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + done, count - done) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileAccessError(path: path, operation: "read", reason: errnoText())
                }
                if n == 0 {
                    throw FileAccessError(path: path, operation: "read",
                                          reason: "the file ended after \(done) of \(count) bytes (it shrank while it was read)")
                }
                done += n
            }
            return bytes
        }
    }

    /// Opens `path` for reading: it must exist and be a regular file (never blocks on a FIFO).
    public static func open(_ path: String) throws -> Reader {
        let fd = systemOpen(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw FileAccessError(path: path, operation: "open", reason: errnoText()) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = errnoText()
            close(fd)
            throw FileAccessError(path: path, operation: "stat", reason: reason)
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw FileAccessError(path: path, operation: "read", reason: "not a regular file (\(describe(kind)))")
        }
        // Back to blocking reads: O_NONBLOCK only served to open a FIFO without waiting for a writer.
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
        return Reader(path: path, fd: fd, size: Int(st.st_size))
    }

    /// The whole regular file at `path`, refused before any allocation when larger than `limit`
    /// bytes (`what` names the kind of file in that error, e.g. "an image").
    public static func read(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        let reader = try open(path)
        guard reader.size <= limit else {
            throw FileAccessError(path: path, operation: "read",
                                  reason: "the file is \(formatBytes(reader.size)), more than the \(formatBytes(limit)) limit for \(what)",
                                  limit: limit)
        }
        return try reader.read(reader.size)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR; a failure names `path`.
    public static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileAccessError(path: path, operation: "write", reason: errnoText())
            }
            if n == 0 { throw FileAccessError(path: path, operation: "write", reason: "the device accepted no more bytes") }
            done += n
        }
    }

    /// Bytes of physical memory (the bound for data that must be held in memory whole).
    public static var physicalMemory: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return Int.max }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? Int.max : bytes
    }

    /// `n` bytes in words: `512 B`, `3.0 KiB`, `1.5 GiB`.
    public static func formatBytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(n), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(n) B" }
        let tenths = (value * 10).rounded() / 10
        return "\(tenths) \(units[unit])"
    }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}

/// A file that could not be opened, read or written: the file, the operation and the reason.
public struct FileAccessError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var reason: String
    /// The size limit the file exceeded, when that is why it was refused.
    public var limit: Int?

    public init(path: String, operation: String, reason: String, limit: Int? = nil) {
        self.path = path
        self.operation = operation
        self.reason = reason
        self.limit = limit
    }

    public var description: String { "\(path): cannot \(operation): \(reason)" }
}

// The C library's calls, named apart from the methods above.
#if canImport(Glibc)
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Glibc.open(path, flags) }
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#else
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Darwin.open(path, flags) }
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif
