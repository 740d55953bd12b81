import Devices
import Diffusion
import Foundation
import Graph
import SafeTensors

/// What the trainer reports while it works.
public enum TrainingEvent: Sendable {
    /// Images of a folder decoded so far while the dataset is prepared (every 500, and the last).
    case preparingData(done: Int, total: Int)
    /// Training is about to start: lines describing the run (device, data, model, resume point).
    case started(lines: [String], firstStep: Int, totalSteps: Int)
    /// A loss read-back.
    case record(TrainingRecord)
    case checkpointSaved(step: Int, path: String)
    case samplesWritten(step: Int, path: String)
}

/// How a run ended (errors are thrown instead).
public enum TrainingOutcome: Sendable, Equatable {
    /// All steps done; the final checkpoint.
    case completed(step: Int, checkpoint: String)
    /// Stopped on request (SIGINT); the checkpoint written at that step.
    case interrupted(step: Int, checkpoint: String)
}

/// Trains a ``GaussianDiffusion`` on one device: the whole optimiser step (forward, loss,
/// backward, clip, Adam, EMA, with timesteps and noise drawn on the device) is one schedule
/// replayed per step (``Graph/TrainingStep``); batches are prepared on a background thread.
///
/// The output folder receives `checkpoint-<step>.safetensors` every `save_every` steps (the
/// newest `keep_checkpoints` are kept), `sample-<step>.png` grids from the EMA weights every
/// `sample_every` steps, and `metrics.jsonl`. Runs are reproducible: the same configuration
/// gives the same losses, and a run resumed from a checkpoint continues exactly as if it had not
/// stopped (weights, EMA, Adam moments, device random state and data position are restored).
public final class Trainer {
    public let configuration: RunConfiguration
    public let outputDirectory: String
    public let device: Device
    /// The diffusion being trained, of either model kind.
    let model: Model
    public let dataset: ImageDataset
    /// The compiled optimiser step (one schedule per step, or per micro-batch with accumulation).
    let engine: TrainingStep
    /// Steps completed (the next step to run is `completedSteps + 1`).
    public internal(set) var completedSteps: Int
    /// The newest checkpoint written or resumed from.
    public internal(set) var lastCheckpoint: String?

    let queue: Queue
    let order: DataOrder
    let checkpoints: CheckpointDirectory
    /// This run's hold on its output folder (the writing process only).
    let lock: RunLock?
    /// `metrics.jsonl` (the writing process only).
    let metrics: MetricsLog?
    /// The other processes of a data-parallel job (nil: this process runs every micro-batch).
    let group: ProcessGroup?
    let events: @Sendable (TrainingEvent) -> Void
    var sampler: DiffusionSampler?

    /// The two model kinds a run trains.
    enum Model {
        case unconditional(GaussianDiffusion)
        case classConditional(ConditionalDiffusion, ClassConditionalModel)
    }
    var recordsSeen = 0
    /// The step of the newest checkpoint written or resumed from (-1: none yet).
    var savedStep = -1
    var lastRecordTime: (step: Int, time: Double)
    let startTime: Double
    var currentLearningRate: Double = -1
    let startLines: [String]

    /// Prepares a run in `outputDirectory` (created if needed) on `device`.
    ///
    /// - Parameter resume: continue from the newest checkpoint of `outputDirectory`, whose
    ///   configuration must agree with `configuration` (see ``RunConfiguration/resumeConflicts(with:)``);
    ///   with no checkpoint there yet, training starts at step 0. Without `resume`, a folder that
    ///   already holds checkpoints is refused rather than overwritten.
    /// - Parameter group: the processes of a data-parallel job (`mpirun`): process `r` of `N`
    ///   runs micro-batches `r·M/N ..< (r+1)·M/N` of every step (`M` = `grad_accum`, which `N`
    ///   must divide), and only rank 0 writes into `outputDirectory`; every process checks at the
    ///   start and at each checkpoint that it holds rank 0's state.
    /// - Parameter events: progress reports; ``TrainingEvent/preparingData(done:total:)`` comes
    ///   from the decoding threads, every other event from the thread calling ``run(shouldStop:)``.
    public init(configuration: RunConfiguration, outputDirectory: String, device: Device, resume: Bool = false,
                group: ProcessGroup? = nil, events: @escaping @Sendable (TrainingEvent) -> Void = { _ in }) throws {
        try configuration.validate()
        let settings = configuration.training
        let group = group.flatMap { $0.size > 1 ? $0 : nil }
        if let group, settings.gradientAccumulation % group.size != 0 {
            throw TrainingError.invalidSetting("the run's step is \(settings.gradientAccumulation) micro-batches of \(settings.batchSize) images "
                + "(grad_accum \(settings.gradientAccumulation)), which \(group.size) processes cannot share evenly; "
                + "use a number of processes that divides \(settings.gradientAccumulation)")
        }
        self.group = group
        self.configuration = configuration
        self.outputDirectory = outputDirectory
        self.device = device
        self.events = events
        do {
            try FileManager.default.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.io(path: outputDirectory, reason: "cannot create the output folder: \(error.localizedDescription)")
        }
        // One run per folder; taken before anything in the folder is read or removed.
        let writer = (group?.rank ?? 0) == 0
        lock = writer ? try RunLock(directory: outputDirectory) : nil
        checkpoints = CheckpointDirectory(path: outputDirectory)
        var notes: [String] = []
        for stale in writer ? SafeTensorsWriter.removeStaleTemporaries(in: outputDirectory) : [] {
            notes.append("removed \(stale), left by an interrupted write")
        }
        var resumeFrom: Checkpoint?
        if let newest = checkpoints.newest {
            guard resume else { throw TrainingError.outputInUse(directory: outputDirectory, newestStep: newest.step) }
            guard let found = try checkpoints.newestIntact({ try Checkpoint(contentsOf: $0) }) else {
                throw CheckpointError.notFound(path: newest.path)
            }
            let checkpoint = found.value
            notes += found.skipped.map { "skipped \($0)" }
            let conflicts = configuration.resumeConflicts(with: checkpoint.configuration)
            guard conflicts.isEmpty else { throw CheckpointError.configurationMismatch(path: found.path, differences: conflicts) }
            let expected = checkpoint.step * settings.batchSize * settings.gradientAccumulation
            guard checkpoint.dataPosition == expected else {
                throw CheckpointError.damaged(path: found.path,
                                              reason: "data position \(checkpoint.dataPosition) does not match step \(checkpoint.step) (expected \(expected))")
            }
            resumeFrom = checkpoint
            lastCheckpoint = found.path
        }

        if let conditional = configuration.classConditional {
            model = .classConditional(try ConditionalDiffusion(unet: ConditionalUnet(conditional.unet), configuration: configuration.diffusion),
                                      conditional)
        } else {
            model = .unconditional(try GaussianDiffusion(unet: Unet(configuration.unet), configuration: configuration.diffusion))
        }
        let (h, w) = (configuration.diffusion.imageHeight, configuration.diffusion.imageWidth)
        dataset = try configuration.data.open(channels: configuration.channels, height: h, width: w) { done, total in
            if done % 500 == 0 || done == total { events(.preparingData(done: done, total: total)) }
        }
        guard dataset.count >= settings.batchSize else {
            throw DatasetError.tooFewImages(source: configuration.data.description, count: dataset.count, batchSize: settings.batchSize)
        }
        if let conditional = configuration.classConditional {
            try Trainer.checkLabels(of: dataset, source: configuration.data.description, against: conditional)
        }
        order = DataOrder(seed: SplitMix64.mix(settings.seed, 0x44415441), count: dataset.count, flips: settings.flip)

        queue = try device.makeQueue()
        let g = GraphBuilder()
        let loss: TrainingLoss
        let parameterCount: Int
        switch model {
        case let .unconditional(diffusion):
            loss = try diffusion.buildTrainingLoss(in: g, batch: settings.batchSize)
            parameterCount = diffusion.unet.parameterCount
        case let .classConditional(diffusion, _):
            loss = try diffusion.buildTrainingLoss(in: g, batch: settings.batchSize, labels: .packedAfterImages)
            parameterCount = diffusion.unet.parameterCount
        }
        engine = try TrainingStep(variants: [(g, loss.loss)], queue: queue, configuration: settings,
                                  microBatches: settings.gradientAccumulation, group: group)

        completedSteps = 0
        if let checkpoint = resumeFrom {
            try Trainer.restore(checkpoint, into: engine, queue: queue)
            completedSteps = checkpoint.step
        }
        metrics = writer ? try MetricsLog(path: "\(outputDirectory)/metrics.jsonl", keepingStepsThrough: completedSteps) : nil
        startTime = Trainer.now()
        lastRecordTime = (completedSteps, startTime)

        var lines = [
            "device: \(device.info.name) (\(device.info.kind))",
            "data: \(dataset.summary)",
            "model: \(configuration.modelSummary), \(parameterCount) parameters; "
                + "\(configuration.diffusion.objective.rawValue), \(configuration.diffusion.betaSchedule.name) schedule, "
                + "\(configuration.diffusion.timesteps) timesteps",
            "training: batch \(settings.batchSize)\(settings.gradientAccumulation > 1 ? " x \(settings.gradientAccumulation) micro-batches" : ""), "
                + "lr \(settings.learningRate), \(settings.steps) steps; "
                + "arena \(String(format: "%.1f", Double(engine.arenaPeakBytes) / Double(1 << 20))) MiB, \(engine.kernelsPerStep) kernels per step",
        ]
        if let group {
            lines.append("processes: \(group.size) (this is rank \(group.rank)), \(engine.localMicroBatches) of the "
                + "\(settings.gradientAccumulation) micro-batches of each step here")
        }
        lines += notes
        if let path = lastCheckpoint { lines.append("resumed from \(path) at step \(completedSteps)") }
        startLines = lines
    }

    /// Refuses data whose labels do not match the model's classes (names and count), naming both.
    static func checkLabels(of dataset: ImageDataset, source: String, against model: ClassConditionalModel) throws {
        guard let names = dataset.classNames else {
            let reason = (dataset as? ImageFolderDataset).map { "\($0.unlabelledCount) image(s) lie directly in the folder, outside any class subfolder" }
                ?? "this dataset has no class labels"
            throw DatasetError.unlabelled(source: source, reason: reason)
        }
        guard names == model.classNames else {
            throw DatasetError.unlabelled(source: source, reason: "its classes \(names) differ from the model's \(model.classNames)")
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
