import Devices
import Foundation

/// The queue of ``TestDoubleDevice``: executes every command at once, in order.
final class TestDoubleQueue: Queue {
    let double: TestDoubleDevice
    private(set) var counters = QueueCounters()
    var isProfiling = false

    init(device: TestDoubleDevice) { double = device }

    var device: Device { double }

    func resetCounters() { counters = QueueCounters() }

    func countedSynchronization() { counters.hostSynchronizations += 1 }

    private func buffer(_ slice: BufferSlice, bytes: Int, _ role: String) throws -> TestDoubleBuffer {
        guard let buffer = slice.buffer as? TestDoubleBuffer, buffer.deviceName == double.info.name else {
            throw DeviceError.invalidOperands(kernel: "transfer", reason: "\(role) is not a buffer of \(double.info.name)")
        }
        guard slice.offset >= 0, bytes >= 0, slice.offset + bytes <= buffer.byteCount else {
            throw DeviceError.invalidOperands(kernel: "transfer", reason: "\(role): \(bytes) bytes at \(slice.offset) exceed \(buffer.byteCount)")
        }
        return buffer
    }

    func upload(_ bytes: UnsafeRawBufferPointer, to destination: BufferSlice) throws {
        let target = try buffer(destination, bytes: bytes.count, "upload destination")
        target.withBytes { raw in
            for i in 0..<bytes.count { raw[destination.offset + i] = bytes[i] }
        }
        counters.bytesUploaded += bytes.count
    }

    func download(_ source: BufferSlice, into destination: HostBuffer) throws {
        let from = try buffer(source, bytes: destination.byteCount, "download source")
        from.withBytes { raw in
            for i in 0..<destination.byteCount { destination.pointer.storeBytes(of: raw[source.offset + i], toByteOffset: i, as: UInt8.self) }
        }
        counters.bytesDownloaded += destination.byteCount
    }

    func copy(from source: BufferSlice, to destination: BufferSlice, byteCount: Int) throws {
        let from = try buffer(source, bytes: byteCount, "copy source")
        let to = try buffer(destination, bytes: byteCount, "copy destination")
        // The contract: overlapping ranges of one buffer are refused (the front end does this for real devices).
        if from === to, source.offset < destination.offset + byteCount, destination.offset < source.offset + byteCount {
            throw DeviceError.invalidOperands(kernel: "copy", reason: "source and destination overlap in one buffer")
        }
        let bytes = from.withBytes { Array($0[source.offset ..< source.offset + byteCount]) }
        to.withBytes { raw in
            for i in 0..<byteCount { raw[destination.offset + i] = bytes[i] }
        }
        counters.deviceCopies += 1
    }

    func record() throws -> Event { TestDoubleEvent(queue: self) }
    func waitOnDevice(for event: Event) throws {}
    func synchronize() throws { counters.hostSynchronizations += 1 }

    func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        try kernel.validate(operands, on: double.info.name)
        guard double.supports(kernel) else {
            throw DeviceError.unsupportedKernel(device: double.info.name, kernel: kernel.caseDescription)
        }
        let buffers = operands.map { $0.buffer as! TestDoubleBuffer }
        let fault = double.fault
        switch kernel {
        case let .fill(count, value):
            for i in 0..<count { buffers[0].setFloat(operands[0], i, value) }
        case let .copy(c):
            for i in 0..<c.count {
                let v = buffers[0].float(operands[0], i)
                let old = buffers[1].float(operands[1], i)
                buffers[1].setFloat(operands[1], i, c.accumulate ? old + v : v)
            }
        case let .unary(op, count):
            for i in 0..<count {
                var y = Self.apply(op, buffers[0].float(operands[0], i))
                if fault == .wrongValue { y *= 1.01 }
                if fault == .nanOutput && i == 0 { y = .nan }
                buffers[1].setFloat(operands[1], i, y)
                if fault == .clobbersInput && operands[0].offset != operands[1].offset { buffers[0].setFloat(operands[0], i, 0) }
            }
            if fault == .guardOverwrite && operands[1].offset / 4 + count < buffers[1].words.count {
                buffers[1].setFloat(operands[1], count, 0)
            }
        case let .unaryBackward(op, count):
            for i in 0..<count {
                let x = buffers[0].float(operands[0], i)
                let dy = buffers[1].float(operands[1], i)
                var derivative = Self.derivative(op, x)
                if fault == .wrongDerivative && op == .silu { derivative = 1 / (1 + Foundation.exp(-x)) }
                buffers[2].setFloat(operands[2], i, dy * derivative)
            }
        case let .binary(op, b):
            var index = [Int](repeating: 0, count: b.shape.count)
            for i in 0..<b.count {
                var ia = 0, ib = 0
                for d in 0..<b.shape.count {
                    ia += index[d] * b.aStrides[d]
                    ib += index[d] * b.bStrides[d]
                }
                let x = buffers[0].float(operands[0], ia)
                let y = buffers[1].float(operands[1], ib)
                let out: Float
                switch op {
                case .add: out = x + y
                case .sub: out = x - y
                case .mul: out = x * y
                case .div: out = x / y
                case .maximum: out = Swift.max(x, y)
                case .minimum: out = Swift.min(x, y)
                }
                buffers[2].setFloat(operands[2], i, out)
                var d = b.shape.count - 1
                while d >= 0 {
                    index[d] += 1
                    if index[d] < b.shape[d] { break }
                    index[d] = 0
                    d -= 1
                }
            }
        default:
            throw DeviceError.unsupportedKernel(device: double.info.name, kernel: kernel.caseDescription)
        }
        counters.kernelsLaunched += 1
        if isProfiling {
            counters.launchesPerFamily[kernel.family, default: 0] += 1
            counters.timePerFamily[kernel.family, default: 0] += 0
        }
    }

    static func apply(_ op: UnaryOp, _ x: Float) -> Float {
        switch op {
        case .identity: return x
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .relu: return Swift.max(x, 0)
        case .silu: return x / (1 + Foundation.exp(-x))
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .gelu: return 0.5 * x * (1 + Foundation.erf(x / Float(2).squareRoot()))
        case .exp: return Foundation.exp(x)
        case .log: return Foundation.log(x)
        case .sqrt: return x.squareRoot()
        case .rsqrt: return 1 / x.squareRoot()
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .square: return x * x
        case .reciprocal: return 1 / x
        case let .affine(scale, shift): return scale * x + shift
        case let .clamp(low, high): return Swift.min(Swift.max(x, low), high)
        }
    }

    static func derivative(_ op: UnaryOp, _ x: Float) -> Float {
        switch op {
        case .identity: return 1
        case .neg: return -1
        case .abs: return x > 0 ? 1 : (x < 0 ? -1 : 0)
        case .relu: return x > 0 ? 1 : 0
        case .silu:
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 + x * (1 - s))
        case .sigmoid:
            let s = 1 / (1 + Foundation.exp(-x))
            return s * (1 - s)
        case .tanh:
            let t = Foundation.tanh(x)
            return 1 - t * t
        case .gelu:
            let cdf = 0.5 * (1 + Foundation.erf(x / Float(2).squareRoot()))
            let pdf = Foundation.exp(-0.5 * x * x) / Float(2 * Float.pi).squareRoot()
            return cdf + x * pdf
        case .exp: return Foundation.exp(x)
        case .log: return 1 / x
        case .sqrt: return 0.5 / x.squareRoot()
        case .rsqrt: return -0.5 / (x * x.squareRoot())
        case .sin: return Foundation.cos(x)
        case .cos: return -Foundation.sin(x)
        case .square: return 2 * x
        case .reciprocal: return -1 / (x * x)
        case let .affine(scale, _): return scale
        case let .clamp(low, high): return x > low && x < high ? 1 : 0
        }
    }
}
