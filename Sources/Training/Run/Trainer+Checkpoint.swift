import Devices
import Foundation
import Graph

extension Trainer {
    /// Writes the checkpoint of the current step (after waiting for the device and checking the
    /// losses and weights are finite), prunes old ones and returns its path.
    ///
    /// In a data-parallel job every process reads its state and compares its fingerprint with
    /// rank 0's first (``checkReplicas(_:at:)``); only rank 0 writes the file.
    @discardableResult
    func saveCheckpoint() throws -> String {
        try engine.waitForDevice()
        try drainRecords(imagesPerStep: configuration.training.batchSize * configuration.training.gradientAccumulation)
        let model = try engine.parameters.read(queue: queue)
        guard let emaStore = engine.ema else { throw TrainingError.invalidSetting("internal: the training step has no EMA") }
        let ema = try emaStore.read(queue: queue)
        guard Trainer.allFinite(model), Trainer.allFinite(ema) else {
            throw TrainingError.nonFiniteWeights(step: completedSteps, lastCheckpoint: lastCheckpoint)
        }
        let state = try engine.readOptimizerState()
        if group != nil {
            let flat = { (tensors: [String: [Float]]) in self.engine.parameters.layout.entries.flatMap { tensors[$0.name]! } }
            try checkReplicas(Trainer.fingerprint(step: completedSteps, model: flat(model), ema: flat(ema), state: state),
                              at: "the checkpoint of step \(completedSteps)")
        }
        let path = "\(outputDirectory)/\(Checkpoint.fileName(step: completedSteps))"
        guard isWriter else {
            lastCheckpoint = path
            savedStep = completedSteps
            return path
        }
        var m: [String: [Float]] = [:], v: [String: [Float]] = [:]
        for e in engine.parameters.layout.entries {
            m[e.name] = Array(state.m[e.offset..<(e.offset + e.count)])
            v[e.name] = Array(state.v[e.offset..<(e.offset + e.count)])
        }
        let settings = configuration.training
        let checkpoint = Checkpoint(configuration: configuration, step: completedSteps,
                                    dataPosition: completedSteps * settings.batchSize * settings.gradientAccumulation,
                                    model: model, ema: ema, adamFirstMoment: m, adamSecondMoment: v,
                                    deviceRandomState: state.randomState)
        try? metrics?.sync()   // a failure is recorded in metrics.failure and reported by run()
        releaseCheckpointReserve()
        try checkpoint.write(to: path)
        lastCheckpoint = path
        savedStep = completedSteps
        checkpoints.prune(keep: settings.keepCheckpoints)
        reserveCheckpointSpace()
        events(.checkpointSaved(step: completedSteps, path: path))
        return path
    }

    /// The file that keeps the space of one checkpoint allocated in the output folder, so that a
    /// disk filled by something else (the metrics log, another program) still leaves room for the
    /// checkpoint written when the run stops: the reserve is deleted just before each checkpoint
    /// is written and allocated again after it.
    var reservePath: String { "\(outputDirectory)/.ddpm-checkpoint-reserve" }

    /// Bytes of a checkpoint of this run: four float tensors per parameter, plus room for the
    /// header (tensor names, the configuration; tens of KiB).
    var checkpointBytes: Int { engine.parameters.layout.count * 16 + (256 << 10) }

    /// Allocates the reserve (best effort: on a disk already too full it is simply absent).
    func reserveCheckpointSpace() {
        guard isWriter else { return }
        let fd = open(reservePath, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        if posix_fallocate(fd, 0, off_t(checkpointBytes)) != 0 { _ = ftruncate(fd, 0) }
        close(fd)
    }

    func releaseCheckpointReserve() {
        guard isWriter else { return }
        unlink(reservePath)
    }

    /// The ``fingerprint(step:model:ema:state:)`` of the state on the device (one read of each buffer).
    func stateFingerprint() throws -> UInt64 {
        guard group != nil else { return 0 }
        try engine.waitForDevice()
        guard let ema = engine.ema else { throw TrainingError.invalidSetting("internal: the training step has no EMA") }
        return Trainer.fingerprint(step: completedSteps, model: try engine.parameters.readFlat(queue: queue),
                                   ema: try ema.readFlat(queue: queue), state: try engine.readOptimizerState())
    }

    /// Loads a checkpoint's weights, EMA, Adam moments, step count and device random state.
    static func restore(_ checkpoint: Checkpoint, into engine: TrainingStep, queue: Queue) throws {
        try engine.loadParameters(checkpoint.model)
        guard let ema = engine.ema else { throw TrainingError.invalidSetting("internal: the training step has no EMA") }
        try ema.load(checkpoint.ema, queue: queue)
        let layout = engine.parameters.layout
        var m = [Float](repeating: 0, count: layout.count), v = m
        for e in layout.entries {
            guard let a = checkpoint.adamFirstMoment[e.name], let b = checkpoint.adamSecondMoment[e.name] else {
                throw CheckpointError.damaged(path: "checkpoint", reason: "no Adam moments for \(e.name)")
            }
            m.replaceSubrange(e.offset..<(e.offset + e.count), with: a)
            v.replaceSubrange(e.offset..<(e.offset + e.count), with: b)
        }
        try engine.loadOptimizerState(OptimizerState(step: checkpoint.step, m: m, v: v, randomState: checkpoint.deviceRandomState))
    }

    static func allFinite(_ tensors: [String: [Float]]) -> Bool {
        tensors.values.allSatisfy { $0.allSatisfy(\.isFinite) }
    }
}
