import Diffusion

/// The class-conditional model of a run (``Diffusion/ModelKind/classConditional``) and the
/// names of its classes, in label order, as stored in every checkpoint.
public struct ClassConditionalModel: Equatable, Sendable {
    public var unet: ConditionalUnetConfiguration
    /// Class names in label order: an image folder's class subfolders sorted by name (as
    /// torchvision's `ImageFolder`), `0`…`9` for the built-in digits.
    public var classNames: [String]

    public init(unet: ConditionalUnetConfiguration, classNames: [String]) {
        self.unet = unet
        self.classNames = classNames
    }

    /// The label of `text`: a class name, or else a label number; anything else is an error
    /// listing the valid classes.
    public func classIndex(_ text: String) throws -> Int {
        if let i = classNames.firstIndex(of: text) { return i }
        if let i = Int(text), classNames.indices.contains(i) { return i }
        throw TrainingError.invalidSetting("unknown class '\(text)'; the model's classes are \(classList)")
    }

    /// `0 (name), 1 (name), …`, or just the names when they are the label numbers.
    public var classList: String {
        let plain = classNames.enumerated().allSatisfy { $0.element == String($0.offset) }
        return classNames.enumerated().map { plain ? $0.element : "\($0.offset) (\($0.element))" }.joined(separator: ", ")
    }

    /// Checks that the names match the Unet's `num_classes` and are distinct.
    public func validate() throws {
        try unet.validate()
        guard classNames.count == unet.numClasses else {
            throw TrainingError.invalidSetting("the model has num_classes \(unet.numClasses) but \(classNames.count) class names")
        }
        guard Set(classNames).count == classNames.count else {
            throw TrainingError.invalidSetting("class names must be distinct, got \(classNames)")
        }
    }
}
