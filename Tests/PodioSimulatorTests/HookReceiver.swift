import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP server that records every POST it gets (the webhook side of the tests) and
/// answers with a settable status.
final class HookReceiver: Sendable {
    struct Post: Sendable {
        /// The request target as received (path and query).
        var uri: String
        var contentType: String
        /// The form fields in order, decoded.
        var fields: [(String, String)]

        func value(_ name: String) -> String? { fields.last(where: { $0.0 == name })?.1 }
        var type: String { value("type") ?? "" }
    }

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let box: Box
    let port: Int

    /// "http://127.0.0.1:PORT".
    var url: String { "http://127.0.0.1:\(port)" }

    private init(group: MultiThreadedEventLoopGroup, channel: any Channel, box: Box, port: Int) {
        self.group = group
        self.channel = channel
        self.box = box
        self.port = port
    }

    static func start() async throws -> HookReceiver {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let box = Box()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return HookReceiver(group: group, channel: channel, box: box, port: channel.localAddress?.port ?? 0)
    }

    /// Shared between the receiver and its handlers.
    final class Box: Sendable {
        let posts = Mutex<[Post]>([])
        let status = Mutex(200)
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    var posts: [Post] { box.posts.withLock { $0 } }

    /// Posts other than `hook.verify`.
    var events: [Post] { posts.filter { $0.type != "hook.verify" } }

    func answer(with code: Int) { box.status.withLock { $0 = code } }

    /// Waits (polling, at most `seconds`) until `condition` holds on the posts; returns them.
    @discardableResult
    func wait(seconds: Double = 5, until condition: ([Post]) -> Bool) async throws -> [Post] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let now = posts
            if condition(now) { return now }
            try await Task.sleep(for: .milliseconds(10))
        }
        return posts
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let box: Box
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(box: Box) { self.box = box }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let request):
                head = request
                body = []
            case .body(let chunk):
                body.append(contentsOf: chunk.readableBytesView)
            case .end:
                guard let request = head else { return }
                let text = String(decoding: body, as: UTF8.self)
                let fields: [(String, String)] = text.split(separator: "&").map { pair in
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                        String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                    }
                    return (parts[0], parts.count > 1 ? parts[1] : "")
                }
                let post = Post(
                    uri: request.uri, contentType: request.headers.first(name: "content-type") ?? "", fields: fields)
                box.posts.withLock { $0.append(post) }
                let code = box.status.withLock { $0 }
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                let responseHead = HTTPResponseHead(
                    version: request.version, status: HTTPResponseStatus(statusCode: code), headers: headers)
                context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
