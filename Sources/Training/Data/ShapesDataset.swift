import Foundation

/// Procedural images, generated on demand at any size: one antialiased disc, square or triangle
/// of a saturated colour, at a random place, size and rotation, on a dark background. The
/// default dataset, so `ddpm train` works with no data at all; image `i` is always the same.
public final class ShapesDataset: ImageDataset, @unchecked Sendable {
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int

    /// Supersampling per pixel side (4 → 16 coverage samples per pixel).
    static let supersampling = 4

    public init(count: Int = 10_000, channels: Int, height: Int, width: Int) throws {
        guard count >= 1 else { throw DatasetError.invalidShape("shapes: the image count must be positive, got \(count)") }
        guard [1, 3, 4].contains(channels), height >= 1, width >= 1 else {
            throw DatasetError.invalidShape("shapes: cannot make \(channels)-channel \(height)x\(width) images")
        }
        self.count = count
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var summary: String {
        "built-in shapes (\(count) procedural \(height)x\(width) images, \(channels) channel\(channels == 1 ? "" : "s"))"
    }

    enum Kind: CaseIterable { case disc, square, triangle }

    public func image(at index: Int) throws -> Image {
        var rng = SplitMix64(seed: SplitMix64.mix(0x5348_4150_4553, UInt64(index)))
        let kind = Kind.allCases[rng.below(Kind.allCases.count)]
        let side = Double(min(height, width))
        let radius = side * (0.18 + 0.17 * rng.unit())
        let cx = radius * 0.6 + (Double(width) - 1.2 * radius) * rng.unit()
        let cy = radius * 0.6 + (Double(height) - 1.2 * radius) * rng.unit()
        let angle = rng.unit() * 2 * Double.pi
        let background = (0..<3).map { _ in 0.05 + 0.3 * rng.unit() }
        let foreground = ShapesDataset.saturatedColor(hue: rng.unit(), value: 0.75 + 0.25 * rng.unit())
        let (cosA, sinA) = (cos(angle), sin(angle))

        func inside(_ px: Double, _ py: Double) -> Bool {
            // The point in the shape's frame: centred, rotated by −angle, in units of the radius.
            let dx = px - cx, dy = py - cy
            let u = (dx * cosA + dy * sinA) / radius, v = (-dx * sinA + dy * cosA) / radius
            switch kind {
            case .disc: return u * u + v * v <= 1
            case .square: return abs(u) <= 0.8 && abs(v) <= 0.8
            case .triangle:
                // Equilateral, circumradius 1, apex at v = −1.
                let s3 = 3.0.squareRoot()
                return v <= 0.5 && s3 * u - v <= 1 && -s3 * u - v <= 1
            }
        }

        let n = ShapesDataset.supersampling
        var rgb = [Double](repeating: 0, count: height * width * 3)
        for y in 0..<height {
            for x in 0..<width {
                var covered = 0
                for sy in 0..<n {
                    for sx in 0..<n where inside(Double(x) + (Double(sx) + 0.5) / Double(n), Double(y) + (Double(sy) + 0.5) / Double(n)) {
                        covered += 1
                    }
                }
                let f = Double(covered) / Double(n * n)
                for k in 0..<3 { rgb[(y * width + x) * 3 + k] = background[k] * (1 - f) + foreground[k] * f }
            }
        }
        let pixels = rgb.map { UInt8(min(max(($0 * 255).rounded(), 0), 255)) }
        return Image(width: width, height: height, channels: 3, pixels: pixels).converted(toChannels: channels)
    }

    /// Full-saturation HSV colour at `hue` ∈ [0, 1) and brightness `value`.
    static func saturatedColor(hue: Double, value: Double) -> [Double] {
        let h = hue * 6, i = Int(h) % 6, f = h - h.rounded(.down)
        let (p, q, t) = (0.0, value * (1 - f), value * f)
        switch i {
        case 0: return [value, t, p]
        case 1: return [q, value, p]
        case 2: return [p, value, t]
        case 3: return [p, q, value]
        case 4: return [t, p, value]
        default: return [value, p, q]
        }
    }
}
