import Devices
import Foundation
import Graph

/// Where the time of one run goes: seconds per kernel family (queue profiling) and the slowest
/// kernel shapes (each launch timed on its own).
struct BenchProfile {
    /// One kernel family's share of a run.
    struct Row {
        var family: String
        /// Device seconds per run spent in this family.
        var seconds: Double
        var launches: Double
        /// Floating-point operations per run (GEMM and convolution families only).
        var flops: Double
    }

    /// One kernel shape (its exact case string) and the launches of a run that have it.
    struct Launch {
        var kernel: String
        /// The first graph node (or tail step) with this shape, to find it in the model.
        var label: String
        var launches: Int
        var seconds: Double
        var flops: Double
    }

    /// Wall-clock seconds per profiled run (profiling adds a little per launch).
    var wallSeconds: Double
    /// Families, slowest first.
    var rows: [Row]
    /// Kernel shapes, slowest first (filled by ``BenchRunner/slowestLaunches(_:queue:)``).
    var launches: [Launch] = []

    /// Device seconds summed over all families.
    var deviceSeconds: Double { rows.reduce(0) { $0 + $1.seconds } }

    /// The family table, then the `top` slowest kernel shapes.
    func text(title: String, top: Int = 15) -> String {
        var lines = [String(format: "%@: %.1f ms per run wall, %.1f ms in kernels", title, wallSeconds * 1e3, deviceSeconds * 1e3)]
        lines.append(pad("family", 28) + pad("launches", 10, left: true) + pad("ms/run", 10, left: true)
                     + pad("share", 8, left: true) + pad("GFLOP/s", 10, left: true))
        let total = max(deviceSeconds, 1e-12)
        for r in rows {
            lines.append(pad(r.family, 28) + pad(String(format: "%.0f", r.launches), 10, left: true)
                         + pad(String(format: "%.2f", r.seconds * 1e3), 10, left: true)
                         + pad(String(format: "%.1f%%", 100 * r.seconds / total), 8, left: true)
                         + pad(r.flops > 0 && r.seconds > 0 ? String(format: "%.1f", r.flops / r.seconds / 1e9) : "", 10, left: true))
        }
        if !launches.isEmpty {
            lines.append("")
            lines.append("slowest kernel shapes (each launch timed alone, host clock):")
            for l in launches.prefix(top) {
                let rate = l.flops > 0 && l.seconds > 0 ? String(format: "  %.1f GFLOP/s", l.flops / l.seconds / 1e9) : ""
                lines.append(String(format: "%8.2f ms  %3d×  ", l.seconds * 1e3, l.launches) + l.kernel + rate + "  [" + l.label + "]")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The family table as JSON objects (for `--json --profile`).
    var json: [[String: Any]] {
        rows.map { ["family": $0.family, "seconds": $0.seconds, "launches": $0.launches, "flops": $0.flops] }
    }
}

extension BenchRunner {
    /// Replays `schedule` one launch at a time, synchronising after each, and sums the host-clock
    /// time per kernel shape, slowest first. Costs one host synchronisation per launch, so it runs
    /// only under `--profile`, after everything else is measured.
    func slowestLaunches(_ schedule: Schedule, queue: Queue) throws -> [BenchProfile.Launch] {
        try queue.synchronize()
        var byShape: [String: BenchProfile.Launch] = [:]
        for launch in schedule.launches {
            let start = DispatchTime.now().uptimeNanoseconds
            try queue.launch(launch.kernel, launch.operands)
            try queue.synchronize()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let key = launch.kernel.caseDescription
            var entry = byShape[key] ?? BenchProfile.Launch(kernel: key, label: launch.label, launches: 0, seconds: 0, flops: 0)
            entry.launches += 1
            entry.seconds += seconds
            entry.flops += launch.kernel.flops
            byShape[key] = entry
        }
        return byShape.values.sorted { $0.seconds > $1.seconds }
    }
}

/// `text` padded with spaces to `width` characters (on the left for numbers).
func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(1, width - text.count))
    return left ? fill + text : text + fill
}
