import Devices
import Diffusion
import Foundation
import Graph

/// `ddpm bench --sample-images N`: times whole DDIM sampling chains instead of the training step.
///
/// The chain is the one `ddpm sample --sampler ddim` runs (x_t resident on the device from x_T
/// to x₀, the noise drawn on the device, one download of the images at the end), over the same
/// model the training bench builds, with its weights initialised from seed 0 (random weights
/// cost the same arithmetic as trained ones). All `N` images go in one batch, as
/// `scripts/torch_bench.py --sample-images N` samples them with
/// `GaussianDiffusion(unet, image_size, timesteps=1000, sampling_timesteps=S).sample(batch_size=N)`
/// (DDIM, eta 0: the reference's `ddim_sampling_eta` default). One unmeasured chain first
/// (compilation, first-touch pages, the CPU device's transformed filter banks), then
/// ``BenchSettings/sampleRuns`` timed chains.
struct SamplingBench {
    let settings: BenchSettings
    let device: Device

    /// What one sampling bench measured.
    struct Result {
        var settings: BenchSettings
        var device: String
        var deviceName: String
        /// Median seconds of one whole chain, every measured chain, and process CPU seconds per chain.
        var seconds: Double
        var times: [Double]
        var cpuSeconds: Double
        var kernelsPerChain: Int
        var peakRSSBytes: Int

        var jsonLine: String {
            let s = settings
            let o: [String: Any] = [
                "device": device, "device_name": deviceName, "dim": s.dim, "mults": s.mults,
                "image_size": s.imageSize, "channels": s.channels, "sample_images": s.sampleImages,
                "sample_steps": s.sampleSteps, "sample_runs": s.sampleRuns, "sampler": "ddim", "eta": 0,
                "sample_s": round5(seconds), "sample_times_s": times.map(round5), "sample_cpu_s": round5(cpuSeconds),
                "images_per_s": round5(Double(s.sampleImages) / seconds), "kernels_per_chain": kernelsPerChain,
                "peak_rss_bytes": peakRSSBytes,
            ]
            return benchJSONLine(o)
        }

        var text: String {
            let s = settings
            return [
                "ddpm bench (sampling) on \(device) (\(deviceName))",
                "model: Unet(dim \(s.dim), mults \(s.mults.map(String.init).joined(separator: ",")), channels \(s.channels)); "
                    + "GaussianDiffusion(image \(s.imageSize)x\(s.imageSize), T 1000, pred_v, sigmoid)",
                "\(s.sampleImages) images in one batch, DDIM \(s.sampleSteps) steps, eta 0; 1 warm-up + \(s.sampleRuns) measured chains (median)",
                "",
                String(format: "sampling %9.4f s per chain  (%.2f images/s, %.3f CPU s, %d kernels)", seconds,
                       Double(s.sampleImages) / seconds, cpuSeconds, kernelsPerChain),
                "peak RSS \(formatBytes(peakRSSBytes))",
            ].joined(separator: "\n")
        }
    }

    func run() throws -> Result {
        try settings.validate()
        let queue = try device.makeQueue()
        let diffusion = try GaussianDiffusion(unet: Unet(settings.unetConfiguration), configuration: settings.diffusionConfiguration)
        let chain = try DiffusionSampler(diffusion: diffusion, sampler: DDIMSampler(steps: settings.sampleSteps, eta: 0),
                                         batch: settings.sampleImages, queue: queue)
        try chain.step.parameters.initialize(seed: 0, queue: queue)
        _ = try chain.sample(noise: .device(seed: 0))
        queue.resetCounters()
        var images: [Float] = []
        var wall: [Double] = []
        let cpuStart = ProcessUsage.cpuSeconds()
        for run in 1...settings.sampleRuns {
            let start = ProcessUsage.uptimeSeconds()
            images = try chain.sample(noise: .device(seed: UInt64(run)))
            wall.append(ProcessUsage.uptimeSeconds() - start)
        }
        let cpu = (ProcessUsage.cpuSeconds() - cpuStart) / Double(settings.sampleRuns)
        // Finite images show the timed chains did real arithmetic, not NaN propagation.
        guard images.allSatisfy(\.isFinite) else {
            throw BenchError.invalidOption("the DDIM chain produced non-finite images on \(device.info.name)")
        }
        return Result(settings: settings, device: device.info.name, deviceName: device.info.deviceName,
                      seconds: median(wall), times: wall, cpuSeconds: cpu,
                      kernelsPerChain: queue.counters.kernelsLaunched / settings.sampleRuns,
                      peakRSSBytes: ProcessUsage.residentBytes())
    }
}
