/// An option group whose options override variables (`SettingCatalog`): each pair is the
/// variable and the option's value (nil when not given).
protocol SettingOverrides {
    var overrides: [(variable: String, value: String?)] { get }
}
