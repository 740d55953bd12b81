import Foundation

/// A child process with its standard output and error captured: the `ddpm` binary, `mpirun`,
/// or a system tool, for the tests that drive the real executables.
///
/// ```swift
/// let r = try ChildProcess(CLITests.binary, ["train", "--steps", "2"]).finish()
/// XCTAssertEqual(r.status, 0, r.err)
/// ```
struct ChildProcess {
    /// How the process ended and what it printed.
    struct Result {
        var status: Int32
        var reason: Process.TerminationReason
        var out: String
        var err: String
    }

    let process = Process()
    private let out = Pipe(), err = Pipe()

    /// Starts `program` with `arguments`; `environment`, when given, replaces the inherited one.
    init(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = out
        process.standardError = err
        try process.run()
    }

    /// Reads both pipes to their end (so a chatty child never blocks on a full pipe), then waits
    /// for the exit.
    func finish() -> Result {
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, reason: process.terminationReason,
                      out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}
