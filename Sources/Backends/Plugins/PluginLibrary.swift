#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CDeviceAPI
import Devices
import Foundation

/// A device plugin loaded from a shared library: its checked table and its devices.
///
/// Loading checks everything the host can check before trusting the plugin: the entry point,
/// the interface version, the table's `struct_size`, every required slot, the optional slots
/// that come in groups, `initialize`, and every device description. Each failure is a
/// ``PluginError`` naming the file.
final class PluginLibrary: @unchecked Sendable {
    /// The file, as given or found.
    let path: String
    /// The table, copied into a struct of this host's size (fields of a newer minor dropped,
    /// fields of an older minor zero, that is absent).
    let api: DdpmDeviceApi
    let plugin: OpaquePointer
    /// The interface version the plugin was built for.
    let major: UInt32
    let minor: UInt32
    let pluginName: String
    let pluginVersion: String
    /// Its devices, by index.
    let devices: [DeviceInfo]
    /// What the user should know that is not a failure (a newer minor run with the common part).
    let notes: [String]

    /// The smallest table size of interface 1.0: every field up to `event_destroy`.
    static let requiredTableSize = MemoryLayout<DdpmDeviceApi>.offset(of: \DdpmDeviceApi.event_destroy)!
        + MemoryLayout<UnsafeRawPointer>.size
    /// The smallest device-info size of interface 1.0: every field up to `properties`.
    static let requiredInfoSize = MemoryLayout<DdpmDeviceInfo>.offset(of: \DdpmDeviceInfo.properties)!
        + MemoryLayout<UnsafeRawPointer>.size

    /// Loads, checks and initialises the plugin in `path`.
    init(path: String, cacheDirectory: String? = nil) throws {
        self.path = path
        func fail(_ reason: String) -> PluginError { PluginError(file: path, reason: reason) }

        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let message = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw fail("cannot be loaded: \(message)")
        }
        // Plugins are never unloaded: a library with a language runtime cannot be, safely.
        guard let symbol = dlsym(handle, DDPM_DEVICE_ENTRY_POINT) else {
            throw fail("exports no '\(DDPM_DEVICE_ENTRY_POINT)' (not a ddpm device plugin, or built without the entry point)")
        }
        let getAPI = unsafeBitCast(symbol, to: DdpmGetApiFunction.self)
        guard let table = getAPI() else { throw fail("'\(DDPM_DEVICE_ENTRY_POINT)' returned NULL") }

        // Read the header fields first: struct_size, major, minor are at fixed places in every version.
        let declared = table.pointee.struct_size
        major = table.pointee.major
        minor = table.pointee.minor
        let host = "\(DDPM_DEVICE_API_MAJOR).\(DDPM_DEVICE_API_MINOR)"
        guard major == UInt32(DDPM_DEVICE_API_MAJOR) else {
            throw fail("was built for device interface \(major).\(minor); this ddpm speaks \(host) (a different major version is incompatible: rebuild the plugin against this ddpm's ddpm_device.h)")
        }
        guard declared >= Self.requiredTableSize else {
            throw fail("its DdpmDeviceApi.struct_size is \(declared) bytes, smaller than the \(Self.requiredTableSize) bytes interface \(major).\(minor) requires (a corrupt table, or built against a damaged header)")
        }
        var copy = DdpmDeviceApi()
        withUnsafeMutableBytes(of: &copy) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: table, count: min(declared, destination.count)))
        }
        copy.struct_size = MemoryLayout<DdpmDeviceApi>.size
        api = copy
        var notes: [String] = []
        if minor > UInt32(DDPM_DEVICE_API_MINOR) {
            notes.append("built for interface \(major).\(minor), newer than this ddpm's \(host): running with the \(host) part of its table")
        }

        let missing = Self.missingRequiredSlots(copy)
        guard missing.isEmpty else {
            throw fail("its table leaves required slot\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) NULL")
        }
        let scheduleSlots = [copy.schedule_create != nil, copy.schedule_replay != nil, copy.schedule_destroy != nil]
        guard scheduleSlots.allSatisfy({ $0 }) || !scheduleSlots.contains(true) else {
            throw fail("its table sets some of schedule_create, schedule_replay, schedule_destroy but not all three")
        }
        guard (copy.queue_set_profiling == nil) == (copy.queue_take_launch_times == nil) else {
            throw fail("its table sets only one of queue_set_profiling and queue_take_launch_times")
        }
        pluginName = copy.plugin_name.map { String(cString: $0) } ?? ""
        pluginVersion = copy.plugin_version.map { String(cString: $0) } ?? ""
        guard !pluginName.isEmpty, !pluginName.contains(":") else {
            throw fail("its plugin_name '\(pluginName)' must be a non-empty family name without ':'")
        }

        var args = DdpmInitArgs()
        args.struct_size = MemoryLayout<DdpmInitArgs>.size
        args.host_major = UInt32(DDPM_DEVICE_API_MAJOR)
        args.host_minor = UInt32(DDPM_DEVICE_API_MINOR)
        var out: OpaquePointer?
        let initError = path.withCString { file in
            (cacheDirectory ?? "").withCString { cache in
                args.plugin_path = file
                args.cache_directory = cacheDirectory == nil ? nil : cache
                return copy.initialize!(&args, &out)
            }
        }
        if let error = Self.take(initError, api: copy) {
            throw PluginError(file: path, reason: "initialize failed: \(error.message)", unavailable: error.code == DDPM_ERROR_UNAVAILABLE)
        }
        guard let plugin = out else { throw fail("initialize succeeded but returned no plugin state") }
        self.plugin = plugin
        self.notes = notes

        do {
            var count: Int64 = 0
            if let error = Self.take(copy.device_count!(plugin, &count), api: copy) {
                throw fail("device_count failed: \(error.message)")
            }
            guard (0...4096).contains(count) else { throw fail("device_count reported \(count) devices") }
            var infos: [DeviceInfo] = []
            for index in 0..<count {
                var info: UnsafePointer<DdpmDeviceInfo>?
                if let error = Self.take(copy.device_info!(plugin, index, &info), api: copy) {
                    throw fail("device_info(\(index)) failed: \(error.message)")
                }
                guard let info else { throw fail("device_info(\(index)) returned no description") }
                infos.append(try Self.describe(info, index: index, family: pluginName, fail: fail))
            }
            var seen: Set<String> = []
            for info in infos where !seen.insert(info.name).inserted {
                throw fail("reports two devices named '\(info.name)'")
            }
            devices = infos
        } catch {
            copy.terminate!(plugin)
            throw error
        }
    }

    /// Names of required slots that are NULL.
    static func missingRequiredSlots(_ api: DdpmDeviceApi) -> [String] {
        let slots: [(String, Bool)] = [
            ("error_code", api.error_code != nil), ("error_message", api.error_message != nil),
            ("error_destroy", api.error_destroy != nil), ("initialize", api.initialize != nil),
            ("terminate", api.terminate != nil), ("device_count", api.device_count != nil),
            ("device_info", api.device_info != nil), ("device_open", api.device_open != nil),
            ("device_close", api.device_close != nil), ("device_supports", api.device_supports != nil),
            ("buffer_allocate", api.buffer_allocate != nil), ("buffer_free", api.buffer_free != nil),
            ("queue_create", api.queue_create != nil), ("queue_destroy", api.queue_destroy != nil),
            ("queue_upload", api.queue_upload != nil), ("queue_download", api.queue_download != nil),
            ("queue_copy", api.queue_copy != nil), ("queue_launch", api.queue_launch != nil),
            ("queue_record", api.queue_record != nil), ("queue_wait_event", api.queue_wait_event != nil),
            ("queue_synchronize", api.queue_synchronize != nil), ("event_wait", api.event_wait != nil),
            ("event_is_complete", api.event_is_complete != nil), ("event_destroy", api.event_destroy != nil),
        ]
        return slots.filter { !$0.1 }.map(\.0)
    }

    /// A device description, checked field by field.
    static func describe(_ pointer: UnsafePointer<DdpmDeviceInfo>, index: Int64, family: String,
                         fail: (String) -> PluginError) throws -> DeviceInfo {
        let declared = pointer.pointee.struct_size
        guard declared >= requiredInfoSize else {
            throw fail("device \(index): DdpmDeviceInfo.struct_size is \(declared) bytes, smaller than the \(requiredInfoSize) bytes interface 1.0 requires")
        }
        var c = DdpmDeviceInfo()
        withUnsafeMutableBytes(of: &c) { destination in
            destination.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(declared, destination.count)))
        }
        func text(_ field: UnsafePointer<CChar>?, _ name: String) throws -> String {
            guard let field else { throw fail("device \(index): \(name) is NULL") }
            return String(cString: field)
        }
        let name = try text(c.name, "name")
        guard name == family || name.hasPrefix(family + ":") else {
            throw fail("device \(index) is named '\(name)'; a device of plugin '\(family)' must be named '\(family)' or '\(family):N'")
        }
        let kind: DeviceInfo.Kind
        switch Int(c.kind) {
        case DDPM_DEVICE_KIND_CPU: kind = .cpu
        case DDPM_DEVICE_KIND_GPU: kind = .gpu
        case DDPM_DEVICE_KIND_ACCELERATOR: kind = .accelerator
        default: kind = .other
        }
        guard c.alignment >= 4, c.alignment & (c.alignment - 1) == 0 else {
            throw fail("device '\(name)': alignment \(c.alignment) is not a power of two >= 4")
        }
        guard c.max_allocation_bytes > 0, c.property_count >= 0, c.property_count <= 256 else {
            throw fail("device '\(name)': max_allocation_bytes \(c.max_allocation_bytes) or property_count \(c.property_count) out of range")
        }
        var properties: [DeviceInfo.Property] = []
        if c.property_count > 0 {
            guard let list = c.properties else { throw fail("device '\(name)': properties is NULL") }
            for i in 0..<Int(c.property_count) {
                properties.append(.init(try text(list[i].key, "property \(i) key"), try text(list[i].value, "property \(i) value")))
            }
        }
        return DeviceInfo(
            name: name, deviceName: try text(c.device_name, "device_name"), vendor: try text(c.vendor, "vendor"),
            kind: kind, driverVersion: try text(c.driver_version, "driver_version"), platform: try text(c.platform, "platform"),
            computeUnits: Int(c.compute_units), globalMemoryBytes: Int(c.global_memory_bytes),
            maxAllocationBytes: Int(c.max_allocation_bytes), alignment: Int(c.alignment), supportsFP16: c.supports_fp16 != 0,
            properties: properties)
    }

    /// Reads and frees a plugin error; nil for success.
    static func take(_ error: OpaquePointer?, api: DdpmDeviceApi) -> (code: Int, message: String)? {
        guard let error else { return nil }
        let code = Int(api.error_code!(error))
        let message = api.error_message!(error).map { String(cString: $0) } ?? "(no message)"
        api.error_destroy!(error)
        return (code, message)
    }

    /// Throws the ``DeviceError`` matching a plugin error from `call`, if any.
    func check(_ error: OpaquePointer?, _ call: String, device: String, requested: Int = 0) throws {
        guard let (code, message) = Self.take(error, api: api) else { return }
        switch code {
        case DDPM_ERROR_OUT_OF_MEMORY: throw DeviceError.outOfMemory(device: device, requested: requested)
        case DDPM_ERROR_UNSUPPORTED: throw DeviceError.unsupportedKernel(device: device, kernel: message)
        case DDPM_ERROR_INVALID_ARGUMENT: throw DeviceError.invalidOperands(kernel: call, reason: message)
        case DDPM_ERROR_BUILD_FAILED: throw DeviceError.kernelBuildFailed(device: device, file: call, log: message)
        case DDPM_ERROR_UNAVAILABLE: throw DeviceError.unavailable(name: device, reason: message)
        default: throw DeviceError.backendFailure(device: device, call: call, code: code, message: message)
        }
    }

    /// "interface 1.0" as `ddpm devices` shows it.
    var interfaceVersion: String { "\(major).\(minor)" }
}

/// A plugin that could not be loaded, and why: always names the file.
struct PluginError: Error, CustomStringConvertible {
    let file: String
    let reason: String
    /// The plugin loaded but said its hardware or driver is missing (initialize: UNAVAILABLE).
    var unavailable = false

    var description: String { "device plugin \(file): \(reason)" }
}
