import Foundation
import Training

/// Where a process of an `mpirun` job writes: rank 0 keeps the terminal; every other rank's
/// standard output and error go to `<output>/logs/rank-<r>.log`, so N processes do not
/// interleave N progress lines. A failing rank still says so on the terminal, in one line that
/// names its log.
final class RankOutput {
    let rank: Int
    let logPath: String?
    /// The terminal's standard error, kept before the redirection.
    private let terminal: Int32

    init(rank: Int, directory: String) throws {
        self.rank = rank
        terminal = dup(STDERR_FILENO)
        guard rank != 0 else {
            logPath = nil
            return
        }
        let folder = "\(directory)/logs"
        let path = "\(folder)/rank-\(rank).log"
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.io(path: folder, reason: "rank \(rank) cannot create the folder of its log: \(error.localizedDescription)")
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TrainingError.io(path: path, reason: "rank \(rank) cannot open its log: \(String(cString: strerror(errno)))") }
        fflush(stdout)
        dup2(fd, STDOUT_FILENO)
        dup2(fd, STDERR_FILENO)
        close(fd)
        logPath = path
    }

    /// Tells the terminal that this rank failed (its error is in its log).
    func noteFailure(status: Int32) {
        fflush(stdout)
        guard let logPath else { return }
        let line = "error: rank \(rank) failed (exit status \(status)); see \(logPath)\n"
        _ = line.withCString { write(terminal, $0, strlen($0)) }
    }
}
