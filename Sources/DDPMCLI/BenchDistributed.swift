import Devices
import Diffusion
import Distributed
import Foundation
import Graph

/// `mpirun -np N ddpm bench`: the data-parallel training step against one process.
///
/// Weak scaling, as a data-parallel job grows: every process runs one micro-batch of `--batch`
/// images per step. First rank 0 times the single-process step alone (the others wait at a
/// gather, so it has the machine as one process of the job would: the same threads per process),
/// then all N processes time the distributed step: their micro-batch, staging the gradient
/// through host memory, the gather of every micro-batch's gradient (``TrainingStep``'s
/// rank-ordered sum needs all of them on every process), the sum and the tail. Each step is
/// timed to its completion (the gather makes the step synchronous anyway).
///
/// Scaling efficiency = (images/s of N processes) / (N × images/s of one) = t₁ / t_N. The gather
/// is also timed by itself after a barrier: its time in a step includes waiting for the slowest
/// process; the bare gather is the transfer, and gives the bandwidth for estimates at other N.
struct DistributedBench {
    let settings: BenchSettings
    let device: Device
    let world: MPIWorld

    struct Result {
        var processes: Int
        var parameters: Int
        var soloStepSeconds: Double
        var stepSeconds: Double
        var gatherSeconds: Double
        /// The same gather alone, after a barrier (transfer without waiting for a slower process).
        var bareGatherSeconds: Double
        /// `MPI_Allreduce(SUM)` of one gradient, after a barrier: what the library's own
        /// reduction (not rank-ordered, so not bitwise reproducible) would cost instead.
        var allReduceSeconds: Double
        /// Bytes each process receives per step: the other processes' gradients and losses.
        var receivedBytesPerStep: Int
        var threads: String

        var efficiency: Double { soloStepSeconds / stepSeconds }
        var gatherBandwidth: Double { Double(receivedBytesPerStep) / max(bareGatherSeconds, 1e-12) }

        func text(batch: Int) -> String {
            let ms = { (s: Double) in String(format: "%.1f ms", s * 1000) }
            return """
                data-parallel training step, \(processes) processes x \(batch) images, \(parameters) parameters (\(threads))
                  one process alone:       \(ms(soloStepSeconds)) per step, \(String(format: "%.2f", Double(batch) / soloStepSeconds)) images/s
                  \(processes) processes:             \(ms(stepSeconds)) per step, \(String(format: "%.2f", Double(processes * batch) / stepSeconds)) images/s
                  gather of the gradients: \(ms(gatherSeconds)) per step, waiting for the slowest process included
                  the gather alone:        \(ms(bareGatherSeconds)) (after a barrier; \(String(format: "%.1f", Double(receivedBytesPerStep) / 1e6)) MB received per process, \(String(format: "%.2f", gatherBandwidth / 1e9)) GB/s)
                  MPI_Allreduce instead:   \(ms(allReduceSeconds)) (the library's sum of one gradient, after a barrier; not used: its grouping is the library's)
                  scaling efficiency:      \(String(format: "%.3f", efficiency)) (images/s of \(processes) over \(processes) x one process)
                """
        }

        var jsonLine: String {
            let o: [String: Any] = ["processes": processes, "parameters": parameters, "solo_step_seconds": soloStepSeconds,
                                    "step_seconds": stepSeconds, "gather_seconds_per_step": gatherSeconds, "bare_gather_seconds": bareGatherSeconds, "allreduce_seconds": allReduceSeconds,
                                    "received_bytes_per_step": receivedBytesPerStep, "scaling_efficiency": efficiency,
                                    "gather_bytes_per_second": gatherBandwidth, "threads": threads]
            return benchJSONLine(o)
        }
    }

    func run() throws -> Result {
        try settings.validate()
        let queue = try device.makeQueue()
        let diffusion = try GaussianDiffusion(unet: try Unet(settings.unetConfiguration), configuration: settings.diffusionConfiguration)
        let batch = BenchRunner.batch(count: settings.batchCount)
        func build(microBatches: Int, group: ProcessGroup?) throws -> TrainingStep {
            let g = GraphBuilder()
            let loss = try diffusion.buildTrainingLoss(in: g, batch: settings.batch)
            return try TrainingStep(variants: [(g, loss.loss)], queue: queue, configuration: settings.trainingConfiguration,
                                    microBatches: microBatches, group: group)
        }
        func time(_ step: TrainingStep, _ count: Int) throws -> [Double] {
            try batch.withUnsafeBytes { bytes in
                try (0..<count).map { _ in
                    let start = DispatchTime.now().uptimeNanoseconds
                    try step.step(microBatches: [bytes])
                    try step.synchronize()
                    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
            }
        }
        // One process alone: rank 0 measures while the others wait here.
        var solo = 0.0
        var parameters = 0
        if world.rank == 0 {
            let step = try build(microBatches: 1, group: nil)
            parameters = step.parameters.layout.count
            _ = try time(step, settings.warmup)
            solo = median(try time(step, settings.steps))
        }
        _ = try world.allGather(UInt8(0))
        // All of them.
        let step = try build(microBatches: world.size, group: world)
        parameters = step.parameters.layout.count
        _ = try time(step, settings.warmup)
        var gathers: [Double] = []
        var times: [Double] = []
        for _ in 0..<settings.steps {
            let g0 = step.exchangeSeconds
            times += try time(step, 1)
            gathers.append(step.exchangeSeconds - g0)
        }
        // The gather by itself: the same bytes, every process ready (a one-byte gather first).
        let contribution = [UInt8](repeating: 1, count: (parameters + 1) * 4)
        var everything = [UInt8](repeating: 0, count: contribution.count * world.size)
        var bare: [Double] = []
        for _ in 0..<settings.steps {
            _ = try world.allGather(UInt8(0))
            let start = DispatchTime.now().uptimeNanoseconds
            try contribution.withUnsafeBytes { l in try everything.withUnsafeMutableBytes { try world.allGather(l, into: $0) } }
            bare.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        var gradient = [Float](repeating: 1, count: parameters)
        var reduced: [Double] = []
        for _ in 0..<settings.steps {
            _ = try world.allGather(UInt8(0))
            let start = DispatchTime.now().uptimeNanoseconds
            try gradient.withUnsafeMutableBufferPointer { try world.allReduceSum($0) }
            reduced.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Result(processes: world.size, parameters: parameters, soloStepSeconds: solo, stepSeconds: median(times),
                      gatherSeconds: median(gathers), bareGatherSeconds: median(bare), allReduceSeconds: median(reduced),
                      receivedBytesPerStep: (world.size - 1) * (parameters + 1) * 4,
                      threads: device.info.properties.first { $0.key == "threads" }?.value ?? "device threads")
    }
}
