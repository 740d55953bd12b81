import SafeTensors
import XCTest
@testable import Diffusion

/// The one JSON parser (`JSONDocument`, the safetensors header's strict parser) feeding the one
/// typed reader (`JSONOptions`): types are told apart as `JSONSerialization`'s were, and what the
/// strict parser refuses is refused for configurations too.
final class JSONDocumentTests: XCTestCase {
    func testTypedReadsOverTheStrictParser() throws {
        let text = #"{"flag": true, "count": 3, "rate": 1e-4, "half": 0.5, "big": 9007199254740993, "name": "x", "list": [1, 2], "none": null, "sub": {"k": false}}"#
        var o = JSONOptions(try JSONDocument.parseObject(Array(text.utf8)), context: "test")
        XCTAssertEqual(try o.bool("flag"), true)
        XCTAssertEqual(try o.int("count"), 3)
        XCTAssertEqual(try o.double("rate"), 1e-4)
        XCTAssertEqual(try o.double("half"), 0.5)
        XCTAssertEqual(try o.int("big"), 9007199254740993, "an integer is read exactly, not through a double")
        XCTAssertEqual(try o.string("name"), "x")
        XCTAssertEqual(try o.ints("list"), [1, 2])
        XCTAssertFalse(o.has("none"))
        XCTAssertEqual(try o.object("sub")?["k"] as? Bool, false)
        // A boolean is not a number and a number is not a boolean, as before.
        XCTAssertThrowsError(try o.int("flag")) { XCTAssertTrue("\($0)".contains("test.flag must be an integer"), "\($0)") }
        XCTAssertThrowsError(try o.bool("count")) { XCTAssertTrue("\($0)".contains("test.count must be true or false"), "\($0)") }
        XCTAssertThrowsError(try o.int("half")) { XCTAssertTrue("\($0)".contains("test.half must be an integer"), "\($0)") }
    }

    func testDuplicateKeysDeepNestingAndTrailingTextAreRefused() {
        func failure(_ text: String) -> String? {
            do { _ = try JSONDocument.parseObject(Array(text.utf8)); return nil } catch let f as JSONDocument.Failure {
                return f.message
            } catch { return "unexpected \(error)" }
        }
        XCTAssertTrue(failure(#"{"steps": 1, "steps": 2}"#)?.contains("duplicate key 'steps'") == true)
        XCTAssertTrue(failure(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))?.contains("nesting deeper than") == true)
        XCTAssertTrue(failure(#"{"a": 1} x"#)?.contains("trailing characters") == true)
        XCTAssertEqual(failure("[1, 2]"), "the top level is not a JSON object")
    }
}
