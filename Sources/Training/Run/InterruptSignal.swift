import Dispatch
import Foundation

/// Turns SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, systemd, Docker, Slurm) and SIGHUP (the
/// terminal went away) into a flag the training loop polls, so the run can write a checkpoint
/// and exit with `128 + signal` (130, 143, 129). A second signal exits at once with that status
/// (the exit handlers still run, so OpenBLAS is quiesced before its library is torn down).
///
/// Signals are delivered through dispatch sources, so nothing runs in signal-handler context.
public final class InterruptSignal: @unchecked Sendable {
    /// The signals handled, in the order they are described.
    public static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private let lock = NSLock()
    private var count = 0
    private var first: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts watching the signals (their default action, termination, is disabled while watching).
    /// `onFirst` receives the first signal's number.
    public init(onFirst: @escaping @Sendable (Int32) -> Void = { _ in }) {
        for number in InterruptSignal.handled {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let n = self.lock.withLock {
                    self.count += 1
                    if self.first == nil { self.first = number }
                    return self.count
                }
                if n == 1 {
                    onFirst(number)
                } else {
                    fflush(stdout)
                    exit(128 + number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        for number in InterruptSignal.handled { signal(number, SIG_DFL) }
    }

    /// Whether one of the signals arrived.
    public var isSet: Bool { lock.withLock { count > 0 } }

    /// The first signal received, if any.
    public var received: Int32? { lock.withLock { first } }

    /// The conventional exit status for `signal`: 128 + its number.
    public static func exitStatus(_ signal: Int32) -> Int32 { 128 + signal }

    /// The signal's name without `SIG`, e.g. `TERM`.
    public static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "INT"
        case SIGTERM: return "TERM"
        case SIGHUP: return "HUP"
        default: return "\(signal)"
        }
    }
}
