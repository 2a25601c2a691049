import PodioAPI
import Testing

/// The two "gone" rules: an object (item, comment, file, revision) is gone on 404 or 410 only;
/// an app is not served to these credentials on 403, 404 or 410, and only its definition and
/// its items say so (a 403 on a comment or a file is that object's, not the app's).
@Suite("Podio's gone answers")
struct GoneRuleTests {
    static func error(_ status: Int, _ kind: PodioError.Kind, on endpoint: PodioEndpoint) -> PodioError {
        PodioError(kind: kind, endpoint: endpoint.name, status: status, detail: "")
    }

    @Test func anObjectIsGoneOn404And410NotOn403() {
        #expect(Self.error(404, .notFound, on: .item).isGone)
        #expect(Self.error(410, .gone, on: .itemComments).isGone)
        #expect(!Self.error(403, .auth, on: .fileRaw).isGone)
        #expect(!Self.error(500, .retryable, on: .item).isGone)
        #expect(!Self.error(400, .invalidRequest, on: .item).isGone)
    }

    @Test func anAppIsRefusedOrGoneOn403404And410() {
        for (status, kind) in [(403, PodioError.Kind.auth), (404, .notFound), (410, .gone)] {
            #expect(Self.error(status, kind, on: .app).isRefusedOrGone)
            #expect(Self.error(status, kind, on: .app).meansAppGone)
            #expect(Self.error(status, kind, on: .filterItems).meansAppGone)
        }
        #expect(!Self.error(401, .auth, on: .app).isRefusedOrGone)
        #expect(!Self.error(401, .auth, on: .app).meansAppGone)
        #expect(!Self.error(500, .retryable, on: .filterItems).meansAppGone)
    }

    @Test func onlyTheAppsDefinitionAndItemsSayTheAppIsGone() {
        #expect(!Self.error(403, .auth, on: .itemComments).meansAppGone)
        #expect(!Self.error(404, .notFound, on: .item).meansAppGone)
        #expect(!Self.error(410, .gone, on: .fileRaw).meansAppGone)
    }
}
