import Foundation
import PodioAPI
import Testing

@Suite("Retry policy and error descriptions")
struct PolicyTests {
    @Test func backoffIsExponentialJitteredAndCapped() {
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 4, maxElapsed: 60)
        for _ in 0..<200 {
            #expect((0.25...0.5).contains(policy.delay(after: 1)))
            #expect((0.5...1).contains(policy.delay(after: 2)))
            #expect((1...2).contains(policy.delay(after: 3)))
            #expect((2...4).contains(policy.delay(after: 5)))
            #expect((2...4).contains(policy.delay(after: 64)))  // capped, no overflow
        }
    }

    @Test func errorDescriptionCarriesStatusCodeDetailRequestAndAttempts() {
        let error = PodioError(
            kind: .retryable, endpoint: "GET /org/", status: 503, code: "unavailable", detail: "try later",
            requestID: "AaYBYuTF", attempts: 4)
        #expect(
            error.description
                == "Podio GET /org/ answered 503 unavailable: try later (request AaYBYuTF) after 4 attempts")
        let transport = PodioError(kind: .retryable, endpoint: "GET /org/", detail: "timed out")
        #expect(transport.description == "Podio GET /org/ failed: timed out")
    }
}
