import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// `HTTPTransport` over AsyncHTTPClient: one shared client with connect and read timeouts,
/// TLS for https URLs, no redirects (Podio's API does not redirect; a redirect would be a
/// misconfigured `PODIO_API_URL`). Call `shutdown()` once when done.
public final class AsyncHTTPClientTransport: HTTPTransport {
    private let client: HTTPClient
    private let maxBodyBytes: Int

    /// - Parameters:
    ///   - connectTimeout: seconds to establish a connection.
    ///   - readTimeout: seconds without a byte from the server before the request fails.
    ///   - maxBodyBytes: responses larger than this fail instead of exhausting memory.
    public init(connectTimeout: Double = 10, readTimeout: Double = 60, maxBodyBytes: Int = 256 * 1024 * 1024) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = HTTPClient.Configuration.Timeout(
            connect: .milliseconds(Int64(connectTimeout * 1000)), read: .milliseconds(Int64(readTimeout * 1000)))
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        // A refused connection fails the attempt at once: PodioClient's RetryPolicy retries with
        // backoff, bounded. (The pool's own retries would spend the connect timeout on every attempt.)
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxBodyBytes = maxBodyBytes
    }

    public func send(_ request: TransportRequest) async throws -> TransportResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(data: body)) }
        do {
            let timeout = TimeAmount.milliseconds(Int64(request.timeout * 1000))
            let deadline = NIODeadline.now() + timeout
            let response = try await client.execute(outgoing, deadline: deadline)
            let body = try await Self.collect(response.body, upTo: maxBodyBytes, before: deadline)
            return TransportResponse(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Data(buffer: body))
        } catch let error as HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout].contains(error) {
                throw TransportError(.timeout, "timed out (\(error))")
            }
            if [.invalidURL, .emptyHost, .emptyScheme].contains(error) {
                throw TransportError(.invalidURL, "invalid URL \(request.url)")
            }
            throw TransportError(.connection, "connection failed (\(error))")
        } catch let error as NIOTooManyBytesError {
            throw TransportError(.bodyTooLarge, "response larger than \(maxBodyBytes) bytes (\(error))")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TransportError(.connection, "connection failed (\(error))")
        }
    }

    /// The whole body, by `deadline`. AsyncHTTPClient's deadline ends when the response head
    /// arrives, and its read timeout only notices idle gaps, so a body that trickles in would
    /// otherwise hold the call for as long as the server likes. Cancelling the collection
    /// cancels the request (and closes its connection).
    private static func collect(_ body: HTTPClientResponse.Body, upTo limit: Int, before deadline: NIODeadline)
        async throws -> ByteBuffer
    {
        try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask { try await body.collect(upTo: limit) }
            group.addTask {
                let nanoseconds = deadline.uptimeNanoseconds.subtractingReportingOverflow(
                    NIODeadline.now().uptimeNanoseconds)
                if !nanoseconds.overflow && nanoseconds.partialValue > 0 {
                    try await Task.sleep(nanoseconds: nanoseconds.partialValue)
                }
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw HTTPClientError.deadlineExceeded
            }
            return buffer
        }
    }

    /// Shuts the client down; required before the process ends.
    public func shutdown() async throws {
        try await client.shutdown()
    }
}
