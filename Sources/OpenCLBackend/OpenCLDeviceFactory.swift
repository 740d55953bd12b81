import COpenCL
import Foundation
import Devices

/// Lists every OpenCL device of every platform as `opencl:0`, `opencl:1`, ...
///
/// Devices are numbered in platform order, then device order within a platform, so the numbering
/// is stable for a given driver installation. A device that lacks a capability the kernels need
/// is listed as unavailable with the missing capability; when no platform exists at all, one
/// unavailable entry named `opencl` says what to install.
public struct OpenCLDeviceFactory: DeviceFactory {
    public init() {}

    /// The reason given when the ICD loader finds no platform.
    static let noPlatformReason = "no OpenCL platform found (install pocl-opencl-icd or a GPU driver's OpenCL ICD)"

    public func enumerate() -> [DeviceEntry] {
        let platforms: [cl_platform_id]
        switch CLQuery.platforms() {
        case let .success(list):
            platforms = list
        case let .failure(status) where status.code == CLError.platformNotFoundKHR:
            return [Self.unavailable(Self.noPlatformReason)]
        case let .failure(status):
            return [Self.unavailable("the OpenCL ICD loader failed: \(status.description); \(Self.noPlatformReason)")]
        }
        if platforms.isEmpty { return [Self.unavailable(Self.noPlatformReason)] }

        var entries: [DeviceEntry] = []
        var failures: [String] = []
        for platform in platforms {
            switch CLQuery.devices(of: platform) {
            case let .success(devices):
                for device in devices {
                    entries.append(Self.entry(index: entries.count, platform: platform, device: device))
                }
            case let .failure(status):
                failures.append("platform '\(CLQuery.platformString(platform, CL_PLATFORM_NAME))': \(status.description)")
            }
        }
        if entries.isEmpty {
            let detail = failures.isEmpty ? "its platforms expose no devices" : failures.joined(separator: "; ")
            return [Self.unavailable("no OpenCL device found (\(detail)); install pocl-opencl-icd or a GPU driver's OpenCL ICD")]
        }
        return entries
    }

    private static func unavailable(_ reason: String) -> DeviceEntry {
        DeviceEntry(name: "opencl", summary: "OpenCL (unavailable)", status: .unavailable(reason: reason))
    }

    private static func entry(index: Int, platform: cl_platform_id, device: cl_device_id) -> DeviceEntry {
        let name = "opencl:\(index)"
        let caps = OpenCLCapabilities(device: device, platform: platform)
        let gib = Double(caps.globalMemoryBytes) / Double(1 << 30)
        let summary = "\(caps.deviceName) (\(caps.platformName), OpenCL C \(caps.openCLC), "
            + "\(caps.computeUnits) compute units, \(String(format: "%.1f", gib)) GiB)"
        if let reason = caps.unusableReason {
            return DeviceEntry(name: name, summary: summary, status: .unavailable(reason: "\(caps.deviceName): \(reason)"))
        }
        let handle = OpenCLDeviceHandle(platform: platform, device: device)
        return DeviceEntry(name: name, summary: summary, status: .available({
            FrontEndDevice(try instances.device(named: name) { try OpenCLDevice(name: name, handle: handle, capabilities: caps) })
        }))
    }

    /// Devices handed out so far, so that every lookup of a name gets the same instance while it lives.
    private static let instances = OpenCLDeviceInstances()
}

/// The live ``OpenCLDevice`` of each registry name, held weakly.
///
/// Buffers are valid only on the device instance (OpenCL context) that made them, while operand
/// validation compares registry names; handing out one instance per name keeps the two notions the
/// same. Once nothing references a device, it is released and the next lookup opens a new one.
final class OpenCLDeviceInstances: @unchecked Sendable {
    private struct Weak { weak var device: OpenCLDevice? }
    private let lock = NSLock()
    private var live: [String: Weak] = [:]

    func device(named name: String, make: () throws -> OpenCLDevice) throws -> OpenCLDevice {
        try lock.withLock {
            if let device = live[name]?.device { return device }
            let device = try make()
            live[name] = Weak(device: device)
            return device
        }
    }
}

/// Platform and device ids; plain driver handles that stay valid for the life of the process.
struct OpenCLDeviceHandle: @unchecked Sendable {
    var platform: cl_platform_id
    var device: cl_device_id
}
