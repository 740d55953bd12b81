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

    public var name: String
    public var summary: String
    public var status: Status
    /// Where the device comes from: `built in`, or the plugin file and its interface version.
    public var origin: String

    public init(name: String, summary: String, status: Status, origin: String = "built in") {
        self.name = name
        self.summary = summary
        self.status = status
        self.origin = origin
    }
}
