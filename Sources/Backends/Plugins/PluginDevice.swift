import CDeviceAPI
import Devices
import Foundation

/// One device of a plugin, as a ``DeviceBackend``: every slot a C call through the plugin's table.
///
/// The front end has validated everything it passes down; this layer only encodes kernels
/// (``Kernel/cKernel``) and operands and turns plugin errors into ``DeviceError``s.
final class PluginDevice: DeviceBackend, @unchecked Sendable {
    let library: PluginLibrary
    let handle: OpaquePointer
    let info: DeviceInfo
    private let lock = NSLock()
    /// Answers of `device_supports`, by kernel: asked once per distinct launch.
    private var supported: [Kernel: Bool] = [:]

    init(library: PluginLibrary, index: Int) throws {
        self.library = library
        self.info = library.devices[index]
        var out: OpaquePointer?
        try library.check(library.api.device_open!(library.plugin, Int64(index), &out), "device_open", device: info.name)
        guard let out else {
            throw DeviceError.backendFailure(device: info.name, call: "device_open", code: 0, message: "returned no device")
        }
        handle = out
    }

    deinit { library.api.device_close!(handle) }

    var api: DdpmDeviceApi { library.api }

    func allocateBuffer(bytes: Int) throws -> Buffer {
        var out: OpaquePointer?
        try library.check(api.buffer_allocate!(handle, UInt64(bytes), &out), "buffer_allocate", device: info.name,
                          requested: bytes)
        guard let out else {
            throw DeviceError.backendFailure(device: info.name, call: "buffer_allocate", code: 0, message: "returned no buffer")
        }
        return PluginBuffer(device: self, handle: out, byteCount: bytes)
    }

    func makeBackendQueue() throws -> QueueBackend {
        var out: OpaquePointer?
        try library.check(api.queue_create!(handle, &out), "queue_create", device: info.name)
        guard let out else {
            throw DeviceError.backendFailure(device: info.name, call: "queue_create", code: 0, message: "returned no queue")
        }
        return PluginQueue(device: self, handle: out)
    }

    func supports(_ kernel: Kernel) -> Bool {
        if let known = lock.withLock({ supported[kernel] }) { return known }
        var c = kernel.cKernel
        let answer = api.device_supports!(handle, &c) != 0
        lock.withLock { supported[kernel] = answer }
        return answer
    }
}

/// A plugin buffer: freed through `buffer_free` when the front end lets go of it.
final class PluginBuffer: Buffer, @unchecked Sendable {
    let device: PluginDevice
    let handle: OpaquePointer
    let byteCount: Int

    init(device: PluginDevice, handle: OpaquePointer, byteCount: Int) {
        self.device = device
        self.handle = handle
        self.byteCount = byteCount
    }

    deinit { device.api.buffer_free!(handle) }

    var deviceName: String { device.info.name }
}

/// A plugin queue.
final class PluginQueue: QueueBackend {
    let device: PluginDevice
    let handle: OpaquePointer

    init(device: PluginDevice, handle: OpaquePointer) {
        self.device = device
        self.handle = handle
    }

    deinit {
        _ = try? synchronize()   // queue_destroy always follows a synchronize (ddpm_device.h)
        device.api.queue_destroy!(handle)
    }

    private var api: DdpmDeviceApi { device.api }
    private var name: String { device.info.name }

    private func check(_ error: OpaquePointer?, _ call: String) throws {
        try device.library.check(error, call, device: name)
    }

    /// The C operand of a backend slice of `bytes` bytes.
    static func operand(_ slice: BufferSlice, bytes: Int) -> DdpmOperand {
        DdpmOperand(buffer: (slice.buffer as! PluginBuffer).handle, offset: UInt64(slice.offset), bytes: UInt64(bytes))
    }

    static func operands(_ kernel: Kernel, _ slices: [BufferSlice]) -> [DdpmOperand] {
        zip(kernel.operands, slices).map { operand($1, bytes: $0.byteCount) }
    }

    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        try check(api.queue_upload!(handle, bytes.baseAddress, Self.operand(destination, bytes: bytes.count)), "queue_upload")
    }

    func download(_ source: BufferSlice, into host: UnsafeMutableRawPointer, byteCount: Int) throws {
        try check(api.queue_download!(handle, Self.operand(source, bytes: byteCount), host), "queue_download")
    }

    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        try check(api.queue_copy!(handle, Self.operand(source, bytes: byteCount), Self.operand(destination, bytes: byteCount)),
                  "queue_copy")
    }

    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        var c = kernel.cKernel
        let list = Self.operands(kernel, operands)
        try list.withUnsafeBufferPointer { pointer in
            try check(api.queue_launch!(handle, &c, pointer.baseAddress, Int64(list.count)), "queue_launch(\(kernel.family))")
        }
    }

    func record() throws -> EventBackend {
        var out: OpaquePointer?
        try check(api.queue_record!(handle, &out), "queue_record")
        guard let out else {
            throw DeviceError.backendFailure(device: name, call: "queue_record", code: 0, message: "returned no event")
        }
        return PluginEvent(device: device, handle: out)
    }

    func waitOnDevice(for event: EventBackend) throws {
        guard let event = event as? PluginEvent, event.device === device else {
            throw DeviceError.invalidOperands(kernel: "waitOnDevice", reason: "the event belongs to another device")
        }
        try check(api.queue_wait_event!(handle, event.handle), "queue_wait_event")
    }

    func synchronize() throws { try check(api.queue_synchronize!(handle), "queue_synchronize") }

    var supportsProfiling: Bool { api.queue_set_profiling != nil }

    func setProfiling(_ enabled: Bool) throws {
        guard let slot = api.queue_set_profiling else { return }
        try check(slot(handle, enabled ? 1 : 0), "queue_set_profiling")
    }

    func takeLaunchTimes() throws -> [Double] {
        guard let slot = api.queue_take_launch_times else { return [] }
        var all: [Double] = []
        var chunk = [Double](repeating: 0, count: 1024)
        while true {
            var count: Int64 = 0
            try chunk.withUnsafeMutableBufferPointer { pointer in
                try check(slot(handle, pointer.baseAddress, Int64(pointer.count), &count), "queue_take_launch_times")
            }
            guard count > 0, count <= chunk.count else { break }
            all += chunk.prefix(Int(count))
            if count < chunk.count { break }
        }
        return all
    }

    func makeSchedule(_ launches: [PreparedLaunch]) throws -> ScheduleBackend? {
        guard let create = api.schedule_create else { return nil }
        // The C launches point into these arrays; they live until schedule_create returns.
        let kernels = UnsafeMutablePointer<DdpmKernel>.allocate(capacity: max(launches.count, 1))
        defer { kernels.deallocate() }
        let operandLists = launches.map { Self.operands($0.kernel, $0.operands) }
        var flat = operandLists.flatMap { $0 }
        var out: OpaquePointer?
        try flat.withUnsafeMutableBufferPointer { operands in
            var c: [DdpmLaunch] = []
            c.reserveCapacity(launches.count)
            var offset = 0
            for (i, launch) in launches.enumerated() {
                kernels[i] = launch.kernel.cKernel
                let count = operandLists[i].count
                c.append(DdpmLaunch(struct_size: MemoryLayout<DdpmLaunch>.size, kernel: UnsafePointer(kernels + i),
                                    operands: UnsafePointer(operands.baseAddress! + offset), operand_count: Int64(count)))
                offset += count
            }
            try check(create(handle, c, Int64(c.count), &out), "schedule_create")
        }
        guard let out else {
            throw DeviceError.backendFailure(device: name, call: "schedule_create", code: 0, message: "returned no schedule")
        }
        return PluginSchedule(device: device, handle: out)
    }

    func replay(_ schedule: ScheduleBackend) throws {
        guard let schedule = schedule as? PluginSchedule else {
            throw DeviceError.invalidOperands(kernel: "schedule", reason: "the schedule was made by another device")
        }
        try check(api.schedule_replay!(handle, schedule.handle), "schedule_replay")
    }
}

/// A plugin event.
final class PluginEvent: EventBackend {
    let device: PluginDevice
    let handle: OpaquePointer

    init(device: PluginDevice, handle: OpaquePointer) {
        self.device = device
        self.handle = handle
    }

    deinit { device.api.event_destroy!(handle) }

    var isComplete: Bool { device.api.event_is_complete!(handle) != 0 }

    func wait() throws { try device.library.check(device.api.event_wait!(handle), "event_wait", device: device.info.name) }
}

/// A schedule recorded by a plugin.
final class PluginSchedule: ScheduleBackend {
    let device: PluginDevice
    let handle: OpaquePointer

    init(device: PluginDevice, handle: OpaquePointer) {
        self.device = device
        self.handle = handle
    }

    deinit { device.api.schedule_destroy!(handle) }
}
