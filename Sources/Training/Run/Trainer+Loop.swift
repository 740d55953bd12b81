import Devices
import Foundation
import Graph

extension Trainer {
    /// Trains until `training.steps`, or until `shouldStop` returns true (checked before every
    /// step), then writes a checkpoint (and a final sample grid when the run completes).
    ///
    /// - Throws: ``TrainingError/nonFiniteLoss(step:loss:lastCheckpoint:)`` when the loss
    ///   becomes NaN or infinite (no checkpoint is written after that), data and device errors.
    ///
    /// On any error the device queue is drained and the loader thread joined before the error
    /// propagates, so the process never exits with kernels (and OpenBLAS calls) still running.
    /// When the metrics log cannot be written (a full disk), a checkpoint of the current step is
    /// still attempted, so the steps since the last checkpoint are not lost.
    public func run(shouldStop: () -> Bool = { false }) throws -> TrainingOutcome {
        reserveCheckpointSpace()
        defer { releaseCheckpointReserve() }
        do {
            return try runSteps(shouldStop: shouldStop)
        } catch {
            try? queue.synchronize()
            if let failure = metrics?.failure, case let .io(path, reason) = failure, savedStep != completedSteps {
                let note: String
                do { note = "checkpoint \(try saveCheckpoint()) holds step \(completedSteps)" } catch {
                    note = "the checkpoint of step \(completedSteps) could not be written either: \(error)"
                }
                throw TrainingError.io(path: path, reason: "\(reason); \(note)")
            }
            throw error
        }
    }

    private func runSteps(shouldStop: () -> Bool) throws -> TrainingOutcome {
        let settings = configuration.training
        events(.started(lines: startLines, firstStep: completedSteps, totalSteps: settings.steps))
        let imagesPerStep = settings.batchSize * settings.gradientAccumulation
        // This process's micro-batches: `local` consecutive ones of every step's `M`.
        let local = engine.localMicroBatches
        let loader = BatchLoader(dataset: dataset, order: order, batchSize: settings.batchSize,
                                 firstBatch: completedSteps * settings.gradientAccumulation + (group?.rank ?? 0) * local,
                                 take: local, every: settings.gradientAccumulation,
                                 labels: configuration.kind == .classConditional)
        defer { loader.stop() }
        savedStep = lastCheckpoint == nil ? -1 : completedSteps
        try checkReplicas(try stateFingerprint(), at: "the start (step \(completedSteps))")
        var sampledAt = -1
        while completedSteps < settings.steps {
            if try anyStopRequested(shouldStop()) {
                let path = savedStep == completedSteps ? lastCheckpoint! : try saveCheckpoint()
                return .interrupted(step: completedSteps, checkpoint: path)
            }
            let next = completedSteps + 1
            try applyLearningRate(forStep: next)
            let batches = try (0..<local).map { _ in try loader.next() }
            try engine.step(batches)
            completedSteps = next
            try drainRecords(imagesPerStep: imagesPerStep)
            if completedSteps % settings.saveEvery == 0 {
                _ = try saveCheckpoint()
            }
            if isWriter, settings.sampleEvery > 0, settings.numSamples > 0, completedSteps % settings.sampleEvery == 0 {
                try writeSamples()
                sampledAt = completedSteps
            }
        }
        let final = savedStep == completedSteps ? lastCheckpoint! : try saveCheckpoint()
        if isWriter, settings.numSamples > 0, sampledAt != completedSteps { try writeSamples() }
        return .completed(step: completedSteps, checkpoint: final)
    }

    /// Uploads the learning rate of step `step` when it changes (4 bytes); the EMA schedule runs
    /// inside the engine.
    func applyLearningRate(forStep step: Int) throws {
        let lr = configuration.training.learningRate(atStep: step)
        if lr != currentLearningRate {
            try engine.setLearningRate(Float(lr))
            currentLearningRate = lr
        }
    }

    /// Turns the losses the step has read back since the last call into records: metrics lines,
    /// progress events, and the NaN guard.
    func drainRecords(imagesPerStep: Int) throws {
        while recordsSeen < engine.lossCount {
            let r = engine.loss(at: recordsSeen)
            recordsSeen += 1
            let now = Trainer.now()
            let window = max(now - lastRecordTime.time, 1e-9)
            let images = Double((r.step - lastRecordTime.step) * imagesPerStep)
            lastRecordTime = (r.step, now)
            let record = TrainingRecord(step: r.step, loss: r.loss, learningRate: configuration.training.learningRate(atStep: r.step),
                                        gradNorm: r.gradNorm, imagesPerSecond: images / window, elapsedSeconds: now - startTime)
            events(.record(record))
            guard r.loss.isFinite else {
                try? metrics?.append(record)
                try? metrics?.sync()
                throw TrainingError.nonFiniteLoss(step: r.step, loss: r.loss, lastCheckpoint: lastCheckpoint)
            }
            try metrics?.append(record)
        }
    }
}
