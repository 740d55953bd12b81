import Devices
import Foundation

/// Where device plugins are looked for, and what was found there.
///
/// In order: the files named with `--device-plugin FILE` (``DeviceRegistry/addPluginFiles(_:)``),
/// the folder of the running executable, then each folder of `DDPM_DEVICE_PATH`
/// (colon-separated). In a folder, a plugin is a file named `libddpm-device-<name>.so`
/// (`.dylib` on macOS); a file named explicitly may have any name. One file is loaded once,
/// whichever way it was found.
struct PluginDiscovery {
    /// Plugins that loaded, in discovery order.
    var loaded: [PluginLibrary] = []
    /// Files that looked like plugins but could not be used, with the reason.
    var failures: [PluginError] = []
    /// The folders searched, for messages.
    var folders: [String] = []

    static let prefix = "libddpm-device-"
    #if os(macOS)
    static let suffix = ".dylib"
    #else
    static let suffix = ".so"
    #endif

    /// The file name of the plugin of family `name` (`opencl` → `libddpm-device-opencl.so`).
    static func fileName(family name: String) -> String { prefix + name + suffix }

    /// Searches and loads. `taken` are the registry names already in use (built-in devices);
    /// a plugin reporting one of them, or a name an earlier plugin took, fails as a whole.
    static func run(explicitFiles: [String], environment: [String: String], executable: String?,
                    taken: Set<String>) -> PluginDiscovery {
        var result = PluginDiscovery()
        var candidates: [String] = explicitFiles
        if let executable { result.folders.append(URL(fileURLWithPath: executable).deletingLastPathComponent().path) }
        if let path = environment["DDPM_DEVICE_PATH"] {
            result.folders += path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        for folder in result.folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
                candidates.append(URL(fileURLWithPath: folder).appendingPathComponent(name).path)
            }
        }
        var seenFiles: Set<String> = []
        var names = taken
        for file in candidates {
            let canonical = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
            guard seenFiles.insert(canonical).inserted else { continue }
            guard FileManager.default.fileExists(atPath: file) else {
                result.failures.append(PluginError(file: file, reason: "does not exist"))
                continue
            }
            do {
                let library = try PluginLibrary(path: file)
                if let clash = library.devices.first(where: { names.contains($0.name) }) {
                    library.api.terminate!(library.plugin)
                    throw PluginError(file: file, reason: "reports a device named '\(clash.name)', a name another device already has")
                }
                names.formUnion(library.devices.map(\.name))
                result.loaded.append(library)
            } catch let error as PluginError {
                result.failures.append(error)
            } catch {
                result.failures.append(PluginError(file: file, reason: "\(error)"))
            }
        }
        return result
    }

    /// The path of the running executable.
    static var executablePath: String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath
    }
}
