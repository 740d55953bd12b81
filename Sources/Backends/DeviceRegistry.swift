import CPUBackend
import Devices
import Foundation

/// Every device this process knows, by registry name: the built-in ones and those of plugins.
///
/// The registry asks each built-in backend's ``DeviceFactory`` which devices it could provide,
/// loads the device plugins it finds (``PluginDiscovery``: `--device-plugin`, the executable's
/// folder, `DDPM_DEVICE_PATH`), and constructs a device the first time its name is asked for;
/// later calls return the same instance, so a process never holds two contexts (and two
/// program caches) for one device. Every device, built in or plugin, is a ``FrontEndDevice``.
///
/// ```swift
/// for entry in DeviceRegistry.entries() { print(entry.name, entry.summary) }
/// let device = try DeviceRegistry.device(named: "opencl")   // alias of opencl:0
/// ```
public enum DeviceRegistry {
    /// The backends compiled into this binary, in the order `ddpm devices` lists them.
    ///
    /// Other devices (OpenCL, an NPU) come as plugins: a shared library written against
    /// `ddpm_device.h`, found at run time; nothing here names them.
    public static let factories: [DeviceFactory] = [CPUDeviceFactory()]

    /// Plugins this build ships next to its binary, by family: when one is missing, the registry
    /// lists the family as unavailable with the reason instead of not knowing the name.
    public static let shippedPlugins = ["opencl"]

    /// Adds plugin files to load (`--device-plugin FILE`); effective only before the first lookup.
    public static func addPluginFiles(_ files: [String]) {
        state.withLock { $0.explicitPluginFiles += files }
    }

    /// Plugin files that could not be used, each with the reason (naming the file).
    public static var pluginFailures: [String] {
        _ = entries()
        return state.withLock { $0.pluginFailures }
    }

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
            var all = factories.flatMap { $0.enumerate() }
            let discovery = PluginDiscovery.run(
                explicitFiles: state.explicitPluginFiles, environment: ProcessInfo.processInfo.environment,
                executable: PluginDiscovery.executablePath, taken: Set(all.map(\.name)))
            for library in discovery.loaded {
                for (index, info) in library.devices.enumerated() {
                    let origin = DeviceEntry.Origin.plugin(file: library.path, interface: library.interfaceVersion)
                    let summary = "\(info.deviceName) (\(info.platform), \(info.computeUnits) compute units)"
                        + (library.notes.isEmpty ? "" : "; " + library.notes.joined(separator: "; "))
                    all.append(DeviceEntry(name: info.name, summary: summary, status: .available {
                        FrontEndDevice(try PluginDevice(library: library, index: index))
                    }, origin: origin))
                }
            }
            // A shipped plugin that did not load: say why under its family's name.
            for family in shippedPlugins where !all.contains(where: { $0.name == family || $0.name.hasPrefix(family + ":") }) {
                let file = PluginDiscovery.fileName(family: family)
                let failure = discovery.failures.first { URL(fileURLWithPath: $0.file).lastPathComponent == file }
                let reason = failure?.description
                    ?? "its plugin \(file) was not found (searched \(discovery.folders.joined(separator: ", ")); build it with `make build`, or point DDPM_DEVICE_PATH or --device-plugin at it)"
                all.append(DeviceEntry(name: family, summary: "\(family) (unavailable)", status: .unavailable(reason: reason),
                                       origin: .plugin(file: failure?.file ?? file, interface: nil)))
            }
            state.entries = all
            state.pluginFailures = discovery.failures.map(\.description)
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

    /// The device to train and sample on: a built-in device as it is, a plugin device behind a
    /// ``FallbackDevice`` whose fallback is the `cpu` device, so that kernels the plugin does not
    /// implement (a partial device) run on the CPU with the transfers inserted.
    public static func executionDevice(named name: String) throws -> Device {
        let device = try self.device(named: name)
        guard let entry = entries().first(where: { $0.name == device.info.name }), entry.origin != .builtIn else {
            return device
        }
        return FallbackDevice(primary: device, fallback: try self.device(named: defaultDeviceName))
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
        var explicitPluginFiles: [String] = []
        var pluginFailures: [String] = []
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
