/// Typed helpers over the byte-level ``Queue`` API.
extension Queue {
    /// Uploads an array of trivially-copyable values (floats, int32, uint32).
    public func upload<T>(_ values: [T], to destination: BufferSlice) throws {
        try values.withUnsafeBytes { try upload($0, to: destination) }
    }

    /// Downloads `count` floats and waits for them: one host synchronisation.
    public func readFloats(_ source: BufferSlice, count: Int) throws -> [Float] {
        try read(Float.self, source, count: count)
    }

    /// Downloads `count` values of `T` and waits for them: one host synchronisation.
    public func read<T>(_ type: T.Type, _ source: BufferSlice, count: Int) throws -> [T] {
        let host = HostBuffer(byteCount: count * MemoryLayout<T>.stride)
        if count > 0 { try download(source, into: host) }
        try synchronize()
        return host.values(T.self, count: count)
    }

    /// Allocates a buffer on this queue's device holding `values`.
    public func makeBuffer<T>(_ values: [T]) throws -> Buffer {
        let buffer = try device.allocate(bytes: values.count * MemoryLayout<T>.stride)
        if !values.isEmpty { try upload(values, to: buffer.slice()) }
        return buffer
    }
}
