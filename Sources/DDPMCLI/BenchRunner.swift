import Devices
import Diffusion
import Foundation
import Graph

/// Builds the reference Unet's training step and forward pass on one device and measures them.
///
/// Order of work (all on one queue): compile both graphs, `warmup` unmeasured training steps,
/// `steps` timed steps, `steps` counted steps (queue counters over a window with a single final
/// synchronisation, as a training loop runs), optionally `steps` profiled steps, then the same
/// for the forward pass, after the training step is released (as sampling runs without a trainer,
/// so the forward's own memory, e.g. the CPU device's kept Winograd filters, does not stack on
/// the training step's in the peak RSS). Timed steps are pipelined: step i+1 is enqueued before the host waits for
/// step i, so a step's time is the interval between two completions, host enqueue overlapped.
struct BenchRunner {
    let settings: BenchSettings
    let device: Device

    /// Runs the whole benchmark (minutes for large models on slow devices).
    func run() throws -> BenchResult {
        try settings.validate()
        let queue = try device.makeQueue()
        let unet = try Unet(settings.unetConfiguration)
        let diffusion = try GaussianDiffusion(unet: unet, configuration: settings.diffusionConfiguration)

        let compileStart = ProcessUsage.uptimeSeconds()
        let g = GraphBuilder()
        let loss = try diffusion.buildTrainingLoss(in: g, batch: settings.batch)
        var trainer: TrainingStep! = try TrainingStep(builder: g, loss: loss.loss, queue: queue,
                                                      configuration: settings.trainingConfiguration)
        let forward = try forwardGraph(unet, queue: queue, parameters: trainer.parameters)
        try queue.synchronize()
        let compileSeconds = ProcessUsage.uptimeSeconds() - compileStart

        let batch = Self.batch(count: settings.batchCount)
        for _ in 0..<settings.warmup { try trainer.step(batch) }
        let stepTimes = try timed(settings.steps, queue: queue) { try trainer.step(batch) }
        let counted = try counters(settings.steps, queue: queue) { try trainer.step(batch) }
        var trainProfile: BenchProfile?
        if settings.profile {
            let schedule = trainer.schedule.followed(by: trainer.emaUpdateTail)
            trainProfile = try profiled(settings.steps, schedule: schedule, queue: queue) { try trainer.step(batch) }
            trainProfile?.launches = try slowestLaunches(schedule, queue: queue)
        }
        let stepFamilies = trainer.schedule.followed(by: trainer.emaUpdateTail).launches.map(\.kernel.family)
        try trainer.synchronize()
        let trainGraph = trainer.compiled.report
        let (parameterCount, trainFlops) = (trainer.parameters.layout.count, trainer.schedule.flops)
        trainer = nil

        try forward.setInput("x", batch)
        try forward.setInput("time", [Float](repeating: 500, count: settings.batch))
        for _ in 0..<max(settings.warmup, 1) { try forward.run() }
        let forwardTimes = try timed(settings.steps, queue: queue) { try forward.run() }
        var forwardProfile: BenchProfile?
        if settings.profile {
            forwardProfile = try profiled(settings.steps, schedule: forward.schedule, queue: queue) {
                try forward.run()
            }
            forwardProfile?.launches = try slowestLaunches(forward.schedule, queue: queue)
        }
        // A finite forward output shows the measured work was real arithmetic, not NaN propagation.
        let out = try forward.readOutput("out")
        guard out.allSatisfy(\.isFinite) else {
            throw BenchError.invalidOption("the Unet forward produced non-finite values on \(device.info.name)")
        }

        let n = Double(settings.steps)
        return BenchResult(
            settings: settings, device: device.info.name, deviceName: device.info.deviceName,
            parameters: parameterCount, compileSeconds: compileSeconds,
            trainStepSeconds: median(stepTimes.wall), trainStepTimes: stepTimes.wall, trainStepCPUSeconds: stepTimes.cpu,
            forwardSeconds: median(forwardTimes.wall), forwardTimes: forwardTimes.wall, forwardCPUSeconds: forwardTimes.cpu,
            kernelsPerStep: Double(counted.kernelsLaunched) / n,
            uploadBytesPerStep: Double(counted.bytesUploaded) / n,
            downloadBytesPerStep: Double(counted.bytesDownloaded) / n,
            hostSyncsPerStep: Double(counted.hostSynchronizations) / n,
            deviceCopiesPerStep: Double(counted.deviceCopies) / n,
            trainGraph: trainGraph, forwardGraph: forward.report,
            trainFlopsPerStep: trainFlops, forwardFlops: forward.schedule.flops,
            peakRSSBytes: ProcessUsage.residentBytes(),
            trainProfile: trainProfile, forwardProfile: forwardProfile,
            placement: BenchPlacement(stepFamilies: stepFamilies, counted: counted, steps: settings.steps))
    }

    /// The sampling step's network: `unet(x, time)` with host inputs `x` `[B, C, S, S]` and
    /// `time` f32 `[B]`, sharing the training step's weights.
    private func forwardGraph(_ unet: Unet, queue: Queue, parameters: ParameterStore) throws -> CompiledGraph {
        let g = GraphBuilder()
        let weights = try unet.declareParameters(in: g)
        let x = try g.input("x", [settings.batch, settings.channels, settings.imageSize, settings.imageSize])
        let time = try g.input("time", [settings.batch])
        let out = try unet.forward(g, weights: weights, x: x, time: time)
        return try CompiledGraph(g, outputs: ["out": out], queue: queue, parameters: parameters)
    }

    /// Seconds of each of `count` runs of `body`, pipelined one deep (see the type's summary),
    /// and the process CPU seconds per run over the window (steadier than wall time on a shared
    /// machine: it counts only this process's work, including threads that spin while waiting).
    private func timed(_ count: Int, queue: Queue, _ body: () throws -> Void) throws -> (wall: [Double], cpu: Double) {
        try queue.synchronize()
        let cpuStart = ProcessUsage.cpuSeconds()
        var times: [Double] = []
        var last = ProcessUsage.uptimeSeconds()
        try body()
        var pending = try queue.record()
        for i in 0..<count {
            var next: Event?
            if i + 1 < count {
                try body()
                next = try queue.record()
            }
            try pending.wait()
            let t = ProcessUsage.uptimeSeconds()
            times.append(t - last)
            last = t
            if let next { pending = next }
        }
        return (times, (ProcessUsage.cpuSeconds() - cpuStart) / Double(count))
    }

    /// Queue counters over `count` runs of `body` followed by one synchronisation.
    private func counters(_ count: Int, queue: Queue, _ body: () throws -> Void) throws -> QueueCounters {
        try queue.synchronize()
        queue.resetCounters()
        for _ in 0..<count { try body() }
        try queue.synchronize()
        return queue.counters
    }

    /// Time per kernel family over `count` profiled runs, with each family's share and its
    /// arithmetic rate from `schedule`'s flop counts.
    private func profiled(_ count: Int, schedule: Schedule, queue: Queue, _ body: () throws -> Void) throws -> BenchProfile {
        try queue.synchronize()
        queue.resetCounters()
        queue.isProfiling = true
        defer { queue.isProfiling = false }
        let start = ProcessUsage.uptimeSeconds()
        for _ in 0..<count { try body() }
        try queue.synchronize()
        let wall = (ProcessUsage.uptimeSeconds() - start) / Double(count)
        let c = queue.counters
        var flops: [String: Double] = [:]
        for launch in schedule.launches { flops[launch.kernel.family, default: 0] += launch.kernel.flops }
        let rows = c.timePerFamily.map { family, seconds in
            BenchProfile.Row(family: family, seconds: seconds / Double(count),
                             launches: Double(c.launchesPerFamily[family] ?? 0) / Double(count),
                             flops: flops[family] ?? 0)
        }
        return BenchProfile(wallSeconds: wall, rows: rows.sorted { $0.seconds > $1.seconds })
    }

    /// A fixed pseudo-random batch in [0, 1) (splitmix64), the same on every run and device.
    static func batch(count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            values[i] = Float(z >> 40) / Float(1 << 24)
        }
        return values
    }

}

/// The median of `values` (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
