import Foundation
import XCTest
@testable import Training

/// Issue 15 through the real `ddpm` binary: signals, two runs on one folder, `kill -9` during
/// checkpoint writes, a full disk, hostile options and files (docs/reliability.md).
final class FaultInjectionTests: XCTestCase {
    private var directory = ""
    override func setUp() {
        directory = Fixtures.temporaryDirectory("ddpm-faults")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: CLITests.binary), "missing \(CLITests.binary)")
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// `ddpm arguments`, or the program `tool[0]` with its arguments.
    private func launch(_ arguments: [String], tool: [String] = []) throws -> ChildProcess {
        try ChildProcess(tool.first ?? CLITests.binary, tool.isEmpty ? arguments : Array(tool.dropFirst()))
    }

    /// Waits (up to five minutes, a hang guard, not a timing assertion) until `done` or the process ends.
    private func wait(for run: ChildProcess, until done: () -> Bool) {
        let deadline = Date().addingTimeInterval(300)
        while !done() && run.process.isRunning && Date() < deadline { usleep(10_000) }
    }

    private func training(_ output: String, steps: Int = 100_000, extra: [String] = []) -> [String] {
        ["train"] + CLITests.tiny + ["--steps", "\(steps)", "--output", output] + extra
    }

    func testSIGTERMAndSIGHUPWriteACheckpointAndExit143And129() throws {
        for (signal, status, name) in [(SIGTERM, Int32(143), "SIGTERM"), (SIGHUP, Int32(129), "SIGHUP")] {
            let output = "\(directory)/\(name)"
            let run = try launch(training(output))
            wait(for: run) { MetricsLog.read("\(output)/metrics.jsonl").count >= 2 }
            kill(run.process.processIdentifier, signal)
            let r = run.finish()
            XCTAssertEqual(r.reason, .exit, "\(name): exited, not killed by the signal")
            XCTAssertEqual(r.status, status, "\(name): \(r.err)")
            XCTAssertTrue(r.out.contains("by \(name); checkpoint"), r.out)
            let newest = try XCTUnwrap(CheckpointDirectory(path: output).newest, name)
            XCTAssertGreaterThanOrEqual(newest.step, 1)
            XCTAssertEqual(try Checkpoint(contentsOf: newest.path).step, newest.step)
        }
    }

    func testSecondRunOnOneFolderIsRefusedNamingTheFirstsPid() throws {
        let output = "\(directory)/shared"
        let first = try launch(training(output))
        wait(for: first) { MetricsLog.read("\(output)/metrics.jsonl").count >= 1 }
        let second = try launch(training(output, extra: ["--resume"])).finish()
        XCTAssertEqual(second.status, 1, second.err)
        XCTAssertTrue(second.err.contains("\(output) is in use by another ddpm train (pid \(first.process.processIdentifier))"), second.err)
        kill(first.process.processIdentifier, SIGINT)
        XCTAssertEqual(first.finish().status, 130)
        // Once the first has ended the folder is free again (the kernel drops the lock with the process).
        let resumed = try launch(["train", "--output", output, "--resume", "--steps", "\((CheckpointDirectory(path: output).newest?.step ?? 0) + 1)"]).finish()
        XCTAssertEqual(resumed.status, 0, resumed.err)
    }

    func testKill9DuringCheckpointWritesNeverLeavesABadCheckpoint() throws {
        let output = "\(directory)/killed"
        var steps = 0
        // Checkpoints at every step; each round is killed at a different point of the writing.
        for round in 0..<5 {
            let extra = ["--save-every", "1", "--keep-checkpoints", "2"] + (round > 0 ? ["--resume"] : [])
            let run = try launch(training(output, extra: extra))
            wait(for: run) { (CheckpointDirectory(path: output).newest?.step ?? 0) > steps }
            usleep(UInt32(round * 7_000))
            kill(run.process.processIdentifier, SIGKILL)
            let r = run.finish()
            XCTAssertEqual(r.reason, .uncaughtSignal, "round \(round): \(r.err)")
            let all = CheckpointDirectory(path: output).checkpoints()
            XCTAssertFalse(all.isEmpty, "round \(round)")
            for c in all { XCTAssertEqual(try Checkpoint(contentsOf: c.path).step, c.step, "round \(round): \(c.path) is whole") }
            steps = all.last!.step
        }
        let resumed = try launch(["train", "--output", output, "--resume", "--steps", "\(steps + 1)"]).finish()
        XCTAssertEqual(resumed.status, 0, resumed.err)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: output).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "temporary files of killed writes are removed at start")
    }

    func testFullDiskOnASmallTmpfsLosesNoTrainedStep() throws {
        let mountPoint = "\(directory)/tmpfs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        // The file system holds the checkpoint reserve (four floats per parameter plus 256 KiB) and
        // a little more (the checkpoint's header size plus 8 KiB), which the metrics log fills first.
        let probe = try launch(training("\(directory)/probe", steps: 1)).finish()
        XCTAssertEqual(probe.status, 0, probe.err)
        let checkpoint = try XCTUnwrap(CheckpointDirectory(path: "\(directory)/probe").newest).path
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? Int)
        let kib = (size + (256 << 10)) / 1024 + 8
        let mount = try launch([], tool: ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=\(kib)k", "tmpfs", mountPoint]).finish()
        guard mount.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (\(mount.err.trimmingCharacters(in: .whitespacesAndNewlines))); "
                + "ReliabilityTests.testFullDiskWhileLoggingStillWritesTheCheckpoint injects the same failure in process")
        }
        defer { _ = try? launch([], tool: ["/usr/bin/umount", mountPoint]).finish() }
        let output = "\(mountPoint)/run"
        let r = try launch(training(output, steps: 1_000_000, extra: ["--save-every", "1000000"])).finish()
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("metrics.jsonl: cannot write the metrics log at step "), r.err)
        XCTAssertTrue(r.err.contains("No space left on device; checkpoint \(output)/checkpoint-"), r.err)
        XCTAssertFalse(r.err.contains("Fatal error"), r.err)
        let newest = try XCTUnwrap(CheckpointDirectory(path: output).newest)
        let logged = MetricsLog.read("\(output)/metrics.jsonl").map(\.step).max() ?? 0
        XCTAssertGreaterThanOrEqual(newest.step, logged, "the checkpoint holds every logged step")
        XCTAssertEqual(try Checkpoint(contentsOf: newest.path).step, newest.step)
    }

    func testSecondInterruptExitsCleanlyWhileWorkersRun() throws {
        // An exit while the device's threads are inside OpenBLAS used to crash in its teardown.
        for round in 0..<6 {
            let output = "\(directory)/double-\(round)"
            let run = try launch(training(output, extra: ["--dim", "32"]))
            wait(for: run) { MetricsLog.read("\(output)/metrics.jsonl").count >= 1 }
            kill(run.process.processIdentifier, SIGINT)
            usleep(UInt32(round * 3_000))
            kill(run.process.processIdentifier, SIGINT)
            let r = run.finish()
            XCTAssertEqual(r.reason, .exit, "round \(round): \(r.err)")
            XCTAssertEqual(r.status, 130, "round \(round): \(r.err)")
        }
    }

    func testSamplesAreWrittenAsTheyAreDrawn() throws {
        let output = "\(directory)/model"
        let trained = try launch(training(output, steps: 1)).finish()
        XCTAssertEqual(trained.status, 0, trained.err)
        // Ten million images: the first files must appear long before the end, one batch at a time.
        let each = "\(directory)/each"
        let run = try launch(["sample", "--checkpoint", output, "--count", "10000000", "--batch-size", "4", "--output", each])
        wait(for: run) { FileManager.default.fileExists(atPath: "\(each)/sample-00007.png") }
        XCTAssertTrue(run.process.isRunning, "still sampling while the first batches are on disk")
        kill(run.process.processIdentifier, SIGKILL)
        _ = run.finish()
        let written = try FileManager.default.contentsOfDirectory(atPath: each).filter { $0.hasPrefix("sample-") }
        XCTAssertGreaterThanOrEqual(written.count, 8, "every finished batch was kept")
        XCTAssertNoThrow(try Image(contentsOf: "\(each)/sample-00000.png"))
    }

    func testErrorExitWhileTheDeviceWorksIsAnOrderlyExit() throws {
        // The loss becomes NaN while later steps are still queued: the exit used to run OpenBLAS's
        // teardown under a running sgemm and segfault in about one run in seven (scripts/faults.py).
        for round in 0..<4 {
            let r = try launch(training("\(directory)/nan-\(round)", extra: ["--dim", "32", "--lr", "1e30", "--max-grad-norm", "0"])).finish()
            XCTAssertEqual(r.reason, .exit, "round \(round): \(r.err)")
            XCTAssertEqual(r.status, 1, "round \(round): \(r.err)")
            XCTAssertTrue(r.err.contains("the loss became"), r.err)
        }
    }

    func testHostileOptionsAndFilesGiveOneLineErrors() throws {
        func assertFails(_ arguments: [String], status: Int32, mentioning text: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try launch(arguments).finish()
            XCTAssertEqual(r.reason, .exit, file: file, line: line)
            XCTAssertEqual(r.status, status, "\(arguments): \(r.err)", file: file, line: line)
            XCTAssertTrue(r.err.contains(text), "expected '\(text)' in: \(r.err)", file: file, line: line)
        }
        let out = ["--output", "\(directory)/options"]
        try assertFails(["train", "--dim", "1000000000"] + out, status: 64, mentioning: "unet: dim is 1000000000, more than the limit of 4096")
        try assertFails(["train", "--mults", Array(repeating: "1", count: 70).joined(separator: ",")] + out, status: 64,
                        mentioning: "(stages) is 70, more than the limit of 8")
        try assertFails(["train", "--mults", "1,4611686018427387904"] + out, status: 64, mentioning: "dim x dim_mults entry")
        try assertFails(["train", "--timesteps", "10000000"] + out, status: 64, mentioning: "timesteps is 10000000, more than the limit of 100000")
        try assertFails(["train", "--grad-accum", "1000000000"] + out, status: 64, mentioning: "--grad-accum is 1000000000, more than the limit of 4096")
        try assertFails(["train", "--image-size", "100000"] + out, status: 64, mentioning: "image_size (height) is 100000, more than the limit of 4096")
        try assertFails(["sample", "--checkpoint", "x", "--count", "10000"], status: 64,
                        mentioning: "more than the limit of 4096 images in one grid (.png); give a folder")
        let pipe = "\(directory)/checkpoint-00000001.safetensors"
        XCTAssertEqual(mkfifo(pipe, 0o600), 0)
        try assertFails(["inspect", pipe], status: 1, mentioning: "not a regular file (a FIFO)")
        try assertFails(["sample", "--checkpoint", directory], status: 1, mentioning: "not a regular file (a FIFO)")
    }
}
