/// Every way a device can refuse work, each with a message that names the culprit.
public enum DeviceError: Error, CustomStringConvertible, Equatable {
    /// No device has this registry name.
    case unknownDevice(name: String, available: [String])
    /// The device exists in principle but cannot be used here (no OpenCL platform, library missing).
    case unavailable(name: String, reason: String)
    /// One allocation asked for more than the device's maximum single allocation.
    case allocationTooLarge(device: String, requested: Int, limit: Int)
    /// The device could not provide the memory.
    case outOfMemory(device: String, requested: Int)
    /// The device does not implement this kernel (or these parameters of it).
    case unsupportedKernel(device: String, kernel: String)
    /// Wrong operand count, a slice out of bounds or misaligned, a buffer of another device, bad parameters.
    case invalidOperands(kernel: String, reason: String)
    /// A kernel source failed to compile; `log` is the compiler's build log.
    case kernelBuildFailed(device: String, file: String, log: String)
    /// A backend API call failed.
    case backendFailure(device: String, call: String, code: Int, message: String)

    public var description: String {
        switch self {
        case let .unknownDevice(name, available):
            return "unknown device '\(name)'; available devices: \(available.joined(separator: ", ")) (see `ddpm devices`)"
        case let .unavailable(name, reason):
            return "device '\(name)' is unavailable: \(reason)"
        case let .allocationTooLarge(device, requested, limit):
            return "device '\(device)': cannot allocate \(requested) bytes; the largest single allocation it allows is \(limit) bytes"
        case let .outOfMemory(device, requested):
            return "device '\(device)': out of memory allocating \(requested) bytes"
        case let .unsupportedKernel(device, kernel):
            return "device '\(device)' does not support kernel \(kernel)"
        case let .invalidOperands(kernel, reason):
            return "kernel \(kernel): \(reason)"
        case let .kernelBuildFailed(device, file, log):
            return "device '\(device)': building \(file) failed:\n\(log)"
        case let .backendFailure(device, call, code, message):
            return "device '\(device)': \(call) failed with code \(code) (\(message))"
        }
    }
}
