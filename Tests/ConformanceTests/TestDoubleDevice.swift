import Devices
import Foundation

/// A tiny host-memory device for testing the conformance machinery itself.
///
/// It implements a handful of kernel families (fill, contiguous copy, unary, unary backward,
/// binary) synchronously and can be told to misbehave in one specific way, so the tests can
/// show that the suite catches each kind of fault.
final class TestDoubleDevice: Device, @unchecked Sendable {
    enum Fault: Equatable {
        case none
        /// Unary ops write NaN into element 0.
        case nanOutput
        /// Unary ops are off by 1% on every element.
        case wrongValue
        /// Unary ops also write one element past the end of `y`.
        case guardOverwrite
        /// unary_backward.silu uses sigmoid(x) as the derivative.
        case wrongDerivative
        /// Every allocation is also retained forever.
        case leak
        /// Unary ops modify their input in place.
        case clobbersInput
    }

    let info: DeviceInfo
    let fault: Fault
    private let lock = NSLock()
    private var stats = MemoryStats()
    private var leaked: [TestDoubleBuffer] = []

    init(name: String, fault: Fault = .none) {
        self.fault = fault
        info = DeviceInfo(name: name, deviceName: "test double", vendor: "ddpm tests", kind: .other,
                          driverVersion: "1", platform: "host memory", computeUnits: 1,
                          globalMemoryBytes: 1 << 30, maxAllocationBytes: 1 << 28, alignment: 64, supportsFP16: false)
    }

    func allocate(bytes: Int) throws -> Buffer {
        guard bytes <= info.maxAllocationBytes else {
            throw DeviceError.allocationTooLarge(device: info.name, requested: bytes, limit: info.maxAllocationBytes)
        }
        let buffer = TestDoubleBuffer(device: self, byteCount: bytes)
        lock.lock()
        stats.liveBuffers += 1
        stats.liveBytes += bytes
        stats.peakBytes = max(stats.peakBytes, stats.liveBytes)
        if fault == .leak { leaked.append(buffer) }
        lock.unlock()
        return buffer
    }

    func released(_ bytes: Int) {
        lock.lock()
        stats.liveBuffers -= 1
        stats.liveBytes -= bytes
        lock.unlock()
    }

    func makeQueue() throws -> Queue { TestDoubleQueue(device: self) }

    func supports(_ kernel: Kernel) -> Bool {
        switch kernel {
        case .fill, .unary, .unaryBackward, .binary: return true
        case let .copy(c): return c.shape.count == 1 && c.srcStrides == [1] && c.dstStrides == [1]
        default: return false
        }
    }

    var memoryStats: MemoryStats {
        lock.lock()
        defer { lock.unlock() }
        return stats
    }
}

final class TestDoubleBuffer: Buffer, @unchecked Sendable {
    let byteCount: Int
    let deviceName: String
    var words: [UInt32]
    private weak var device: TestDoubleDevice?

    init(device: TestDoubleDevice, byteCount: Int) {
        self.byteCount = byteCount
        self.deviceName = device.info.name
        self.device = device
        words = [UInt32](repeating: 0, count: (byteCount + 3) / 4)
    }

    deinit { device?.released(byteCount) }

    func float(_ slice: BufferSlice, _ i: Int) -> Float { Float(bitPattern: words[slice.offset / 4 + i]) }
    func setFloat(_ slice: BufferSlice, _ i: Int, _ value: Float) { words[slice.offset / 4 + i] = value.bitPattern }

    /// Byte-level access for transfers at arbitrary offsets.
    func withBytes<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) rethrows -> T {
        try words.withUnsafeMutableBytes { try body(UnsafeMutableRawBufferPointer(rebasing: $0[0..<byteCount])) }
    }
}

final class TestDoubleEvent: Event {
    var isComplete: Bool { true }
    weak var queue: TestDoubleQueue?
    init(queue: TestDoubleQueue) { self.queue = queue }
    func wait() throws { queue?.countedSynchronization() }
}
