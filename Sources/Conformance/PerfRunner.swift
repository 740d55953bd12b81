import Devices
import Foundation

/// Perf-mode cases: the Unet's heavy launches plus the two GEMM yardsticks of DESIGN.md.
public enum PerfCatalog {
    public static func kernels() -> [Kernel] {
        var kernels: [Kernel] = [
            // Yardsticks: 1024³ sgemm and the im2col GEMM of a 3×3 64→64 convolution at 32×32, batch 16.
            .gemm(Gemm(m: 1024, n: 1024, k: 1024)),
            .gemm(Gemm(m: 64, n: 16384, k: 576)),
            // Unet(dim 64) at batch 16: linear attention k·vᵀ and contextᵀ·q (64 = 16 images × 4 heads),
            // full attention at 8×8, a 1×1 convolution as batched GEMM, the time MLP.
            .gemm(Gemm(batch: 64, m: 32, n: 32, k: 1028, transB: true)),
            .gemm(Gemm(batch: 64, m: 32, n: 1024, k: 32, transA: true)),
            .gemm(Gemm(batch: 64, m: 64, n: 64, k: 32, transB: true, alpha: 0.1767767)),
            .gemm(Gemm(batch: 16, m: 128, n: 1024, k: 64, bias: .perRow, strideA: 0)),
            .gemm(Gemm(m: 16, n: 256, k: 64, transB: true, bias: .perColumn)),
        ]
        let convolutions = [
            Conv2d(batch: 16, inChannels: 64, outChannels: 64, height: 32, width: 32, kernel: 3),
            Conv2d(batch: 16, inChannels: 3, outChannels: 64, height: 32, width: 32, kernel: 7),
            Conv2d(batch: 16, inChannels: 128, outChannels: 128, height: 16, width: 16, kernel: 3),
            Conv2d(batch: 16, inChannels: 256, outChannels: 256, height: 8, width: 8, kernel: 3),
            // Unet(dim 64, mults 1,2,4,8): the 512-channel 4×4 convolutions of the middle blocks.
            Conv2d(batch: 16, inChannels: 512, outChannels: 512, height: 4, width: 4, kernel: 3),
            Conv2d(batch: 16, inChannels: 64, outChannels: 128, height: 16, width: 16, kernel: 1),
        ]
        for c in convolutions { kernels += [.conv2d(c), .conv2dBackwardData(c), .conv2dBackwardWeight(c)] }
        let norm = ChannelNorm(batch: 16, channels: 64, spatial: 1024)
        let groups = GroupNorm(batch: 16, channels: 64, spatial: 1024, groups: 8)
        let n = 16 * 64 * 1024
        kernels += [
            .rmsNorm(norm), .rmsNormBackward(norm), .rmsNormScaleShiftSilu(norm, scaleShift: true),
            .rmsNormScaleShiftSiluBackward(norm, scaleShift: true), .groupNorm(groups), .groupNormBackward(groups),
            .unary(.silu, count: n), .unaryBackward(.silu, count: n), .unary(.gelu, count: n),
            .binary(.add, .dense(n)), .binary(.mul, .numpy([16, 128, 16, 16], [16, 128, 1, 1])),
            .softmax(Reduction(outer: 64, extent: 32, inner: 1024)), .softmax(Reduction(outer: 2048, extent: 1024, inner: 1)),
            .reduce(.sumOfSquares, Reduction(outer: 1, extent: 1 << 22, inner: 1)),
            .copy(StridedCopy(shape: [16, 64, 1024], srcStrides: [65536, 1024, 1], dstStrides: [131072, 1024, 1])),
            .pixelUnshuffle(Resample(batch: 16, channels: 64, height: 32, width: 32)),
            .upsampleNearest(Resample(batch: 16, channels: 64, height: 32, width: 32)),
            .random(.normal(mean: 0, std: 1), count: 16 * 3 * 32 * 32, stream: 0),
            .adam(Adam(count: 1 << 22, weightDecay: 0.01)),
            .emaUpdate(count: 1 << 22),
        ]
        return kernels
    }
}

/// Times launches: median per-launch time over batches of launches, one synchronisation each.
struct PerfRunner {
    let queue: Queue
    let seed: UInt64
    /// Wall time to spend measuring each case.
    let secondsPerCase: Double

    var device: Device { queue.device }

    func run(_ kernel: Kernel) -> CaseOutcome {
        let name = kernel.caseString
        guard device.supports(kernel) else { return CaseOutcome(name: name, status: .skipped(reason: "not supported")) }
        do {
            let operands = kernel.operands
            var buffers: [Buffer] = []
            for (i, operand) in operands.enumerated() {
                var generator = TestData.generator(case: name, operand: i, seed: seed)
                let words = operand.access == .write
                    ? [UInt32](repeating: 0, count: operand.count)
                    : TestData.words(for: operand, inputs: .standard, generator: &generator)
                buffers.append(try queue.makeBuffer(words.isEmpty ? [UInt32(0)] : words))
            }
            let slices = buffers.map { $0.slice() }
            // Warm-up: first launches may build programs or fault in pages.
            try queue.launch(kernel, slices)
            try queue.synchronize()
            // Batches of launches, one synchronisation each: the first batch is one launch and
            // sizes the others to ~50 ms. Stop after `secondsPerCase` with at least three samples,
            // or after one sample when a single launch already takes longer than that.
            var perBatch = 1
            var samples: [Double] = []
            var total = 0.0
            while total < secondsPerCase || (samples.count < 3 && total < 3 * secondsPerCase) {
                let elapsed = try time {
                    for _ in 0..<perBatch { try queue.launch(kernel, slices) }
                    try queue.synchronize()
                }
                samples.append(elapsed / Double(perBatch))
                total += elapsed
                perBatch = max(1, min(1000, Int(0.05 / max(samples.last!, 1e-7))))
            }
            samples.sort()
            let median = samples[samples.count / 2]
            return CaseOutcome(name: name, status: .passed, detail: Self.describe(kernel, seconds: median),
                               seconds: total)
        } catch {
            return CaseOutcome(name: name, status: .failed(reason: "device error: \(error)"))
        }
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now()
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
    }

    /// `1.23 ms/run  87.1 GFLOP/s` (or GB/s for kernels without arithmetic intensity).
    static func describe(_ kernel: Kernel, seconds: Double) -> String {
        let time = seconds >= 1e-3 ? String(format: "%.3f ms/run", seconds * 1e3) : String(format: "%.1f µs/run", seconds * 1e6)
        if kernel.flops > 0 {
            return "\(time)  \(String(format: "%.1f", kernel.flops / seconds * 1e-9)) GFLOP/s"
        }
        return "\(time)  \(String(format: "%.1f", kernel.minimumBytes / seconds * 1e-9)) GB/s"
    }
}
