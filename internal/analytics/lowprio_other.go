//go:build !linux

package analytics

// lowerThreadPriority is a no-op where threads have no priority of their own.
func lowerThreadPriority() error { return nil }
