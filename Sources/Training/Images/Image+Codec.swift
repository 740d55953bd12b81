import CImageShim
import SafeTensors

extension Image {
    /// The largest image file read (refused before reading: a sparse 1 TiB "photo" costs nothing).
    public static let maxFileBytes = 256 << 20
    /// The largest decoded image, in bytes of 8-bit samples (`DDPM_IMAGE_MAX_DECODED_BYTES`):
    /// 256 MiB, e.g. 9000x9000 RGB. A header claiming more is refused before any allocation.
    public static let maxDecodedBytes = Int(DDPM_IMAGE_MAX_DECODED_BYTES)

    /// File formats the decoder recognises by their leading bytes (never by the file name).
    public enum Format: String, Sendable {
        case png, jpeg

        /// The format whose signature `bytes` start with, if any.
        public static func sniff(_ bytes: [UInt8]) -> Format? {
            if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
            if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
            return nil
        }
    }

    /// Reads and decodes the PNG or JPEG at `path`.
    ///
    /// - Throws: ``ImageError`` naming `path`: unreadable, not a PNG/JPEG, corrupt or truncated.
    public init(contentsOf path: String) throws {
        switch FileBytes.read(path, limit: Image.maxFileBytes, what: "an image file") {
        case let .failure(f) where f.tooLarge: throw ImageError.tooLarge(path: path, reason: f.reason)
        case let .failure(f): throw ImageError.unreadable(path: path, reason: f.reason)
        case let .success(bytes): try self.init(decoding: bytes, path: path)
        }
    }

    /// Decodes PNG or JPEG bytes (`path` only names the source in errors). PNGs may be gray,
    /// gray + alpha, RGB, RGBA, palette (expanded to RGB/RGBA) or 16-bit (scaled to 8 bits);
    /// JPEGs gray or YCbCr/RGB.
    public init(decoding bytes: [UInt8], path: String) throws {
        guard !bytes.isEmpty else { throw ImageError.corrupt(path: path, reason: "the file is empty") }
        guard let format = Format.sniff(bytes) else {
            throw ImageError.unsupported(path: path, reason: "not a PNG or JPEG file (unrecognised signature)")
        }
        var decoded = ddpm_image()
        var message = [CChar](repeating: 0, count: Int(DDPM_IMAGE_MESSAGE_BYTES))
        let code = bytes.withUnsafeBufferPointer { data in
            message.withUnsafeMutableBufferPointer { m in
                switch format {
                case .png: return ddpm_png_decode(data.baseAddress, data.count, &decoded, m.baseAddress)
                case .jpeg: return ddpm_jpeg_decode(data.baseAddress, data.count, &decoded, m.baseAddress)
                }
            }
        }
        let text = String(cString: message)
        guard code == Int32(DDPM_IMAGE_OK), let pixels = decoded.pixels else {
            if code == Int32(DDPM_IMAGE_TOO_LARGE) { throw ImageError.tooLarge(path: path, reason: "\(format.rawValue.uppercased()): \(text)") }
            if text.contains("CMYK") { throw ImageError.unsupported(path: path, reason: text) }
            throw ImageError.corrupt(path: path, reason: "\(format.rawValue.uppercased()): \(text)")
        }
        defer { ddpm_image_free(pixels) }
        let (w, h, c) = (Int(decoded.width), Int(decoded.height), Int(decoded.channels))
        guard w >= 1, h >= 1, (1...4).contains(c) else {
            throw ImageError.corrupt(path: path, reason: "decoded to an empty or invalid image (\(w)x\(h)x\(c))")
        }
        self.init(width: w, height: h, channels: c, pixels: Array(UnsafeBufferPointer(start: pixels, count: w * h * c)))
    }

    /// The image encoded as PNG (8 bits per sample; gray, gray + alpha, RGB or RGBA by `channels`).
    public func pngData() throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: Int(DDPM_IMAGE_MESSAGE_BYTES))
        let code = pixels.withUnsafeBufferPointer { p in
            message.withUnsafeMutableBufferPointer { m in
                ddpm_png_encode(p.baseAddress, Int32(width), Int32(height), Int32(channels), &out, &size, m.baseAddress)
            }
        }
        guard code == Int32(DDPM_IMAGE_OK), let out else {
            throw ImageError.writeFailed(path: "<memory>", reason: String(cString: message))
        }
        defer { ddpm_image_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    /// Writes the image as a PNG file, atomically (a temporary file renamed over `path`).
    public func writePNG(to path: String) throws {
        let bytes: [UInt8]
        do { bytes = try pngData() } catch let ImageError.writeFailed(_, reason) {
            throw ImageError.writeFailed(path: path, reason: reason)
        }
        do { try SafeTensorsWriter.writeAtomically(bytes, to: path) } catch let SafeTensorsError.io(_, operation, reason) {
            throw ImageError.writeFailed(path: path, reason: "cannot \(operation): \(reason)")
        }
    }
}
