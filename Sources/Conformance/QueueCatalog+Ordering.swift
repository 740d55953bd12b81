import Devices
import Foundation

extension QueueCatalog {
    static func orderingCases() -> [QueueCase] {
        var cases: [QueueCase] = []
        // A chain of dependent kernels: x ← 1, then x ← 2x + 1 twenty times in place, then
        // z = copy(x) + x. Every step must see the previous one's result: z = 2·(2²¹ − 1), exactly.
        cases.append(QueueCase("queue.in-order(dependent kernel chain)") { device in
            let queue = try device.makeQueue()
            let n = 1027
            let x = try device.allocate(bytes: n * 4)
            let y = try device.allocate(bytes: n * 4)
            let z = try device.allocate(bytes: n * 4)
            try queue.launch(.fill(count: n, value: 1), [x.slice()])
            for _ in 0..<20 {
                try queue.launch(.unary(.affine(scale: 2, shift: 1), count: n), [x.slice(), x.slice()])
            }
            try queue.launch(.copy(.contiguous(n)), [x.slice(), y.slice()])
            try queue.launch(.binary(.add, .dense(n)), [y.slice(), x.slice(), z.slice()])
            let values = try queue.readFloats(z.slice(), count: n)
            let expected = Float(2 * ((1 << 21) - 1))
            if let bad = values.firstIndex(where: { $0 != expected }) {
                throw CheckFailure(message: "element \(bad) is \(values[bad]), expected \(expected)")
            }
        })
        // Uploads are ordered with kernels: a copy enqueued before an upload sees the old data.
        cases.append(QueueCase("queue.in-order(upload between kernels)") { device in
            let queue = try device.makeQueue()
            let n = 4099
            let w = try device.allocate(bytes: n * 4)
            let before = try device.allocate(bytes: n * 4)
            let after = try device.allocate(bytes: n * 4)
            try queue.upload([Float](repeating: 3, count: n), to: w.slice())
            try queue.launch(.copy(.contiguous(n)), [w.slice(), before.slice()])
            try queue.upload([Float](repeating: 5, count: n), to: w.slice())
            try queue.launch(.copy(.contiguous(n)), [w.slice(), after.slice()])
            let first = try queue.readFloats(before.slice(), count: n)
            let second = try queue.readFloats(after.slice(), count: n)
            try expect(first.allSatisfy { $0 == 3 }, "a copy enqueued before an upload saw the uploaded data")
            try expect(second.allSatisfy { $0 == 5 }, "a copy enqueued after an upload did not see the uploaded data")
        })
        // Downloads are ordered too: each one sees the state at its place in the queue.
        cases.append(QueueCase("queue.in-order(downloads between kernels)") { device in
            let queue = try device.makeQueue()
            let n = 333
            let x = try device.allocate(bytes: n * 4)
            let first = HostBuffer(byteCount: n * 4)
            let second = HostBuffer(byteCount: n * 4)
            try queue.launch(.fill(count: n, value: 1), [x.slice()])
            try queue.download(x.slice(), into: first)
            try queue.launch(.fill(count: n, value: 2), [x.slice()])
            try queue.download(x.slice(), into: second)
            try queue.synchronize()
            try expect(first.floats().allSatisfy { $0 == 1 }, "the first download saw a later fill")
            try expect(second.floats().allSatisfy { $0 == 2 }, "the second download missed the fill before it")
        })
        cases.append(QueueCase("event.record-wait") { device in
            let queue = try device.makeQueue()
            let n = 1 << 16
            let x = try device.allocate(bytes: n * 4)
            let host = HostBuffer(byteCount: n * 4)
            try queue.launch(.fill(count: n, value: 7), [x.slice()])
            try queue.download(x.slice(), into: host)
            let event = try queue.record()
            let syncs = queue.counters.hostSynchronizations
            try event.wait()
            try expect(event.isComplete, "isComplete is false after wait() returned")
            try expect(queue.counters.hostSynchronizations == syncs + 1,
                       "wait() counted \(queue.counters.hostSynchronizations - syncs) host synchronisations, expected 1")
            try expect(host.floats().allSatisfy { $0 == 7 }, "the download before the event was not complete after wait()")
            let idle = try queue.record()
            try queue.synchronize()
            try expect(idle.isComplete, "an event recorded before synchronize() is not complete after it")
        })
        // isComplete must become true without anyone waiting on the event itself.
        cases.append(QueueCase("event.is-complete(polling)") { device in
            let queue = try device.makeQueue()
            let x = try device.allocate(bytes: 4096)
            try queue.launch(.fill(count: 1024, value: 1), [x.slice()])
            let event = try queue.record()
            let deadline = Date().addingTimeInterval(10)
            while !event.isComplete {
                if Date() > deadline {
                    throw CheckFailure(message: "isComplete stayed false for 10 s after a single fill")
                }
                Thread.sleep(forTimeInterval: 0.001)
            }
        })
        // Cross-queue dependency: queue B waits on the device for queue A's event, then reads
        // what A wrote. The chain on A is long enough that skipping the wait shows.
        cases.append(QueueCase("event.wait-on-device(two queues)") { device in
            let producer = try device.makeQueue()
            let consumer = try device.makeQueue()
            let n = 1 << 16
            let x = try device.allocate(bytes: n * 4)
            let y = try device.allocate(bytes: n * 4)
            try producer.launch(.fill(count: n, value: 0), [x.slice()])
            for _ in 0..<40 {
                try producer.launch(.unary(.affine(scale: 1, shift: 1), count: n), [x.slice(), x.slice()])
            }
            let done = try producer.record()
            try consumer.waitOnDevice(for: done)
            try consumer.launch(.copy(.contiguous(n)), [x.slice(), y.slice()])
            let values = try consumer.readFloats(y.slice(), count: n)
            if let bad = values.firstIndex(where: { $0 != 40 }) {
                throw CheckFailure(message: "the consumer queue read \(values[bad]) at \(bad), expected 40: it did not wait for the producer")
            }
            try producer.synchronize()
        })
        return cases
    }
}
