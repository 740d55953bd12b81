import Devices
import Foundation

/// Checks backward kernels against central finite differences of their forward kernel, both on
/// the device under test.
///
/// The analytic gradient comes from one run of the backward program. The numeric one perturbs
/// each checked input element by ±ε (±2ε for the 4-point stencil), reruns the forward kernel
/// and evaluates `L = Σ dy·y` in Double on the host. All perturbation runs are enqueued
/// back to back (upload one element, launch, download) with one synchronisation per batch, so
/// the check costs little more than the launches themselves.
struct GradientRunner {
    let queue: Queue
    let seed: UInt64

    /// Elements checked per differentiated input; larger inputs are sampled evenly.
    static let maxCheckedElements = 96
    /// Forward evaluations enqueued between synchronisations.
    static let evaluationsPerBatch = 128

    var device: Device { queue.device }

    func run(_ testCase: GradientCase) -> CaseOutcome {
        let start = DispatchTime.now()
        var outcome: CaseOutcome
        do {
            outcome = try evaluate(testCase)
        } catch let failure as CheckFailure {
            outcome = CaseOutcome(name: testCase.name, status: .failed(reason: failure.message))
        } catch {
            outcome = CaseOutcome(name: testCase.name, status: .failed(reason: "device error: \(error)"))
        }
        outcome.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        return outcome
    }

    /// Float inputs of every readable forward operand, with kinks avoided.
    func inputs(for testCase: GradientCase) -> [[Float]] {
        testCase.forward.operands.enumerated().map { i, operand in
            if operand.access == .write { return [Float](repeating: 0, count: operand.count) }
            var generator = TestData.generator(case: testCase.name, operand: i, seed: seed)
            var values = TestData.words(for: operand, inputs: .standard, generator: &generator).map { Float(bitPattern: $0) }
            let margin = 5 * testCase.epsilon
            for k in testCase.kinks {
                for j in values.indices where Swift.abs(values[j] - k) < margin {
                    values[j] = k + (values[j] >= k ? margin : -margin)
                }
            }
            return values
        }
    }

    private func evaluate(_ testCase: GradientCase) throws -> CaseOutcome {
        let kernels = [testCase.forward] + testCase.steps.map(\.kernel)
        if let unsupported = kernels.first(where: { !device.supports($0) }) {
            return CaseOutcome(name: testCase.name, status: .skipped(reason: "not supported (\(unsupported.family))"))
        }
        let operands = testCase.forward.operands
        let outputs = operands.indices.filter { operands[$0].access != .read }
        let values = inputs(for: testCase)

        // Device buffers.
        let valueBuffers = try operands.indices.map { try queue.makeBuffer(values[$0].isEmpty ? [Float(0)] : values[$0]) }
        var upstream: [Int: [Float]] = [:]
        var upstreamBuffers: [Int: Buffer] = [:]
        for i in outputs {
            var generator = TestData.generator(case: testCase.name, operand: 100 + i, seed: seed)
            let dy = (0..<operands[i].count).map { _ in generator.uniform(-1, 1) }
            upstream[i] = dy
            upstreamBuffers[i] = try queue.makeBuffer(dy.isEmpty ? [Float(0)] : dy)
        }
        var gradientBuffers: [Int: Buffer] = [:]
        for i in testCase.wrt {
            gradientBuffers[i] = try queue.makeBuffer([Float](repeating: 0, count: max(operands[i].count, 1)))
        }
        let temporaries = try testCase.temporaries.map { try queue.makeBuffer([Float](repeating: 0, count: max($0, 1))) }

        func slice(_ ref: GradientCase.Ref) -> BufferSlice {
            switch ref {
            case let .value(i): return valueBuffers[i].slice()
            case let .upstream(i): return upstreamBuffers[i]!.slice()
            case let .gradient(i): return gradientBuffers[i]!.slice()
            case let .temporary(i): return temporaries[i].slice()
            case let .offset(base, elements): return slice(base).advanced(by: elements * 4)
            }
        }

        // Analytic gradients: forward, then the backward program.
        let forwardSlices = operands.indices.map { valueBuffers[$0].slice() }
        try queue.launch(testCase.forward, forwardSlices)
        for step in testCase.steps { try queue.launch(step.kernel, step.operands.map(slice)) }
        var analytic: [Int: [Float]] = [:]
        for i in testCase.wrt { analytic[i] = try queue.readFloats(gradientBuffers[i]!.slice(), count: operands[i].count) }

        // Numeric gradients.
        let readWrite = operands.indices.filter { operands[$0].access == .readWrite }
        let offsets: [(Float, Double)] = switch testCase.stencil {
        case .central2: [(1, 1), (-1, -1)]
        case .central4: [(1, 8), (-1, -8), (2, -1), (-2, 1)]
        }
        let denominator: Double = testCase.stencil == .central2 ? 2 : 12

        var worstRelative = 0.0
        for w in testCase.wrt {
            let original = values[w]
            let checked = Self.checkedIndices(count: original.count)
            var numeric = [Double](repeating: 0, count: checked.count)
            var pending: [(slot: Int, weight: Double, hosts: [Int: HostBuffer])] = []

            func drain() throws {
                try queue.synchronize()
                for item in pending {
                    var loss = 0.0
                    for (o, host) in item.hosts {
                        let y = host.floats(count: operands[o].count)
                        let dy = upstream[o]!
                        for j in 0..<y.count { loss += Double(dy[j]) * Double(y[j]) }
                    }
                    numeric[item.slot] += item.weight * loss
                }
                pending.removeAll(keepingCapacity: true)
            }

            for (slot, e) in checked.enumerated() {
                var step = Double(testCase.epsilon)
                if testCase.stencil == .central2 {
                    // Divide by the perturbation float arithmetic really made.
                    step = (Double(original[e] + testCase.epsilon) - Double(original[e] - testCase.epsilon)) / 2
                }
                for (multiple, weight) in offsets {
                    for r in readWrite { try queue.upload(values[r], to: valueBuffers[r].slice()) }
                    let perturbed = original[e] + multiple * testCase.epsilon
                    try queue.upload([perturbed], to: valueBuffers[w].slice(offset: e * 4))
                    try queue.launch(testCase.forward, forwardSlices)
                    var hosts: [Int: HostBuffer] = [:]
                    for o in outputs where operands[o].count > 0 {
                        let host = HostBuffer(byteCount: operands[o].count * 4)
                        try queue.download(valueBuffers[o].slice(), into: host)
                        hosts[o] = host
                    }
                    pending.append((slot, weight / (denominator * step), hosts))
                }
                try queue.upload([original[e]], to: valueBuffers[w].slice(offset: e * 4))
                if pending.count >= Self.evaluationsPerBatch { try drain() }
            }
            try drain()

            let a = checked.map { Double(analytic[w]![$0]) }
            let name = operands[w].name
            if let bad = analytic[w]!.firstIndex(where: { !$0.isFinite }) {
                throw CheckFailure(message: "d/d\(name): backward produced \(analytic[w]![bad]) at element [\(bad)]")
            }
            var difference = 0.0, normA = 0.0, normN = 0.0, worst = 0, worstAbs = -1.0
            for k in checked.indices {
                let d = a[k] - numeric[k]
                difference += d * d
                normA += a[k] * a[k]
                normN += numeric[k] * numeric[k]
                if Swift.abs(d) > worstAbs { worstAbs = Swift.abs(d); worst = k }
            }
            difference = difference.squareRoot()
            let scale = max(normA.squareRoot(), normN.squareRoot())
            let n = Double(max(checked.count, 1))
            let relative: Double
            if scale < 1e-6 * n.squareRoot() {
                // Both gradients vanish (e.g. softmax over one element): compare absolutely.
                relative = difference / n.squareRoot() <= 1e-4 ? 0 : .infinity
            } else {
                relative = difference / scale
            }
            if !(relative <= testCase.threshold) {
                let e = checked[worst]
                throw CheckFailure(message: "d/d\(name): relative error \(formatScientific(relative)) > \(formatScientific(testCase.threshold)) over \(checked.count) elements; worst [\(e)]: backward \(Float(a[worst])) vs finite difference \(Float(numeric[worst]))")
            }
            worstRelative = max(worstRelative, relative)
        }
        return CaseOutcome(name: testCase.name, status: .passed, detail: "relative error \(formatScientific(worstRelative))")
    }

    /// All indices when few, else `maxCheckedElements` spread evenly, always including the last.
    static func checkedIndices(count: Int) -> [Int] {
        if count <= maxCheckedElements { return Array(0..<count) }
        var indices = (0..<maxCheckedElements - 1).map { $0 * count / (maxCheckedElements - 1) }
        indices.append(count - 1)
        return indices
    }
}
