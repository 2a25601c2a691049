/// An active field of an app as its table sees it: what decides its columns (docs/tables.md, "Types").
public struct AppField: Sendable, Equatable {
    public var fieldID: Int
    public var externalID: String?
    public var label: String?
    public var type: String
    /// `config.settings.multiple` is true.
    public var multiple: Bool
    /// `config.settings.end` (`enabled`, `disabled`, `required`), nil when absent.
    public var endSetting: String?
    /// `config.settings.time` (`enabled`, `disabled`, `required`), nil when absent.
    public var timeSetting: String?
    /// `config.settings.return_type` of a calculation (`number`, `date`, `text`, …).
    public var returnType: String?

    public init(
        fieldID: Int, externalID: String?, label: String?, type: String, multiple: Bool = false,
        endSetting: String? = nil, timeSetting: String? = nil, returnType: String? = nil
    ) {
        self.fieldID = fieldID
        self.externalID = externalID
        self.label = label
        self.type = type
        self.multiple = multiple
        self.endSetting = endSetting
        self.timeSetting = timeSetting
        self.returnType = returnType
    }
}
