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
            let response = try await client.execute(outgoing, timeout: .milliseconds(Int64(request.timeout * 1000)))
            let body = try await response.body.collect(upTo: maxBodyBytes)
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

    /// Shuts the client down; required before the process ends.
    public func shutdown() async throws {
        try await client.shutdown()
    }
}
