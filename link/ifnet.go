// Package link implements bsdnet's network interfaces (FreeBSD's ifnet):
// an Ifnet with its name, index, MTU, flags, hardware address and
// counters, and the drivers beneath it: loopback, a wire joining two stacks
// with faults, a hub, a TAP device, a UDP tunnel, and capture to pcap.
//
// Frames move by reference as mbuf chains. Transmit hands a frame to the
// driver; a driver hands what it receives to Input, which gives it to the
// protocol layer (SetInput). Neither holds a lock while it calls the other
// side, so a wire may deliver in the sending goroutine (run to completion).
package link

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Interface flags (if_flags), with FreeBSD's values.
const (
	IFF_UP          = 0x1
	IFF_BROADCAST   = 0x2
	IFF_DEBUG       = 0x4
	IFF_LOOPBACK    = 0x8
	IFF_POINTOPOINT = 0x10
	IFF_RUNNING     = 0x40
	IFF_NOARP       = 0x80
	IFF_PROMISC     = 0x100
	IFF_MULTICAST   = 0x8000
)

// Type is a link type, as pcap's LINKTYPE_ values: what a frame starts with.
type Type int

// Link types.
const (
	// Null frames start with a 4-byte address family in host order
	// (DLT_NULL), as lo0's do.
	Null Type = 0
	// Ethernet frames start with an Ethernet II header (DLT_EN10MB).
	Ethernet Type = 1
)

// EtherHdrLen is the length of an Ethernet II header.
const EtherHdrLen = 14

// NullHdrLen is the length of a DLT_NULL header.
const NullHdrLen = 4

// Driver moves frames for an interface: its half of FreeBSD's if_transmit.
type Driver interface {
	// Output sends one frame, consuming it whatever happens. An error is
	// counted as an output error.
	Output(ifp *Ifnet, frame *mbuf.Mbuf) error
	// Close releases what the driver holds; frames stop flowing.
	Close() error
}

// Stats are an interface's counters, as netstat -i prints them.
type Stats struct {
	Ipackets atomic.Uint64 // frames received
	Ibytes   atomic.Uint64
	Ierrors  atomic.Uint64 // frames received damaged
	Iqdrops  atomic.Uint64 // frames dropped on input (down, no protocol, queue full)
	Opackets atomic.Uint64 // frames sent
	Obytes   atomic.Uint64
	Oerrors  atomic.Uint64 // frames the driver failed to send
	Oqdrops  atomic.Uint64 // frames dropped on output (down, queue full)
	Imcasts  atomic.Uint64 // multicast or broadcast frames received
	Omcasts  atomic.Uint64 // multicast or broadcast frames sent
}

// InputFunc is the protocol layer's receive routine for an interface (the
// ether_input / if_input hook). It consumes the frame.
type InputFunc func(ifp *Ifnet, frame *mbuf.Mbuf)

// Tap sees every frame an interface sends or receives (a BPF listener). It
// must not keep or change the frame.
type Tap interface {
	Frame(ifp *Ifnet, frame *mbuf.Mbuf, out bool)
}

// Ifnet is a network interface (struct ifnet).
type Ifnet struct {
	name string
	typ  Type
	hw   net.HardwareAddr
	drv  Driver

	index  atomic.Int32
	mtu    atomic.Int32
	tsomax atomic.Int32
	flags  atomic.Int32
	input  atomic.Pointer[InputFunc]

	// Pool supplies the mbufs the driver receives into; the stack sets it.
	Pool *mbuf.Pool
	// Stats are the interface's counters.
	Stats Stats
	// Checksum says whether frames on this interface can be damaged, so
	// that the protocols must compute and verify checksums. In-process links
	// that cannot corrupt clear it (as Linux does for loopback); a wire with
	// corruption faults, a TAP device and a tunnel set it.
	Checksum atomic.Bool

	mu    sync.Mutex
	taps  []Tap
	ntaps atomic.Int32 // len(taps), read without the lock on every frame
}

// ErrDown is returned when a frame is sent on an interface that is down.
var ErrDown = errors.New("link: interface is down")

// ErrQueueFull is what a driver returns when its transmit queue had no room
// for the frame (drbr_enqueue's ENOBUFS): the frame is dropped and counted
// as an output queue drop, not an error.
var ErrQueueFull = fmt.Errorf("link: transmit queue full: %w", syscall.ENOBUFS)

// New returns an interface named name, of link type typ, with an MTU (the
// largest payload a frame carries, not counting its link header), a
// hardware address (nil for none) and its driver. It is up and running.
func New(name string, typ Type, mtu int, hw net.HardwareAddr, drv Driver) *Ifnet {
	ifp := &Ifnet{name: name, typ: typ, hw: hw, drv: drv}
	ifp.mtu.Store(int32(mtu))
	fl := IFF_UP | IFF_RUNNING
	switch typ {
	case Null:
		fl |= IFF_LOOPBACK | IFF_MULTICAST
	case Ethernet:
		fl |= IFF_BROADCAST | IFF_MULTICAST
	}
	ifp.flags.Store(int32(fl))
	ifp.Checksum.Store(true)
	return ifp
}

// Name returns the interface's name (if_xname).
func (ifp *Ifnet) Name() string { return ifp.name }

// Type returns the link type.
func (ifp *Ifnet) Type() Type { return ifp.typ }

// HWAddr returns the hardware address (if_addr), nil when it has none.
func (ifp *Ifnet) HWAddr() net.HardwareAddr { return ifp.hw }

// Index returns the interface index the stack gave it (if_index); 0 before
// it joins a stack.
func (ifp *Ifnet) Index() int { return int(ifp.index.Load()) }

// SetIndex sets the interface index; the stack calls it once.
func (ifp *Ifnet) SetIndex(i int) { ifp.index.Store(int32(i)) }

// MTU returns the interface's MTU.
func (ifp *Ifnet) MTU() int { return int(ifp.mtu.Load()) }

// SetMTU changes the MTU (SIOCSIFMTU).
func (ifp *Ifnet) SetMTU(mtu int) { ifp.mtu.Store(int32(mtu)) }

// TSOMax returns if_hw_tsomax: the largest IP packet carrying a TCP
// segment that the interface takes in one piece although it exceeds the
// MTU (TCP segmentation offload), or 0 when it takes none.
func (ifp *Ifnet) TSOMax() int { return int(ifp.tsomax.Load()) }

// SetTSOMax sets if_hw_tsomax (ifconfig tso / -tso with 0). Only a driver
// that can take such packets may be given a limit above the MTU: the
// loopback, which delivers them whole as the receiver's large receive
// offload would have merged them.
func (ifp *Ifnet) SetTSOMax(n int) { ifp.tsomax.Store(int32(n)) }

// Flags returns if_flags.
func (ifp *Ifnet) Flags() int { return int(ifp.flags.Load()) }

// Up reports whether the interface is up and running.
func (ifp *Ifnet) Up() bool {
	return ifp.Flags()&(IFF_UP|IFF_RUNNING) == IFF_UP|IFF_RUNNING
}

// SetFlags sets and clears bits of if_flags (ifconfig up/down).
func (ifp *Ifnet) SetFlags(set, clear int) {
	for {
		old := ifp.flags.Load()
		nw := (old &^ int32(clear)) | int32(set)
		if ifp.flags.CompareAndSwap(old, nw) {
			return
		}
	}
}

// HdrLen returns the length of the interface's link header.
func (ifp *Ifnet) HdrLen() int {
	if ifp.typ == Ethernet {
		return EtherHdrLen
	}
	return NullHdrLen
}

// SetInput sets the protocol layer's receive routine.
func (ifp *Ifnet) SetInput(f InputFunc) { ifp.input.Store(&f) }

// AddTap attaches a capture tap.
func (ifp *Ifnet) AddTap(t Tap) {
	ifp.mu.Lock()
	ifp.taps = append(ifp.taps, t)
	ifp.ntaps.Store(int32(len(ifp.taps)))
	ifp.mu.Unlock()
}

// RemoveTap detaches a capture tap.
func (ifp *Ifnet) RemoveTap(t Tap) {
	ifp.mu.Lock()
	defer ifp.mu.Unlock()
	for i, x := range ifp.taps {
		if x == t {
			ifp.taps = append(ifp.taps[:i:i], ifp.taps[i+1:]...)
			ifp.ntaps.Store(int32(len(ifp.taps)))
			return
		}
	}
}

// Tapped reports whether a capture tap is attached.
func (ifp *Ifnet) Tapped() bool { return ifp.ntaps.Load() > 0 }

func (ifp *Ifnet) tap(m *mbuf.Mbuf, out bool) {
	if ifp.ntaps.Load() == 0 {
		return
	}
	ifp.mu.Lock()
	taps := ifp.taps
	ifp.mu.Unlock()
	for _, t := range taps {
		t.Frame(ifp, m, out)
	}
}

func isMulticastFrame(ifp *Ifnet, m *mbuf.Mbuf) bool {
	return ifp.typ == Ethernet && m.Len() > 0 && m.Data()[0]&1 != 0
}

// Transmit sends a whole frame (link header included) through the driver,
// counting it and showing it to the taps. It consumes the frame. A frame on
// an interface that is down is dropped with ErrDown; one the driver's queue
// had no room for, with ErrQueueFull (counted in Oqdrops).
func (ifp *Ifnet) Transmit(frame *mbuf.Mbuf) error {
	if !ifp.Up() {
		ifp.Stats.Oqdrops.Add(1)
		mbuf.FreeChain(frame)
		return ErrDown
	}
	n := mbuf.Length(frame)
	ifp.tap(frame, true)
	if isMulticastFrame(ifp, frame) {
		ifp.Stats.Omcasts.Add(1)
	}
	if err := ifp.drv.Output(ifp, frame); err != nil {
		if errors.Is(err, ErrQueueFull) {
			ifp.Stats.Oqdrops.Add(1)
			return err
		}
		ifp.Stats.Oerrors.Add(1)
		return fmt.Errorf("link: %s: %w", ifp.name, err)
	}
	ifp.Stats.Opackets.Add(1)
	ifp.Stats.Obytes.Add(uint64(n))
	return nil
}

// Input is called by the driver with a frame it received: it is counted,
// shown to the taps and given to the protocol layer, which consumes it. A
// frame arriving on an interface that is down, or with no protocol layer,
// is dropped and counted.
func (ifp *Ifnet) Input(frame *mbuf.Mbuf) {
	in := ifp.input.Load()
	if in == nil || !ifp.Up() {
		ifp.Stats.Iqdrops.Add(1)
		mbuf.FreeChain(frame)
		return
	}
	ifp.Stats.Ipackets.Add(1)
	ifp.Stats.Ibytes.Add(uint64(mbuf.Length(frame)))
	if isMulticastFrame(ifp, frame) {
		ifp.Stats.Imcasts.Add(1)
	}
	ifp.tap(frame, false)
	(*in)(ifp, frame)
}

// Close brings the interface down and closes its driver.
func (ifp *Ifnet) Close() error {
	ifp.SetFlags(0, IFF_UP|IFF_RUNNING)
	return ifp.drv.Close()
}

// String returns the interface's name.
func (ifp *Ifnet) String() string { return ifp.name }
