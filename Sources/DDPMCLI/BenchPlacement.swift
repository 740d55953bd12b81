import Devices

/// Where the kernels of one training step ran, and what crossed between the device and the CPU.
///
/// For a partial device (a plugin behind a ``FallbackDevice``) some kernel families run on the
/// CPU; this is the report of `ddpm bench --placement`. On a device that runs everything, every
/// family shows all its launches on the device and no bytes move.
struct BenchPlacement {
    /// Per kernel family: launches of one step on the device and on the CPU fallback.
    var perFamily: [(family: String, device: Int, fallback: Int)]
    var bytesToFallbackPerStep: Double
    var bytesFromFallbackPerStep: Double

    init(stepFamilies: [String], counted: QueueCounters, steps: Int) {
        let n = max(steps, 1)
        var total: [String: Int] = [:]
        for family in stepFamilies { total[family, default: 0] += 1 }
        perFamily = total.keys.sorted().map { family in
            let fallback = (counted.fallbackLaunchesPerFamily[family] ?? 0) / n
            return (family, total[family]! - fallback, fallback)
        }
        bytesToFallbackPerStep = Double(counted.bytesToFallback) / Double(n)
        bytesFromFallbackPerStep = Double(counted.bytesFromFallback) / Double(n)
    }

    var json: [String: Any] {
        ["bytes_to_cpu_per_step": bytesToFallbackPerStep, "bytes_from_cpu_per_step": bytesFromFallbackPerStep,
         "families": perFamily.map { ["family": $0.family, "device": $0.device, "cpu": $0.fallback] as [String: Any] }]
    }

    func text(device: String) -> String {
        let width = max(perFamily.map(\.family.count).max() ?? 0, "kernel family".count)
        var lines = ["placement per training step (\(device) / CPU fallback)",
                     "  " + "kernel family".padding(toLength: width, withPad: " ", startingAt: 0) + "  on device  on cpu"]
        for row in perFamily {
            lines.append("  " + row.family.padding(toLength: width, withPad: " ", startingAt: 0)
                         + "  " + String(row.device).leftPadded(9) + "  " + String(row.fallback).leftPadded(6))
        }
        lines.append("  bytes per step: \(formatBytes(Int(bytesToFallbackPerStep))) device -> cpu, "
                     + "\(formatBytes(Int(bytesFromFallbackPerStep))) cpu -> device")
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
