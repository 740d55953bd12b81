#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices
import Foundation

/// Reusable scratch memory for kernels (im2col columns, GEMM staging), grown on demand.
///
/// A workspace is used by one kernel at a time: the device lends one to a queue's worker for the
/// duration of a command (``WorkspacePool``), so convolutions do not allocate per launch.
final class Workspace: @unchecked Sendable {
    private var slots: [(pointer: UnsafeMutableRawPointer?, bytes: Int)] = []
    let deviceName: String

    init(deviceName: String) { self.deviceName = deviceName }

    deinit { for slot in slots { free(slot.pointer) } }   // free(nil) is a no-op

    /// At least `count` floats of scratch in slot `index` (contents unspecified).
    ///
    /// Throws ``DeviceError/outOfMemory(device:requested:)`` when the memory cannot be had;
    /// the error surfaces at the queue's next synchronisation.
    func floats(_ index: Int, count: Int) throws -> UnsafeMutablePointer<Float> {
        while slots.count <= index { slots.append((nil, 0)) }
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if slots[index].bytes < bytes {
            free(slots[index].pointer)
            slots[index] = (nil, 0)
            var raw: UnsafeMutableRawPointer?
            // Grow by 25% more than asked so slowly rising sizes do not reallocate every launch.
            let grown = bytes + bytes / 4
            guard posix_memalign(&raw, CPUBuffer.alignment, grown) == 0, let raw else {
                throw DeviceError.outOfMemory(device: deviceName, requested: grown)
            }
            slots[index] = (raw, grown)
        }
        return slots[index].pointer!.assumingMemoryBound(to: Float.self)
    }
}

/// The device's cache of workspaces; each command borrows one and gives it back.
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Workspace] = []
    private let deviceName: String

    init(deviceName: String) { self.deviceName = deviceName }

    /// Runs `body` with a workspace no other command is using.
    func with<R>(_ body: (Workspace) throws -> R) rethrows -> R {
        lock.lock()
        let workspace = free.popLast() ?? Workspace(deviceName: deviceName)
        lock.unlock()
        defer {
            lock.lock()
            free.append(workspace)
            lock.unlock()
        }
        return try body(workspace)
    }
}
