import Devices
import Foundation

/// A runtime-behaviour check run in test mode (IREE CTS style): transfers, ordering, events,
/// counters, memory accounting and error paths, on the device under test alone.
public struct QueueCase: Sendable {
    /// The case string, e.g. `queue.roundtrip(bytes=7, offset=3)`.
    public var name: String
    let body: @Sendable (Device) throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (Device) throws -> Void) {
        self.name = name
        self.body = body
    }

    /// Runs the check; a thrown ``CheckFailure`` or device error is a failure, ``CheckSkip`` a skip.
    func run(on device: Device) -> CaseOutcome {
        let start = DispatchTime.now()
        let status: CaseOutcome.Status
        do {
            try body(device)
            status = .passed
        } catch let failure as CheckFailure {
            status = .failed(reason: failure.message)
        } catch let skip as CheckSkip {
            status = .skipped(reason: skip.reason)
        } catch {
            status = .failed(reason: "unexpected error: \(error)")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) * 1e-9
        return CaseOutcome(name: name, status: status, seconds: seconds)
    }
}

/// A failed expectation inside a ``QueueCase``.
struct CheckFailure: Error {
    var message: String
}

/// A check that does not apply to this device (e.g. it has no allocation limit to exceed).
struct CheckSkip: Error {
    var reason: String
}

/// Fails the current check with `message` unless `condition` holds.
func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw CheckFailure(message: message()) }
}

/// Runs `body` and fails unless it throws a ``DeviceError`` accepted by `matches`.
func expectDeviceError(_ what: String, matches: (DeviceError) -> Bool, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DeviceError {
        if matches(error) { return }
        throw CheckFailure(message: "\(what): threw the wrong error: \(error)")
    } catch {
        throw CheckFailure(message: "\(what): threw a non-DeviceError: \(error)")
    }
    throw CheckFailure(message: "\(what): no error was thrown")
}

/// A buffer that belongs to no real device: launching with it must be refused, never dereferenced.
final class ForeignBuffer: Buffer, @unchecked Sendable {
    let byteCount: Int
    let deviceName = "conformance-foreign-device"

    init(byteCount: Int) { self.byteCount = byteCount }
}
