package peers

import (
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/link/pipe"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// gVisor's netstack, set up as its users do: stacks with IPv4, ARP, UDP and
// TCP, default options (212 KiB socket buffers), and NICs on gVisor's own
// link endpoints.

var (
	gvLoopbackAddr = tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
	gvWireA        = tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	gvWireB        = tcpip.AddrFrom4([4]byte{10, 0, 0, 2})
)

// gvisorNet is one gVisor stack (a == b, loopback) or two joined by a link
// (a sends, b receives).
type gvisorNet struct {
	a, b    *stack.Stack
	closers []func() // run first by close (the link)
}

func (g *gvisorNet) close() {
	for _, c := range g.closers {
		c()
	}
	for _, s := range []*stack.Stack{g.a, g.b} {
		if s == nil {
			continue
		}
		s.Close()
		s.Wait()
		if g.a == g.b {
			break
		}
	}
}

func newGvisorStack() *stack.Stack {
	return stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{udp.NewProtocol, tcp.NewProtocol},
	})
}

// gvisorAddNIC creates NIC id on s over ep with the address addr/prefix and
// a route to its subnet.
func gvisorAddNIC(tb testing.TB, s *stack.Stack, id tcpip.NICID, ep stack.LinkEndpoint, addr tcpip.Address, prefix int) {
	tb.Helper()
	if err := s.CreateNIC(id, ep); err != nil {
		tb.Fatalf("gvisor: CreateNIC: %v", err)
	}
	ap := tcpip.AddressWithPrefix{Address: addr, PrefixLen: prefix}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: ap}
	if err := s.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
		tb.Fatalf("gvisor: AddProtocolAddress: %v", err)
	}
	s.AddRoute(tcpip.Route{Destination: ap.Subnet(), NIC: id})
}

// newGvisorLoopbackNet is one stack with a loopback NIC, 127.0.0.1/8.
func newGvisorLoopbackNet(tb testing.TB) *gvisorNet {
	s := newGvisorStack()
	gvisorAddNIC(tb, s, 1, loopback.New(), gvLoopbackAddr, 8)
	return &gvisorNet{a: s, b: s}
}

// gvWireMTU is the pipe's frame size: a 1500-byte IP MTU under the
// 14-byte Ethernet header that link/ethernet adds.
const gvWireMTU = 1500 + 14

// newGvisorWireNet is two stacks, 10.0.0.1/24 and 10.0.0.2/24, joined by
// the two ends of a link/pipe, each wrapped in link/ethernet so that frames
// carry an Ethernet header and addresses are resolved with ARP, as on
// bsdnet's wire. A pipe delivers in the sender's goroutine.
func newGvisorWireNet(tb testing.TB) *gvisorNet {
	pa, pb := pipe.New("\x02\x00\x00\x00\x00\x01", "\x02\x00\x00\x00\x00\x02", gvWireMTU)
	g := &gvisorNet{a: newGvisorStack(), b: newGvisorStack()}
	gvisorAddNIC(tb, g.a, 1, ethernet.New(pa), gvWireA, 24)
	gvisorAddNIC(tb, g.b, 1, ethernet.New(pb), gvWireB, 24)
	return g
}
