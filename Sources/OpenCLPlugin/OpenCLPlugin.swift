import CDeviceAPI
import Devices
import Foundation
import OpenCLBackend

// The OpenCL device as a plugin: `ddpm_device_get_api` returns the table of `ddpm_device.h`,
// whose slots adapt the C calls to the OpenCL backend's raw device and queue. Handles are
// retained Swift objects passed as opaque pointers; errors are `PluginError` objects.

/// The entry point ddpm looks up with `dlsym`.
@_cdecl("ddpm_device_get_api")
public func ddpmDeviceGetAPI() -> UnsafePointer<DdpmDeviceApi> { UnsafePointer(PluginTable.table) }

/// A failure handed to the host: code and message, freed by `error_destroy`.
final class PluginError {
    let code: Int32
    let message: UnsafeMutablePointer<CChar>

    init(code: Int, message: String) {
        self.code = Int32(code)
        self.message = strdup(message)
    }

    deinit { free(message) }

    /// The error for a thrown Swift error, with the matching code.
    static func make(_ error: Error) -> OpaquePointer {
        let code: Int
        switch error as? DeviceError {
        case .allocationTooLarge?: code = DDPM_ERROR_ALLOCATION_TOO_LARGE
        case .outOfMemory?: code = DDPM_ERROR_OUT_OF_MEMORY
        case .unsupportedKernel?: code = DDPM_ERROR_UNSUPPORTED
        case .unavailable?: code = DDPM_ERROR_UNAVAILABLE
        case .kernelBuildFailed?: code = DDPM_ERROR_BUILD_FAILED
        case .invalidOperands?, .unknownDevice?: code = DDPM_ERROR_INVALID_ARGUMENT
        case .backendFailure?, nil: code = DDPM_ERROR_BACKEND
        }
        return OpaquePointer(Unmanaged.passRetained(PluginError(code: code, message: "\(error)")).toOpaque())
    }
}

/// Runs `body`, turning a thrown error into a `DdpmError*`.
func guarded(_ body: () throws -> Void) -> OpaquePointer? {
    do {
        try body()
        return nil
    } catch {
        return PluginError.make(error)
    }
}

/// Plugin-wide state: the devices found at initialisation and their C descriptions.
final class PluginState {
    struct Entry {
        let device: OpenCLDevice
        let info: UnsafeMutablePointer<DdpmDeviceInfo>
    }

    var entries: [Entry] = []
    /// C strings and property arrays owned by the infos, freed at terminate.
    var strings: [UnsafeMutablePointer<CChar>] = []
    var propertyArrays: [UnsafeMutablePointer<DdpmProperty>] = []

    func cString(_ value: String) -> UnsafePointer<CChar> {
        let copy = strdup(value)!
        strings.append(copy)
        return UnsafePointer(copy)
    }

    /// The C description of `info`, owned by this state.
    func describe(_ info: DeviceInfo) -> UnsafeMutablePointer<DdpmDeviceInfo> {
        let properties = info.properties
        let array = UnsafeMutablePointer<DdpmProperty>.allocate(capacity: max(properties.count, 1))
        for (i, property) in properties.enumerated() {
            array[i] = DdpmProperty(key: cString(property.key), value: cString(property.value))
        }
        propertyArrays.append(array)
        var c = DdpmDeviceInfo()
        c.struct_size = MemoryLayout<DdpmDeviceInfo>.size
        c.name = cString(info.name)
        c.device_name = cString(info.deviceName)
        c.vendor = cString(info.vendor)
        switch info.kind {
        case .cpu: c.kind = Int32(DDPM_DEVICE_KIND_CPU)
        case .gpu: c.kind = Int32(DDPM_DEVICE_KIND_GPU)
        case .accelerator: c.kind = Int32(DDPM_DEVICE_KIND_ACCELERATOR)
        case .reference, .other: c.kind = Int32(DDPM_DEVICE_KIND_OTHER)
        }
        c.supports_fp16 = info.supportsFP16 ? 1 : 0
        c.driver_version = cString(info.driverVersion)
        c.platform = cString(info.platform)
        c.compute_units = Int64(info.computeUnits)
        c.global_memory_bytes = Int64(info.globalMemoryBytes)
        c.max_allocation_bytes = Int64(info.maxAllocationBytes)
        c.alignment = Int64(info.alignment)
        c.property_count = Int64(properties.count)
        c.properties = UnsafePointer(array)
        let pointer = UnsafeMutablePointer<DdpmDeviceInfo>.allocate(capacity: 1)
        pointer.initialize(to: c)
        return pointer
    }

    deinit {
        for entry in entries { entry.info.deallocate() }
        for array in propertyArrays { array.deallocate() }
        for string in strings { free(string) }
    }
}

/// A queue handle: the backend queue and launch times not yet handed over.
final class QueueBox {
    let device: OpenCLDevice
    let queue: QueueBackend
    var pendingTimes: [Double] = []

    init(device: OpenCLDevice, queue: QueueBackend) {
        self.device = device
        self.queue = queue
    }
}

/// An event handle.
final class EventBox {
    let event: EventBackend
    init(_ event: EventBackend) { self.event = event }
}

/// A schedule handle: the launches decoded once.
final class ScheduleBox {
    let launches: [PreparedLaunch]
    init(_ launches: [PreparedLaunch]) { self.launches = launches }
}

/// A buffer handle.
final class BufferBox {
    let buffer: Buffer
    init(_ buffer: Buffer) { self.buffer = buffer }
}

/// Handle conversions.
func object<T: AnyObject>(_ pointer: OpaquePointer?, as type: T.Type) -> T {
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer!)).takeUnretainedValue()
}

func handle<T: AnyObject>(_ value: T) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(value).toOpaque()) }

func release<T: AnyObject>(_ pointer: OpaquePointer?, as type: T.Type) {
    guard let pointer else { return }
    Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).release()
}

/// The backend slice of a C operand.
func slice(_ operand: DdpmOperand) -> BufferSlice {
    BufferSlice(object(operand.buffer, as: BufferBox.self).buffer, offset: Int(operand.offset))
}

func slices(_ operands: UnsafePointer<DdpmOperand>?, _ count: Int64) -> [BufferSlice] {
    (0..<Int(count)).map { slice(operands![$0]) }
}

func decode(_ kernel: UnsafePointer<DdpmKernel>?, device: OpenCLDevice) throws -> Kernel {
    try Kernel(c: kernel!.pointee, device: device.info.name)
}

enum PluginTable {
    static let table: UnsafeMutablePointer<DdpmDeviceApi> = {
        var api = DdpmDeviceApi()
        api.struct_size = MemoryLayout<DdpmDeviceApi>.size
        api.major = UInt32(DDPM_DEVICE_API_MAJOR)
        api.minor = UInt32(DDPM_DEVICE_API_MINOR)
        api.plugin_name = UnsafePointer(strdup("opencl"))
        api.plugin_version = UnsafePointer(strdup("ddpm OpenCL plugin 1 (kernels from Kernels/*.cl)"))

        api.error_code = { error in object(error, as: PluginError.self).code }
        api.error_message = { error in UnsafePointer(object(error, as: PluginError.self).message) }
        api.error_destroy = { error in release(error, as: PluginError.self) }

        api.initialize = { args, out in
            guarded {
                let state = PluginState()
                var reasons: [String] = []
                for entry in OpenCLDeviceFactory().enumerate() {
                    switch entry.status {
                    case let .available(make):
                        // Opened here (one context per device, as before), described once for device_info.
                        let device = try make()
                        guard let raw = (device as? FrontEndDevice)?.backend as? OpenCLDevice else { continue }
                        state.entries.append(.init(device: raw, info: state.describe(raw.info)))
                    case let .unavailable(reason):
                        reasons.append("\(entry.name): \(reason)")
                    }
                }
                guard !state.entries.isEmpty else {
                    throw DeviceError.unavailable(name: "opencl", reason: reasons.joined(separator: "; "))
                }
                out!.pointee = handle(state)
            }
        }
        api.terminate = { plugin in release(plugin, as: PluginState.self) }

        api.device_count = { plugin, out in
            out!.pointee = Int64(object(plugin, as: PluginState.self).entries.count)
            return nil
        }
        api.device_info = { plugin, index, out in
            guarded {
                let state = object(plugin, as: PluginState.self)
                guard index >= 0, Int(index) < state.entries.count else {
                    throw DeviceError.invalidOperands(kernel: "device_info", reason: "no device \(index)")
                }
                out!.pointee = UnsafePointer(state.entries[Int(index)].info)
            }
        }
        api.device_open = { plugin, index, out in
            guarded {
                let state = object(plugin, as: PluginState.self)
                guard index >= 0, Int(index) < state.entries.count else {
                    throw DeviceError.invalidOperands(kernel: "device_open", reason: "no device \(index)")
                }
                out!.pointee = handle(state.entries[Int(index)].device)
            }
        }
        api.device_close = { device in release(device, as: OpenCLDevice.self) }
        api.device_supports = { device, kernel in
            let device = object(device, as: OpenCLDevice.self)
            guard let decoded = try? decode(kernel, device: device) else { return 0 }
            return device.supports(decoded) ? 1 : 0
        }

        api.buffer_allocate = { device, bytes, out in
            guarded {
                let device = object(device, as: OpenCLDevice.self)
                out!.pointee = handle(BufferBox(try device.allocateBuffer(bytes: Int(bytes))))
            }
        }
        api.buffer_free = { buffer in release(buffer, as: BufferBox.self) }

        api.queue_create = { device, out in
            guarded {
                let device = object(device, as: OpenCLDevice.self)
                out!.pointee = handle(QueueBox(device: device, queue: try device.makeBackendQueue()))
            }
        }
        api.queue_destroy = { queue in release(queue, as: QueueBox.self) }
        api.queue_upload = { queue, host, destination in
            guarded {
                let box = object(queue, as: QueueBox.self)
                try box.queue.upload(UnsafeRawBufferPointer(start: host, count: Int(destination.bytes)), to: slice(destination))
            }
        }
        api.queue_download = { queue, source, host in
            guarded {
                try object(queue, as: QueueBox.self).queue.download(slice(source), into: host!, byteCount: Int(source.bytes))
            }
        }
        api.queue_copy = { queue, source, destination in
            guarded {
                try object(queue, as: QueueBox.self).queue.copy(from: slice(source), to: slice(destination),
                                                                 byteCount: Int(source.bytes))
            }
        }
        api.queue_launch = { queue, kernel, operands, count in
            guarded {
                let box = object(queue, as: QueueBox.self)
                try box.queue.launch(try decode(kernel, device: box.device), slices(operands, count))
            }
        }
        api.queue_record = { queue, out in
            guarded { out!.pointee = handle(EventBox(try object(queue, as: QueueBox.self).queue.record())) }
        }
        api.queue_wait_event = { queue, event in
            guarded { try object(queue, as: QueueBox.self).queue.waitOnDevice(for: object(event, as: EventBox.self).event) }
        }
        api.queue_synchronize = { queue in guarded { try object(queue, as: QueueBox.self).queue.synchronize() } }
        api.event_wait = { event in guarded { try object(event, as: EventBox.self).event.wait() } }
        api.event_is_complete = { event in object(event, as: EventBox.self).event.isComplete ? 1 : 0 }
        api.event_destroy = { event in release(event, as: EventBox.self) }

        api.queue_set_profiling = { queue, enabled in
            guarded { try object(queue, as: QueueBox.self).queue.setProfiling(enabled != 0) }
        }
        api.queue_take_launch_times = { queue, seconds, capacity, out in
            guarded {
                let box = object(queue, as: QueueBox.self)
                box.pendingTimes += try box.queue.takeLaunchTimes()
                let n = min(Int(capacity), box.pendingTimes.count)
                for i in 0..<n { seconds![i] = box.pendingTimes[i] }
                box.pendingTimes.removeFirst(n)
                out!.pointee = Int64(n)
            }
        }

        api.schedule_create = { queue, launches, count, out in
            guarded {
                let box = object(queue, as: QueueBox.self)
                var decoded: [PreparedLaunch] = []
                decoded.reserveCapacity(Int(count))
                for i in 0..<Int(count) {
                    let launch = launches![i]
                    decoded.append(PreparedLaunch(kernel: try decode(launch.kernel, device: box.device),
                                                  operands: slices(launch.operands, launch.operand_count)))
                }
                out!.pointee = handle(ScheduleBox(decoded))
            }
        }
        api.schedule_replay = { queue, schedule in
            guarded {
                let box = object(queue, as: QueueBox.self)
                for launch in object(schedule, as: ScheduleBox.self).launches {
                    try box.queue.launch(launch.kernel, launch.operands)
                }
            }
        }
        api.schedule_destroy = { schedule in release(schedule, as: ScheduleBox.self) }

        let pointer = UnsafeMutablePointer<DdpmDeviceApi>.allocate(capacity: 1)
        pointer.initialize(to: api)
        return pointer
    }()
}
