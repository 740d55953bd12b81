import Devices
import Diffusion
import Foundation
import Graph
import SafeTensors

/// Runs the golden cases written by `make_golden.py` and `make_golden_cfg.py` (PyTorch +
/// denoising-diffusion-pytorch 2.3.4) on one device and compares every result with the reference.
/// A case's kind comes from its config (`num_classes` in `unet` marks a class-conditional one,
/// whose checks are listed at ``GoldenContext/checkConditionalForward()``).
///
/// Per case: the Unet forward (max abs err ≤ 1e-4), the training loss (≤ 1e-4) and every
/// parameter gradient (NMSE ≤ 1e-6), the three beta schedules and ᾱ (max rel err ≤ 1e-6), the
/// DDIM chain from the recorded x_T (max abs err ≤ 1e-3) and the ancestral chain with its recorded
/// noise (≤ 1e-3).
///
/// ```swift
/// let summary = try GoldenRunner.run(directory: "golden", device: device) { print($0) }
/// // tiny: unet.forward: max abs err 1.2e-06 > 1e-04 ...   (one line per failed check)
/// // 2 passed, 0 failed
/// ```
public enum GoldenRunner {
    /// The bounds of the checks.
    public enum Tolerance {
        public static let forward = 1e-4
        public static let loss = 1e-4
        public static let gradientNMSE = 1e-6
        public static let schedule = 1e-6
        public static let chain = 1e-3
    }

    /// Runs every case folder in `directory` (each holding `config.json`) on `device`, calling
    /// `output` with a line per failed check (every check when `verbose`) and, last, `N passed,
    /// M failed` counting cases.
    @discardableResult
    public static func run(directory: String, device: Device, verbose: Bool = false,
                           output: (String) -> Void = { print($0) }) throws -> GoldenSummary {
        let folders = try GoldenCase.discover(in: directory)
        guard !folders.isEmpty else {
            throw GoldenCaseError.badDirectory(path: directory, reason: "no case folder (a folder with config.json) found")
        }
        var summary = GoldenSummary(device: device.info.name, cases: [])
        for folder in folders {
            let result = runCase(directory: folder, device: device)
            for check in result.checks where verbose || !check.passed {
                output("\(result.name): \(check.line)")
            }
            if let error = result.error { output("\(result.name): error: \(error)") }
            summary.cases.append(result)
        }
        output(summary.line)
        return summary
    }

    /// Runs one case folder on `device`; a case that cannot run reports why in ``GoldenCaseResult/error``.
    public static func runCase(directory: String, device: Device) -> GoldenCaseResult {
        let name = URL(fileURLWithPath: directory).lastPathComponent
        var result = GoldenCaseResult(name: name, checks: [], error: nil)
        do {
            let golden = try GoldenCase(directory: directory)
            let context = try GoldenContext(golden: golden, device: device)
            let checks: [() throws -> [GoldenCheck]]
            switch golden.kind {
            case .unconditional:
                checks = [context.checkForward, context.checkLossAndGradients, context.checkSchedules, context.checkDDIM, context.checkDDPM]
            case .classConditional:
                checks = [context.checkConditionalForward, context.checkConditionalLossAndGradients,
                          context.checkGuidedDDIM, context.checkGuidedDDPM]
            }
            for check in checks { result.checks += try check() }
        } catch {
            result.error = "\(error)"
        }
        return result
    }
}

/// What the checks of one case share: the case, its files and a queue of the device.
struct GoldenContext {
    let golden: GoldenCase
    let io: SafeTensorsFile
    let weights: SafeTensorsFile
    let queue: Queue
    /// The Unet of an unconditional case, or of a class-conditional one.
    let model: Model

    enum Model {
        case unconditional(Unet)
        case classConditional(ConditionalUnet, Guidance)
    }

    init(golden: GoldenCase, device: Device) throws {
        self.golden = golden
        self.io = try SafeTensorsFile(path: golden.ioPath)
        self.weights = try SafeTensorsFile(path: golden.weightsPath)
        self.queue = try device.makeQueue()
        if let u = golden.conditionalUnet, let guidance = golden.guidance {
            model = .classConditional(try ConditionalUnet(u), guidance)
        } else if let u = golden.unet {
            model = .unconditional(try Unet(u))
        } else {
            throw GoldenCaseError.badConfig(file: golden.directory + "/config.json", reason: "no Unet configuration")
        }
    }

    /// The unconditional Unet (the checks of `make_golden.py` cases).
    var unet: Unet {
        get throws {
            guard case let .unconditional(u) = model else {
                throw GoldenCaseError.badConfig(file: golden.directory + "/config.json", reason: "not an unconditional case")
            }
            return u
        }
    }

    /// A tensor of io.safetensors, checked against the shape config.json lists.
    func tensor(_ name: String) throws -> [Float] {
        guard io.contains(name) else { throw GoldenCaseError.missingTensor(file: golden.ioPath, name: name) }
        if let listed = golden.tensors[name], try io.info(name).shape != listed {
            throw GoldenCaseError.badConfig(file: golden.ioPath, reason: "tensor '\(name)' is \(try io.info(name).shape), config.json lists \(listed)")
        }
        return try io.floats(name)
    }

    func shape(_ name: String) throws -> [Int] { try io.info(name).shape }
}
