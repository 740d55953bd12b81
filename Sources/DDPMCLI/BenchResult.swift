#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Graph

/// What one `ddpm bench` run measured.
struct BenchResult {
    var settings: BenchSettings
    /// Registry name (`cpu`, `opencl:0`) and the device's own name.
    var device: String
    var deviceName: String
    var parameters: Int
    var compileSeconds: Double
    /// Median seconds of one training step, and every measured step.
    var trainStepSeconds: Double
    var trainStepTimes: [Double]
    /// Process CPU seconds per training step (all threads, user + system).
    var trainStepCPUSeconds: Double
    /// Median seconds of one Unet forward (the sampling step's network), and every measured run.
    var forwardSeconds: Double
    var forwardTimes: [Double]
    var forwardCPUSeconds: Double
    /// Queue counters per training step, over a window that ends with one synchronisation.
    var kernelsPerStep: Double
    var uploadBytesPerStep: Double
    var downloadBytesPerStep: Double
    var hostSyncsPerStep: Double
    var deviceCopiesPerStep: Double
    /// What compiling the training step's graph and the forward's did: nodes, kernels, fusions,
    /// materialised copies and the memory plan (the one arena of every intermediate, and what the
    /// intermediates would take without reuse).
    var trainGraph: CompileReport
    var forwardGraph: CompileReport
    /// GEMM and convolution flops of one step / one forward (2 per multiply-add).
    var trainFlopsPerStep: Double
    var forwardFlops: Double
    /// The process's peak resident set (getrusage), everything included.
    var peakRSSBytes: Int
    var trainProfile: BenchProfile?
    var forwardProfile: BenchProfile?
    /// Where a training step's kernels ran, and the bytes moved per step (partial devices).
    var placement: BenchPlacement

    /// What the measured training step contains, in words.
    var stepContents: String {
        var parts = ["forward", "loss", "backward"]
        if settings.clip { parts.append("grad-norm clip") }
        parts.append("Adam")
        if settings.ema { parts.append("EMA (every step)") }
        return parts.joined(separator: " + ")
    }

    /// The one-line JSON object of `--json` (keys sorted).
    var jsonLine: String {
        var o: [String: Any] = [
            "device": device, "device_name": deviceName,
            "dim": settings.dim, "mults": settings.mults, "image_size": settings.imageSize,
            "channels": settings.channels, "batch": settings.batch, "steps": settings.steps, "warmup": settings.warmup,
            "params": parameters, "compile_s": round5(compileSeconds),
            "train_step_s": round5(trainStepSeconds), "train_step_times_s": trainStepTimes.map(round5),
            "train_step_cpu_s": round5(trainStepCPUSeconds), "forward_cpu_s": round5(forwardCPUSeconds),
            "train_images_per_s": round5(Double(settings.batch) / trainStepSeconds),
            "forward_s": round5(forwardSeconds), "forward_times_s": forwardTimes.map(round5),
            "step_includes_clip": settings.clip, "step_includes_ema": settings.ema,
            "kernels_per_step": kernelsPerStep, "upload_bytes_per_step": uploadBytesPerStep,
            "download_bytes_per_step": downloadBytesPerStep, "host_syncs_per_step": hostSyncsPerStep,
            "device_copies_per_step": deviceCopiesPerStep, "forward_kernels": forwardGraph.kernels,
            "arena_peak_bytes": trainGraph.memory.arenaPeakBytes,
            "intermediate_bytes_total": trainGraph.memory.intermediateBytes,
            "forward_arena_peak_bytes": forwardGraph.memory.arenaPeakBytes,
            "train_graph": Self.json(trainGraph), "forward_graph": Self.json(forwardGraph),
            "train_gflop_per_step": round5(trainFlopsPerStep / 1e9), "forward_gflop": round5(forwardFlops / 1e9),
            "peak_rss_bytes": peakRSSBytes,
        ]
        if let p = trainProfile { o["train_profile"] = p.json }
        if let p = forwardProfile { o["forward_profile"] = p.json }
        if settings.placement { o["placement"] = placement.json }
        return benchJSONLine(o)
    }

    /// The human-readable report.
    var text: String {
        let s = settings
        var lines = [
            "ddpm bench on \(device) (\(deviceName))",
            "model: Unet(dim \(s.dim), mults \(s.mults.map(String.init).joined(separator: ",")), channels \(s.channels)), "
                + "\(formatCount(parameters)) parameters; GaussianDiffusion(image \(s.imageSize)x\(s.imageSize), T 1000, pred_v, sigmoid)",
            "batch \(s.batch), \(s.warmup) warm-up + \(s.steps) measured steps (medians), compile \(String(format: "%.2f", compileSeconds)) s",
            "",
            String(format: "train step   %9.4f s  (%.1f images/s, %.1f GFLOP/s on GEMM/conv, %.3f CPU s)", trainStepSeconds,
                   Double(s.batch) / trainStepSeconds, trainFlopsPerStep / trainStepSeconds / 1e9, trainStepCPUSeconds),
            "             = \(stepContents)",
            String(format: "unet forward %9.4f s  (%.1f GFLOP/s, %.3f CPU s)", forwardSeconds, forwardFlops / forwardSeconds / 1e9,
                   forwardCPUSeconds),
            "",
            String(format: "per step: %.0f kernels, %.0f bytes up, %.1f bytes down, %.2f host syncs, %.1f device copies",
                   kernelsPerStep, uploadBytesPerStep, downloadBytesPerStep, hostSyncsPerStep, deviceCopiesPerStep),
            "arena peak \(formatBytes(trainGraph.memory.arenaPeakBytes)) (intermediates without reuse: "
                + "\(formatBytes(trainGraph.memory.intermediateBytes))); forward arena "
                + "\(formatBytes(forwardGraph.memory.arenaPeakBytes)), \(forwardGraph.kernels) kernels",
            "graph, training step: \(Self.text(trainGraph))",
            "graph, forward: \(Self.text(forwardGraph))",
            "peak RSS \(formatBytes(peakRSSBytes))",
        ]
        if let p = trainProfile { lines += ["", p.text(title: "training step profile", top: settings.profileShapes)] }
        if let p = forwardProfile { lines += ["", p.text(title: "forward profile", top: settings.profileShapes)] }
        if settings.placement { lines += ["", placement.text(device: device)] }
        return lines.joined(separator: "\n")
    }

    /// `1271 nodes, 788 kernels, 24 fusions (24 residual, 0 bias into GEMM, 0 into affine), 29
    /// materialised copies, 151 of 627 intermediates in place`.
    static func text(_ r: CompileReport) -> String {
        "\(r.nodes) nodes, \(r.kernels) kernels, \(r.fusion.total) fusions (\(r.fusion.residualIntoGemm) residual, "
            + "\(r.fusion.biasIntoGemm) bias into GEMM, \(r.fusion.scalarIntoAffine) into affine), "
            + "\(r.materializations) materialised copies, \(r.memory.inPlace) of \(r.memory.intermediates) intermediates in place"
    }

    static func json(_ r: CompileReport) -> [String: Any] {
        ["nodes": r.nodes, "kernels": r.kernels, "materialized_copies": r.materializations,
         "fusions_residual_into_gemm": r.fusion.residualIntoGemm, "fusions_bias_into_gemm": r.fusion.biasIntoGemm,
         "fusions_scalar_into_affine": r.fusion.scalarIntoAffine,
         "intermediates": r.memory.intermediates, "intermediates_in_place": r.memory.inPlace,
         "arena_peak_bytes": r.memory.arenaPeakBytes, "intermediate_bytes_total": r.memory.intermediateBytes]
    }
}

#if canImport(Glibc)
/// Glibc imports `RUSAGE_SELF` as an enum case; `getrusage` takes its raw value.
private let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// The process's resource usage: peak resident set and CPU time, and the monotonic clock.
enum ProcessUsage {
    /// Seconds of a monotonic clock (since boot): intervals between two readings are wall time.
    static func uptimeSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// User + system CPU seconds of every thread of this process so far.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF_WHO, &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// The peak resident set size in bytes.
    static func residentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF_WHO, &usage) == 0 else { return 0 }
        #if canImport(Darwin)
        return Int(usage.ru_maxrss)            // bytes on Darwin
        #else
        return Int(usage.ru_maxrss) * 1024     // kilobytes on Linux
        #endif
    }
}

/// One line of JSON with sorted keys, the form every `ddpm bench --json` prints.
func benchJSONLine(_ object: [String: Any]) -> String {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}

func round5(_ x: Double) -> Double { (x * 1e5).rounded() / 1e5 }

/// `35,711,491`-style grouping.
func formatCount(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}

/// Bytes in MiB with one decimal (KiB below one MiB).
func formatBytes(_ n: Int) -> String {
    n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / 1048576) : String(format: "%.1f KiB", Double(n) / 1024)
}
