import COpenCL
import Foundation

/// Typed wrappers over `clGetPlatformInfo` / `clGetDeviceInfo` for discovery and `DeviceInfo`.
///
/// A query that fails yields an empty string or `nil`: discovery must describe what it can and
/// never crash on a driver that leaves an optional property out.
enum CLQuery {
    /// Every platform the ICD loader knows, or the OpenCL status that prevented listing them.
    static func platforms() -> Result<[cl_platform_id], CLStatus> {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        if status != CL_SUCCESS { return .failure(CLStatus(code: status, call: "clGetPlatformIDs")) }
        if count == 0 { return .success([]) }
        var ids = [cl_platform_id?](repeating: nil, count: Int(count))
        let second = clGetPlatformIDs(count, &ids, nil)
        if second != CL_SUCCESS { return .failure(CLStatus(code: second, call: "clGetPlatformIDs")) }
        return .success(ids.compactMap { $0 })
    }

    /// Every device of `platform` (all types), or the status that prevented listing them.
    static func devices(of platform: cl_platform_id) -> Result<[cl_device_id], CLStatus> {
        var count: cl_uint = 0
        let all = cl_device_type(CL_DEVICE_TYPE_ALL)
        let status = clGetDeviceIDs(platform, all, 0, nil, &count)
        if status == CL_DEVICE_NOT_FOUND { return .success([]) }
        if status != CL_SUCCESS { return .failure(CLStatus(code: status, call: "clGetDeviceIDs")) }
        var ids = [cl_device_id?](repeating: nil, count: Int(count))
        let second = clGetDeviceIDs(platform, all, count, &ids, nil)
        if second != CL_SUCCESS { return .failure(CLStatus(code: second, call: "clGetDeviceIDs")) }
        return .success(ids.compactMap { $0 })
    }

    static func platformString(_ platform: cl_platform_id, _ param: Int32) -> String {
        var size = 0
        guard clGetPlatformInfo(platform, cl_platform_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else {
            return ""
        }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetPlatformInfo(platform, cl_platform_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    static func deviceString(_ device: cl_device_id, _ param: Int32) -> String {
        var size = 0
        guard clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size) == CL_SUCCESS, size > 0 else {
            return ""
        }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil) == CL_SUCCESS else { return "" }
        return trimmed(bytes)
    }

    /// A fixed-size device property (`cl_uint`, `cl_ulong`, `size_t`, `cl_bool`, bitfields).
    static func value<T: FixedWidthInteger>(_ device: cl_device_id, _ param: Int32, as type: T.Type) -> T? {
        var result: T = 0
        let status = withUnsafeMutableBytes(of: &result) { raw in
            clGetDeviceInfo(device, cl_device_info(param), raw.count, raw.baseAddress, nil)
        }
        return status == CL_SUCCESS ? result : nil
    }

    private static func trimmed(_ bytes: [CChar]) -> String {
        let text = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0")))
    }
}

/// A failed OpenCL call during discovery, kept as data so the factory can explain it.
struct CLStatus: Error {
    var code: cl_int
    var call: String
    var description: String { "\(call) returned \(code) (\(CLError.name(code)))" }
}
