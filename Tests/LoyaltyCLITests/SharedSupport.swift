// Every file of this target sees the shared helpers (Tests/LedgerTestSupport).
@_exported import LedgerTestSupport
