import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends webhook deliveries: POSTs (form-encoded unless a quirk says otherwise), off the request path, each with a bounded
/// timeout, fire and forget (Podio does not retry). Only loopback hosts are ever called; a
/// delivery to another host counts as failed without leaving the machine.
final class HookDispatcher: Sendable {
    private let client: HTTPClient
    private let group: any EventLoopGroup
    private let timeout: TimeAmount
    private let closed = Mutex(false)

    init(group: any EventLoopGroup, timeoutSeconds: Double) {
        let timeout = TimeAmount.milliseconds(Int64(max(0.05, timeoutSeconds) * 1000))
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(connect: timeout, read: timeout)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        self.group = group
        self.timeout = timeout
    }

    /// Sends one delivery after its delay; the future tells whether it was answered 2xx.
    func send(_ delivery: HookDelivery, loopbackAllowed: Bool) -> EventLoopFuture<Bool> {
        let loop = group.next()
        guard !closed.withLock({ $0 }), loopbackAllowed else { return loop.makeSucceededFuture(false) }
        guard delivery.delayMilliseconds > 0 else { return post(delivery, on: loop) }
        return loop.flatScheduleTask(in: .milliseconds(Int64(delivery.delayMilliseconds))) {
            self.post(delivery, on: loop)
        }.futureResult
    }

    private func post(_ delivery: HookDelivery, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        guard !closed.withLock({ $0 }) else { return loop.makeSucceededFuture(false) }
        let request: HTTPClient.Request
        do {
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: delivery.contentType)
            headers.add(name: "User-Agent", value: "Podio-Simulator-Hooks")
            request = try HTTPClient.Request(
                url: delivery.url, method: .POST, headers: headers, body: .string(delivery.body))
        } catch {
            return loop.makeSucceededFuture(false)
        }
        return client.execute(request: request, eventLoop: .delegate(on: loop), deadline: .now() + timeout)
            .map { (200..<300).contains(Int($0.status.code)) }
            .recover { _ in false }
    }

    /// Refuses new deliveries and closes the client (in-flight ones fail).
    func shutdown() async {
        closed.withLock { $0 = true }
        try? await client.shutdown()
    }
}
