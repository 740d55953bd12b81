import Devices
import Foundation
import Graph

extension Trainer {
    /// Trains until `training.steps`, or until `shouldStop` returns true (checked before every
    /// step), then writes a checkpoint (and a final sample grid when the run completes).
    ///
    /// - Throws: ``TrainingError/nonFiniteLoss(step:loss:lastCheckpoint:)`` when the loss
    ///   becomes NaN or infinite (no checkpoint is written after that), data and device errors.
    public func run(shouldStop: () -> Bool = { false }) throws -> TrainingOutcome {
        let settings = configuration.training
        events(.started(lines: startLines, firstStep: completedSteps, totalSteps: settings.steps))
        let imagesPerStep = settings.batchSize * settings.gradientAccumulation
        let loader = BatchLoader(dataset: dataset, order: order, batchSize: settings.batchSize,
                                 firstBatch: completedSteps * settings.gradientAccumulation)
        defer { loader.stop() }
        var savedAt = lastCheckpoint == nil ? -1 : completedSteps
        var sampledAt = -1
        while completedSteps < settings.steps {
            if shouldStop() {
                let path = savedAt == completedSteps ? lastCheckpoint! : try saveCheckpoint()
                return .interrupted(step: completedSteps, checkpoint: path)
            }
            let next = completedSteps + 1
            try applyLearningRate(forStep: next)
            let batches = try (0..<settings.gradientAccumulation).map { _ in try loader.next() }
            try engine.step(batches)
            completedSteps = next
            try drainRecords(imagesPerStep: imagesPerStep)
            if completedSteps % settings.saveEvery == 0 {
                _ = try saveCheckpoint()
                savedAt = completedSteps
            }
            if settings.sampleEvery > 0, settings.numSamples > 0, completedSteps % settings.sampleEvery == 0 {
                try writeSamples()
                sampledAt = completedSteps
            }
        }
        let final = savedAt == completedSteps ? lastCheckpoint! : try saveCheckpoint()
        if settings.numSamples > 0, sampledAt != completedSteps { try writeSamples() }
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
            metrics.append(record)
            events(.record(record))
            guard r.loss.isFinite else {
                metrics.sync()
                throw TrainingError.nonFiniteLoss(step: r.step, loss: r.loss, lastCheckpoint: lastCheckpoint)
            }
        }
    }
}
