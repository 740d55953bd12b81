import ArgumentParser
import Diffusion
import Distributed
import Foundation
import Training

/// `ddpm train`: trains a diffusion model (see docs/cli.md).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a denoising diffusion model on a folder of images or a built-in dataset.",
        discussion: """
            Defaults are the reference Trainer's (denoising-diffusion-pytorch 2.3.4). Writes \
            checkpoint-<step>.safetensors, sample-<step>.png grids (EMA weights) and metrics.jsonl to --output. \
            Ctrl-C, SIGTERM and SIGHUP write a checkpoint and stop (exit status 130, 143, 129); `--resume` continues from the newest checkpoint with its \
            settings (options you give must agree with them, except --steps, --save-every, --sample-every, \
            --num-samples, --keep-checkpoints and --log-every).
            """)

    @OptionGroup var global: GlobalOptions

    // Data
    @Option(help: ArgumentHelp("An image folder (PNG/JPEG, recursive), or the built-in 'shapes' (default) or 'digits'.", valueName: "path"))
    var data: String?
    @Option(help: ArgumentHelp("Training size: S or HxW (default: 8 for digits, else 32). Images are scaled to cover it and centre-cropped.", valueName: "size"))
    var imageSize: String?
    @Option(help: ArgumentHelp("Image channels: 1 (gray), 3 (RGB) or 4 (RGBA) (default: 1 for digits, else 3).", valueName: "n"))
    var channels: Int?
    @Flag(inversion: .prefixedNo, help: "Mirror images left-right at random (default: off).")
    var flip: Bool?

    // Model
    @Option(help: ArgumentHelp("unconditional (default) or class-conditional (classifier-free guidance; needs labelled data: "
                               + "'digits' or a folder of class subfolders).", valueName: "kind"))
    var model: String?
    @Option(help: ArgumentHelp("Class-conditional: probability of training a sample with the null class (default 0.5).", valueName: "p"))
    var condDropProb: Double?
    @Option(help: ArgumentHelp("Unet base width (default 64).", valueName: "n"))
    var dim: Int?
    @Option(help: ArgumentHelp("Unet width multipliers per stage (default 1,2,4,8).", valueName: "list"))
    var mults: String?
    @Option(help: ArgumentHelp("Attention heads, one value or one per stage (default 4).", valueName: "n|list"))
    var attnHeads: String?
    @Option(help: ArgumentHelp("Attention head width, one value or one per stage (default 32).", valueName: "n|list"))
    var attnDimHead: String?
    @Flag(inversion: .prefixedNo, help: "Self-conditioning: the Unet also sees its own x0 estimate (default: off).")
    var selfCondition: Bool?
    @Option(help: ArgumentHelp("Full (not linear) attention per stage, e.g. false,false,true (default: innermost stage only).", valueName: "list"))
    var fullAttn: String?

    // Diffusion
    @Option(help: ArgumentHelp("Diffusion timesteps T (default 1000).", valueName: "n"))
    var timesteps: Int?
    @Option(help: ArgumentHelp("Sampling steps for the sample grids; fewer than T uses DDIM (default: T, ancestral).", valueName: "n"))
    var samplingTimesteps: Int?
    @Option(help: ArgumentHelp("pred_noise, pred_x0 or pred_v (default pred_v; class-conditional: pred_noise).", valueName: "name"))
    var objective: String?
    @Option(help: ArgumentHelp("Beta schedule: linear, cosine or sigmoid (default sigmoid; class-conditional: cosine, no sigmoid).", valueName: "name"))
    var schedule: String?
    @Flag(inversion: .prefixedNo, help: "Min-SNR loss weighting (gamma 5, or --min-snr-gamma).")
    var minSnr: Bool?
    @Option(help: ArgumentHelp("Gamma of the min-SNR weighting (default 5).", valueName: "g"))
    var minSnrGamma: Double?
    @Option(help: ArgumentHelp("Offset-noise strength (default 0; 0.1 is common).", valueName: "s"))
    var offsetNoise: Double?

    // Optimisation
    @Option(help: ArgumentHelp("Images per micro-batch (default 16); under mpirun, images per step over all processes.", valueName: "n"))
    var batchSize: Int?
    @Option(help: ArgumentHelp("Peak learning rate (default 1e-4).", valueName: "lr"))
    var lr: Double?
    @Option(help: ArgumentHelp("Adam betas (default 0.9,0.99).", valueName: "b1,b2"))
    var adamBetas: String?
    @Option(help: ArgumentHelp("Linear warmup steps (default 0).", valueName: "n"))
    var lrWarmup: Int?
    @Option(help: ArgumentHelp("constant or cosine (default constant).", valueName: "name"))
    var lrSchedule: String?
    @Option(help: ArgumentHelp("Optimiser steps of the run (default 100000).", valueName: "n"))
    var steps: Int?
    @Option(help: ArgumentHelp("Micro-batches averaged per step (default 1); under mpirun, per process.", valueName: "n"))
    var gradAccum: Int?
    @Option(help: ArgumentHelp("Gradient-norm clip, 0 to disable (default 1).", valueName: "x"))
    var maxGradNorm: Double?
    @Option(help: ArgumentHelp("EMA decay (default 0.995, with ema-pytorch's warmup).", valueName: "d"))
    var emaDecay: Double?
    @Option(help: ArgumentHelp("Steps between EMA updates (default 10).", valueName: "n"))
    var emaUpdateEvery: Int?
    @Option(help: ArgumentHelp("Seed of the weights, the noise and the data order (default 0).", valueName: "n"))
    var seed: UInt64?

    // Output
    @Option(help: ArgumentHelp("Output folder.", valueName: "dir"))
    var output: String = "results"
    @Flag(help: "Continue from the newest checkpoint in --output.")
    var resume = false
    @Option(help: ArgumentHelp("Steps between checkpoints (default 1000).", valueName: "n"))
    var saveEvery: Int?
    @Option(help: ArgumentHelp("Steps between sample grids, 0 for none while training (default 1000).", valueName: "n"))
    var sampleEvery: Int?
    @Option(help: ArgumentHelp("Images per sample grid (default 25).", valueName: "n"))
    var numSamples: Int?
    @Option(help: ArgumentHelp("Checkpoints kept (default 3).", valueName: "n"))
    var keepCheckpoints: Int?
    @Option(help: ArgumentHelp("Steps between loss read-backs and metrics lines (default 10).", valueName: "n"))
    var logEvery: Int?

    func run() throws {
        // Under mpirun: join the world first (a missing libmpi is an error, not a solo run).
        var world: MPIWorld?
        try reportingErrors { world = try MPIWorld.join(environment: ProcessInfo.processInfo.environment) }
        guard let world else { return try train(world: nil) }
        var output: RankOutput?
        do {
            try reportingErrors { output = try RankOutput(rank: world.rank, directory: self.output) }
            try train(world: world)
            world.finalize()
        } catch let exit as ExitCode where [130, 143, 129].contains(exit.rawValue) {
            world.finalize()   // every process stopped at the same step (see Trainer.anyStopRequested)
            throw exit
        } catch {
            let status: Int32
            switch error {
            case let exit as ExitCode: status = exit.rawValue   // reportingErrors printed the message
            case let bad as ValidationError:
                printError("error: \(bad.message)")
                status = ExitCode.validationFailure.rawValue
            default:
                printError("error: \(error)")
                status = 1
            }
            output?.noteFailure(status: status)
            world.abort(exitStatus: status)   // the others must not wait for this process in their next gather
        }
    }

    private func train(world: MPIWorld?) throws {
        try reportingErrors {
            let configuration = try runConfiguration(processes: world?.size)
            let device = try global.resolveDevice(withFallback: true)
            let progress = TrainProgress(totalSteps: configuration.training.steps)
            // Watched from before the data is prepared and the step compiled, so a SIGTERM during
            // either still ends in an orderly stop.
            let interrupt = InterruptSignal(onFirst: { signal in
                progress.note("SIG\(InterruptSignal.name(signal)): writing a checkpoint and stopping (send it again to quit at once)")
            })
            let trainer = try Trainer(configuration: configuration, outputDirectory: output, device: device, resume: resume,
                                      group: world, events: { progress.handle($0) })
            let outcome = try trainer.run(shouldStop: { interrupt.isSet })
            progress.finish()
            switch outcome {
            case let .completed(step, checkpoint):
                print("done: \(step) steps; checkpoint \(checkpoint)")
            case let .interrupted(step, checkpoint):
                let signal = interrupt.received ?? SIGINT
                print("interrupted at step \(step) by SIG\(InterruptSignal.name(signal)); checkpoint \(checkpoint); continue with --resume")
                throw ExitCode(InterruptSignal.exitStatus(signal))
            }
        }
    }
}
