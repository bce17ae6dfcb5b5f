/// Every limit of the log, in one place. They bound memory, transaction size and record size,
/// and the decoder rejects stored records that break them (a sign of corruption).
public enum LogLimits {
    /// Events in one `append` call (one atomic batch).
    public static let batchEventsMax = 10_000
    /// Events the writer puts in one LMDB transaction (group commit of several callers' batches).
    public static let commitEventsMax = 20_000
    /// Payload bytes in one commit; bounds the dirty pages of one transaction.
    public static let commitBytesMax = 64 << 20
    public static let typeBytesMax = 128
    public static let memberBytesMax = 256
    public static let idempotencyKeyBytesMax = 256
    /// Who recorded an event (an API key's name).
    public static let actorBytesMax = 128
    public static let dataBytesMax = 1 << 20
    /// Events read per short read transaction when scanning or tailing.
    public static let readBatchEventsMax = 4_096
    /// Every `chainCheckpointInterval`-th position has its chain hash stored in `chain`.
    public static let chainCheckpointInterval: UInt64 = 256
    /// Members whose stream head the writer keeps in memory (about 60 bytes each, so at most
    /// ~60 MiB); past it, heads of further members are read from the overlay or the index.
    public static let writerMemberHeadsMax = 1_000_000
    /// The writer grows the log's map before a commit group once the pages in use pass this
    /// fraction of it (doubling leaves it about 3/8 full), so that only a group larger than a
    /// quarter of the map meets a full map and runs twice.
    public static let mapGrowAheadFraction = 0.75
}
