import COpenCL
import Devices

/// Uploads, downloads and device-to-device copies.
extension OpenCLQueue {
    public func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let buffer = try ownBuffer(destination, role: "upload destination", operation: "upload")
        try checkRange(destination, bytes: bytes.count, role: "upload destination", operation: "upload")
        guard bytes.count > 0, let memory = buffer.memory, let source = bytes.baseAddress else {
            countTransfer(uploaded: bytes.count)
            return
        }
        // The caller may reuse `bytes` as soon as this returns, so the device reads a private copy.
        let staging = HostStaging(copying: source, count: bytes.count)
        var event: cl_event?
        let status = clEnqueueWriteBuffer(commandQueue, memory, cl_bool(CL_FALSE), destination.offset, bytes.count,
                                          staging.pointer, 0, nil, &event)
        try CLError.check(status, "clEnqueueWriteBuffer", device: deviceName)
        if let event { retain(staging, until: event) }
        countTransfer(uploaded: bytes.count)
    }

    /// Copies `destination.byteCount` bytes starting at `source`; the source must hold that many.
    public func download(_ source: BufferSlice, into destination: HostBuffer) throws {
        let buffer = try ownBuffer(source, role: "download source", operation: "download")
        try checkRange(source, bytes: destination.byteCount, role: "download source", operation: "download")
        guard destination.byteCount > 0, let memory = buffer.memory else {
            countTransfer(downloaded: destination.byteCount)
            return
        }
        var event: cl_event?
        let status = clEnqueueReadBuffer(commandQueue, memory, cl_bool(CL_FALSE), source.offset, destination.byteCount,
                                         destination.pointer, 0, nil, &event)
        try CLError.check(status, "clEnqueueReadBuffer", device: deviceName)
        if let event { retain(destination, until: event) }
        countTransfer(downloaded: destination.byteCount)
    }

    public func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        guard byteCount >= 0 else {
            throw DeviceError.invalidOperands(kernel: "copy", reason: "byte count \(byteCount) is negative")
        }
        let from = try ownBuffer(source, role: "copy source", operation: "copy")
        let to = try ownBuffer(destination, role: "copy destination", operation: "copy")
        try checkRange(source, bytes: byteCount, role: "copy source", operation: "copy")
        try checkRange(destination, bytes: byteCount, role: "copy destination", operation: "copy")
        if from === to, source.offset < destination.offset + byteCount, destination.offset < source.offset + byteCount,
           byteCount > 0 {
            throw DeviceError.invalidOperands(
                kernel: "copy",
                reason: "source [\(source.offset), \(source.offset + byteCount)) and destination "
                    + "[\(destination.offset), \(destination.offset + byteCount)) overlap in one buffer")
        }
        if byteCount > 0, let src = from.memory, let dst = to.memory {
            let status = clEnqueueCopyBuffer(commandQueue, src, dst, source.offset, destination.offset, byteCount,
                                             0, nil, nil)
            try CLError.check(status, "clEnqueueCopyBuffer", device: deviceName)
        }
        countTransfer(deviceCopy: true)
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

    private func checkRange(_ slice: BufferSlice, bytes: Int, role: String, operation: String) throws {
        guard slice.offset >= 0, bytes <= slice.availableBytes else {
            throw DeviceError.invalidOperands(
                kernel: operation,
                reason: "\(role) needs \(bytes) bytes at offset \(slice.offset), but its buffer has \(slice.buffer.byteCount)")
        }
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
