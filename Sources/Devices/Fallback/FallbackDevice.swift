import Foundation

/// A device that runs each kernel on `primary` when it supports it and on `fallback` (the host
/// CPU) otherwise, moving data between the two only where a kernel needs it.
///
/// This is how a partial device (an accelerator that implements part of the vocabulary, say
/// only GEMMs and elementwise ops) still trains and samples: the graph is lowered and replayed
/// unchanged, and ``FallbackQueue`` places every launch. Each buffer lives on the primary
/// device and gets a mirror on the fallback device the first time a fallback kernel touches it;
/// per byte range, the queue tracks which copies are current and copies a range across only
/// when a kernel on the other side reads it (runs of fallback kernels therefore move nothing
/// between them, and a tensor moves once per change of side). A schedule whose launches all
/// run on the primary device is handed to it whole.
///
/// ```swift
/// let device = FallbackDevice(primary: try DeviceRegistry.device(named: "example"),
///                             fallback: try DeviceRegistry.device(named: "cpu"))
/// ```
public final class FallbackDevice: Device, @unchecked Sendable {
    public let primary: Device
    public let fallback: Device

    public init(primary: Device, fallback: Device) {
        self.primary = primary
        self.fallback = fallback
    }

    public var info: DeviceInfo { primary.info }

    public func allocate(bytes: Int) throws -> Buffer {
        FallbackBuffer(primary: try primary.allocate(bytes: bytes), owner: self)
    }

    public func makeQueue() throws -> Queue {
        FallbackQueue(device: self, primary: try primary.makeQueue(), fallback: try fallback.makeQueue())
    }

    /// What either device supports.
    public func supports(_ kernel: Kernel) -> Bool { primary.supports(kernel) || fallback.supports(kernel) }

    /// The primary device's buffers (mirrors on the fallback device are extra host memory).
    public var memoryStats: MemoryStats { primary.memoryStats }
}

/// Where a kernel runs.
enum Placement { case primary, fallback }

/// A buffer of a ``FallbackDevice``: its primary buffer, a fallback mirror made on first use, and
/// which byte ranges of each copy are stale.
final class FallbackBuffer: Buffer, @unchecked Sendable {
    let primary: Buffer
    unowned let owner: FallbackDevice
    private(set) var mirror: Buffer?
    /// Ranges whose current contents are on the other side.
    var staleOnPrimary = ByteRanges()
    var staleOnFallback = ByteRanges()

    init(primary: Buffer, owner: FallbackDevice) {
        self.primary = primary
        self.owner = owner
    }

    var byteCount: Int { primary.byteCount }
    var deviceName: String { owner.info.name }

    /// The mirror, made on first use; all of it stale until copied from the primary buffer.
    func fallbackBuffer() throws -> Buffer {
        if let mirror { return mirror }
        let made = try owner.fallback.allocate(bytes: byteCount)
        mirror = made
        staleOnFallback.insert(0..<byteCount)
        return made
    }

    func raw(_ place: Placement) throws -> Buffer {
        switch place {
        case .primary: return primary
        case .fallback: return try fallbackBuffer()
        }
    }

    /// Records that `range` was written on `place`.
    func written(_ range: Range<Int>, on place: Placement) {
        switch place {
        case .primary:
            staleOnPrimary.remove(range)
            if mirror != nil { staleOnFallback.insert(range) }
        case .fallback:
            staleOnFallback.remove(range)
            staleOnPrimary.insert(range)
        }
    }
}
