import Devices

/// Lists the CPU devices: `cpu` (fast, needs OpenBLAS) and `cpu-reference` (the oracle, always there).
public struct CPUDeviceFactory: DeviceFactory {
    public init() {}

    public func enumerate() -> [DeviceEntry] {
        let fast: DeviceEntry
        switch OpenBLAS.shared {
        case let .success(blas):
            fast = DeviceEntry(
                name: CPUDevice.Mode.fast.registryName,
                summary: "host CPU, \(blas.summary), Swift loops on \(Parallel.workers) threads",
                status: .available { FrontEndDevice(try CPUDevice(mode: .fast)) })
        case let .failure(error):
            fast = DeviceEntry(
                name: CPUDevice.Mode.fast.registryName, summary: "host CPU with OpenBLAS",
                status: .unavailable(reason: error.description))
        }
        let reference = DeviceEntry(
            name: CPUDevice.Mode.reference.registryName,
            summary: "host CPU, single-threaded reference loops with Double accumulation (conformance oracle)",
            status: .available { FrontEndDevice(try CPUDevice(mode: .reference)) })
        return [fast, reference]
    }
}
