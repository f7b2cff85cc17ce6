package link

import "github.com/bsdnet/bsdnet/mbuf"

// LoopbackMTU is lo0's default MTU.
const LoopbackMTU = 16384

// LoopbackTSOMax is lo0's TCP segmentation offload limit: the largest IP
// packet.
const LoopbackTSOMax = 65535

// NewLoopback returns a loopback interface (lo0): what it sends, it
// receives, in the sending goroutine. Frames carry a DLT_NULL header.
// Checksums are off: nothing between the two ends can damage a frame.
// TCP segments up to LoopbackTSOMax go whole, MTU or not: nothing on the
// way would cut them, and the receiver takes them as it takes segments
// merged by large receive offload.
func NewLoopback(name string) *Ifnet {
	ifp := New(name, Null, LoopbackMTU, nil, loopback{})
	ifp.Checksum.Store(false)
	ifp.SetTSOMax(LoopbackTSOMax)
	return ifp
}

type loopback struct{}

func (loopback) Output(ifp *Ifnet, m *mbuf.Mbuf) error {
	ifp.Input(m)
	return nil
}

func (loopback) Close() error { return nil }
