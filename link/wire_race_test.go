//go:build race

package link

// wireRaceEnabled says the race detector is on: sync.Pool then drops some
// of what it is given, so allocation counts mean nothing.
const wireRaceEnabled = true
