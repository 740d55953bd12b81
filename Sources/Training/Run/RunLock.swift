#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SafeTensors

/// One training run per output folder: an advisory `flock` on `<folder>/.ddpm-train.lock`, held
/// for the life of the ``Trainer`` and released by the kernel when the process ends however it
/// ends (so a `kill -9` never leaves a stale lock). The file holds the holder's pid, which the
/// refusal names.
final class RunLock {
    static let fileName = ".ddpm-train.lock"
    let path: String
    private let fd: Int32

    /// Takes the lock of `directory`, or throws ``TrainingError/outputLocked(directory:holder:)``.
    init(directory: String) throws {
        path = "\(directory)/\(RunLock.fileName)"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw TrainingError.io(path: path, reason: "cannot open the run lock: \(errnoText())") }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let failure = errno
            defer { close(fd) }
            if failure == EWOULDBLOCK {
                throw TrainingError.outputLocked(directory: directory, holder: RunLock.holder(fd))
            }
            throw TrainingError.io(path: path, reason: "cannot lock the output folder: \(String(cString: strerror(failure)))")
        }
        self.fd = fd
        // Record the holder; a failure here (a full disk) leaves the lock held, which is what matters.
        _ = ftruncate(fd, 0)
        try? RegularFile.writeAll(Array("\(getpid())\n".utf8), to: fd, path: path)
    }

    deinit { close(fd) }

    /// The pid written by the process holding the lock, if readable.
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
