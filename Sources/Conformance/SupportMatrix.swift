import Devices

/// Support mode: which kernel families each device implements, asked through `supports(_:)`
/// for every test-mode case of the family (ggml's `support` mode, rendered as Markdown).
public struct SupportMatrix: Sendable {
    /// A column: a device, or a registry entry that could not be constructed.
    public enum Column: Sendable {
        case device(Device)
        case unavailable(name: String, reason: String)

        var name: String {
            switch self {
            case let .device(device): return device.info.name
            case let .unavailable(name, _): return name
            }
        }
    }

    /// One cell: how many of the family's cases the device supports.
    public struct Cell: Sendable, Equatable {
        public var supported: Int
        public var total: Int
        /// `nil` when the column's device is unavailable.
        public var available: Bool

        public var text: String {
            if !available { return "unavailable" }
            if supported == total { return "supported" }
            if supported == 0 { return "not supported" }
            return "partial (\(supported)/\(total))"
        }
    }

    public var families: [String]
    public var columns: [String]
    /// `cells[family][column]`.
    public var cells: [[Cell]]
    /// Reasons of unavailable columns, printed under the table.
    public var notes: [String]

    /// Builds the matrix over every family of ``CaseCatalog/kernelCases()`` (filtered by name).
    public static func build(columns: [Column], filter: CaseFilter? = nil) -> SupportMatrix {
        var families: [String] = []
        var kernelsByFamily: [String: [Kernel]] = [:]
        for testCase in CaseCatalog.kernelCases() where filter?.matches(testCase.name) ?? true {
            let family = testCase.kernel.family
            if kernelsByFamily[family] == nil { families.append(family) }
            kernelsByFamily[family, default: []].append(testCase.kernel)
        }
        let cells = families.map { family in
            columns.map { column -> Cell in
                let kernels = kernelsByFamily[family]!
                guard case let .device(device) = column else {
                    return Cell(supported: 0, total: kernels.count, available: false)
                }
                return Cell(supported: kernels.filter(device.supports).count, total: kernels.count, available: true)
            }
        }
        let notes = columns.compactMap { column -> String? in
            if case let .unavailable(name, reason) = column { return "\(name): unavailable: \(reason)" }
            return nil
        }
        return SupportMatrix(families: families, columns: columns.map(\.name), cells: cells, notes: notes)
    }

    /// The matrix as a Markdown table, one row per family.
    public var markdown: String {
        var lines = ["| kernel family | " + columns.joined(separator: " | ") + " |",
                     "| --- |" + String(repeating: " --- |", count: columns.count)]
        for (family, row) in zip(families, cells) {
            lines.append("| \(family) | " + row.map(\.text).joined(separator: " | ") + " |")
        }
        lines += notes.map { "\n\($0)" }
        return lines.joined(separator: "\n")
    }
}
