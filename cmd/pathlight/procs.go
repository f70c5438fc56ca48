package main

// serveProcs returns how many Go processors serve runs with on cores CPUs: four per core,
// at most sixteen more than the cores.
//
// Go hands its processors to runnable goroutines first come, first served, and takes one
// back from a goroutine only after 10 ms. Badger's flushes and compactions run as bursts of
// goroutines (a compaction builds up to eight tables at once, in two stores of two
// compactors each): with one processor per core they hold every processor for hundreds of
// milliseconds, and a hit whose request has arrived waits behind each of them for its
// slice. With more processors than cores, every runnable goroutine gets a processor at
// once and an OS thread of its own, and the kernel shares the cores between those threads
// in slices of a millisecond or two, running first a thread that wakes (a hit's, woken by
// the network) over one that has been running (a compaction's). Reports run on a thread
// at the lowest priority (see analytics); with spare processors it never holds the last
// one while hits wait, and the kernel gives the cores to the hits first.
func serveProcs(cores int) int {
	cores = max(cores, 1)
	return min(4*cores, cores+16)
}
