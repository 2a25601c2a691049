import Foundation

extension PodioEndpoint {
    public static let createHook = PodioEndpoint("POST /hook/app/{app_id}/", defaultTier: .general)
    public static let appHooks = PodioEndpoint("GET /hook/app/{app_id}/", defaultTier: .general)
    public static let deleteHook = PodioEndpoint("DELETE /hook/{hook_id}", defaultTier: .general)
    public static let requestHookVerification = PodioEndpoint(
        "POST /hook/{hook_id}/verify/request", defaultTier: .general)
    public static let validateHookVerification = PodioEndpoint(
        "POST /hook/{hook_id}/verify/validate", defaultTier: .general)
}

/// The hooks API (reference §7.3). Every URL passed here carries the mirror's secret path
/// segment: callers redact it before anything reaches a log or an error.
extension PodioClient {
    /// `POST /hook/app/{app_id}/` with `{"url": …, "type": …}`: the new hook's id. Podio then
    /// POSTs `hook.verify` to the URL (possibly before this answer arrives).
    public func createHook(appID: Int, url: String, type: String) async throws -> Int {
        struct Created: Decodable { var hook_id: Int }
        let body = try JSONSerialization.data(withJSONObject: ["url": url, "type": type], options: [.sortedKeys])
        return try await request(.createHook, method: "POST", path: "/hook/app/\(appID)/", body: body) {
            try JSONDecoder().decode(Created.self, from: $0).hook_id
        }
    }

    /// `GET /hook/app/{app_id}/`: the hooks of an app.
    public func hooks(appID: Int) async throws -> [PodioHook] {
        try await request(.appHooks, method: "GET", path: "/hook/app/\(appID)/") {
            try JSONDecoder().decode([PodioHook].self, from: $0)
        }
    }

    /// `DELETE /hook/{hook_id}`.
    public func deleteHook(_ hookID: Int) async throws {
        try await request(.deleteHook, method: "DELETE", path: "/hook/\(hookID)") { _ in () }
    }

    /// `POST /hook/{hook_id}/verify/request`: Podio sends `hook.verify` again.
    public func requestHookVerification(_ hookID: Int) async throws {
        try await request(
            .requestHookVerification, method: "POST", path: "/hook/\(hookID)/verify/request", body: Data("{}".utf8)
        ) { _ in () }
    }

    /// `POST /hook/{hook_id}/verify/validate` with `{"code": …}`: activates the hook.
    public func validateHookVerification(_ hookID: Int, code: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["code": code], options: [.sortedKeys])
        try await request(
            .validateHookVerification, method: "POST", path: "/hook/\(hookID)/verify/validate", body: body
        ) { _ in () }
    }
}
