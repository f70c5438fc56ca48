package track

// RedactPathForTest exposes redactPath to the external tests.
var RedactPathForTest = redactPath

// IDHashForTest exposes idHash, the hash journeys and spill keys keep of an event id.
var IDHashForTest = idHash

// SetMaxPackedForTest sets how many ids of a visitor spill packs take before ids go to keys
// of their own, and returns a function that restores it.
func SetMaxPackedForTest(n int) func() {
	old := maxPacked
	maxPacked = n
	return func() { maxPacked = old }
}
