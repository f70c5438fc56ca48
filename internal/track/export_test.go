package track

// RedactPathForTest exposes redactPath to the external tests.
var RedactPathForTest = redactPath
