import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import PodioAPI

/// A one-purpose HTTP server on the redirect URL's loopback host and port: it receives Podio's
/// redirect after the user approved access and hands the code on, once the `state` matches.
final class LoginCallbackServer: Sendable {
    enum Outcome: Sendable {
        case code(String)
        case denied(String)
    }

    private let channel: any Channel
    private let outcomes: AsyncStream<Outcome>

    /// Starts listening; fails when the port is taken.
    init(host: String, port: Int, path: String, expectedState: String) async throws {
        let (stream, continuation) = AsyncStream<Outcome>.makeStream()
        outcomes = stream
        let decide: @Sendable (String) -> (HTTPResponseStatus, String) = { uri in
            guard let components = URLComponents(string: uri), components.path == path else {
                return (.notFound, "Not found.")
            }
            let query = Dictionary(
                (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
            guard query["state"] == expectedState else {
                // A request without our state is not the answer to our authorize URL: refuse it.
                return (.badRequest, "The state does not match this login; it was ignored.")
            }
            if let error = query["error"] {
                continuation.yield(.denied(query["error_description"] ?? error))
                return (.ok, "Access was not granted. You can close this window.")
            }
            guard let code = query["code"], !code.isEmpty else { return (.badRequest, "No code in the redirect.") }
            continuation.yield(.code(code))
            return (.ok, "podio-mirror is logged in. You can close this window.")
        }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(CallbackHandler(decide: decide))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Waits for the redirect (or the timeout, on `clock`).
    func waitForOutcome(timeout: Double, clock: any WallClock = SystemClock()) async throws -> Outcome? {
        try await withThrowingTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                for await outcome in self.outcomes { return outcome }
                return nil
            }
            group.addTask {
                try await clock.sleep(until: clock.now().addingTimeInterval(timeout))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    func close() async {
        try? await channel.close()
    }
}

private final class CallbackHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let decide: @Sendable (String) -> (HTTPResponseStatus, String)
    private var uri: String?

    init(decide: @escaping @Sendable (String) -> (HTTPResponseStatus, String)) {
        self.decide = decide
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            uri = head.uri
        case .body:
            break
        case .end:
            let (status, text) = decide(uri ?? "/")
            let body = "<!doctype html><html><body><p>\(text)</p></body></html>"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
