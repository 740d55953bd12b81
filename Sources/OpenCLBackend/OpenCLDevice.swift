import COpenCL
import Devices
import Foundation

/// One OpenCL device: a context, opaque `cl_mem` buffers, in-order queues, and programs built
/// from the embedded `Kernels/*.cl` files through an on-disk binary cache.
///
/// ```swift
/// let device = try DeviceRegistry.device(named: "opencl:0")
/// let queue = try device.makeQueue()            // one in-order cl_command_queue
/// let x = try queue.makeBuffer([Float](repeating: 1, count: 1024))
/// try queue.launch(.unary(.silu, count: 1024), [x.slice(), x.slice()])
/// let y = try queue.readFloats(x.slice(), count: 1024)
/// ```
public final class OpenCLDevice: DeviceBackend, @unchecked Sendable {
    public let info: DeviceInfo
    let capabilities: OpenCLCapabilities
    let handle: OpenCLDeviceHandle
    let context: cl_context
    /// The programs of this device, shared by its queues.
    let programs: OpenCLProgramLibrary


    /// Opens `handle`'s device with a fresh context; `cacheDirectory` `nil` disables the program cache.
    init(name: String, handle: OpenCLDeviceHandle, capabilities: OpenCLCapabilities,
         cacheDirectory: URL? = OpenCLProgramCache.defaultDirectory()) throws {
        self.info = capabilities.deviceInfo(name: name)
        self.capabilities = capabilities
        self.handle = handle
        var status: cl_int = CL_SUCCESS
        var device: cl_device_id? = handle.device
        var properties: [cl_context_properties] = [
            cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: handle.platform)), 0,
        ]
        let context = clCreateContext(&properties, 1, &device, nil, nil, &status)
        try CLError.check(status, "clCreateContext", device: name)
        guard let context else {
            throw DeviceError.backendFailure(device: name, call: "clCreateContext", code: Int(status), message: "returned no context")
        }
        self.context = context
        self.programs = OpenCLProgramLibrary(
            deviceName: name, device: handle.device, context: context, capabilities: capabilities,
            cache: cacheDirectory.map { OpenCLProgramCache(directory: $0) })
    }

    /// Another instance on the same hardware with its own context and program cache directory (for tests).
    convenience init(sameHardwareAs other: OpenCLDevice, cacheDirectory: URL?) throws {
        try self.init(name: other.info.name, handle: other.handle, capabilities: other.capabilities,
                      cacheDirectory: cacheDirectory)
    }

    deinit { clReleaseContext(context) }

    public func allocateBuffer(bytes: Int) throws -> Buffer {
        var memory: cl_mem?
        if bytes > 0 {
            // OpenCL has no zero-size buffers; an empty allocation is a buffer without a cl_mem.
            var status: cl_int = CL_SUCCESS
            memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
            try CLError.check(status, "clCreateBuffer", device: info.name, requestedBytes: bytes)
        }
        return OpenCLBuffer(memory: memory, byteCount: bytes, device: self)
    }

    public func makeBackendQueue() throws -> QueueBackend { try OpenCLQueue(device: self) }
}

/// Device memory of an ``OpenCLDevice``: one `cl_mem`, released when the last reference goes.
///
/// Releasing is safe while commands that use the buffer are still queued: OpenCL frees the
/// memory only after those commands complete.
final class OpenCLBuffer: Buffer, @unchecked Sendable {
    /// `nil` for a zero-byte buffer.
    let memory: cl_mem?
    let byteCount: Int
    let device: OpenCLDevice

    init(memory: cl_mem?, byteCount: Int, device: OpenCLDevice) {
        self.memory = memory
        self.byteCount = byteCount
        self.device = device
    }

    var deviceName: String { device.info.name }

    deinit {
        if let memory { clReleaseMemObject(memory) }
    }
}
