package link

import (
	"net"
	"sync"

	"github.com/bsdnet/bsdnet/mbuf"
)

// HubConfig configures a Hub.
type HubConfig struct {
	// Learning makes the hub a learning switch: it learns which port each
	// source address is behind and sends unicast frames for a learned
	// address to that port alone (and drops them if that is the port they
	// came from). Frames to unknown, broadcast and multicast addresses are
	// flooded to every port but the one they came from.
	Learning bool
	// MTU is the MTU of the ports; 1500 when zero or negative.
	MTU int
	// Seed fixes every random choice the hub makes: the ports' fault
	// decisions and derived hardware addresses. Each port direction has its
	// own source, keyed by the order ports were made in.
	Seed uint64
}

// Hub joins many interfaces, usually of many stacks, on one Ethernet
// segment. Without Learning it is a repeater: every frame goes to every
// port but the sender's. Each port has Faults both ways, as a Wire does:
// AtoB applies to frames the port sends into the hub, BtoA to frames the hub
// delivers to the port. Without faults, delivery to every port happens in
// the sending goroutine (run to completion).
//
// Flooded frames share storage: each port receives its own mbuf chain
// pointing into the sender's clusters, which are read-only while shared. A
// Hub is safe for concurrent use.
type Hub struct {
	cfg HubConfig

	mu     sync.Mutex             // guards what follows
	ports  []*hubPort             // open ports, in the order they were made
	table  map[[6]byte]*hubPort   // learned address -> port (Learning)
	byIfp  map[*Ifnet]*hubPort    // every port made, open or closed
	n      uint64                 // ports made so far
	corr   map[*hubPort]Direction // directions of ports that may corrupt
	closed bool                   //
}

// hubPort is a hub port and the driver of its interface.
type hubPort struct {
	h   *Hub
	ifp *Ifnet
	in  *pipe // port -> hub
	out *pipe // hub -> port

	closeOnce sync.Once
}

// NewHub returns a hub with no ports.
func NewHub(cfg HubConfig) *Hub {
	if cfg.MTU <= 0 {
		cfg.MTU = DefaultWireMTU
	}
	return &Hub{
		cfg:   cfg,
		table: make(map[[6]byte]*hubPort),
		byIfp: make(map[*Ifnet]*hubPort),
		corr:  make(map[*hubPort]Direction),
	}
}

// Port adds a port to the hub and returns its interface: an Ethernet
// interface named name with the hub's MTU and hardware address mac (when
// nil, derived from the seed, the name and the port's number: locally
// administered and unicast). It is up and running, with Checksum clear
// while no port's faults may corrupt. Closing the interface removes the
// port. A port made after the hub was closed is closed at once.
func (h *Hub) Port(name string, mac net.HardwareAddr) *Ifnet {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.n
	h.n++
	if mac == nil {
		mac = seededMAC(h.cfg.Seed, name, i)
	}
	p := &hubPort{h: h}
	p.ifp = New(name, Ethernet, h.cfg.MTU, mac, p)
	p.ifp.Checksum.Store(len(h.corr) > 0)
	p.in = newPipe(p.ifp, func(m *mbuf.Mbuf) bool { h.forward(p, m); return true }, h.cfg.Seed, 2*i)
	p.out = newPipe(nil, func(m *mbuf.Mbuf) bool { return receive(p.ifp, m) }, h.cfg.Seed, 2*i+1)
	h.byIfp[p.ifp] = p
	if h.closed {
		p.ifp.SetFlags(0, IFF_UP|IFF_RUNNING)
		p.in.close()
		p.out.close()
		return p.ifp
	}
	h.ports = append(h.ports, p)
	return p.ifp
}

// Output sends the frame into the hub.
func (p *hubPort) Output(_ *Ifnet, m *mbuf.Mbuf) error { return p.in.send(m) }

// Close removes the port from the hub and frees its frames in flight.
func (p *hubPort) Close() error {
	p.closeOnce.Do(func() {
		h := p.h
		h.mu.Lock()
		for i, q := range h.ports {
			if q == p {
				h.ports = append(h.ports[:i:i], h.ports[i+1:]...)
				break
			}
		}
		for k, q := range h.table {
			if q == p {
				delete(h.table, k)
			}
		}
		if _, ok := h.corr[p]; ok {
			delete(h.corr, p)
			h.setChecksumLocked()
		}
		h.mu.Unlock()
		p.in.close()
		p.out.close()
	})
	return nil
}

// forward sends a frame that came in on port src to the ports it is for.
// It runs without h.mu held while it delivers, so a receiver may send.
func (h *Hub) forward(src *hubPort, m *mbuf.Mbuf) {
	var hdr [12]byte
	if mbuf.CopyData(m, 0, hdr[:]) < len(hdr) {
		mbuf.FreeChain(m) // a runt: no addresses to go by
		return
	}
	var dst, from [6]byte
	copy(dst[:], hdr[0:6])
	copy(from[:], hdr[6:12])

	var buf [8]*hubPort
	targets := buf[:0]
	h.mu.Lock()
	if h.cfg.Learning && from[0]&1 == 0 {
		h.table[from] = src
	}
	if q, ok := h.table[dst]; ok && dst[0]&1 == 0 {
		if q != src {
			targets = append(targets, q)
		}
	} else {
		for _, q := range h.ports {
			if q != src {
				targets = append(targets, q)
			}
		}
	}
	h.mu.Unlock()

	if len(targets) == 0 {
		mbuf.FreeChain(m)
		return
	}
	last := len(targets) - 1
	for _, q := range targets[:last] {
		q.out.send(mbuf.Copy(m, 0, -1))
	}
	targets[last].out.send(m)
}

// port returns the open or closed port whose interface is ifp, or nil.
func (h *Hub) port(ifp *Ifnet) *hubPort {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byIfp[ifp]
}

// SetFaults sets the faults of a port: dir AtoB for frames the port sends,
// BtoA for frames it receives, Both for both. Frames already in flight keep
// their schedule. Every port's Checksum is set while any port may corrupt.
// An interface that is not a port of h is ignored.
func (h *Hub) SetFaults(port *Ifnet, dir Direction, f Faults) {
	p := h.port(port)
	if p == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.corr[p]
	if dir&AtoB != 0 {
		c &^= AtoB
		if p.in.setFaults(f) {
			c |= AtoB
		}
	}
	if dir&BtoA != 0 {
		c &^= BtoA
		if p.out.setFaults(f) {
			c |= BtoA
		}
	}
	if c != 0 {
		h.corr[p] = c
	} else {
		delete(h.corr, p)
	}
	h.setChecksumLocked()
}

// setChecksumLocked sets every open port's Checksum to whether any port may
// corrupt. The caller holds h.mu.
func (h *Hub) setChecksumLocked() {
	on := len(h.corr) > 0
	for _, q := range h.ports {
		q.ifp.Checksum.Store(on)
	}
}

// SetCut cuts a port's transmit side (AtoB), receive side (BtoA) or both,
// or heals them, as Wire.SetCut does: a partition of one host. An
// interface that is not a port of h is ignored.
func (h *Hub) SetCut(port *Ifnet, dir Direction, cut bool) {
	p := h.port(port)
	if p == nil {
		return
	}
	if dir&AtoB != 0 {
		p.in.setCut(cut)
	}
	if dir&BtoA != 0 {
		p.out.setCut(cut)
	}
}

// Stats returns a port's counters: AtoB for frames it sent into the hub,
// BtoA for frames the hub sent it. Frames the hub floods count once per
// port they are sent to. It returns zeros for an interface that is not a
// port of h.
func (h *Hub) Stats(port *Ifnet) WireStats {
	p := h.port(port)
	if p == nil {
		return WireStats{}
	}
	return WireStats{AtoB: p.in.stats.snapshot(), BtoA: p.out.stats.snapshot()}
}

// Close closes every port of the hub; ports made afterwards are closed at
// once.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	ports := append([]*hubPort(nil), h.ports...)
	h.mu.Unlock()
	for _, p := range ports {
		p.ifp.Close()
	}
	return nil
}
