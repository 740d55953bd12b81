import COpenCL
import Devices

/// What one OpenCL device reports about itself, read once at discovery (like `clinfo`).
///
/// The backend decides from these capabilities alone whether it can run on a device and how to
/// build for it; it never looks at vendor or device-name strings.
struct OpenCLCapabilities: Sendable, Equatable {
    var deviceName: String
    var vendor: String
    var driverVersion: String
    var deviceVersion: String
    var platformName: String
    var platformVersion: String
    /// `CL_DEVICE_OPENCL_C_VERSION` parsed to (major, minor); (0, 0) when unreadable.
    var openCLC: OpenCLCVersion
    var kind: DeviceInfo.Kind
    var computeUnits: Int
    var globalMemoryBytes: Int
    var maxAllocationBytes: Int
    /// `CL_DEVICE_MEM_BASE_ADDR_ALIGN` in bytes (the query reports bits).
    var alignmentBytes: Int
    var maxWorkGroupSize: Int
    var localMemoryBytes: Int
    var preferredVectorWidthFloat: Int
    var maxClockMHz: Int
    var extensions: [String]
    var isAvailable: Bool
    var isCompilerAvailable: Bool
    /// Whether `-cl-fp32-correctly-rounded-divide-sqrt` may be passed (`CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT`).
    var correctlyRoundedDivideSqrt: Bool

    /// The smallest work-group size the kernels are written for (an 8×8 GEMM tile).
    static let minimumWorkGroupSize = 64
    /// Local memory the kernels need at most (two 16×16 GEMM tiles, two 256-float reduction arrays).
    static let minimumLocalMemoryBytes = 16 * 1024

    var supportsFP16: Bool { extensions.contains("cl_khr_fp16") }

    /// Reads every property of `device` on `platform`.
    init(device: cl_device_id, platform: cl_platform_id) {
        deviceName = CLQuery.deviceString(device, CL_DEVICE_NAME)
        vendor = CLQuery.deviceString(device, CL_DEVICE_VENDOR)
        driverVersion = CLQuery.deviceString(device, CL_DRIVER_VERSION)
        deviceVersion = CLQuery.deviceString(device, CL_DEVICE_VERSION)
        platformName = CLQuery.platformString(platform, CL_PLATFORM_NAME)
        platformVersion = CLQuery.platformString(platform, CL_PLATFORM_VERSION)
        openCLC = OpenCLCVersion(parsing: CLQuery.deviceString(device, CL_DEVICE_OPENCL_C_VERSION))
        let type = CLQuery.value(device, CL_DEVICE_TYPE, as: cl_device_type.self) ?? 0
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 {
            kind = .gpu
        } else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 {
            kind = .accelerator
        } else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 {
            kind = .cpu
        } else {
            kind = .other
        }
        computeUnits = Int(CLQuery.value(device, CL_DEVICE_MAX_COMPUTE_UNITS, as: cl_uint.self) ?? 0)
        globalMemoryBytes = Int(clamping: CLQuery.value(device, CL_DEVICE_GLOBAL_MEM_SIZE, as: cl_ulong.self) ?? 0)
        maxAllocationBytes = Int(clamping: CLQuery.value(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, as: cl_ulong.self) ?? 0)
        let alignBits = Int(CLQuery.value(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, as: cl_uint.self) ?? 0)
        alignmentBytes = max(alignBits / 8, 4)
        maxWorkGroupSize = CLQuery.value(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, as: Int.self) ?? 0
        localMemoryBytes = Int(clamping: CLQuery.value(device, CL_DEVICE_LOCAL_MEM_SIZE, as: cl_ulong.self) ?? 0)
        preferredVectorWidthFloat = Int(
            CLQuery.value(device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, as: cl_uint.self) ?? 0)
        maxClockMHz = Int(CLQuery.value(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, as: cl_uint.self) ?? 0)
        extensions = CLQuery.deviceString(device, CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init)
        isAvailable = (CLQuery.value(device, CL_DEVICE_AVAILABLE, as: cl_bool.self) ?? 0) != 0
        isCompilerAvailable = (CLQuery.value(device, CL_DEVICE_COMPILER_AVAILABLE, as: cl_bool.self) ?? 0) != 0
        let fpConfig = CLQuery.value(device, CL_DEVICE_SINGLE_FP_CONFIG, as: cl_device_fp_config.self) ?? 0
        correctlyRoundedDivideSqrt = fpConfig & cl_device_fp_config(CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0
    }

    /// Why the kernels cannot run on this device, or `nil` when it has everything they need.
    var unusableReason: String? {
        if !isAvailable { return "the driver reports the device as not available" }
        if !isCompilerAvailable { return "the device has no OpenCL C compiler (CL_DEVICE_COMPILER_AVAILABLE is false)" }
        if openCLC < OpenCLCVersion(major: 1, minor: 2) {
            return "OpenCL C \(openCLC) is below the required 1.2"
        }
        if maxWorkGroupSize < Self.minimumWorkGroupSize {
            return "max work-group size \(maxWorkGroupSize) is below the required \(Self.minimumWorkGroupSize)"
        }
        if localMemoryBytes < Self.minimumLocalMemoryBytes {
            return "local memory \(localMemoryBytes) bytes is below the required \(Self.minimumLocalMemoryBytes)"
        }
        if maxAllocationBytes <= 0 { return "the device reports no allocatable memory" }
        return nil
    }

    /// The registry-facing description, filled like `clinfo`.
    func deviceInfo(name: String) -> DeviceInfo {
        DeviceInfo(
            name: name, deviceName: deviceName, vendor: vendor, kind: kind, driverVersion: driverVersion,
            platform: "\(platformName) (\(platformVersion))", computeUnits: computeUnits,
            globalMemoryBytes: globalMemoryBytes, maxAllocationBytes: maxAllocationBytes,
            alignment: alignmentBytes, supportsFP16: supportsFP16,
            properties: [
                .init("OpenCL C", openCLC.description),
                .init("device version", deviceVersion),
                .init("max work-group size", String(maxWorkGroupSize)),
                .init("local memory", "\(localMemoryBytes) bytes"),
                .init("preferred vector width (float)", String(preferredVectorWidthFloat)),
                .init("max clock", "\(maxClockMHz) MHz"),
                .init("correctly rounded fp32 divide/sqrt", correctlyRoundedDivideSqrt ? "yes" : "no"),
                .init("extensions", String(extensions.count)),
            ])
    }
}

/// An OpenCL C language version, ordered.
struct OpenCLCVersion: Comparable, Sendable, CustomStringConvertible {
    var major: Int
    var minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `OpenCL C <major>.<minor> <vendor text>`; anything else gives 0.0.
    init(parsing text: String) {
        let words = text.split(separator: " ")
        let number = words.count >= 3 && words[0] == "OpenCL" && words[1] == "C" ? words[2] : ""
        let parts = number.split(separator: ".")
        major = parts.count >= 1 ? Int(parts[0]) ?? 0 : 0
        minor = parts.count >= 2 ? Int(parts[1].prefix { $0.isNumber }) ?? 0 : 0
    }

    var description: String { "\(major).\(minor)" }

    static func < (a: Self, b: Self) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}
