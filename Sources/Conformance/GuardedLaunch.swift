import Devices

/// Runs one kernel on one device with every operand fenced by sentinel guards.
///
/// Each operand gets its own buffer laid out as `[guard | data | guard]`: `guardWords + (i % 4)`
/// sentinel words before (so the slice starts at a non-zero byte offset that is a multiple of 4
/// but, for three operands in four, not of 16) and `guardWords` after. After the launch every
/// buffer is downloaded whole, so writes outside an operand's span show up as changed guards.
struct GuardedLaunch {
    /// Sentinel words on each side of an operand (ggml uses 1024; 256 catches the same off-by-a-row writes).
    static let guardWords = 256

    /// What one operand's buffer held after the launch.
    struct OperandResult {
        /// The operand's words, `count` of them.
        var data: [UInt32]
        /// Index of the first guard word that changed, relative to the guard region, and
        /// whether it lies before (`true`) or after the data.
        var guardViolation: (index: Int, before: Bool)?
    }

    /// Per operand, the data after the launch; `nil` for an operand that aliases an earlier one.
    var results: [OperandResult?]

    /// Uploads `inputs` (one word array per operand, `nil` for aliases), launches `kernel`, and
    /// downloads every buffer with a single host synchronisation.
    static func run(_ kernel: Kernel, inputs: [[UInt32]?], aliases: [Int: Int], on queue: Queue) throws -> GuardedLaunch {
        let device = queue.device
        let operands = kernel.operands
        var buffers: [Buffer?] = []
        var slices: [BufferSlice] = []
        var layouts: [(before: Int, count: Int)] = []
        for (i, operand) in operands.enumerated() {
            if let root = aliases[i] {
                buffers.append(nil)
                slices.append(slices[root])
                layouts.append((0, 0))
                continue
            }
            let before = guardWords + i % 4
            let count = operand.count
            let buffer = try device.allocate(bytes: (before + count + guardWords) * 4)
            var words = [UInt32](repeating: 0, count: before + count + guardWords)
            for k in 0..<before { words[k] = TestData.guardWord(k) }
            if let data = inputs[i] {
                precondition(data.count == count, "input of operand \(operand.name) has \(data.count) words, expected \(count)")
                for k in 0..<count { words[before + k] = data[k] }
            }
            for k in 0..<guardWords { words[before + count + k] = TestData.guardWord(before + k) }
            try queue.upload(words, to: buffer.slice())
            buffers.append(buffer)
            slices.append(buffer.slice(offset: before * 4))
            layouts.append((before, count))
        }

        try queue.launch(kernel, slices)

        var hosts: [HostBuffer?] = []
        for buffer in buffers {
            guard let buffer else { hosts.append(nil); continue }
            let host = HostBuffer(byteCount: buffer.byteCount)
            try queue.download(buffer.slice(), into: host)
            hosts.append(host)
        }
        try queue.synchronize()

        var results: [OperandResult?] = []
        for (i, host) in hosts.enumerated() {
            guard let host else { results.append(nil); continue }
            let (before, count) = layouts[i]
            let words = host.values(UInt32.self, count: before + count + guardWords)
            var violation: (Int, Bool)?
            // Scan outward from the data so the report names the nearest clobbered word.
            for k in stride(from: before - 1, through: 0, by: -1) where words[k] != TestData.guardWord(k) {
                violation = (before - k, true)   // 1 = the word just before the data
                break
            }
            if violation == nil {
                for k in 0..<guardWords where words[before + count + k] != TestData.guardWord(before + k) {
                    violation = (k, false)
                    break
                }
            }
            results.append(OperandResult(data: Array(words[before ..< before + count]), guardViolation: violation))
        }
        return GuardedLaunch(results: results)
    }
}
