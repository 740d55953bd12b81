/// The images a user hands to a chain (image-to-image, inpainting, interpolation), read and
/// prepared exactly as training images are: decoded with the same limits and errors naming the
/// file, scaled to cover the model's size and centre-cropped, converted to its channel count.
public enum EditInputs {
    /// `[C, H, W]` in [0, 1] for `model`, from the PNG or JPEG at `path`.
    public static func image(_ path: String, for model: SamplingModel) throws -> [Float] {
        try Image(contentsOf: path).resizedToCover(height: model.diffusion.imageHeight, width: model.diffusion.imageWidth)
            .converted(toChannels: model.channels).planarFloats()
    }

    /// Which colour of a mask marks the region to keep.
    public enum MaskKeeps: String, CaseIterable, Sendable {
        case white, black
    }

    /// The inpainting mask `[C, H, W]` for `model`: 1 where the image is kept, 0 where it is
    /// generated. The mask file must have the image file's size (it is then scaled and cropped as
    /// the image is); its luma is thresholded at ½, so it stays a hard mask after scaling.
    ///
    /// - Throws: ``TrainingError/invalidSetting(_:)`` naming both files when the sizes differ.
    public static func mask(_ path: String, image imagePath: String, keeps: MaskKeeps, for model: SamplingModel) throws -> [Float] {
        let mask = try Image(contentsOf: path), image = try Image(contentsOf: imagePath)
        guard mask.width == image.width, mask.height == image.height else {
            throw TrainingError.invalidSetting("\(path): the mask is \(mask.width)x\(mask.height) pixels but the image \(imagePath) is "
                + "\(image.width)x\(image.height); the mask must have the image's size")
        }
        let (h, w) = (model.diffusion.imageHeight, model.diffusion.imageWidth)
        let gray = mask.converted(toChannels: 1).resizedToCover(height: h, width: w).planarFloats()
        let known = gray.map { value -> Float in (value >= 0.5) == (keeps == .white) ? 1 : 0 }
        return Array((0..<model.channels).map { _ in known }.joined())
    }
}
