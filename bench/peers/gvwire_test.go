package peers

import (
	"sync"
	"testing"

	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ifnetEndpoint is a gVisor link endpoint over one end of a bsdnet
// link.Wire, so that gVisor's stacks cross the very wire model bsdnet's
// do: the same delay queue, the same seeded loss decisions. gVisor's
// ethernet endpoint wraps it and adds the Ethernet header; this endpoint
// copies each whole frame into an mbuf and transmits it on the Ifnet, and
// copies each frame the Ifnet receives into a PacketBuffer for gVisor.
// Frames due at once are delivered in the sender's goroutine, later ones
// from the wire's timer, as for bsdnet.
type ifnetEndpoint struct {
	ifp  *link.Ifnet
	pool *mbuf.Pool

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher // (mu)
}

var _ stack.LinkEndpoint = (*ifnetEndpoint)(nil)

// newIfnetEndpoint takes over ifp's input and returns an endpoint of
// gVisor's over it, wrapped in link/ethernet.
func newIfnetEndpoint(ifp *link.Ifnet) stack.LinkEndpoint {
	e := &ifnetEndpoint{ifp: ifp, pool: mbuf.NewPool()}
	ifp.Pool = e.pool
	ifp.SetInput(e.input)
	return ethernet.New(e)
}

// input hands a frame from the wire to gVisor. It consumes m.
func (e *ifnetEndpoint) input(_ *link.Ifnet, m *mbuf.Mbuf) {
	b := make([]byte, mbuf.Length(m))
	mbuf.CopyData(m, 0, b)
	mbuf.FreeChain(m)
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(b)})
	d.DeliverNetworkPacket(0, pkt)
	pkt.DecRef()
}

// WritePackets implements stack.LinkEndpoint: each packet, Ethernet header
// included, becomes one frame on the wire.
func (e *ifnetEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	n := 0
	for _, pkt := range pkts.AsSlice() {
		size := pkt.Size()
		m := e.pool.GetHdr(mbuf.MT_DATA, size, 0)
		b := m.Extend(size)
		off := 0
		for _, s := range pkt.AsSlices() {
			off += copy(b[off:], s)
		}
		m.PktLen = size
		// Drops on the wire are silent, as on a cable; a frame too big
		// for the MTU is the only error, and gVisor never sends one.
		e.ifp.Transmit(m)
		n++
	}
	return n, nil
}

// Attach implements stack.LinkEndpoint.
func (e *ifnetEndpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.
func (e *ifnetEndpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.LinkEndpoint.
func (*ifnetEndpoint) Wait() {}

// MTU implements stack.LinkEndpoint: the Ifnet's MTU plus the Ethernet
// header, which link/ethernet takes off again.
func (e *ifnetEndpoint) MTU() uint32 { return uint32(e.ifp.MTU() + header.EthernetMinimumSize) }

// SetMTU implements stack.LinkEndpoint.
func (e *ifnetEndpoint) SetMTU(mtu uint32) {
	e.ifp.SetMTU(int(mtu) - header.EthernetMinimumSize)
}

// Capabilities implements stack.LinkEndpoint: none, as for link/pipe, so
// gVisor computes and checks checksums.
func (*ifnetEndpoint) Capabilities() stack.LinkEndpointCapabilities { return 0 }

// MaxHeaderLength implements stack.LinkEndpoint.
func (*ifnetEndpoint) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (e *ifnetEndpoint) LinkAddress() tcpip.LinkAddress {
	return tcpip.LinkAddress(e.ifp.HWAddr())
}

// SetLinkAddress implements stack.LinkEndpoint; the wire's address stays.
func (*ifnetEndpoint) SetLinkAddress(tcpip.LinkAddress) {}

// ARPHardwareType implements stack.LinkEndpoint.
func (*ifnetEndpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareNone }

// AddHeader implements stack.LinkEndpoint.
func (*ifnetEndpoint) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (*ifnetEndpoint) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint.
func (*ifnetEndpoint) Close() {}

// SetOnCloseAction implements stack.LinkEndpoint.
func (*ifnetEndpoint) SetOnCloseAction(func()) {}

// newGvisorFaultNet is two gVisor stacks, 10.0.0.1/24 and 10.0.0.2/24,
// joined by a bsdnet link.Wire made with seed and carrying f both ways.
func newGvisorFaultNet(tb testing.TB, seed uint64, f link.Faults) *gvisorNet {
	w := link.NewWire(link.WireConfig{Seed: seed})
	w.SetFaults(link.Both, f)
	ea, eb := w.Ends()
	g := &gvisorNet{a: newGvisorStack(), b: newGvisorStack(), closers: []func(){func() { w.Close() }}}
	gvisorAddNIC(tb, g.a, 1, newIfnetEndpoint(ea), gvWireA, 24)
	gvisorAddNIC(tb, g.b, 1, newIfnetEndpoint(eb), gvWireB, 24)
	return g
}
