//go:build !linux

package link

import (
	"fmt"
	"runtime"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// TAPMTU is the MTU of a TAP interface: Ethernet's.
const TAPMTU = 1500

// OpenTAP creates a TAP device; it is implemented only on Linux, and fails
// with ENOTSUP elsewhere.
func OpenTAP(name string, pool *mbuf.Pool) (*Ifnet, error) {
	return nil, fmt.Errorf("link: tap %q: TAP devices are not supported on %s: %w", name, runtime.GOOS, syscall.ENOTSUP)
}
