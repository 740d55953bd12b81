import Backends
import Devices

/// Devices for the tests, by registry name; a missing or unavailable device throws, so the test
/// fails (it is never skipped).
enum TestDevices {
    static func device(_ name: String) throws -> Device {
        try DeviceRegistry.device(named: name)
    }
}
