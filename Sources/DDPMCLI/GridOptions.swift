import ArgumentParser
import Training

/// How a picture of small images is enlarged for viewing.
struct GridOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Size of a written grid or strip: 'auto' (enlarged by a whole factor to at least 256 pixels), "
                               + "'1' (as drawn), or WxH (exactly, nearest neighbour).", valueName: "auto|1|WxH"))
    var gridSize: String = "auto"

    func validate() throws { _ = try parsed() }

    enum Size: Equatable { case auto, original, exact(width: Int, height: Int) }

    /// The largest exact size accepted, per side.
    static let maxSide = 8192

    func parsed() throws -> Size {
        switch gridSize {
        case "auto": return .auto
        case "1": return .original
        default:
            let parts = gridSize.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard parts.count == 2, let w = parts[0], let h = parts[1], (1...GridOptions.maxSide).contains(w), (1...GridOptions.maxSide).contains(h) else {
                throw ValidationError("--grid-size must be auto, 1 or WxH with sides in 1...\(GridOptions.maxSide), got '\(gridSize)'")
            }
            return .exact(width: w, height: h)
        }
    }

    /// `image` at the asked size.
    func apply(_ image: Image) throws -> Image {
        switch try parsed() {
        case .auto: return image.enlargedForViewing()
        case .original: return image
        case let .exact(w, h): return image.enlarged(width: w, height: h)
        }
    }
}
