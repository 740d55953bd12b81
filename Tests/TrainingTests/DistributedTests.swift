import Foundation
import XCTest
@testable import Training

/// Issue 16 through the real `ddpm` binary and Open MPI's `mpirun`: N processes give the bits
/// of one process accumulating N micro-batches (losses, every checkpoint file), on `cpu` and
/// `opencl`; a `kill -9` of one rank ends the job and `--resume` continues it exactly; the
/// binary trains without Open MPI installed; a two-"host" job over TCP on loopback.
///
/// Every process runs one cpu thread (`DDPM_CPU_THREADS=1`, passed to the ranks with `-x`): the
/// cpu device's convolution weight gradients keep one partial sum per thread, so its bits
/// depend on the thread count, and the comparison is between equal thread counts.
final class DistributedTests: XCTestCase {
    private var directory = ""
    override func setUp() {
        directory = Fixtures.temporaryDirectory("ddpm-mpi")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary), "missing \(CLITests.binary)")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: Self.mpirun), "mpirun not found at \(Self.mpirun): make deps installs openmpi-bin")
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    static let mpirun = "/usr/bin/mpirun"
    /// Loopback only, as root (CI), processes unbound so three can share two cores.
    static let mpiOptions = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                             "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo",
                             "-x", "DDPM_CPU_THREADS"]

    /// The tiny model without a batch size (each run gives its own).
    static let model = ["--data", "digits", "--dim", "8", "--mults", "1,2", "--attn-heads", "2", "--attn-dim-head", "4",
                        "--timesteps", "50", "--schedule", "linear", "--objective", "pred_noise", "--lr", "1e-3",
                        "--num-samples", "0", "--sample-every", "0", "--log-every", "1", "--seed", "3"]

    typealias Result = ChildProcess.Result

    /// Starts `program` with one cpu thread per process and no inherited Open MPI variables
    /// (this test may itself run under a launcher), plus `environment`.
    private func start(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ChildProcess {
        var env = ProcessInfo.processInfo.environment
        env["DDPM_CPU_THREADS"] = "1"
        for key in env.keys where key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") { env[key] = nil }
        env.merge(environment) { $1 }
        return try ChildProcess(program, arguments, environment: env)
    }

    private func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try start(program, arguments, environment: environment).finish()
    }

    /// `mpirun -np n ddpm train …`.
    private func mpiTrain(_ n: Int, _ arguments: [String], launcher: [String] = []) throws -> Result {
        try run(Self.mpirun, ["-np", "\(n)"] + Self.mpiOptions + launcher + [CLITests.binary, "train"] + arguments)
    }

    private func train(_ arguments: [String]) throws -> Result { try run(CLITests.binary, ["train"] + arguments) }

    /// Step, loss and gradient norm of every metrics line (the timing fields differ by nature).
    private func losses(_ folder: String) throws -> [String] {
        let text = try String(contentsOfFile: "\(folder)/metrics.jsonl", encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let o = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            return "\(o["step"]!) \(o["loss"]!) \(o["grad_norm"]!)"
        }
    }

    private func checkpoints(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("checkpoint-") }.sorted()
    }

    private func assertSameRun(_ a: String, _ b: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let la = try losses(a), lb = try losses(b)
        XCTAssertFalse(la.isEmpty, label, file: file, line: line)
        XCTAssertEqual(la, lb, "\(label): losses", file: file, line: line)
        let ca = try checkpoints(a), cb = try checkpoints(b)
        XCTAssertFalse(ca.isEmpty, label, file: file, line: line)
        XCTAssertEqual(ca, cb, "\(label): checkpoint files", file: file, line: line)
        for name in ca {
            // Whole files: every tensor (weights, EMA, Adam moments, random state) and the configuration.
            XCTAssertEqual(FileManager.default.contents(atPath: "\(a)/\(name)"), FileManager.default.contents(atPath: "\(b)/\(name)"),
                           "\(label): \(name) differs", file: file, line: line)
        }
    }

    /// `mpirun -np N` with global batch `N·b` equals `--grad-accum N --batch-size b`, N = 2 and 3.
    private func checkEqualsAccumulation(device: String) throws {
        for n in [2, 3] {
            let steps = ["--steps", "4", "--save-every", "2", "--device", device]
            let single = "\(directory)/\(device)-accum-\(n)", parallel = "\(directory)/\(device)-mpi-\(n)"
            let s = try train(Self.model + steps + ["--batch-size", "2", "--grad-accum", "\(n)", "--output", single])
            XCTAssertEqual(s.status, 0, s.err)
            let m = try mpiTrain(n, Self.model + steps + ["--batch-size", "\(2 * n)", "--output", parallel])
            XCTAssertEqual(m.status, 0, m.out + m.err)
            try assertSameRun(single, parallel, "\(device), \(n) processes")
            XCTAssertTrue(m.out.contains("processes: \(n) (this is rank 0)"), m.out)
            XCTAssertFalse(m.out.contains("this is rank 1"), "other ranks write to their log, not the terminal")
            let log = try String(contentsOfFile: "\(parallel)/logs/rank-\(n - 1).log", encoding: .utf8)
            XCTAssertTrue(log.contains("this is rank \(n - 1)"), log)
        }
    }

    func testProcessesEqualGradientAccumulationOnCPU() throws { try checkEqualsAccumulation(device: "cpu") }

    /// Two processes of two micro-batches each (`--grad-accum 2` under mpirun) equal four
    /// micro-batches in one process: a process's records are packed side by side for the gather.
    func testProcessesWithSeveralMicroBatchesEachEqualAccumulation() throws {
        let steps = ["--steps", "3", "--save-every", "3", "--device", "cpu"]
        let single = "\(directory)/accum-4", parallel = "\(directory)/mpi-2x2"
        XCTAssertEqual(try train(Self.model + steps + ["--batch-size", "2", "--grad-accum", "4", "--output", single]).status, 0)
        let m = try mpiTrain(2, Self.model + steps + ["--batch-size", "8", "--grad-accum", "2", "--output", parallel])
        XCTAssertEqual(m.status, 0, m.out + m.err)
        XCTAssertTrue(m.out.contains("batch 2 x 4 micro-batches"), m.out)
        try assertSameRun(single, parallel, "2 processes x 2 micro-batches")
    }

    func testProcessesEqualGradientAccumulationOnOpenCL() throws { try checkEqualsAccumulation(device: "opencl") }

    /// A class-conditional model (labels packed after the images, condition dropout drawn on the
    /// device) also gives the bits of `--grad-accum` with 2 processes.
    func testClassConditionalProcessesEqualAccumulation() throws {
        let args = ["--model", "class-conditional", "--data", "digits", "--dim", "8", "--mults", "1,2", "--attn-heads", "2",
                    "--attn-dim-head", "4", "--timesteps", "50", "--num-samples", "0", "--sample-every", "0", "--log-every", "1",
                    "--steps", "3", "--save-every", "3", "--device", "cpu"]
        let single = "\(directory)/cc-accum", parallel = "\(directory)/cc-mpi"
        XCTAssertEqual(try train(args + ["--batch-size", "2", "--grad-accum", "2", "--output", single]).status, 0)
        let m = try mpiTrain(2, args + ["--batch-size", "4", "--output", parallel])
        XCTAssertEqual(m.status, 0, m.out + m.err)
        try assertSameRun(single, parallel, "class-conditional, 2 processes")
    }

    func testBatchThatProcessesCannotShareIsRefused() throws {
        let r = try mpiTrain(2, Self.model + ["--steps", "2", "--batch-size", "5", "--output", "\(directory)/odd"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue((r.out + r.err).contains("--batch-size 5 is the global batch of one step under mpirun; it must be a positive multiple of the 2 processes"),
                      r.out + r.err)
    }

    /// Ranks that compute differently (rank 0 on `cpu`, rank 1 on `cpu-reference`, whose sums
    /// round differently) start equal, drift apart, and the first checkpoint stops the job on
    /// every rank with the error naming rank 1; nothing is written for that step.
    func testDivergedReplicasStopAtTheCheckpoint() throws {
        let output = "\(directory)/diverged"
        let args = Self.model + ["--steps", "4", "--save-every", "2", "--batch-size", "4", "--output", output]
        let r = try run(Self.mpirun, Self.mpiOptions + ["-np", "1", CLITests.binary, "--device", "cpu", "train"] + args
                        + [":", "-np", "1", CLITests.binary, "--device", "cpu-reference", "train"] + args)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.err.contains("error: the processes of this job disagree at the checkpoint of step 2: rank 1 hold other weights"),
                      r.out + r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(output)/checkpoint-00000002.safetensors"))
    }

    /// SIGTERM to `mpirun`, which forwards it to the ranks (and, with `odls_base_sigkill_timeout`,
    /// gives them time before SIGKILL): every rank stops at the same step and rank 0 writes that
    /// step's checkpoint.
    func testSIGTERMStopsEveryRankAtTheSameStep() throws {
        let output = "\(directory)/interrupted"
        let child = try start(Self.mpirun, ["-np", "2", "--mca", "odls_base_sigkill_timeout", "8"] + Self.mpiOptions
                                  + [CLITests.binary, "train"] + Self.model + ["--steps", "100000", "--batch-size", "4", "--output", output])
        let deadline = Date().addingTimeInterval(120)   // a hang guard, not a timing assertion
        while child.process.isRunning, Date() < deadline,
              ((try? String(contentsOfFile: "\(output)/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count < 3 {
            usleep(5_000)
        }
        let lines = ((try? String(contentsOfFile: "\(output)/metrics.jsonl", encoding: .utf8)) ?? "").split(separator: "\n").count
        XCTAssertGreaterThanOrEqual(lines, 3, "the run was training when it was stopped")
        XCTAssertEqual(kill(child.process.processIdentifier, SIGTERM), 0)
        let r = child.finish()
        XCTAssertNotEqual(r.status, 0, "the ranks exit with 143")
        let line = try XCTUnwrap(r.out.split(separator: "\n").first { $0.hasPrefix("interrupted at step") }, r.out + r.err)
        let step = try XCTUnwrap(Int(line.split(separator: " ")[3]), String(line))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(output)/checkpoint-\(String(format: "%08d", step)).safetensors"), r.out)
        let log = try String(contentsOfFile: "\(output)/logs/rank-1.log", encoding: .utf8)
        XCTAssertTrue(log.contains("interrupted at step \(step) by SIGTERM"), log)
    }

    /// Children of `parent` (the ranks mpirun started on this host).
    private func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == parent
        }
    }

    /// `kill -9` of rank 1 ends the job; `--resume` (with 2 processes, and with 1) ends on the
    /// final checkpoint of an uninterrupted run, bit for bit.
    func testKilledRankEndsTheJobAndResumeContinuesExactly() throws {
        let common = Self.model + ["--steps", "14", "--save-every", "2", "--keep-checkpoints", "30", "--device", "cpu"]
        let reference = "\(directory)/reference", killed = "\(directory)/killed"
        let r = try train(common + ["--batch-size", "2", "--grad-accum", "2", "--output", reference])
        XCTAssertEqual(r.status, 0, r.err)

        let child = try start(Self.mpirun, ["-np", "2"] + Self.mpiOptions + [CLITests.binary, "train"] + common
                                  + ["--batch-size", "4", "--output", killed])
        let deadline = Date().addingTimeInterval(120)   // a hang guard, not a timing assertion
        while child.process.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: "\(killed)/checkpoint-00000004.safetensors") {
            usleep(5_000)
        }
        let ranks = children(of: child.process.processIdentifier)
        XCTAssertEqual(ranks.count, 2, "mpirun's ranks")
        var victim: Int32?
        for pid in ranks {
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            if String(decoding: environ, as: UTF8.self).split(separator: "\0").contains("OMPI_COMM_WORLD_RANK=1") { victim = pid }
        }
        let rank1 = try XCTUnwrap(victim, "rank 1's process")
        XCTAssertEqual(kill(rank1, SIGKILL), 0)
        let ended = child.finish()
        XCTAssertNotEqual(ended.status, 0, "the job ends when a rank is killed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(killed)/checkpoint-00000014.safetensors"), "killed mid-run")
        let newest = try XCTUnwrap(try checkpoints(killed).last)
        XCTAssertNotEqual(newest, "checkpoint-00000014.safetensors")

        // Resume with one process (the run is grad_accum 2 of 2 images: any N dividing 2) ...
        let single = "\(directory)/resumed-single"
        try FileManager.default.copyItem(atPath: killed, toPath: single)
        let s = try train(["--output", single, "--resume", "--device", "cpu"])
        XCTAssertEqual(s.status, 0, s.err)
        // ... and with two.
        let m = try mpiTrain(2, ["--output", killed, "--resume", "--device", "cpu"])
        XCTAssertEqual(m.status, 0, m.out + m.err)
        XCTAssertTrue(m.out.contains("resumed from"), m.out)
        let final = "checkpoint-00000014.safetensors"
        let expected = FileManager.default.contents(atPath: "\(reference)/\(final)")
        XCTAssertNotNil(expected)
        XCTAssertEqual(FileManager.default.contents(atPath: "\(killed)/\(final)"), expected, "resumed with 2 processes")
        XCTAssertEqual(FileManager.default.contents(atPath: "\(single)/\(final)"), expected, "resumed with 1 process")
        XCTAssertEqual(try losses(killed).suffix(5), try losses(reference).suffix(5))
    }

    /// Two "hosts" (127.0.0.1 and 127.0.0.2, one slot each) through a launcher agent that runs
    /// the command here instead of over ssh: Open MPI starts a daemon for the second host and
    /// the ranks talk TCP over loopback, as on two machines.
    func testTwoHostJobOverLoopback() throws {
        let hosts = "\(directory)/hosts", agent = "\(directory)/agent.sh"
        try "127.0.0.1 slots=1\n127.0.0.2 slots=1\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        // mpirun calls `agent <host> <command>`: drop the host, run the command locally.
        try "#!/bin/sh\nshift\nexec /bin/sh -c \"$*\"\n".write(toFile: agent, atomically: true, encoding: .utf8)
        chmod(agent, 0o755)
        let steps = ["--steps", "3", "--save-every", "3", "--device", "cpu"]
        let single = "\(directory)/single", parallel = "\(directory)/two-hosts"
        XCTAssertEqual(try train(Self.model + steps + ["--batch-size", "2", "--grad-accum", "2", "--output", single]).status, 0)
        let m = try mpiTrain(2, Self.model + steps + ["--batch-size", "4", "--output", parallel],
                             launcher: ["--hostfile", hosts, "--mca", "plm_rsh_agent", agent])
        XCTAssertEqual(m.status, 0, m.out + m.err)
        try assertSameRun(single, parallel, "two hosts")
        let log = try String(contentsOfFile: "\(parallel)/logs/rank-1.log", encoding: .utf8)
        XCTAssertTrue(log.contains("this is rank 1"), log)
    }

    /// The single-process binary without Open MPI: in a private mount namespace, Open MPI's
    /// library file (and its plugin folder) are covered by empty bind mounts, so the loader
    /// cannot load `libmpi.so.40`. A plain run trains; a process that claims to be under mpirun
    /// gets the clear error naming the library.
    func testTrainsWithoutOpenMPIInstalled() throws {
        let library = "/usr/lib/x86_64-linux-gnu/libmpi.so.40.30.4", plugins = "/usr/lib/x86_64-linux-gnu/openmpi"
        XCTAssertTrue(FileManager.default.fileExists(atPath: library), "the Debian Open MPI 4.1 library this test hides")
        let empty = "\(directory)/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let output = "\(directory)/solo"
        let ddpm = ([CLITests.binary, "train"] + Self.model + ["--steps", "2", "--batch-size", "2", "--device", "cpu"])
            .map { "'\($0)'" }.joined(separator: " ")
        let script = """
            set -e
            mount --bind /dev/null \(library)
            mount --bind \(empty) \(plugins)
            if python3 -c 'import ctypes; ctypes.CDLL("libmpi.so.40")' 2>/dev/null; then echo "libmpi still loads"; exit 9; fi
            \(ddpm) --output \(output)
            if OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 \(ddpm) --output \(output)-fake 2>\(directory)/fake.err; then exit 8; fi
            cat \(directory)/fake.err
            """
        let r = try run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("done: 2 steps"), r.out + r.err)
        XCTAssertTrue(r.out.contains("started by mpirun (OMPI_COMM_WORLD_SIZE is set) but Open MPI's library libmpi.so.40 cannot be loaded"),
                      r.out + r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(output)/checkpoint-00000002.safetensors"))
    }
}
