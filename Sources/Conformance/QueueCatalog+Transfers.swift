import Devices

/// The runtime-behaviour checks of test mode, by topic.
public enum QueueCatalog {
    /// Every queue case, transfers first (everything else relies on them).
    public static func cases() -> [QueueCase] {
        transferCases() + orderingCases() + accountingCases() + errorCases()
    }

    /// A recognisable byte pattern: byte `i` of a region tagged `tag`.
    static func pattern(_ count: Int, tag: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(tag) &* 7 &+ 1) ^ tag }
    }

    /// Downloads a whole buffer and waits.
    static func readAll(_ buffer: Buffer, _ queue: Queue) throws -> [UInt8] {
        try queue.read(UInt8.self, buffer.slice(), count: buffer.byteCount)
    }

    static func transferCases() -> [QueueCase] {
        var cases: [QueueCase] = []
        // Upload into the middle of a buffer at odd byte offsets and sizes; the bytes around the
        // region must stay as they were, and a download of just the region must return it.
        for (bytes, offset) in [(4, 0), (1, 1), (7, 3), (4096, 4), (4099, 13), (65536, 0), (100_003, 1001)] {
            cases.append(QueueCase("queue.roundtrip(bytes=\(bytes), offset=\(offset))") { device in
                let queue = try device.makeQueue()
                let buffer = try device.allocate(bytes: offset + bytes + 64)
                let background = pattern(buffer.byteCount, tag: 0xA5)
                let data = pattern(bytes, tag: 0x3C)
                try queue.upload(background, to: buffer.slice())
                try data.withUnsafeBytes { try queue.upload($0, to: buffer.slice(offset: offset)) }
                let all = try readAll(buffer, queue)
                for i in 0..<all.count {
                    let expected = (offset..<offset + bytes).contains(i) ? data[i - offset] : background[i]
                    try expect(all[i] == expected, "byte \(i) of the buffer is \(all[i]), expected \(expected)")
                }
                let region = try queue.read(UInt8.self, buffer.slice(offset: offset), count: bytes)
                try expect(region == data, "download of \(bytes) bytes at offset \(offset) differs from what was uploaded")
            })
        }
        cases.append(QueueCase("queue.roundtrip(bytes=0)") { device in
            let queue = try device.makeQueue()
            let empty = try device.allocate(bytes: 0)
            try expect(empty.byteCount == 0, "a zero-byte allocation reports \(empty.byteCount) bytes")
            let buffer = try device.allocate(bytes: 16)
            try queue.upload([UInt8](), to: buffer.slice(offset: 16))
            try queue.download(buffer.slice(offset: 8), into: HostBuffer(byteCount: 0))
            try queue.copy(from: buffer.slice(), to: buffer.slice(offset: 16), byteCount: 0)
            try queue.synchronize()
        })
        // Device-to-device copies between odd offsets.
        for (bytes, from, to) in [(4, 0, 8), (1027, 3, 5), (65536, 4, 0)] {
            cases.append(QueueCase("queue.copy(bytes=\(bytes), from=\(from), to=\(to))") { device in
                let queue = try device.makeQueue()
                let source = try device.allocate(bytes: from + bytes + 8)
                let destination = try device.allocate(bytes: to + bytes + 8)
                let sourceBytes = pattern(source.byteCount, tag: 0x11)
                let destinationBytes = pattern(destination.byteCount, tag: 0x77)
                try queue.upload(sourceBytes, to: source.slice())
                try queue.upload(destinationBytes, to: destination.slice())
                try queue.copy(from: source.slice(offset: from), to: destination.slice(offset: to), byteCount: bytes)
                let all = try readAll(destination, queue)
                for i in 0..<all.count {
                    let expected = (to..<to + bytes).contains(i) ? sourceBytes[from + i - to] : destinationBytes[i]
                    try expect(all[i] == expected, "byte \(i) of the destination is \(all[i]), expected \(expected)")
                }
            })
        }
        // The host array may be reused as soon as upload returns.
        cases.append(QueueCase("queue.upload(host bytes reusable at return)") { device in
            let queue = try device.makeQueue()
            let buffer = try device.allocate(bytes: 8192)
            var host = [Float](repeating: 1, count: 1024)
            try queue.upload(host, to: buffer.slice())
            for i in host.indices { host[i] = 2 }
            try queue.upload(host, to: buffer.slice(offset: 4096))
            let values = try queue.readFloats(buffer.slice(), count: 2048)
            try expect(values[..<1024].allSatisfy { $0 == 1 } && values[1024...].allSatisfy { $0 == 2 },
                       "the first upload saw host bytes changed after upload() returned")
        })
        // Transfers that would run past the end of a buffer are refused.
        cases.append(QueueCase("queue.transfer(out of bounds)") { device in
            let queue = try device.makeQueue()
            let buffer = try device.allocate(bytes: 64)
            try expectDeviceError("upload of 64 bytes at offset 4 into a 64-byte buffer", matches: { _ in true }) {
                try queue.upload([UInt8](repeating: 0, count: 64), to: buffer.slice(offset: 4))
            }
            try expectDeviceError("download of 65 bytes from a 64-byte buffer", matches: { _ in true }) {
                try queue.download(buffer.slice(), into: HostBuffer(byteCount: 65))
            }
            try expectDeviceError("copy of 64 bytes into offset 8 of a 64-byte buffer", matches: { _ in true }) {
                try queue.copy(from: buffer.slice(), to: buffer.slice(offset: 8), byteCount: 64)
            }
            try queue.synchronize()
        })
        // The contract pins overlapping device copies down: refused on every device (no backend
        // needs memmove semantics), while touching ranges are fine.
        cases.append(QueueCase("queue.copy(overlapping ranges refused)") { device in
            let queue = try device.makeQueue()
            let buffer = try queue.makeBuffer((0..<16).map(Float.init))
            for (from, to) in [(0, 16), (16, 0), (8, 8)] {
                try expectDeviceError("copy of 32 bytes from offset \(from) to offset \(to) of one buffer", matches: {
                    if case let .invalidOperands(_, reason) = $0 { return reason.contains("overlap") }
                    return false
                }) { try queue.copy(from: buffer.slice(offset: from), to: buffer.slice(offset: to), byteCount: 32) }
            }
            try queue.copy(from: buffer.slice(), to: buffer.slice(offset: 32), byteCount: 32)
            let values = try queue.readFloats(buffer.slice(), count: 16)
            try expect(values == (0..<8).map(Float.init) + (0..<8).map(Float.init),
                       "touching copy [0, 32) -> [32, 64) gave \(values)")
            try expect(queue.counters.deviceCopies == 1, "refused copies were counted: \(queue.counters.deviceCopies)")
        })
        return cases
    }
}
