import ArgumentParser
import Backends
import Devices
import Foundation

/// `ddpm devices`: every device of the registry, clinfo style, or as JSON.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the devices this build knows, with their properties or why they are unavailable.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let listing = DevicesListing(devices: DeviceRegistry.entries().map(DeviceReport.init),
                                     pluginFailures: DeviceRegistry.pluginFailures)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(listing), as: UTF8.self))
        } else {
            var blocks = listing.devices.map(\.text)
            if !listing.pluginFailures.isEmpty {
                blocks.append("plugins that failed to load\n" + listing.pluginFailures.map { "  \($0)" }.joined(separator: "\n"))
            }
            print(blocks.joined(separator: "\n\n"))
        }
    }
}

/// What `ddpm devices --json` prints: every device, and every plugin file that failed to load.
struct DevicesListing: Encodable {
    var devices: [DeviceReport]
    /// One line per failed plugin, naming the file and the reason.
    var pluginFailures: [String]
}

/// One registry entry as `ddpm devices` shows it.
struct DeviceReport: Encodable {
    struct Info: Encodable {
        var deviceName: String
        var vendor: String
        var kind: String
        var platform: String
        var driverVersion: String
        var computeUnits: Int
        var globalMemoryBytes: Int
        var maxAllocationBytes: Int
        var alignment: Int
        var supportsFP16: Bool
        var properties: [String: String]
        /// Display order of `properties` (JSON objects are unordered).
        var propertyOrder: [String]
    }

    var name: String
    var summary: String
    /// `built in`, or `plugin FILE (device interface M.N)`.
    var origin: String
    var available: Bool
    var reason: String?
    var info: Info?

    init(_ entry: DeviceEntry) {
        name = entry.name
        summary = entry.summary
        origin = entry.origin.description
        switch entry.status {
        case let .unavailable(reason):
            available = false
            self.reason = reason
        case .available:
            do {
                let device = try DeviceRegistry.device(named: entry.name)
                let i = device.info
                available = true
                info = Info(
                    deviceName: i.deviceName, vendor: i.vendor, kind: i.kind.rawValue, platform: i.platform,
                    driverVersion: i.driverVersion, computeUnits: i.computeUnits, globalMemoryBytes: i.globalMemoryBytes,
                    maxAllocationBytes: i.maxAllocationBytes, alignment: i.alignment, supportsFP16: i.supportsFP16,
                    properties: Dictionary(i.properties.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }),
                    propertyOrder: i.properties.map(\.key))
            } catch {
                available = false
                reason = "construction failed: \(error)"
            }
        }
    }

    /// clinfo-like block: a title line, then aligned `key  value` lines.
    var text: String {
        guard available, let info else {
            return "\(name)  (unavailable)\n  \(summary)\n  origin: \(origin)\n  reason: \(reason ?? "unknown")"
        }
        var rows: [(String, String)] = [
            ("Origin", origin), ("Device name", info.deviceName), ("Vendor", info.vendor), ("Kind", info.kind),
            ("Platform", info.platform), ("Driver version", info.driverVersion),
            ("Compute units", "\(info.computeUnits)"),
            ("Global memory", Self.bytes(info.globalMemoryBytes)),
            ("Max allocation", Self.bytes(info.maxAllocationBytes)),
            ("Base alignment", "\(info.alignment) bytes"),
            ("FP16", info.supportsFP16 ? "yes" : "no"),
        ]
        rows += info.propertyOrder.map { ($0, info.properties[$0] ?? "") }
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { "  " + $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
        return (["\(name)  (available)", "  \(summary)"] + lines).joined(separator: "\n")
    }

    /// `16.0 GiB (17179869184 bytes)`.
    static func bytes(_ count: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) bytes" : "\(String(format: "%.1f", value)) \(units[unit]) (\(count) bytes)"
    }
}
