#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices
import Foundation

/// Host memory posing as opaque device memory: a 64-byte-aligned allocation owned by one CPU device.
///
/// Only the queue's worker touches ``base``; everything above the backend sees a ``Buffer``.
/// The allocation is zero-filled so that a fresh buffer never holds stale NaNs.
final class CPUBuffer: Buffer, @unchecked Sendable {
    let byteCount: Int
    let deviceName: String
    /// Start of the allocation (never nil, even for zero bytes).
    let base: UnsafeMutableRawPointer
    /// Unique among every buffer this process creates (addresses of freed buffers are reused).
    let serial: UInt64
    /// Called with ``serial`` when a command is about to write the buffer and when it is freed:
    /// the device's caches of data derived from its contents let go of them, so whatever they
    /// still hold for a buffer matches its bytes.
    var onInvalidate: (@Sendable (UInt64) -> Void)?

    /// Alignment of every buffer base, in bytes: one cache line, enough for AVX-512 loads.
    static let alignment = 64

    /// Allocates and zero-fills `byteCount` bytes; nil when the system is out of memory.
    init?(byteCount: Int, deviceName: String) {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, CPUBuffer.alignment, max(byteCount, 1)) == 0, let raw else { return nil }
        memset(raw, 0, max(byteCount, 1))
        self.base = raw
        self.byteCount = byteCount
        self.deviceName = deviceName
        self.serial = CPUBuffer.nextSerial()
    }

    deinit {
        onInvalidate?(serial)
        free(base)
    }

    /// Announces a command that writes into the buffer: called on the queue's worker for every
    /// upload, copy and kernel that writes it, before the command runs.
    func noteWrite() {
        onInvalidate?(serial)
    }

    private static let serialLock = NSLock()
    nonisolated(unsafe) private static var lastSerial: UInt64 = 0

    private static func nextSerial() -> UInt64 {
        serialLock.lock()
        defer { serialLock.unlock() }
        lastSerial += 1
        return lastSerial
    }
}
