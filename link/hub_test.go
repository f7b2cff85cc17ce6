package link

import (
	"bytes"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// hubSend transmits a test frame with sequence seq from port src to dst.
func hubSend(t *testing.T, src *Ifnet, dst net.HardwareAddr, seq uint32) {
	t.Helper()
	if err := src.Transmit(src.Pool.CopyIn(mbuf.MT_DATA, faultFrame(dst, src.HWAddr(), seq, 64), 0)); err != nil {
		t.Fatalf("Transmit on %v: %v", src, err)
	}
}

func TestHubPorts(t *testing.T) {
	h := NewHub(HubConfig{Seed: 1, MTU: 9000})
	defer h.Close()
	given := net.HardwareAddr{0x02, 1, 2, 3, 4, 5}
	p0 := h.Port("eth0", nil)
	p1 := h.Port("eth0", nil)
	p2 := h.Port("em0", given)
	for _, p := range []*Ifnet{p0, p1, p2} {
		if p.Type() != Ethernet || p.MTU() != 9000 || !p.Up() || p.Checksum.Load() {
			t.Errorf("%v: type %v MTU %d up %v checksum %v", p, p.Type(), p.MTU(), p.Up(), p.Checksum.Load())
		}
		if hw := p.HWAddr(); hw[0]&1 != 0 || hw[0]&2 == 0 {
			t.Errorf("%v: %v is not locally administered unicast", p, hw)
		}
	}
	if bytes.Equal(p0.HWAddr(), p1.HWAddr()) {
		t.Errorf("two ports named eth0 got the same address %v", p0.HWAddr())
	}
	if !bytes.Equal(p2.HWAddr(), given) {
		t.Errorf("address %v, want %v", p2.HWAddr(), given)
	}
	h2 := NewHub(HubConfig{Seed: 1})
	defer h2.Close()
	if q := h2.Port("eth0", nil); !bytes.Equal(q.HWAddr(), p0.HWAddr()) {
		t.Errorf("same seed, different address: %v and %v", q.HWAddr(), p0.HWAddr())
	}
}

// TestHubForwarding runs scripts of frames through a repeater and a
// learning switch and checks which ports receive each.
func TestHubForwarding(t *testing.T) {
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	mcast := net.HardwareAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}
	unknown := net.HardwareAddr{0x02, 0xee, 0xee, 0xee, 0xee, 0xee}
	type step struct {
		from int
		to   int // port index, or -1 bcast, -2 mcast, -3 unknown
		want []int
	}
	tests := []struct {
		name     string
		learning bool
		steps    []step
	}{
		{"repeater floods", false, []step{
			{0, 1, []int{1, 2, 3}},
			{1, 0, []int{0, 2, 3}},
			{0, 1, []int{1, 2, 3}}, // a hub never learns
			{2, -1, []int{0, 1, 3}},
		}},
		{"switch learns", true, []step{
			{0, 1, []int{1, 2, 3}}, // 1 unknown: flood; learns 0
			{1, 0, []int{0}},       // 0 learned; learns 1
			{0, 1, []int{1}},
			{2, -1, []int{0, 1, 3}}, // broadcast floods
			{3, -2, []int{0, 1, 2}}, // multicast floods
			{3, -3, []int{0, 1, 2}}, // unknown unicast floods
			{2, 3, []int{3}},        // 3 learned from its multicast
			{0, 0, []int{}},         // to the port it came from: filtered
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHub(HubConfig{Seed: 2, Learning: tt.learning})
			defer h.Close()
			var ports []*Ifnet
			var sinks []*faultSink
			for range 4 {
				p := h.Port("eth0", nil)
				ports = append(ports, p)
				sinks = append(sinks, sinkOn(p))
			}
			counts := make([]int, 4)
			for i, s := range tt.steps {
				var dst net.HardwareAddr
				switch s.to {
				case -1:
					dst = bcast
				case -2:
					dst = mcast
				case -3:
					dst = unknown
				default:
					dst = ports[s.to].HWAddr()
				}
				hubSend(t, ports[s.from], dst, uint32(i))
				want := make([]bool, 4)
				for _, p := range s.want {
					want[p] = true
				}
				for p := range 4 {
					got := sinks[p].got()
					arrived := len(got) > counts[p]
					if arrived {
						if frameSeq(got[len(got)-1].b) != uint32(i) {
							t.Errorf("step %d: port %d got #%d", i, p, frameSeq(got[len(got)-1].b))
						}
						counts[p] = len(got)
					}
					if arrived != want[p] {
						t.Errorf("step %d (%d -> %v): port %d received %v, want %v", i, s.from, dst, p, arrived, want[p])
					}
				}
			}
		})
	}
}

// TestHubFaults checks per-port loss and delay on virtual time, and that
// Checksum follows corruption on any port.
func TestHubFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(HubConfig{Seed: 3})
		defer h.Close()
		p0, p1, p2 := h.Port("a", nil), h.Port("b", nil), h.Port("c", nil)
		s1, s2 := sinkOn(p1), sinkOn(p2)
		sinkOn(p0)
		h.SetFaults(p0, AtoB, Faults{Delay: 10 * time.Millisecond})
		h.SetFaults(p2, BtoA, Faults{Loss: 1})
		start := time.Now()
		bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		hubSend(t, p0, bcast, 0)
		time.Sleep(time.Second)
		if got := s1.got(); len(got) != 1 || got[0].at.Sub(start) != 10*time.Millisecond {
			t.Errorf("port b: %d frames, want 1 after 10ms", len(got))
		}
		if n := len(s2.got()); n != 0 {
			t.Errorf("port c received %d frames through total loss", n)
		}
		if s := h.Stats(p2); s.BtoA.Lost != 1 || s.BtoA.Sent != 1 {
			t.Errorf("port c stats %+v", s.BtoA)
		}
		if s := h.Stats(p0); s.AtoB.Sent != 1 || s.AtoB.Delivered != 1 {
			t.Errorf("port a stats %+v", s.AtoB)
		}
		// Partition port c: nothing in or out.
		h.SetFaults(p2, BtoA, Faults{})
		h.SetCut(p2, Both, true)
		hubSend(t, p2, bcast, 1)
		hubSend(t, p1, bcast, 2)
		time.Sleep(time.Second)
		if len(s2.got()) != 0 || len(s1.got()) != 1 {
			t.Errorf("partitioned port: c got %d, b got %d", len(s2.got()), len(s1.got()))
		}
		h.SetCut(p2, Both, false)
		hubSend(t, p1, bcast, 3)
		if len(s2.got()) != 1 {
			t.Errorf("healed port got nothing")
		}
		// Checksum.
		h.SetFaults(p1, BtoA, Faults{Corrupt: 0.1})
		p3 := h.Port("d", nil)
		for _, p := range []*Ifnet{p0, p1, p2, p3} {
			if !p.Checksum.Load() {
				t.Errorf("%v: Checksum clear while port b may corrupt", p)
			}
		}
		p1.Close()
		for _, p := range []*Ifnet{p0, p2, p3} {
			if p.Checksum.Load() {
				t.Errorf("%v: Checksum set after the corrupting port closed", p)
			}
		}
	})
}

// TestHubClose checks that closing a port takes it off the segment, frees
// what was in flight to it, and that closing the hub closes every port.
func TestHubClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(HubConfig{Seed: 4, Learning: true})
		p0, p1, p2 := h.Port("a", nil), h.Port("b", nil), h.Port("c", nil)
		s0, s1, s2 := sinkOn(p0), sinkOn(p1), sinkOn(p2)
		hubSend(t, p1, p0.HWAddr(), 0) // the switch learns b
		h.SetFaults(p1, BtoA, Faults{Delay: 10 * time.Millisecond})
		hubSend(t, p0, p1.HWAddr(), 1)
		p1.Close()
		time.Sleep(time.Second)
		if len(s1.got()) != 0 {
			t.Errorf("closed port received %d frames", len(s1.got()))
		}
		if s := h.Stats(p1); s.BtoA.CutDrops != 1 {
			t.Errorf("in flight to a closed port: %+v", s.BtoA)
		}
		bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		hubSend(t, p0, bcast, 2)
		if len(s2.got()) != 2 || len(s1.got()) != 0 { // #0 flooded, #2
			t.Errorf("after closing b: c got %d, b got %d", len(s2.got()), len(s1.got()))
		}
		hubSend(t, p2, p1.HWAddr(), 3) // b is forgotten: flood to a
		if len(s0.got()) != 2 {
			t.Errorf("a got %d frames, want 2", len(s0.got()))
		}
		h.Close()
		for _, p := range []*Ifnet{p0, p1, p2} {
			if p.Up() {
				t.Errorf("%v up after the hub closed", p)
			}
		}
		if p := h.Port("late", nil); p.Up() {
			t.Errorf("port made after Close is up")
		}
	})
}
