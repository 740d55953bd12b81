import Devices
import CPUBackend

/// Devices for the tests, by registry name; a missing or unavailable device fails the test.
enum TestDevices {
    static func device(_ name: String) throws -> Device {
        let entries = CPUDeviceFactory().enumerate()
        guard let entry = entries.first(where: { $0.name == name }) else {
            throw DeviceError.unknownDevice(name: name, available: entries.map(\.name))
        }
        switch entry.status {
        case let .available(make): return try make()
        case let .unavailable(reason): throw DeviceError.unavailable(name: name, reason: reason)
        }
    }
}
