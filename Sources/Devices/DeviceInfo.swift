/// What a device is and what it can do, as `ddpm devices` prints it.
public struct DeviceInfo: Sendable, Equatable {
    /// The kind of processor behind the device.
    public enum Kind: String, Sendable, Equatable {
        case cpu, gpu, accelerator, reference, other
    }

    /// Registry name, e.g. `cpu`, `cpu-reference`, `opencl:0`.
    public var name: String
    /// Human-readable device name, e.g. `pthread-haswell-AMD EPYC`.
    public var deviceName: String
    public var vendor: String
    public var kind: Kind
    /// Driver or library version; part of the OpenCL program-cache key.
    public var driverVersion: String
    /// Platform name (OpenCL) or backend description (CPU).
    public var platform: String
    public var computeUnits: Int
    public var globalMemoryBytes: Int
    /// Largest single allocation the device accepts.
    public var maxAllocationBytes: Int
    /// Base-address alignment of every buffer, in bytes. Byte offsets passed in a
    /// ``BufferSlice`` need only be multiples of the element size.
    public var alignment: Int
    public var supportsFP16: Bool
    /// Extra properties for `ddpm devices`, in display order.
    public var properties: [Property]

    /// One extra key/value line of `ddpm devices`.
    public struct Property: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }

    public init(
        name: String, deviceName: String, vendor: String, kind: Kind, driverVersion: String,
        platform: String, computeUnits: Int, globalMemoryBytes: Int, maxAllocationBytes: Int,
        alignment: Int, supportsFP16: Bool, properties: [Property] = []
    ) {
        self.name = name
        self.deviceName = deviceName
        self.vendor = vendor
        self.kind = kind
        self.driverVersion = driverVersion
        self.platform = platform
        self.computeUnits = computeUnits
        self.globalMemoryBytes = globalMemoryBytes
        self.maxAllocationBytes = maxAllocationBytes
        self.alignment = alignment
        self.supportsFP16 = supportsFP16
        self.properties = properties
    }
}
