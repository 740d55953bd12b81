import Foundation

/// Paths of the shipped test fixtures and scratch directories for tests.
enum Fixtures {
    /// `Tests/Fixtures/images` (written by `make_image_fixtures.c` there).
    static var imagesDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/images").path
    }

    static func image(_ name: String) -> String { "\(imagesDirectory)/\(name)" }

    /// The fixtures' generating formulas (16x12).
    static let width = 16, height = 12
    static func r(_ x: Int, _ y: Int) -> Int { x * 17 }
    static func g(_ x: Int, _ y: Int) -> Int { y * 23 }
    static func b(_ x: Int, _ y: Int) -> Int { (x + y) * 9 }
    static func a(_ x: Int, _ y: Int) -> Int { 255 - x * 8 }
    static func gray(_ x: Int, _ y: Int) -> Int { x * 8 + y * 10 }

    /// A fresh empty directory under the system's temporary directory, removed by the caller.
    static func temporaryDirectory(_ label: String = "ddpm-training-tests") -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
