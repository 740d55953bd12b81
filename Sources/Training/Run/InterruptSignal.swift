import Dispatch
import Foundation

/// Turns SIGINT (Ctrl-C) into a flag the training loop polls, so the run can write a checkpoint
/// and exit cleanly; a second SIGINT exits at once with status 130.
///
/// The signal is delivered through a dispatch source, so nothing runs in signal-handler context.
public final class InterruptSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var source: DispatchSourceSignal?

    /// Starts watching SIGINT (the default action, termination, is disabled while watching).
    public init(onFirst: @escaping @Sendable () -> Void = {}) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue.global())
        source.setEventHandler { [weak self] in
            guard let self else { return }
            let n = self.lock.withLock { self.count += 1; return self.count }
            if n == 1 { onFirst() } else { exit(130) }
        }
        source.resume()
        self.source = source
    }

    deinit {
        source?.cancel()
        signal(SIGINT, SIG_DFL)
    }

    /// Whether SIGINT arrived.
    public var isSet: Bool { lock.withLock { count > 0 } }
}
