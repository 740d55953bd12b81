#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads with the operating system's reason on failure.
enum FileBytes {
    /// The bytes of `path`, or the `strerror` text of what went wrong.
    static func read(_ path: String) -> Result<[UInt8], FileReadFailure> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(FileReadFailure(reason: errnoText())) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(FileReadFailure(reason: errnoText())) }
        if (info.st_mode & S_IFMT) == S_IFDIR { return .failure(FileReadFailure(reason: "it is a directory")) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(FileReadFailure(reason: errnoText()))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .success(bytes)
    }

    /// Whether `path` names an existing directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether something exists at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}

/// The reason a read failed, as the C library words it.
struct FileReadFailure: Error {
    var reason: String
}

/// `strerror(errno)`.
func errnoText() -> String { String(cString: strerror(errno)) }

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buffer, count)
    #else
    return Darwin.read(fd, buffer, count)
    #endif
}
