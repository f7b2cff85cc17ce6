//go:build !race

package inet

// raceEnabled reports whether the race detector is on; TestTCPFaultyWires
// moves less data when it is.
const raceEnabled = false
