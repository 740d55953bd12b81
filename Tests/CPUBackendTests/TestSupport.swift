import Devices
import XCTest
@testable import CPUBackend

/// A deterministic generator for test data (SplitMix64).
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform on `[low, high)`.
    mutating func float(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) * 0x1p-24
    }
}

/// The two CPU devices behind the front end, made once per test process.
enum TestDevices {
    static let fast = FrontEndDevice(try! CPUDevice(mode: .fast))
    static let reference = FrontEndDevice(try! CPUDevice(mode: .reference))
}

extension Queue {
    /// The CPU backend queue behind a front-end queue (to inject commands in tests).
    var cpuBackend: CPUQueue { (self as! FrontEndQueue).backend as! CPUQueue }
}

/// One operand's contents as raw 32-bit words (floats as bit patterns).
typealias Words = [UInt32]

/// Input data for every operand of `kernel`, following each operand's domain.
///
/// Write-only operands start as 7.0 so elements a kernel forgets to write stay visible.
func makeInputs(for kernel: Kernel, seed: UInt64) -> [Words] {
    var random = TestRandom(seed: seed)
    return kernel.operands.map { spec in
        (0..<spec.count).map { i -> UInt32 in
            if spec.access == .write { return spec.type == .float32 ? Float(7).bitPattern : 7 }
            switch spec.domain {
            case .any: return random.float(-1, 1).bitPattern
            case .positive: return random.float(0.1, 2).bitPattern
            case let .index(bound):
                let value = Int(random.next() % UInt64(max(bound, 1)))
                return spec.type == .float32 ? Float(value).bitPattern : UInt32(value)
            case let .values(values): return values[i % values.count].bitPattern
            case .randomState: return UInt32(truncatingIfNeeded: random.next())
            }
        }
    }
}

/// Runs `kernel` once on `device` with `inputs`, each operand placed `offsetWords` words into
/// its own buffer, and returns every operand's contents afterwards.
///
/// The words around each operand are zero sentinels; a kernel that writes outside its operand
/// makes this throw ``OutOfBoundsWrite``.
func runKernel(_ kernel: Kernel, on device: Device, inputs: [Words], offsetWords: Int = 3) throws -> [Words] {
    let queue = try device.makeQueue()
    let padding = 4
    var slices: [BufferSlice] = []
    for words in inputs {
        let buffer = try device.allocate(bytes: (words.count + offsetWords + padding) * 4)
        let slice = buffer.slice(offset: offsetWords * 4)
        if !words.isEmpty { try queue.upload(words, to: slice) }
        slices.append(slice)
    }
    try queue.launch(kernel, slices)
    let hosts = try slices.map { slice -> HostBuffer in
        let host = HostBuffer(byteCount: slice.buffer.byteCount)
        try queue.download(slice.buffer.slice(), into: host)
        return host
    }
    try queue.synchronize()
    return try zip(hosts, zip(inputs, kernel.operands)).map { host, pair in
        let all = host.values(UInt32.self, count: host.byteCount / 4)
        let (words, spec) = pair
        if all[..<offsetWords].contains(where: { $0 != 0 }) || all[(offsetWords + words.count)...].contains(where: { $0 != 0 }) {
            throw OutOfBoundsWrite(kernel: kernel.caseDescription, operand: spec.name)
        }
        return Array(all[offsetWords..<(offsetWords + words.count)])
    }
}

/// A kernel changed memory next to one of its operands.
struct OutOfBoundsWrite: Error, CustomStringConvertible {
    var kernel: String
    var operand: String
    var description: String { "\(kernel) wrote outside operand '\(operand)'" }
}

/// Normalised mean squared error `Σ(a−b)² / Σb²` of float words (0 when both are all zero).
func nmse(_ a: Words, _ b: Words) -> Double {
    var error = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        let (fa, fb) = (Double(Float(bitPattern: x)), Double(Float(bitPattern: y)))
        if fa.isNaN != fb.isNaN { return .infinity }
        if fa.isNaN || fa == fb { continue }   // equal infinities (max of an empty extent) agree
        if fa.isInfinite || fb.isInfinite { return .infinity }
        error += (fa - fb) * (fa - fb)
        norm += fb * fb
    }
    if norm == 0 { return error == 0 ? 0 : .infinity }
    return error / norm
}

/// Runs `kernel` on `cpu` and `cpu-reference` with the same inputs and checks every written
/// operand: NMSE ≤ `tolerance` for floats, bit equality for integers (and when `exact`).
func assertAgreement(_ kernel: Kernel, tolerance: Double = 1e-7, exact: Bool = false, seed: UInt64 = 1,
                     file: StaticString = #filePath, line: UInt = #line) throws {
    let inputs = makeInputs(for: kernel, seed: seed)
    let fast = try runKernel(kernel, on: TestDevices.fast, inputs: inputs)
    let reference = try runKernel(kernel, on: TestDevices.reference, inputs: inputs, offsetWords: 1)
    for (index, spec) in kernel.operands.enumerated() where spec.access != .read {
        // Both sides doing nothing would "agree": the oracle must have changed every output.
        if spec.count > 0 {
            XCTAssertNotEqual(reference[index], inputs[index], "\(kernel.caseDescription): reference left \(spec.name) unchanged",
                              file: file, line: line)
        }
        if exact || spec.type != .float32 {
            XCTAssertEqual(fast[index], reference[index], "\(kernel.caseDescription): operand \(spec.name) differs",
                           file: file, line: line)
        } else {
            let error = nmse(fast[index], reference[index])
            XCTAssertLessThanOrEqual(error, tolerance, "\(kernel.caseDescription): operand \(spec.name) NMSE \(error)",
                                     file: file, line: line)
        }
    }
}

/// Runs `kernel` on the reference device with float inputs and returns the float operands after it.
func reference(_ kernel: Kernel, _ inputs: [[Float]]) throws -> [[Float]] {
    let words = inputs.map { $0.map(\.bitPattern) }
    return try runKernel(kernel, on: TestDevices.reference, inputs: words).map { $0.map(Float.init(bitPattern:)) }
}

/// Runs `kernel` through `kernels` directly on `cpu` buffers (bypassing the queue).
func runDirect(_ kernels: CPUFast, _ kernel: Kernel, _ inputs: [Words]) throws -> [Words] {
    let buffers = try inputs.map { words -> CPUBuffer in
        let buffer = try (TestDevices.fast.backend as! CPUDevice).allocateBuffer(bytes: words.count * 4) as! CPUBuffer
        words.withUnsafeBytes { buffer.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return buffer
    }
    try kernels.run(kernel, KernelArgs(pointers: buffers.map(\.base)), workspace: Workspace(deviceName: "cpu"))
    return zip(buffers, inputs).map { buffer, words in
        Array(UnsafeBufferPointer(start: buffer.base.assumingMemoryBound(to: UInt32.self), count: words.count))
    }
}
