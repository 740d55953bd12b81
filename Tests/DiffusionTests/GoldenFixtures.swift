import Foundation

/// The golden cases shipped with the tests (copies of the reference cases, so tests never read
/// anything outside the repository).
enum GoldenFixtures {
    /// `Tests/Fixtures/golden`.
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden").path
    }

    /// The shipped case names (`GoldenRunner` runs them in this, sorted, order).
    static let cases = ["cfg-gray", "cfg-tiny", "tiny", "tiny-gray"]
    /// The unconditional cases (`make_golden.py`).
    static let unconditionalCases = ["tiny", "tiny-gray"]
    /// The class-conditional cases (`make_golden_cfg.py`).
    static let conditionalCases = ["cfg-gray", "cfg-tiny"]

    static func path(_ name: String, _ file: String) -> String { "\(directory)/\(name)/\(file)" }
}
