import CPUBackend
import Devices
import Foundation
import OpenCLBackend

/// Every device this build of ddpm knows, by registry name.
///
/// The registry asks each backend's ``DeviceFactory`` which devices it could provide and
/// constructs a device the first time its name is asked for; later calls return the same
/// instance, so a process never holds two contexts (and two program caches) for one device.
///
/// ```swift
/// for entry in DeviceRegistry.entries() { print(entry.name, entry.summary) }
/// let device = try DeviceRegistry.device(named: "opencl")   // alias of opencl:0
/// ```
public enum DeviceRegistry {
    /// The backends compiled into this binary, in the order `ddpm devices` lists them.
    ///
    /// A new backend (say an NPU) joins by adding its factory here; nothing else names it.
    public static let factories: [DeviceFactory] = [CPUDeviceFactory(), OpenCLDeviceFactory()]

    /// Short names accepted for convenience, resolved before lookup.
    public static let aliases: [String: String] = ["opencl": "opencl:0"]

    /// The device `ddpm` uses when no `--device` is given.
    public static let defaultDeviceName = "cpu"

    /// The device every other device is compared against by the conformance suite.
    public static let oracleDeviceName = "cpu-reference"

    /// Every device the factories know of, available or not, in factory order.
    ///
    /// Enumeration runs once per process (querying OpenCL platforms is not free); the list
    /// does not change while the process runs.
    public static func entries() -> [DeviceEntry] {
        state.withLock { state in
            if let cached = state.entries { return cached }
            let all = factories.flatMap { $0.enumerate() }
            state.entries = all
            return all
        }
    }

    /// The registry names of every entry, available or not.
    public static var names: [String] { entries().map(\.name) }

    /// The registry names of the devices that can be constructed here.
    public static var availableNames: [String] {
        entries().compactMap { entry in
            if case .available = entry.status { return entry.name }
            return nil
        }
    }

    /// The device with registry name `name` (or an alias of one), constructed on first use.
    ///
    /// - Throws: ``DeviceError/unknownDevice(name:available:)`` listing every known name when
    ///   nothing matches; ``DeviceError/unavailable(name:reason:)`` with the backend's reason when
    ///   the device exists in principle but cannot be used here; whatever the device's
    ///   constructor throws when building it fails (not cached, so a later call retries).
    public static func device(named name: String) throws -> Device {
        let resolved = resolve(name)
        if let cached = state.withLock({ $0.devices[resolved] }) { return cached }
        let all = entries()
        guard let entry = all.first(where: { $0.name == resolved }) ?? familyEntry(for: resolved, in: all) else {
            let known = all.map(\.name) + aliases.keys.filter { !all.map(\.name).contains($0) }.sorted()
            throw DeviceError.unknownDevice(name: name, available: known)
        }
        switch entry.status {
        case let .unavailable(reason):
            throw DeviceError.unavailable(name: name, reason: reason)
        case let .available(make):
            // Construct outside the lock: building a device may take a while (OpenCL context,
            // program builds) and must not block lookups of other devices.
            let device = try make()
            return state.withLock { state in
                if let raced = state.devices[resolved] { return raced }
                state.devices[resolved] = device
                return device
            }
        }
    }

    /// The canonical registry name for `name` (aliases resolved; other names unchanged).
    public static func resolve(_ name: String) -> String { aliases[name] ?? name }

    /// The unavailable entry of a whole family (`opencl`) when a member (`opencl:1`) is asked
    /// for, so the user hears why OpenCL is missing rather than "unknown device".
    static func familyEntry(for name: String, in entries: [DeviceEntry]) -> DeviceEntry? {
        guard let colon = name.firstIndex(of: ":") else { return nil }
        let family = String(name[..<colon])
        return entries.first { entry in
            guard entry.name == family, case .unavailable = entry.status else { return false }
            return true
        }
    }

    private struct State {
        var entries: [DeviceEntry]?
        var devices: [String: Device] = [:]
    }

    private static let state = LockedState(State())
}

/// A value guarded by a lock: the registry may be used from concurrently running tests.
final class LockedState<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
