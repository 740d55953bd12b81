/// Why a training or sampling run stopped or could not start; each case says what to do.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// An option or setting is out of its domain.
    case invalidSetting(String)
    /// The loss became NaN or infinite; the newest checkpoint (if any) predates it.
    case nonFiniteLoss(step: Int, loss: Float, lastCheckpoint: String?)
    /// The weights became NaN or infinite between two loss read-backs.
    case nonFiniteWeights(step: Int, lastCheckpoint: String?)
    /// The output folder already holds a run and `--resume` was not given.
    case outputInUse(directory: String, newestStep: Int)
    /// Another process (pid `holder`, when known) is training into the same output folder.
    case outputLocked(directory: String, holder: Int32?)
    /// A file could not be written.
    case io(path: String, reason: String)
    /// Sampled images hold NaN or infinite values.
    case nonFiniteSamples(String)
    /// The processes of a data-parallel job no longer hold the same weights and optimiser state
    /// (`ranks`: those whose fingerprint differs from rank 0's), checked at `what`.
    case replicasDiverged(what: String, ranks: [Int])

    public var description: String {
        func keeping(_ checkpoint: String?) -> String {
            checkpoint.map { "; the last good checkpoint is \($0)" } ?? "; no checkpoint was written before it"
        }
        switch self {
        case let .invalidSetting(message):
            return message
        case let .nonFiniteLoss(step, loss, checkpoint):
            return "the loss became \(loss) at step \(step); training stopped\(keeping(checkpoint)). "
                + "Try a lower --lr, a --lr-warmup, or --max-grad-norm"
        case let .nonFiniteWeights(step, checkpoint):
            return "the weights became NaN or infinite by step \(step); training stopped\(keeping(checkpoint)). "
                + "Try a lower --lr, a --lr-warmup, or --max-grad-norm"
        case let .outputInUse(directory, step):
            return "\(directory) already holds a run (newest checkpoint at step \(step)); "
                + "pass --resume to continue it, or choose another --output"
        case let .outputLocked(directory, holder):
            return "\(directory) is in use by another ddpm train (\(holder.map { "pid \($0)" } ?? "pid unknown")); "
                + "wait for it to finish, stop it, or choose another --output"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .nonFiniteSamples(message):
            return message
        case let .replicasDiverged(what, ranks):
            return "the processes of this job disagree at \(what): rank\(ranks.count == 1 ? "" : "s") \(ranks.map(String.init).joined(separator: ", ")) "
                + "hold other weights or optimiser state than rank 0; the job stops (check that every host has the same data, "
                + "ddpm build and device, and that --resume finds the same checkpoint on each)"
        }
    }
}
