#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Devices
import Foundation

/// An in-order asynchronous queue of a ``CPUDevice``: commands run one after another on a serial worker.
///
/// The raw slots only: the front end (``FrontEndQueue``) has validated every command, counts it
/// and keeps its operands alive. Enqueuing returns without waiting. A command that fails while
/// running records its error, which the next ``synchronize()`` throws; later commands still
/// run, as on a device that keeps its queue going.
final class CPUQueue: QueueBackend {
    let cpuDevice: CPUDevice
    private let worker: DispatchQueue
    private let lock = NSLock()
    private var pendingError: Error?
    private var profiling = false
    /// Durations of timed launches that completed, in launch order.
    private var launchTimes: [Double] = []

    init(device: CPUDevice) {
        self.cpuDevice = device
        self.worker = DispatchQueue(label: "ddpm.\(device.info.name).queue", qos: .userInitiated)
    }

    // MARK: Commands

    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let target = try cpuBuffer(destination)
        guard bytes.count > 0, let source = bytes.baseAddress else { return }
        // Stage the host bytes now: the caller may reuse its memory as soon as this returns.
        let staging = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: CPUBuffer.alignment)
        staging.copyMemory(from: source, byteCount: bytes.count)
        let count = bytes.count
        let offset = destination.offset
        enqueue(timed: false) {
            target.noteWrite()
            memcpy(target.base + offset, staging, count)
            staging.deallocate()
        }
    }

    func download(_ source: BufferSlice, into host: UnsafeMutableRawPointer, byteCount: Int) throws {
        let from = try cpuBuffer(source)
        let offset = source.offset
        enqueue(timed: false) { memcpy(host, from.base + offset, byteCount) }
    }

    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        let from = try cpuBuffer(source)
        let to = try cpuBuffer(destination)
        let (sourceOffset, destinationOffset) = (source.offset, destination.offset)
        enqueue(timed: false) {
            to.noteWrite()
            memcpy(to.base + destinationOffset, from.base + sourceOffset, byteCount)
        }
    }

    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        var resolved: [(buffer: CPUBuffer, offset: Int, writes: Bool)] = []
        resolved.reserveCapacity(operands.count)
        for (spec, slice) in zip(kernel.operands, operands) {
            resolved.append((try cpuBuffer(slice), slice.offset, spec.access != .read))
        }
        let kernels = cpuDevice.kernels
        let workspaces = cpuDevice.workspaces
        enqueue(timed: true) {
            // `resolved` holds the buffers, so they outlive the command even if the caller drops them.
            for operand in resolved where operand.writes { operand.buffer.noteWrite() }
            let args = KernelArgs(pointers: resolved.map { $0.buffer.base + $0.offset },
                                  regions: resolved.map { BufferRegion(buffer: $0.buffer.serial, offset: $0.offset) })
            try workspaces.with { try kernels.run(kernel, args, workspace: $0) }
        }
    }

    // MARK: Synchronisation

    func record() throws -> EventBackend {
        let event = CPUEvent()
        worker.async { event.signal() }
        return event
    }

    func waitOnDevice(for event: EventBackend) throws {
        guard let cpuEvent = event as? CPUEvent else {
            throw DeviceError.invalidOperands(
                kernel: "waitOnDevice", reason: "the event was not recorded on a CPU device queue")
        }
        worker.async { cpuEvent.block() }
    }

    func synchronize() throws {
        worker.sync {}
        let error: Error? = lock.withLock {
            defer { pendingError = nil }
            return pendingError
        }
        if let error { throw error }
    }

    // MARK: Profiling

    var supportsProfiling: Bool { true }

    func setProfiling(_ enabled: Bool) throws { lock.withLock { profiling = enabled } }

    func takeLaunchTimes() throws -> [Double] {
        lock.withLock {
            defer { launchTimes.removeAll(keepingCapacity: true) }
            return launchTimes
        }
    }

    // MARK: Internals

    /// Runs `work` on the worker after every command enqueued before it; a thrown error is kept
    /// for the next ``synchronize()``. Internal so tests can inject a failing command.
    func enqueue(timed: Bool, _ work: @escaping () throws -> Void) {
        let profile = timed && lock.withLock { profiling }
        worker.async { [self] in
            let start = profile ? DispatchTime.now().uptimeNanoseconds : 0
            do {
                try work()
            } catch {
                lock.withLock { if pendingError == nil { pendingError = error } }
            }
            if profile {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
                lock.withLock { launchTimes.append(seconds) }
            }
        }
    }

    /// The CPU buffer behind a slice the front end has checked.
    private func cpuBuffer(_ slice: BufferSlice) throws -> CPUBuffer {
        guard let buffer = slice.buffer as? CPUBuffer else {
            throw DeviceError.invalidOperands(
                kernel: "cpu queue", reason: "a buffer of device '\(slice.buffer.deviceName)' reached the CPU backend")
        }
        return buffer
    }
}

/// A completion marker on a ``CPUQueue``: signalled by the worker when it reaches the record point.
final class CPUEvent: EventBackend, @unchecked Sendable {
    private let condition = NSCondition()
    private var done = false

    var isComplete: Bool {
        condition.lock()
        defer { condition.unlock() }
        return done
    }

    func wait() throws { block() }

    /// Blocks the calling thread until the event completes.
    func block() {
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
    }

    func signal() {
        condition.lock()
        done = true
        condition.broadcast()
        condition.unlock()
    }
}
