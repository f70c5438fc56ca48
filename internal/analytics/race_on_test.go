//go:build race

package analytics_test

// raceEnabled: the tests run under the race detector, whose runtime allocates beside the
// code under test and whose sync.Pool drops a quarter of what is put back, so allocation
// counts measure the detector, not the code.
const raceEnabled = true
