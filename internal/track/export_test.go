package track

// RedactPathForTest exposes redactPath to the external tests.
var RedactPathForTest = redactPath

// IDHashForTest exposes idHash, the hash journeys and spill keys keep of an event id.
var IDHashForTest = idHash
