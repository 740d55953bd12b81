import Devices
import Foundation

extension QueueCatalog {
    static func accountingCases() -> [QueueCase] {
        var cases: [QueueCase] = []
        // Counters count exactly what was asked: the training loop's "stays on the device"
        // tests depend on these numbers.
        cases.append(QueueCase("counters.exact") { device in
            let queue = try device.makeQueue()
            try expect(queue.counters == QueueCounters(), "a new queue's counters are not zero: \(queue.counters)")
            let a = try device.allocate(bytes: 400)
            let b = try device.allocate(bytes: 400)
            try queue.upload([Float](repeating: 1, count: 100), to: a.slice())
            try queue.launch(.unary(.neg, count: 100), [a.slice(), b.slice()])
            try queue.launch(.unary(.exp, count: 100), [b.slice(), b.slice()])
            try queue.launch(.fill(count: 10, value: 0), [a.slice()])
            try queue.copy(from: b.slice(), to: a.slice(offset: 40), byteCount: 360)
            try queue.download(a.slice(offset: 100), into: HostBuffer(byteCount: 100))
            try queue.synchronize()
            var expected = QueueCounters()
            expected.kernelsLaunched = 3
            expected.bytesUploaded = 400
            expected.bytesDownloaded = 100
            expected.deviceCopies = 1
            expected.hostSynchronizations = 1
            var actual = queue.counters
            actual.timePerFamily = [:]
            actual.launchesPerFamily = [:]
            try expect(actual == expected, "counters are \(describe(actual)), expected \(describe(expected))")
            try queue.record().wait()
            try expect(queue.counters.hostSynchronizations == 2, "Event.wait() did not count a host synchronisation")
            queue.resetCounters()
            try expect(queue.counters == QueueCounters(), "resetCounters() left \(describe(queue.counters))")
        })
        cases.append(QueueCase("counters.profiling") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 4096)
            queue.isProfiling = true
            try queue.launch(.fill(count: 1024, value: 1), [x.slice()])
            try queue.launch(.fill(count: 1024, value: 2), [x.slice()])
            try queue.launch(.unary(.silu, count: 1024), [x.slice(), x.slice()])
            try queue.synchronize()
            let profiled = queue.counters
            try expect(profiled.launchesPerFamily["fill"] == 2 && profiled.launchesPerFamily["unary.silu"] == 1,
                       "launchesPerFamily is \(profiled.launchesPerFamily), expected fill: 2, unary.silu: 1")
            try expect(Set(profiled.timePerFamily.keys) == ["fill", "unary.silu"],
                       "timePerFamily has keys \(profiled.timePerFamily.keys.sorted()), expected fill and unary.silu")
            try expect(profiled.timePerFamily.values.allSatisfy { $0 >= 0 && $0.isFinite },
                       "timePerFamily holds negative or non-finite times: \(profiled.timePerFamily)")
            queue.isProfiling = false
            try queue.launch(.fill(count: 1024, value: 3), [x.slice()])
            try queue.synchronize()
            try expect(queue.counters.launchesPerFamily["fill"] == 2, "launches were profiled after isProfiling was turned off")
            try expect(queue.counters.kernelsLaunched == 4, "kernelsLaunched is \(queue.counters.kernelsLaunched), expected 4")
        })
        // Allocation accounting and release: buffers made and dropped inside a scope leave the
        // device's live counts where they were.
        cases.append(QueueCase("memory.no-leaks(allocate, use, release)") { device in
            let baseline = device.memoryStats
            do {
                let queue = try device.makeQueue()
                let sizes = [4, 4096, 1 << 20]
                let buffers = try sizes.map { try device.allocate(bytes: $0) }
                let during = device.memoryStats
                try expect(during.liveBuffers == baseline.liveBuffers + sizes.count,
                           "liveBuffers went from \(baseline.liveBuffers) to \(during.liveBuffers) after \(sizes.count) allocations")
                try expect(during.liveBytes >= baseline.liveBytes + sizes.reduce(0, +),
                           "liveBytes grew by \(during.liveBytes - baseline.liveBytes), less than the \(sizes.reduce(0, +)) allocated")
                try expect(during.peakBytes >= during.liveBytes, "peakBytes \(during.peakBytes) is below liveBytes \(during.liveBytes)")
                try queue.launch(.fill(count: 1024, value: 1), [buffers[1].slice()])
                try queue.launch(.unary(.silu, count: 1024), [buffers[1].slice(), buffers[2].slice()])
                try queue.synchronize()
            }
            try waitForBaseline(device, baseline, what: "after releasing every buffer of the check")
        })
        return cases
    }

    /// Polls `memoryStats` until live counts return to `baseline` (a backend may release buffers
    /// from a completion callback shortly after the host drops them), failing after 2 s.
    static func waitForBaseline(_ device: Device, _ baseline: MemoryStats, what: String) throws {
        let deadline = Date().addingTimeInterval(2)
        var now = device.memoryStats
        while now.liveBuffers != baseline.liveBuffers || now.liveBytes != baseline.liveBytes {
            if Date() > deadline {
                throw CheckFailure(message: "leak \(what): \(now.liveBuffers - baseline.liveBuffers) buffer(s), \(now.liveBytes - baseline.liveBytes) byte(s) still live")
            }
            Thread.sleep(forTimeInterval: 0.01)
            now = device.memoryStats
        }
    }

    static func describe(_ c: QueueCounters) -> String {
        "kernels \(c.kernelsLaunched), up \(c.bytesUploaded) B, down \(c.bytesDownloaded) B, copies \(c.deviceCopies), syncs \(c.hostSynchronizations)"
    }
}
