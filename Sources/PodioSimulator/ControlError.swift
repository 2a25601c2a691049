extension PodioSimulator {
    /// Why an in-process or `/_sim/` control call was refused.
    public enum ControlError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownApp(Int)
        case unknownItem(Int)
        case itemDeleted(Int)
        case unknownField(Int)
        case invalid(String)

        public var description: String {
            switch self {
            case .unknownApp(let id): return "no app \(id)"
            case .unknownItem(let id): return "no item \(id)"
            case .itemDeleted(let id): return "item \(id) is deleted"
            case .unknownField(let id): return "no field \(id) in that app"
            case .invalid(let message): return message
            }
        }
    }
}
