import Testing

@testable import PodioMirror

@Suite("Advisory lock keys")
struct LockKeysTests {
    /// Two jobs that share a session-scoped key exclude each other for no reason: the hook
    /// queue's drain once held the deep-history key, and no run could read history meanwhile.
    @Test func everyFixedKeyIsDistinct() {
        let keys: [Int64] = [0x706F_6469_6F01, 0x706F_6469_6F03, 0x706F_6469_6F04, 0x706F_6469_6F05]
        #expect(Array(LockKeys.fixed.prefix(4)) == keys)
        #expect(Set(LockKeys.fixed).count == LockKeys.fixed.count)
        #expect(LockKeys.hookQueue != LockKeys.deepHistory)
        for identity in ["a@example.com", "app:42", ""] {
            #expect(!LockKeys.fixed.contains(QuotaLedger.lockKey(identity)))
            #expect(!LockKeys.fixed.contains(LockKeys.token(identity)))
        }
    }
}
