package link

import (
	"net"
	"sync"

	"github.com/bsdnet/bsdnet/mbuf"
)

// WireConfig configures a Wire. The zero WireConfig gives a perfect
// 1500-byte-MTU cable between two interfaces named eth0 whose hardware
// addresses come from seed 0.
type WireConfig struct {
	// NameA and NameB name the two ends' interfaces; "eth0" when empty.
	NameA, NameB string
	// MTU is both ends' MTU; 1500 when zero or negative.
	MTU int
	// MACA and MACB are the ends' hardware addresses. When nil, each is
	// derived from Seed and the end's name: a locally administered unicast
	// address, the same in every run.
	MACA, MACB net.HardwareAddr
	// Seed fixes every random choice the wire makes (fault decisions and
	// derived addresses): the same seed and the same traffic give the same
	// fault decisions. Each direction has its own source, so traffic one way
	// does not change the decisions the other way.
	Seed uint64
}

// DefaultWireMTU is a Wire's MTU when WireConfig.MTU is not set.
const DefaultWireMTU = 1500

// Wire joins two Ethernet interfaces like a cable, usually of two stacks: a
// frame transmitted on one end is received on the other, with the Faults
// set for that direction (none at first). Without delay, rate limit or
// held-back frames, delivery happens in the sending goroutine before
// Transmit returns (run to completion); otherwise a timer per direction
// delivers, on the time package's clock, so a wire created inside a
// testing/synctest bubble runs on virtual time.
//
// Frames in flight belong to the wire. Closing either end (or the Wire)
// frees them and stops all delivery; the other end loses its carrier
// (IFF_RUNNING clears). A Wire is safe for concurrent use.
type Wire struct {
	a, b   *Ifnet
	ab, ba *pipe

	mu     sync.Mutex // serializes SetFaults' Checksum updates and close
	corrAB bool       // AtoB may corrupt (mu)
	corrBA bool       // BtoA may corrupt (mu)
	closed bool       // (mu)
}

// wireEnd is the driver of one end of a Wire.
type wireEnd struct {
	w   *Wire
	out *pipe // frames this end sends
}

// Output sends the frame into the wire.
func (e *wireEnd) Output(_ *Ifnet, m *mbuf.Mbuf) error { return e.out.send(m) }

// Close closes the whole wire.
func (e *wireEnd) Close() error { return e.w.Close() }

// PCG stream numbers of the two directions.
const (
	streamAtoB = 0x61746f62 // "atob"
	streamBtoA = 0x62746f61 // "btoa"
)

// NewWire returns a wire with both ends up and running and no faults.
// Checksum is clear on both ends, since a perfect in-process wire cannot
// damage a frame.
func NewWire(cfg WireConfig) *Wire {
	if cfg.NameA == "" {
		cfg.NameA = "eth0"
	}
	if cfg.NameB == "" {
		cfg.NameB = "eth0"
	}
	if cfg.MTU <= 0 {
		cfg.MTU = DefaultWireMTU
	}
	if cfg.MACA == nil {
		cfg.MACA = seededMAC(cfg.Seed, cfg.NameA, 0)
	}
	if cfg.MACB == nil {
		cfg.MACB = seededMAC(cfg.Seed, cfg.NameB, 1)
	}
	w := &Wire{}
	ea, eb := &wireEnd{w: w}, &wireEnd{w: w}
	w.a = New(cfg.NameA, Ethernet, cfg.MTU, cfg.MACA, ea)
	w.b = New(cfg.NameB, Ethernet, cfg.MTU, cfg.MACB, eb)
	w.a.Checksum.Store(false)
	w.b.Checksum.Store(false)
	b, a := w.b, w.a
	w.ab = newPipe(a, func(m *mbuf.Mbuf) bool { return receive(b, m) }, cfg.Seed, streamAtoB)
	w.ba = newPipe(b, func(m *mbuf.Mbuf) bool { return receive(a, m) }, cfg.Seed, streamBtoA)
	ea.out, eb.out = w.ab, w.ba
	return w
}

// Ends returns the wire's two interfaces.
func (w *Wire) Ends() (a, b *Ifnet) { return w.a, w.b }

// SetFaults sets the faults of one direction, or both. It may be called
// while frames flow; frames already in flight keep the schedule they were
// given. It sets or clears Checksum on both ends according to whether any
// direction may now corrupt.
func (w *Wire) SetFaults(dir Direction, f Faults) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if dir&AtoB != 0 {
		w.corrAB = w.ab.setFaults(f)
	}
	if dir&BtoA != 0 {
		w.corrBA = w.ba.setFaults(f)
	}
	on := w.corrAB || w.corrBA
	w.a.Checksum.Store(on)
	w.b.Checksum.Store(on)
}

// SetCut cuts one direction of the wire, or both, or heals them. While a
// direction is cut, every frame sent that way is dropped (CutDrops); cutting
// drops the frames in flight that way at once.
func (w *Wire) SetCut(dir Direction, cut bool) {
	if dir&AtoB != 0 {
		w.ab.setCut(cut)
	}
	if dir&BtoA != 0 {
		w.ba.setCut(cut)
	}
}

// Cut cuts the wire both ways: SetCut(Both, true). The interfaces stay up,
// as when a cable fails somewhere between two switches.
func (w *Wire) Cut() { w.SetCut(Both, true) }

// Heal mends a cut wire both ways: SetCut(Both, false).
func (w *Wire) Heal() { w.SetCut(Both, false) }

// Stats returns the wire's counters.
func (w *Wire) Stats() WireStats {
	return WireStats{AtoB: w.ab.stats.snapshot(), BtoA: w.ba.stats.snapshot()}
}

// Close closes the wire: both directions stop, frames in flight are freed,
// and both ends lose IFF_RUNNING. Frames a timer is delivering at that
// moment are dropped rather than delivered. Close does not wait for a timer
// callback that is running, so it may be called from an input routine. It
// is what closing either end does, and it may be called more than once.
func (w *Wire) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	w.ab.close()
	w.ba.close()
	w.a.SetFlags(0, IFF_RUNNING)
	w.b.SetFlags(0, IFF_RUNNING)
	return nil
}
