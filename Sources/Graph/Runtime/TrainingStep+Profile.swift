import Devices
import Foundation

/// What one training step costs on its device, measured from the queue's counters.
public struct TrainingProfile: Sendable, Equatable {
    /// Wall-clock seconds per step (enqueue to completion, averaged over the measured steps).
    public var trainStepSeconds: Double
    public var kernelsPerStep: Double
    public var uploadBytesPerStep: Double
    public var downloadBytesPerStep: Double
    public var hostSyncsPerStep: Double
    public var steps: Int
    /// The one arena holding every intermediate of the step.
    public var arenaPeakBytes: Int
    /// What the intermediates would take without reuse.
    public var intermediateBytes: Int
    /// Trainable scalars.
    public var parameters: Int
}

extension TrainingStep {
    /// Runs `steps` steps on `batch` and reports time and per-step traffic.
    ///
    /// The queue is drained first (that wait is not counted); the measured window ends with one
    /// synchronisation, which is counted, as a real training loop would pay it at some point.
    public func profile(steps: Int, batch: [Float]) throws -> TrainingProfile {
        guard steps >= 1 else { throw GraphError.invalidUse("profile needs at least one step") }
        try synchronize()
        queue.resetCounters()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { try step(batch) }
        try synchronize()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let c = queue.counters
        let n = Double(steps)
        return TrainingProfile(
            trainStepSeconds: seconds / n, kernelsPerStep: Double(c.kernelsLaunched) / n,
            uploadBytesPerStep: Double(c.bytesUploaded) / n, downloadBytesPerStep: Double(c.bytesDownloaded) / n,
            hostSyncsPerStep: Double(c.hostSynchronizations) / n, steps: steps,
            arenaPeakBytes: compiled.report.memory.arenaPeakBytes, intermediateBytes: compiled.report.memory.intermediateBytes,
            parameters: parameters.layout.count)
    }
}
