// Every file of this target sees the domain helpers (Tests/DomainTestSupport).
@_exported import DomainTestSupport
