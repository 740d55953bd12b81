import Foundation

/// The golden cases shipped with the tests (copies of the reference cases, so tests never read
/// anything outside the repository).
enum GoldenFixtures {
    /// `Tests/Fixtures/golden`.
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/golden").path
    }

    /// The shipped case names.
    static let cases = ["tiny", "tiny-gray"]

    static func path(_ name: String, _ file: String) -> String { "\(directory)/\(name)/\(file)" }
}
