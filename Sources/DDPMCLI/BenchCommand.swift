import ArgumentParser
import Devices
import Diffusion
import Distributed
import Foundation
import Graph

/// `ddpm bench`: times the reference Unet's training step and forward pass on one device.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time a training step and a Unet forward of the reference model on one device.",
        discussion: """
            Builds Unet(dim, dim_mults, channels) + GaussianDiffusion(image_size, timesteps=1000) with \
            Adam (lr 1e-4, betas 0.9/0.99), the same model scripts/torch_bench.py times in PyTorch, and \
            reports medians over the measured steps plus the queue counters that show the step stays on \
            the device. The training step includes the gradient-norm clip and an EMA update unless \
            --no-clip / --no-ema (PyTorch's bench times forward, loss, backward and Adam only). \
            --sample-images N times whole DDIM chains of --sample-steps steps drawing N images in one batch \
            instead (torch_bench.py --sample-images times the reference's sample() on the same model).
            Example: ddpm --device opencl bench --dim 32 --mults 1,2,4 --image-size 32 --batch 16 --json
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "Unet base width (`dim`).")
    var dim: Int = 32

    @Option(help: ArgumentHelp("Unet `dim_mults`, comma-separated.", valueName: "m1,m2,..."))
    var mults: String = "1,2,4"

    @Option(name: .customLong("image-size"), help: "Square image side in pixels.")
    var imageSize: Int = 32

    @Option(help: "Images per batch.")
    var batch: Int = 16

    @Option(help: "Image channels.")
    var channels: Int = 3

    @Option(help: "Measured steps (and forward runs); times are their medians.")
    var steps: Int = 5

    @Option(help: "Unmeasured steps before measuring.")
    var warmup: Int = 2

    @Flag(name: .customLong("no-clip"), help: "Leave the gradient-norm clip out of the step.")
    var noClip = false

    @Flag(name: .customLong("no-ema"), help: "Leave the EMA update out of the step.")
    var noEMA = false

    @Flag(help: "Also print the time per kernel family and the slowest kernel shapes.")
    var profile = false

    @Option(name: .customLong("profile-shapes"), help: "Kernel shapes listed by --profile, slowest first.")
    var profileShapes: Int = 15

    @Flag(help: "Also print, per kernel family, how many launches of a step ran on the device and how many on the CPU fallback, and the bytes moved between them per step.")
    var placement = false

    @Option(name: .customLong("sample-images"), help: "Time whole DDIM sampling chains (eta 0) drawing this many images in one batch, instead of the training step and forward; 0: the training bench.")
    var sampleImages: Int = 0

    @Option(name: .customLong("sample-steps"), help: "DDIM steps of the timed sampling chain (`sampling_timesteps`).")
    var sampleSteps: Int = 25

    @Option(name: .customLong("sample-runs"), help: "Timed sampling chains after one unmeasured chain; the time is their median.")
    var sampleRuns: Int = 1

    @Flag(help: "Print one JSON line instead of text.")
    var json = false

    func run() throws {
        let settings = try withBenchErrors { try makeSettings() }
        var world: MPIWorld?
        try reportingErrors { world = try MPIWorld.join(environment: ProcessInfo.processInfo.environment) }
        if let world {
            // Under mpirun: the data-parallel step against one process (BenchDistributed.swift).
            defer { world.finalize() }
            let device = try global.resolveDevice(withFallback: true)
            let result = try withBenchErrors { try DistributedBench(settings: settings, device: device, world: world).run() }
            if world.rank == 0 { print(json ? result.jsonLine : result.text(batch: settings.batch)) }
            return
        }
        let device = try global.resolveDevice(withFallback: true)
        if settings.sampleImages > 0 {
            let result = try withBenchErrors { try SamplingBench(settings: settings, device: device).run() }
            print(json ? result.jsonLine : result.text)
            return
        }
        let result = try withBenchErrors { try BenchRunner(settings: settings, device: device).run() }
        print(json ? result.jsonLine : result.text)
    }

    /// The settings from the options, checked.
    func makeSettings() throws -> BenchSettings {
        let parsed = mults.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else {
            throw BenchError.invalidOption("--mults must be a comma-separated list of positive integers, got '\(mults)'")
        }
        var s = BenchSettings(dim: dim, mults: parsed.map { $0! }, imageSize: imageSize, batch: batch)
        s.channels = channels
        s.steps = steps
        s.warmup = warmup
        s.clip = !noClip
        s.ema = !noEMA
        s.profile = profile
        s.profileShapes = profileShapes
        s.placement = placement
        s.sampleImages = sampleImages
        s.sampleSteps = sampleSteps
        s.sampleRuns = sampleRuns
        try s.validate()
        return s
    }
}

/// Runs `body`, turning the errors a bench can meet into `error: …` and exit status 2.
func withBenchErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try withCleanErrors(body)
    } catch let error as BenchError {
        printError("error: \(error)")
        throw ExitCode(2)
    } catch let error as GraphError {
        printError("error: \(error)")
        throw ExitCode(2)
    } catch let error as DiffusionError {
        printError("error: \(error)")
        throw ExitCode(2)
    }
}
