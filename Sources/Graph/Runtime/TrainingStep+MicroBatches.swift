import Devices
import Foundation

/// A step over M > 1 micro-batches: local ones (`--grad-accum`) or shared by the processes of a
/// ``ProcessGroup`` (`mpirun`).
///
/// Why the two give the same bits: a step's result depends only on what each micro-batch draws
/// and on the order of the additions. Micro-batch `g` of the step that follows counter `c`
/// draws its timesteps and noise from the device Philox state keyed `[seed, c + g]`, whichever
/// process runs it (the host uploads the 16-byte state before the run), and the sums are formed
/// on the device as `((G₀ + G₁) + G₂) + …` in micro-batch order with the same `binary.add`
/// kernel in both cases; the mean (`× 1/M`), the norm, the clip, Adam and the EMA then run on
/// identical inputs.
///
/// With a group, each process runs its `L` micro-batches, downloads their gradients and losses
/// (`[P + 1]` floats each, gathered side by side on the device first, into host memory kept from
/// step to step), and ``ProcessGroup/allGather(_:into:)`` hands every process all
/// `M` of them in micro-batch order (process `r` holds micro-batches `r·L ..< (r+1)·L`). Every
/// process then uploads them one by one and adds them on its device in that order, so all of
/// them hold the same sum and take the same optimiser step, and no reduction algorithm of the
/// communication library decides the grouping of the additions. The cost is `(M − L)·(P + 1)`
/// floats received per process and step (see docs/distributed.md for what that means at scale).
extension TrainingStep {
    /// Runs one optimiser step: this process's `localMicroBatches` micro-batches (raw f32
    /// batches for the graph's only input), in micro-batch order.
    public func step(microBatches batches: [UnsafeRawBufferPointer], variant: Int = 0) throws {
        guard microBatches > 1 else {
            guard batches.count == 1 else { throw GraphError.invalidUse("this step takes one batch per step, got \(batches.count)") }
            return try step(bytes: batches[0], variant: variant)
        }
        guard batches.count == localMicroBatches else {
            throw GraphError.invalidUse("this process runs \(localMicroBatches) micro-batches per step, got \(batches.count)")
        }
        guard let gradientSum, let lossSum, let grads = try compiledVariant(variant).gradients else {
            throw GraphError.invalidUse("the step graph has no gradients")
        }
        let count = parameters.layout.count
        let (lossSlice, _) = try variants[variant].outputSlice("loss")
        let base = randomWords[2]
        if let group {
            try exchangeAndSum(batches, variant: variant, group: group, base: base, count: count,
                               grads: grads, lossSlice: lossSlice, gradientSum: gradientSum, lossSum: lossSum)
        } else {
            for (g, batch) in batches.enumerated() {
                try setRandomCounter(base &+ UInt32(g))
                try setOnlyInput(of: variant, bytes: batch)
                try executors[variant].run()
                try accumulate(gradient: grads.slice(), loss: lossSlice, first: g == 0, count: count,
                               gradientSum: gradientSum, lossSum: lossSum)
            }
        }
        try setRandomCounter(base &+ UInt32(truncatingIfNeeded: microBatches))
        try finishStep(variant)
    }

    /// Keys the random draws of the next graph run: counter word 2 of the Philox state.
    func setRandomCounter(_ counter: UInt32) throws {
        randomWords[2] = counter
        try queue.upload(randomWords, to: compiled.randomState.slice())
    }

    /// `sum = G` for the first micro-batch, else `sum = sum + G` (and the same for the loss).
    private func accumulate(gradient: BufferSlice, loss: BufferSlice, first: Bool, count: Int,
                            gradientSum: Buffer, lossSum: Buffer) throws {
        if first {
            try queue.copy(from: gradient, to: gradientSum.slice(), byteCount: count * 4)
            try queue.copy(from: loss, to: lossSum.slice(), byteCount: 4)
        } else {
            try queue.launch(.binary(.add, .dense(count)), [gradientSum.slice(), gradient, gradientSum.slice()])
            try queue.launch(.binary(.add, .dense(1)), [lossSum.slice(), loss, lossSum.slice()])
        }
    }

    private func exchangeAndSum(_ batches: [UnsafeRawBufferPointer], variant: Int, group: ProcessGroup, base: UInt32,
                                count: Int, grads: Buffer, lossSlice: BufferSlice,
                                gradientSum: Buffer, lossSum: Buffer) throws {
        guard let staging else { throw GraphError.invalidUse("internal: a distributed step without its staging buffer") }
        let stride = (count + 1) * 4
        let local = localMicroBatches
        let first = group.rank * local
        let staged = try hostStaging ?? HostStaging(local: local, microBatches: microBatches, stride: stride)
        hostStaging = staged
        // Run the local micro-batches, staging each gradient and loss through host memory.
        for (i, batch) in batches.enumerated() {
            try setRandomCounter(base &+ UInt32(first + i))
            try setOnlyInput(of: variant, bytes: batch)
            try executors[variant].run()
            // Gradient and loss side by side on the device, then one download of the record.
            try queue.copy(from: grads.slice(), to: staging.slice(), byteCount: count * 4)
            try queue.copy(from: lossSlice, to: staging.slice(offset: count * 4), byteCount: 4)
            try queue.download(staging.slice(), into: staged.parts[i])
        }
        try queue.synchronize()
        let send = staged.contribution()
        let all = UnsafeMutableRawBufferPointer(start: staged.all.pointer, count: staged.all.byteCount)
        let start = DispatchTime.now().uptimeNanoseconds
        try group.allGather(send, into: all)
        exchangeSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Sum every micro-batch's gradient in micro-batch order, on this device.
        for g in 0..<microBatches {
            let part = UnsafeRawBufferPointer(rebasing: all[(g * stride)..<((g + 1) * stride)])
            if g == 0 {
                try queue.upload(UnsafeRawBufferPointer(rebasing: part[0..<(count * 4)]), to: gradientSum.slice())
                try queue.upload(UnsafeRawBufferPointer(rebasing: part[(count * 4)...]), to: lossSum.slice())
            } else {
                try queue.upload(part, to: staging.slice())
                try accumulate(gradient: staging.slice(), loss: staging.slice(offset: count * 4), first: false, count: count,
                               gradientSum: gradientSum, lossSum: lossSum)
            }
        }
    }
}

/// Host memory a distributed step stages its gradients through, allocated once: each local
/// micro-batch's record (`[P + 1]` floats: the gradient, then the loss) is downloaded into
/// `parts[i]`, and the gather fills `all` (`M` such records, in micro-batch order).
final class HostStaging {
    let parts: [HostBuffer]
    let all: HostBuffer
    /// With several local micro-batches, their records side by side (one process's contribution).
    private let packed: HostBuffer?
    let stride: Int

    init(local: Int, microBatches: Int, stride: Int) throws {
        let (total, overflow) = microBatches.multipliedReportingOverflow(by: stride)
        guard !overflow else { throw GraphError.invalidUse("\(microBatches) micro-batches of \(stride) bytes overflow the host staging size") }
        self.stride = stride
        parts = (0..<local).map { _ in HostBuffer(byteCount: stride) }
        all = HostBuffer(byteCount: total)
        packed = local > 1 ? HostBuffer(byteCount: local * stride) : nil
    }

    /// This process's contribution to the gather: its records, side by side.
    func contribution() -> UnsafeRawBufferPointer {
        guard let packed else { return UnsafeRawBufferPointer(start: parts[0].pointer, count: stride) }
        for (i, part) in parts.enumerated() {
            (packed.pointer + i * stride).copyMemory(from: part.pointer, byteCount: stride)
        }
        return UnsafeRawBufferPointer(start: packed.pointer, count: packed.byteCount)
    }
}
