import Logging

/// swift-log's `StreamLogHandler`, with its metadata kept as given and rendered only when a
/// line is written. `StreamLogHandler` renders its metadata to text whenever it changes, and
/// Hummingbird gives every request's logger its own request id: that render (the id made into
/// text, sorted, joined) ran on every decision for lines almost never written (~4% of one).
public struct DeferredMetadataLogHandler: LogHandler {
    private let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level = .info

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var stream = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
        stream.logLevel = logLevel
        stream.metadata = metadata
        stream.log(event: event)
    }
}
