package link

import (
	"hash/fnv"
	"net"
)

// MACFromName returns a locally administered unicast Ethernet address
// derived from name, the same for the same name in every run: 02 followed
// by five bytes of the name's FNV-1a hash.
func MACFromName(name string) net.HardwareAddr {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return net.HardwareAddr{0x02, byte(s >> 32), byte(s >> 24), byte(s >> 16), byte(s >> 8), byte(s)}
}
