import ArgumentParser
import Backends
import Devices
import Foundation

/// Options every subcommand accepts, before or after the subcommand name.
///
/// The root command and each subcommand declare `@OptionGroup var global: GlobalOptions`;
/// ArgumentParser fills the subcommand's copy from `ddpm --device X sub` as well as from
/// `ddpm sub --device X`.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Registry name of the device to run on (see `ddpm devices`).", valueName: "name"))
    var device: String = DeviceRegistry.defaultDeviceName

    @Option(name: .customLong("device-plugin"),
            help: ArgumentHelp("A device plugin to load (a shared library built against ddpm_device.h); repeatable. "
                               + "Plugins are also found next to the ddpm binary and in DDPM_DEVICE_PATH.", valueName: "file"))
    var devicePlugins: [String] = []

    /// Registers `--device-plugin` files before any command looks a device up.
    func validate() throws {
        if !devicePlugins.isEmpty { DeviceRegistry.addPluginFiles(devicePlugins) }
    }

    /// The selected device, or a clean error naming the problem.
    ///
    /// `withFallback` (training, sampling, bench): a plugin device comes wrapped in a
    /// ``FallbackDevice``, so kernels it does not implement run on the CPU. Conformance runs
    /// test the device itself.
    func resolveDevice(withFallback: Bool = false) throws -> Device {
        try withCleanErrors {
            withFallback ? try DeviceRegistry.executionDevice(named: device) : try DeviceRegistry.device(named: device)
        }
    }
}

/// Runs `body`, turning device errors into a one-line `error: …` on standard error and exit
/// status 2, so users never see a stack trace or a Swift error dump.
func withCleanErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as DeviceError {
        printError("error: \(error)")
        throw ExitCode(2)
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    var stream = StandardError()
    print(line, to: &stream)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
