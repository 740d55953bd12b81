/// How a backend makes itself known to the registry (see `Backends.DeviceRegistry`).
///
/// A backend lists the devices it could provide: each available with a constructor, or
/// unavailable with a reason a user can act on ("no OpenCL platform found: install
/// pocl-opencl-icd or a GPU driver").
public protocol DeviceFactory: Sendable {
    /// Registry names this factory owns, e.g. `["opencl:0", "opencl:1"]`, with their status.
    func enumerate() -> [DeviceEntry]
}

/// One device a factory knows of.
public struct DeviceEntry: Sendable {
    public enum Status: Sendable {
        case available(@Sendable () throws -> Device)
        case unavailable(reason: String)
    }

    /// Where a device comes from.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        /// Compiled into this binary.
        case builtIn
        /// A plugin file, with the interface version it was built for (nil when it did not load).
        case plugin(file: String, interface: String?)

        /// `built in`, or `plugin FILE (device interface 1.1)`, as `ddpm devices` shows it.
        public var description: String {
            switch self {
            case .builtIn: return "built in"
            case let .plugin(file, interface?): return "plugin \(file) (device interface \(interface))"
            case let .plugin(file, nil): return "plugin \(file)"
            }
        }
    }

    public var name: String
    public var summary: String
    public var status: Status
    public var origin: Origin

    public init(name: String, summary: String, status: Status, origin: Origin = .builtIn) {
        self.name = name
        self.summary = summary
        self.status = status
        self.origin = origin
    }
}
