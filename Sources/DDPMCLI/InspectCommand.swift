import ArgumentParser
import Foundation
import SafeTensors
import Training

/// `ddpm inspect`: what a checkpoint or weights file holds.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's configuration, step, parameter count and tensors (any safetensors file works).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("A checkpoint or safetensors file, or a run folder (its newest checkpoint).", valueName: "path"))
    var path: String

    @Flag(help: "List every tensor (default: a summary per group).")
    var tensors = false

    func run() throws {
        try reportingErrors {
            let file = try CheckpointDirectory.resolve(path)
            let safetensors: SafeTensorsFile
            do { safetensors = try SafeTensorsFile(path: file) } catch let error as SafeTensorsError {
                throw CheckpointError.damaged(path: file, reason: "\(error)")
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            print("file: \(file) (\(InspectCommand.formatBytes(bytes)), \(safetensors.tensors.count) tensors)")
            if safetensors.metadata["format"] == Checkpoint.format {
                let configuration = try Checkpoint.readConfiguration(file)
                print("ddpm checkpoint, format version \(safetensors.metadata["format_version"] ?? "?"), step \(safetensors.metadata["step"] ?? "?")")
                let unetCount = safetensors.tensors.filter { $0.name.hasPrefix("model.") }.reduce(0) { $0 + $1.elementCount }
                let channels = configuration.channels
                print("parameters: \(unetCount) (\(configuration.modelSummary), "
                    + "\(channels) channel\(channels == 1 ? "" : "s"), \(configuration.diffusion.imageHeight)x\(configuration.diffusion.imageWidth) images)")
                print("config:")
                print(InspectCommand.prettyJSON(configuration.json).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            } else {
                let total = safetensors.tensors.reduce(0) { $0 + $1.elementCount }
                print("not a ddpm checkpoint (no ddpm metadata): \(total) elements in all")
                for (key, value) in safetensors.metadata.sorted(by: { $0.key < $1.key }) { print("metadata \(key): \(value)") }
            }
            if tensors {
                for t in safetensors.tensors.sorted(by: { $0.name < $1.name }) {
                    print("  \(t.name)  \(t.dtype.rawValue) \(t.shape)")
                }
            } else {
                print("tensor groups (--tensors lists them all):")
                var groups: [String: (count: Int, elements: Int)] = [:]
                for t in safetensors.tensors {
                    let key = InspectCommand.group(of: t.name)
                    groups[key, default: (0, 0)].count += 1
                    groups[key]!.elements += t.elementCount
                }
                for (key, g) in groups.sorted(by: { $0.key < $1.key }) {
                    print("  \(key)*  \(g.count) tensor\(g.count == 1 ? "" : "s"), \(g.elements) elements")
                }
            }
        }
    }

    /// The group a tensor belongs to: its prefix before the reference key (`model.`,
    /// `optimizer.exp_avg.`, …), or its first name component.
    static func group(of name: String) -> String {
        for prefix in ["optimizer.exp_avg_sq.", "optimizer.exp_avg.", "model.", "ema.", "training."] where name.hasPrefix(prefix) {
            return prefix
        }
        return name.split(separator: ".").first.map { String($0) + "." } ?? name
    }

    static func prettyJSON(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) else { return "\(object)" }
        return String(decoding: data, as: UTF8.self)
    }

    static func formatBytes(_ n: Int) -> String {
        n >= 1 << 20 ? String(format: "%.1f MiB", Double(n) / Double(1 << 20)) : String(format: "%.1f KiB", Double(n) / 1024)
    }
}
