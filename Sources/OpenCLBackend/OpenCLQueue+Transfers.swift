import COpenCL
import Devices

/// Uploads, downloads and device-to-device copies.
extension OpenCLQueue {
    public func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let buffer = try ownBuffer(destination, role: "upload destination", operation: "upload")
        guard bytes.count > 0, let memory = buffer.memory, let source = bytes.baseAddress else { return }
        // The caller may reuse `bytes` as soon as this returns, so the device reads a private copy.
        let staging = HostStaging(copying: source, count: bytes.count)
        var event: cl_event?
        let status = clEnqueueWriteBuffer(commandQueue, memory, cl_bool(CL_FALSE), destination.offset, bytes.count,
                                          staging.pointer, 0, nil, &event)
        try CLError.check(status, "clEnqueueWriteBuffer", device: deviceName)
        if let event { retain(staging, until: event) }
    }

    /// Enqueues a read of `byteCount` bytes into `host` (kept valid by the front end until it completes).
    public func download(_ source: BufferSlice, into host: UnsafeMutableRawPointer, byteCount: Int) throws {
        let buffer = try ownBuffer(source, role: "download source", operation: "download")
        guard byteCount > 0, let memory = buffer.memory else { return }
        let status = clEnqueueReadBuffer(commandQueue, memory, cl_bool(CL_FALSE), source.offset, byteCount,
                                         host, 0, nil, nil)
        try CLError.check(status, "clEnqueueReadBuffer", device: deviceName)
    }

    /// Enqueues a copy between non-overlapping ranges (the front end rejects overlap).
    public func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        let from = try ownBuffer(source, role: "copy source", operation: "copy")
        let to = try ownBuffer(destination, role: "copy destination", operation: "copy")
        if byteCount > 0, let src = from.memory, let dst = to.memory {
            let status = clEnqueueCopyBuffer(commandQueue, src, dst, source.offset, destination.offset, byteCount,
                                             0, nil, nil)
            try CLError.check(status, "clEnqueueCopyBuffer", device: deviceName)
        }
    }

    // MARK: - Operand checks shared with kernel launches

    /// The ``OpenCLBuffer`` behind `slice`, which must come from this very device instance.
    ///
    /// Two instances of `opencl:0` have different contexts, so their buffers are not interchangeable
    /// even though their registry names match.
    func ownBuffer(_ slice: BufferSlice, role: String, operation: String) throws -> OpenCLBuffer {
        guard let buffer = slice.buffer as? OpenCLBuffer, buffer.device === openCLDevice else {
            let place = slice.buffer.deviceName == deviceName ? "another instance of '\(deviceName)'" : "device '\(slice.buffer.deviceName)'"
            throw DeviceError.invalidOperands(
                kernel: operation, reason: "\(role) lives on \(place), not on this queue's '\(deviceName)'")
        }
        return buffer
    }
}

/// A private host copy of uploaded bytes, freed once the write that reads it has completed.
final class HostStaging {
    let pointer: UnsafeMutableRawPointer

    init(copying source: UnsafeRawPointer, count: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        pointer.copyMemory(from: source, byteCount: count)
    }

    deinit { pointer.deallocate() }
}
