import Devices

extension QueueCatalog {
    static func errorCases() -> [QueueCase] {
        var cases: [QueueCase] = []
        cases.append(QueueCase("allocate.too-large") { device in
            let limit = device.info.maxAllocationBytes
            guard limit < Int.max else { throw CheckSkip(reason: "the device reports no allocation limit") }
            try expectDeviceError("allocate(\(limit + 1)) above maxAllocationBytes", matches: {
                if case .allocationTooLarge = $0 { return true }
                return false
            }) { _ = try device.allocate(bytes: limit + 1) }
        })
        cases.append(QueueCase("allocate.owner-name") { device in
            let buffer = try device.allocate(bytes: 12)
            try expect(buffer.deviceName == device.info.name,
                       "a buffer of '\(device.info.name)' names its device '\(buffer.deviceName)'")
            try expect(buffer.byteCount == 12, "allocate(bytes: 12) returned \(buffer.byteCount) bytes")
        })

        let silu = Kernel.unary(.silu, count: 64)
        cases.append(QueueCase("launch.invalid(too few operands)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 256)
            try expectDeviceError("unary with one operand", matches: isInvalidOperands) { try queue.launch(silu, [x.slice()]) }
        })
        cases.append(QueueCase("launch.invalid(too many operands)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 256)
            try expectDeviceError("unary with three operands", matches: isInvalidOperands) {
                try queue.launch(silu, [x.slice(), x.slice(), x.slice()])
            }
        })
        cases.append(QueueCase("launch.invalid(out of bounds)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 256)
            let small = try device.allocate(bytes: 252)
            try expectDeviceError("unary of 64 floats into a 252-byte buffer", matches: isInvalidOperands) {
                try queue.launch(silu, [x.slice(), small.slice()])
            }
            try expectDeviceError("unary of 64 floats at offset 4 of a 256-byte buffer", matches: isInvalidOperands) {
                try queue.launch(silu, [x.slice(offset: 4), x.slice()])
            }
        })
        cases.append(QueueCase("launch.invalid(misaligned offset)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 512)
            try expectDeviceError("operand at byte offset 2", matches: isInvalidOperands) {
                try queue.launch(silu, [x.slice(offset: 2), x.slice(offset: 260)])
            }
        })
        cases.append(QueueCase("launch.invalid(buffer of another device)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 256)
            try expectDeviceError("operand from another device", matches: isInvalidOperands) {
                try queue.launch(silu, [x.slice(), ForeignBuffer(byteCount: 256).slice()])
            }
        })
        cases.append(QueueCase("launch.invalid(bad parameters)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 4096)
            let norm = GroupNorm(batch: 1, channels: 8, spatial: 4, groups: 3)
            try expectDeviceError("group norm with 3 groups of 8 channels", matches: isInvalidOperands) {
                try queue.launch(.groupNorm(norm), [x.slice(), x.slice(), x.slice(), x.slice()])
            }
            let gemm = Gemm(m: 4, n: 4, k: 4, lda: 2)
            try expectDeviceError("gemm with lda 2 < k 4", matches: isInvalidOperands) {
                try queue.launch(.gemm(gemm), [x.slice(), x.slice(), x.slice(offset: 1024)])
            }
        })
        // The contract pins the error for an unsupported launch down: `unsupportedKernel`, thrown
        // before anything is enqueued. Checked with the first catalog kernel the device declines.
        cases.append(QueueCase("launch.unsupported(error and queue usable afterwards)") { device in
            guard let declined = CaseCatalog.kernelCases().first(where: { !device.supports($0.kernel) })?.kernel else {
                throw CheckSkip(reason: "the device supports every kernel of the catalog")
            }
            let queue = try device.makeQueue()
            let operands = try declined.operands.map { try device.allocate(bytes: max($0.byteCount, 4)).slice() }
            try expectDeviceError("launch of unsupported \(declined.caseDescription)", matches: {
                if case .unsupportedKernel = $0 { return true }
                return false
            }) { try queue.launch(declined, operands) }
            try expect(queue.counters.kernelsLaunched == 0, "an unsupported launch was counted")
            try queue.synchronize()
        })
        // A refused launch leaves the queue usable.
        cases.append(QueueCase("launch.invalid(queue usable afterwards)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 256)
            _ = try? queue.launch(silu, [x.slice()])
            _ = try? queue.launch(silu, [x.slice(offset: 2), x.slice()])
            try queue.launch(.fill(count: 64, value: 4), [x.slice()])
            let values = try queue.readFloats(x.slice(), count: 64)
            try expect(values.allSatisfy { $0 == 4 }, "a fill after refused launches produced \(values.prefix(4))…")
            try expect(queue.counters.kernelsLaunched == 1,
                       "refused launches were counted: kernelsLaunched is \(queue.counters.kernelsLaunched), expected 1")
        })
        return cases
    }

    @Sendable static func isInvalidOperands(_ error: DeviceError) -> Bool {
        if case .invalidOperands = error { return true }
        return false
    }
}
