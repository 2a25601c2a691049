import NIOCore
import NIOHTTP1

/// Collects one HTTP/1.1 request, lets `SimulatorCore` answer it and writes the answer,
/// honouring keep-alive and the delivery faults (delay, cut body, slow body).
final class HTTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Larger request bodies are refused with 413.
    static let maxBodySize = 64 * 1024 * 1024

    private let core: SimulatorCore
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false

    init(core: SimulatorCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
            tooLarge = false
            // curl asks before sending larger bodies; answer at once instead of letting it wait.
            if requestHead.headers[canonicalForm: "expect"].contains(where: { $0.lowercased() == "100-continue" }) {
                let interim = HTTPResponseHead(version: requestHead.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case .body(var chunk):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBodySize {
                tooLarge = true
                body = nil
                return
            }
            if body == nil {
                body = chunk
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let keepAlive = requestHead.isKeepAlive
            if tooLarge {
                write(
                    SimResponse.json(
                        413,
                        .obj([
                            "error": .string("request_too_large"),
                            "error_description": .string("The request body is too large"),
                        ])),
                    version: requestHead.version, keepAlive: false, context: context)
                return
            }
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let request = SimRequest(
                method: requestHead.method.rawValue, uri: requestHead.uri,
                headers: requestHead.headers.map { (name: $0.name, value: $0.value) }, body: bytes)
            let response = core.handle(request)
            if let hold = response.holdUntil {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                hold.hop(to: context.eventLoop).whenComplete { _ in
                    let (handler, context) = bound.value
                    handler.write(response, version: requestHead.version, keepAlive: keepAlive, context: context)
                }
            } else if case .delay(let milliseconds) = response.delivery, milliseconds > 0 {
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .milliseconds(Int64(milliseconds))) {
                    let (handler, context) = bound.value
                    handler.write(response, version: requestHead.version, keepAlive: keepAlive, context: context)
                }
            } else {
                write(response, version: requestHead.version, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ response: SimResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        for header in response.headers {
            headers.add(name: header.name, value: header.value)
        }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        let cut = response.delivery == .cutBody
        let persistent = keepAlive && !cut
        if version.major == 1 && version.minor == 0 {
            if persistent { headers.replaceOrAdd(name: "Connection", value: "keep-alive") }
        } else if !persistent {
            headers.replaceOrAdd(name: "Connection", value: "close")
        }
        let status = HTTPResponseStatus(statusCode: response.status, reasonPhrase: Self.reason(response.status))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        if cut {
            // Half the body, then the TCP connection closes: the client sees a short read.
            buffer.writeBytes(response.body.prefix(response.body.count / 2))
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.flush()
            context.close(promise: nil)
            return
        }
        if case .slowBody(let milliseconds) = response.delivery, response.body.count > 1 {
            trickle(response.body, over: milliseconds, persistent: persistent, context: context)
            return
        }
        if !response.body.isEmpty {
            buffer.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let done = context.writeAndFlushPromise()
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !persistent {
            let channel = context.channel
            done?.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The body in 20 pieces: the first at once, the others evenly over `milliseconds`. Keeps
    /// the connection busy (no idle gap a read timeout would notice) but ends late.
    private func trickle(_ body: [UInt8], over milliseconds: Int, persistent: Bool, context: ChannelHandlerContext) {
        let pieces = min(20, body.count)
        let size = (body.count + pieces - 1) / pieces
        let chunks = stride(from: 0, to: body.count, by: size).map { Array(body[$0..<min($0 + size, body.count)]) }
        let step = Int64(max(1, milliseconds / max(1, chunks.count - 1)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        for (index, chunk) in chunks.enumerated() {
            context.eventLoop.scheduleTask(in: .milliseconds(step * Int64(index))) {
                let (handler, context) = bound.value
                guard context.channel.isActive else { return }
                var buffer = context.channel.allocator.buffer(capacity: chunk.count)
                buffer.writeBytes(chunk)
                context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                guard index == chunks.count - 1 else { return }
                let done = context.writeAndFlushPromise()
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: done)
                if !persistent {
                    let channel = context.channel
                    done?.futureResult.whenComplete { _ in channel.close(promise: nil) }
                }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 204: return "No Content"
        case 302: return "Found"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 410: return "Gone"
        case 413: return "Payload Too Large"
        case 420: return "Enhance Your Calm"
        case 500: return "Internal Server Error"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        default: return "Status \(status)"
        }
    }
}

private extension ChannelHandlerContext {
    func writeAndFlushPromise() -> EventLoopPromise<Void>? {
        eventLoop.makePromise(of: Void.self)
    }
}
