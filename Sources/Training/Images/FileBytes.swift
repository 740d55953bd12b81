#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SafeTensors

/// File reads for the image and data code, through ``SafeTensors/RegularFile`` (regular files
/// only, sizes bounded before allocation, the operating system's reason on failure).
enum FileBytes {
    /// The bytes of `path` (at most `limit`), or what went wrong.
    static func read(_ path: String, limit: Int, what: String) -> Result<[UInt8], FileReadFailure> {
        do { return .success(try RegularFile.read(path, limit: limit, what: what)) } catch let error as FileAccessError {
            return .failure(FileReadFailure(reason: error.operation == "open" ? error.reason : "cannot \(error.operation): \(error.reason)",
                                            tooLarge: error.limit != nil))
        } catch {
            return .failure(FileReadFailure(reason: "\(error)", tooLarge: false))
        }
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
    /// The file exceeds the size limit (refused before reading).
    var tooLarge: Bool
}

/// `strerror(errno)`.
func errnoText() -> String { String(cString: strerror(errno)) }
