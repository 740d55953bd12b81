import Foundation

/// A ``Device`` made of a ``DeviceBackend``: the one front end every device goes through.
///
/// It owns what is the same for every device: allocation limits and memory statistics here,
/// validation, counters, profiling and keep-alives in ``FrontEndQueue``.
///
/// ```swift
/// let device: Device = FrontEndDevice(CPUDevice(mode: .reference))
/// let queue = try device.makeQueue()
/// ```
public final class FrontEndDevice: Device, @unchecked Sendable {
    /// The implementation behind this device.
    public let backend: DeviceBackend
    public let info: DeviceInfo
    private let lock = NSLock()
    private var stats = MemoryStats()

    public init(_ backend: DeviceBackend) {
        self.backend = backend
        self.info = backend.info
    }

    public func allocate(bytes: Int) throws -> Buffer {
        guard bytes >= 0 else {
            throw DeviceError.invalidOperands(kernel: "allocate", reason: "byte count \(bytes) is negative")
        }
        guard bytes <= info.maxAllocationBytes else {
            throw DeviceError.allocationTooLarge(device: info.name, requested: bytes, limit: info.maxAllocationBytes)
        }
        let raw = try backend.allocateBuffer(bytes: bytes)
        lock.withLock {
            stats.liveBuffers += 1
            stats.liveBytes += bytes
            stats.peakBytes = max(stats.peakBytes, stats.liveBytes)
        }
        return ManagedBuffer(raw: raw, device: self)
    }

    public func makeQueue() throws -> Queue { FrontEndQueue(device: self, backend: try backend.makeBackendQueue()) }

    public func supports(_ kernel: Kernel) -> Bool { backend.supports(kernel) }

    public var memoryStats: MemoryStats { lock.withLock { stats } }

    fileprivate func released(bytes: Int) {
        lock.withLock {
            stats.liveBuffers -= 1
            stats.liveBytes -= bytes
        }
    }
}

/// A buffer handed out by a ``FrontEndDevice``: the backend's buffer plus its owner.
///
/// Freed (the backend buffer released) when the last reference goes; the front end holds a
/// reference while commands that use it may still run.
public final class ManagedBuffer: Buffer, @unchecked Sendable {
    /// The backend's buffer.
    public let raw: Buffer
    /// The device that allocated it.
    public let device: FrontEndDevice

    init(raw: Buffer, device: FrontEndDevice) {
        self.raw = raw
        self.device = device
    }

    deinit { device.released(bytes: raw.byteCount) }

    public var byteCount: Int { raw.byteCount }
    public var deviceName: String { device.info.name }
}
