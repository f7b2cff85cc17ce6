package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// faultEtherType is the EtherType of the test frames (IEEE local
// experimental).
const faultEtherType = 0x88b5

// faultFrame returns an Ethernet frame of n bytes in all from src to dst
// whose payload starts with seq (big-endian) and is then filled with a
// pattern that depends on seq.
func faultFrame(dst, src net.HardwareAddr, seq uint32, n int) []byte {
	b := make([]byte, max(n, EtherHdrLen+4))
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], faultEtherType)
	binary.BigEndian.PutUint32(b[14:18], seq)
	for i := 18; i < len(b); i++ {
		b[i] = byte(int(seq) + i)
	}
	return b[:n:n]
}

// frameSeq returns the sequence number in a test frame.
func frameSeq(b []byte) uint32 { return binary.BigEndian.Uint32(b[14:18]) }

// received is one frame a faultSink got, with the time it got it.
type received struct {
	b  []byte
	at time.Time
}

// faultSink collects what an interface receives.
type faultSink struct {
	mu     sync.Mutex
	frames []received
}

// sinkOn makes a sink the input routine of ifp.
func sinkOn(ifp *Ifnet) *faultSink {
	s := &faultSink{}
	ifp.SetInput(func(_ *Ifnet, m *mbuf.Mbuf) {
		b := mbuf.Bytes(m)
		mbuf.FreeChain(m)
		s.mu.Lock()
		s.frames = append(s.frames, received{b, time.Now()})
		s.mu.Unlock()
	})
	return s
}

// got returns what the sink has received so far.
func (s *faultSink) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.frames...)
}

// seqs returns the sequence numbers of what the sink has received.
func (s *faultSink) seqs() []uint32 {
	var out []uint32
	for _, r := range s.got() {
		out = append(out, frameSeq(r.b))
	}
	return out
}

// sendSeq transmits test frames first..first+count-1 of n bytes from ifp to
// the broadcast address, failing the test on error.
func sendSeq(t *testing.T, ifp *Ifnet, first, count, n int) {
	t.Helper()
	for i := first; i < first+count; i++ {
		b := faultFrame(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ifp.HWAddr(), uint32(i), n)
		// A tail drop is the queue's answer, not a failure of the test.
		if err := ifp.Transmit(ifp.Pool.CopyIn(mbuf.MT_DATA, b, 0)); err != nil && !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Transmit frame %d: %v", i, err)
		}
	}
}

// checkConservation checks that every frame offered to one direction is
// accounted for once nothing is in flight.
func checkConservation(t *testing.T, what string, s DirStats) {
	t.Helper()
	in := s.Sent + s.Duplicated
	out := s.Delivered + s.Lost + s.QueueDrops + s.CutDrops + s.MTUDrops
	if in != out {
		t.Errorf("%s: sent %d + duplicated %d != delivered %d + lost %d + queue %d + cut %d + mtu %d",
			what, s.Sent, s.Duplicated, s.Delivered, s.Lost, s.QueueDrops, s.CutDrops, s.MTUDrops)
	}
}

func TestWireEnds(t *testing.T) {
	macA := net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	tests := []struct {
		name         string
		cfg          WireConfig
		nameA, nameB string
		mtu          int
		macA         net.HardwareAddr // nil: derived
	}{
		{"defaults", WireConfig{}, "eth0", "eth0", 1500, nil},
		{"names and MTU", WireConfig{NameA: "em0", NameB: "em1", MTU: 9000, Seed: 7}, "em0", "em1", 9000, nil},
		{"given MAC", WireConfig{MACA: macA, Seed: 7}, "eth0", "eth0", 1500, macA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWire(tt.cfg)
			defer w.Close()
			a, b := w.Ends()
			if a.Name() != tt.nameA || b.Name() != tt.nameB {
				t.Errorf("names %q %q, want %q %q", a.Name(), b.Name(), tt.nameA, tt.nameB)
			}
			for _, ifp := range []*Ifnet{a, b} {
				if ifp.Type() != Ethernet || ifp.MTU() != tt.mtu || !ifp.Up() {
					t.Errorf("%v: type %v MTU %d up %v", ifp, ifp.Type(), ifp.MTU(), ifp.Up())
				}
				if ifp.Checksum.Load() {
					t.Errorf("%v: Checksum set on a wire that cannot corrupt", ifp)
				}
				hw := ifp.HWAddr()
				if len(hw) != 6 || hw[0]&1 != 0 || hw[0]&2 == 0 {
					t.Errorf("%v: hardware address %v is not locally administered unicast", ifp, hw)
				}
			}
			if bytes.Equal(a.HWAddr(), b.HWAddr()) {
				t.Errorf("both ends have address %v", a.HWAddr())
			}
			if tt.macA != nil && !bytes.Equal(a.HWAddr(), tt.macA) {
				t.Errorf("MACA %v, want %v", a.HWAddr(), tt.macA)
			}
			// The same seed derives the same addresses, another seed others.
			w2 := NewWire(tt.cfg)
			defer w2.Close()
			a2, b2 := w2.Ends()
			if !bytes.Equal(a.HWAddr(), a2.HWAddr()) || !bytes.Equal(b.HWAddr(), b2.HWAddr()) {
				t.Errorf("same seed, different addresses: %v %v and %v %v", a.HWAddr(), b.HWAddr(), a2.HWAddr(), b2.HWAddr())
			}
			cfg3 := tt.cfg
			cfg3.Seed++
			w3 := NewWire(cfg3)
			defer w3.Close()
			if _, b3 := w3.Ends(); bytes.Equal(b.HWAddr(), b3.HWAddr()) {
				t.Errorf("seeds %d and %d derive the same address %v", tt.cfg.Seed, cfg3.Seed, b3.HWAddr())
			}
		})
	}
}

// TestWireSync checks that a perfect wire delivers in the sender's
// goroutine, before Transmit returns, both ways, with the counters.
func TestWireSync(t *testing.T) {
	w := NewWire(WireConfig{Seed: 1})
	defer w.Close()
	a, b := w.Ends()
	sa, sb := sinkOn(a), sinkOn(b)
	tests := []struct {
		from    *Ifnet
		to      *faultSink
		toIfp   *Ifnet
		n       int
		viaDir  func(WireStats) DirStats
		dirName string
	}{
		{a, sb, b, 60, func(s WireStats) DirStats { return s.AtoB }, "AtoB"},
		{b, sa, a, 1514, func(s WireStats) DirStats { return s.BtoA }, "BtoA"},
	}
	for _, tt := range tests {
		sendSeq(t, tt.from, 0, 3, tt.n)
		if got := tt.to.seqs(); len(got) != 3 {
			t.Fatalf("%s: %d frames delivered before Transmit returned, want 3", tt.dirName, len(got))
		}
		if r := tt.to.got()[0]; len(r.b) != tt.n {
			t.Errorf("%s: frame of %d bytes, want %d", tt.dirName, len(r.b), tt.n)
		}
		if got := tt.from.Stats.Opackets.Load(); got != 3 {
			t.Errorf("%s: Opackets %d, want 3", tt.dirName, got)
		}
		if got := tt.toIfp.Stats.Ipackets.Load(); got != 3 {
			t.Errorf("%s: Ipackets %d, want 3", tt.dirName, got)
		}
		if s := tt.viaDir(w.Stats()); s.Sent != 3 || s.Delivered != 3 {
			t.Errorf("%s: stats %+v", tt.dirName, s)
		}
	}
}

// TestWireRates checks each probabilistic fault over 10,000 frames: its
// count is within five standard deviations of the mean, and a second run
// with the same seed decides exactly the same.
func TestWireRates(t *testing.T) {
	const n = 10000
	tests := []struct {
		name  string
		f     Faults
		p     float64
		count func(DirStats) uint64
	}{
		{"loss 10%", Faults{Loss: 0.1}, 0.1, func(s DirStats) uint64 { return s.Lost }},
		{"loss 1%", Faults{Loss: 0.01}, 0.01, func(s DirStats) uint64 { return s.Lost }},
		{"duplicate 5%", Faults{Duplicate: 0.05}, 0.05, func(s DirStats) uint64 { return s.Duplicated }},
		{"reorder 10%", Faults{Reorder: 0.1}, 0.1, func(s DirStats) uint64 { return s.Reordered }},
		{"corrupt 2%", Faults{Corrupt: 0.02}, 0.02, func(s DirStats) uint64 { return s.Corrupted }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() ([]uint32, DirStats) {
				w := NewWire(WireConfig{Seed: 42})
				defer w.Close()
				a, b := w.Ends()
				sb := sinkOn(b)
				w.SetFaults(AtoB, tt.f)
				sendSeq(t, a, 0, n, 100)
				w.SetFaults(AtoB, Faults{}) // the last frame flushes a held one
				sendSeq(t, a, n, 1, 100)
				s := w.Stats().AtoB
				checkConservation(t, tt.name, s)
				return sb.seqs(), s
			}
			seqs1, s1 := run()
			seqs2, s2 := run()
			got := float64(tt.count(s1))
			mean := tt.p * n
			sd := math.Sqrt(n * tt.p * (1 - tt.p))
			if math.Abs(got-mean) > 5*sd {
				t.Errorf("count %v, want %v ± %v", got, mean, 5*sd)
			}
			if s1 != s2 || !slicesEqual(seqs1, seqs2) {
				t.Errorf("same seed, different runs: %+v and %+v", s1, s2)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWireLossExact pins the 10% loss figure of seed 42, so that a change
// in how decisions are drawn shows up.
func TestWireLossExact(t *testing.T) {
	var counts []uint64
	for range 2 {
		w := NewWire(WireConfig{Seed: 42})
		a, b := w.Ends()
		sb := sinkOn(b)
		w.SetFaults(AtoB, Faults{Loss: 0.1})
		sendSeq(t, a, 0, 10000, 64)
		s := w.Stats().AtoB
		if s.Lost+uint64(len(sb.got())) != 10000 {
			t.Errorf("lost %d + received %d != 10000", s.Lost, len(sb.got()))
		}
		counts = append(counts, s.Lost)
		w.Close()
	}
	// 1027 is what PCG(42, streamAtoB) decides; within 1000 ± 3σ (σ = 30).
	if counts[0] != 1027 || counts[1] != 1027 {
		t.Errorf("lost %v of 10000 at 10%% in two seeded runs, want 1027 both times", counts)
	}
}

// TestWireGilbertElliott checks that the bursty model's losses come in runs
// of 1/R frames on average, at the long-run rate P/(P+R), while independent
// loss at the same rate gives runs of about 1/(1-rate).
func TestWireGilbertElliott(t *testing.T) {
	const n = 100000
	tests := []struct {
		name     string
		f        Faults
		rate     float64
		meanRun  float64
		runSlack float64
	}{
		{"GE R=0.25", Faults{GE: &GilbertElliott{P: 0.02, R: 0.25, LossBad: 1}}, 0.02 / 0.27, 4, 0.4},
		{"GE R=0.5", Faults{GE: &GilbertElliott{P: 0.05, R: 0.5, LossBad: 1}}, 0.05 / 0.55, 2, 0.2},
		{"independent", Faults{Loss: 0.02 / 0.27}, 0.02 / 0.27, 1 / (1 - 0.02/0.27), 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWire(WireConfig{Seed: 3})
			defer w.Close()
			a, b := w.Ends()
			sb := sinkOn(b)
			w.SetFaults(AtoB, tt.f)
			sendSeq(t, a, 0, n, 60)
			got := make([]bool, n)
			for _, s := range sb.seqs() {
				got[s] = true
			}
			lost, runs := 0, 0
			for i := range got {
				if !got[i] {
					lost++
					if i == 0 || got[i-1] {
						runs++
					}
				}
			}
			rate := float64(lost) / n
			meanRun := float64(lost) / float64(runs)
			if math.Abs(rate-tt.rate) > 0.15*tt.rate {
				t.Errorf("loss rate %.4f, want %.4f", rate, tt.rate)
			}
			if math.Abs(meanRun-tt.meanRun) > tt.runSlack {
				t.Errorf("mean burst %.3f frames, want %.3f ± %.2f", meanRun, tt.meanRun, tt.runSlack)
			}
			if s := w.Stats().AtoB; s.Lost != uint64(lost) {
				t.Errorf("Lost %d, but %d missing", s.Lost, lost)
			}
		})
	}
}

// TestWireDuplicate checks that a duplicate arrives right after its
// original, identical.
func TestWireDuplicate(t *testing.T) {
	w := NewWire(WireConfig{Seed: 5})
	defer w.Close()
	a, b := w.Ends()
	sb := sinkOn(b)
	w.SetFaults(AtoB, Faults{Duplicate: 0.3})
	sendSeq(t, a, 0, 1000, 80)
	got := sb.got()
	s := w.Stats().AtoB
	if uint64(len(got)) != 1000+s.Duplicated || s.Duplicated == 0 {
		t.Fatalf("received %d frames for 1000 sent and %d duplicated", len(got), s.Duplicated)
	}
	next, dups := uint32(0), uint64(0)
	for i, r := range got {
		seq := frameSeq(r.b)
		switch {
		case seq == next:
			next++
		case i > 0 && seq == next-1 && bytes.Equal(r.b, got[i-1].b):
			dups++
		default:
			t.Fatalf("frame %d is #%d, want #%d or a duplicate of #%d", i, seq, next, next-1)
		}
	}
	if dups != s.Duplicated {
		t.Errorf("%d duplicates seen, %d counted", dups, s.Duplicated)
	}
	checkConservation(t, "AtoB", s)
}

// TestWireReorder checks both kinds of reordering exactly.
func TestWireReorder(t *testing.T) {
	t.Run("held for the next frame", func(t *testing.T) {
		w := NewWire(WireConfig{})
		defer w.Close()
		a, b := w.Ends()
		sb := sinkOn(b)
		w.SetFaults(AtoB, Faults{Reorder: 1})
		sendSeq(t, a, 0, 1, 60)
		if got := sb.seqs(); len(got) != 0 {
			t.Fatalf("held frame delivered: %v", got)
		}
		w.SetFaults(AtoB, Faults{})
		sendSeq(t, a, 1, 2, 60)
		if got, want := sb.seqs(), []uint32{1, 0, 2}; !slicesEqual(got, want) {
			t.Errorf("order %v, want %v", got, want)
		}
		if s := w.Stats().AtoB; s.Reordered != 1 {
			t.Errorf("Reordered %d, want 1", s.Reordered)
		}
	})
	t.Run("ReorderDelay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := NewWire(WireConfig{})
			defer w.Close()
			a, b := w.Ends()
			sb := sinkOn(b)
			start := time.Now()
			w.SetFaults(AtoB, Faults{Delay: 10 * time.Millisecond, Reorder: 1, ReorderDelay: 5 * time.Millisecond})
			sendSeq(t, a, 0, 1, 60)
			w.SetFaults(AtoB, Faults{Delay: 10 * time.Millisecond})
			sendSeq(t, a, 1, 2, 60)
			time.Sleep(time.Second)
			got := sb.got()
			want := []struct {
				seq uint32
				at  time.Duration
			}{{1, 10 * time.Millisecond}, {2, 10 * time.Millisecond}, {0, 15 * time.Millisecond}}
			if len(got) != len(want) {
				t.Fatalf("got %d frames, want %d", len(got), len(want))
			}
			for i, r := range got {
				if frameSeq(r.b) != want[i].seq || r.at.Sub(start) != want[i].at {
					t.Errorf("frame %d: #%d at %v, want #%d at %v", i, frameSeq(r.b), r.at.Sub(start), want[i].seq, want[i].at)
				}
			}
		})
	})
	t.Run("statistical", func(t *testing.T) {
		w := NewWire(WireConfig{Seed: 9})
		defer w.Close()
		a, b := w.Ends()
		sb := sinkOn(b)
		w.SetFaults(AtoB, Faults{Reorder: 0.1})
		sendSeq(t, a, 0, 1000, 60)
		w.SetFaults(AtoB, Faults{})
		sendSeq(t, a, 1000, 1, 60)
		got := sb.seqs()
		seen := make([]bool, 1001)
		descents := 0
		for i, s := range got {
			if seen[s] {
				t.Fatalf("#%d delivered twice", s)
			}
			seen[s] = true
			if i > 0 && got[i-1] > s {
				descents++
			}
		}
		if len(got) != 1001 {
			t.Fatalf("%d frames delivered, want 1001", len(got))
		}
		if r := w.Stats().AtoB.Reordered; descents == 0 || uint64(descents) > r {
			t.Errorf("%d frames out of order, %d reordered", descents, r)
		}
	})
}

// TestWireCorrupt checks that a corrupted frame differs from what was sent
// in exactly one bit past the Ethernet header, and that the sender's
// storage is untouched.
func TestWireCorrupt(t *testing.T) {
	w := NewWire(WireConfig{Seed: 11})
	defer w.Close()
	a, b := w.Ends()
	sb := sinkOn(b)
	w.SetFaults(AtoB, Faults{Corrupt: 1})
	for i := range 200 {
		orig := faultFrame(b.HWAddr(), a.HWAddr(), uint32(i), 60+i*7)
		sent := append([]byte(nil), orig...)
		m := (*mbuf.Pool)(nil).Wrap(mbuf.MT_DATA, sent)
		m.Flags |= mbuf.M_PKTHDR
		m.PktLen = len(sent)
		keep := mbuf.Copy(m, 0, -1) // the sender keeps a reference, as TCP does
		if err := a.Transmit(m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mbuf.Bytes(keep), orig) {
			t.Fatalf("frame %d: the sender's storage was written", i)
		}
		mbuf.FreeChain(keep)
		got := sb.got()[i].b
		if len(got) != len(orig) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(got), len(orig))
		}
		bits := 0
		for j := range got {
			d := got[j] ^ orig[j]
			if d != 0 && j < EtherHdrLen {
				t.Fatalf("frame %d: header byte %d damaged", i, j)
			}
			for ; d != 0; d &= d - 1 {
				bits++
			}
		}
		if bits != 1 {
			t.Fatalf("frame %d: %d bits differ, want 1", i, bits)
		}
	}
	// A frame with nothing past its header is left alone.
	hdrOnly := faultFrame(b.HWAddr(), a.HWAddr(), 0, EtherHdrLen)
	a.Transmit(a.Pool.CopyIn(mbuf.MT_DATA, hdrOnly, 0))
	if got := sb.got(); !bytes.Equal(got[len(got)-1].b, hdrOnly) {
		t.Errorf("header-only frame changed")
	}
	if s := w.Stats().AtoB; s.Corrupted != 200 {
		t.Errorf("Corrupted %d, want 200", s.Corrupted)
	}
}

// TestWireChecksum checks that Checksum follows whether any direction may
// corrupt.
func TestWireChecksum(t *testing.T) {
	w := NewWire(WireConfig{})
	defer w.Close()
	a, b := w.Ends()
	steps := []struct {
		dir  Direction
		f    Faults
		want bool
	}{
		{AtoB, Faults{Loss: 0.5}, false},
		{AtoB, Faults{Corrupt: 0.01}, true},
		{BtoA, Faults{Corrupt: 0.5}, true},
		{AtoB, Faults{}, true},
		{BtoA, Faults{Delay: time.Millisecond}, false},
		{Both, Faults{Corrupt: 1e-9}, true},
		{Both, Faults{Corrupt: -1}, false},
	}
	for i, s := range steps {
		w.SetFaults(s.dir, s.f)
		if a.Checksum.Load() != s.want || b.Checksum.Load() != s.want {
			t.Errorf("step %d: Checksum %v %v, want %v", i, a.Checksum.Load(), b.Checksum.Load(), s.want)
		}
	}
}

// TestWireBandwidth checks serialization at 1 Mbit/s: a 1250-byte frame
// takes 10 ms, so 100 sent at once are through after exactly one second.
func TestWireBandwidth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWire(WireConfig{})
		defer w.Close()
		a, b := w.Ends()
		sb := sinkOn(b)
		w.SetFaults(AtoB, Faults{Bandwidth: 1_000_000})
		start := time.Now()
		sendSeq(t, a, 0, 100, 1250)
		time.Sleep(2 * time.Second)
		got := sb.got()
		if len(got) != 100 {
			t.Fatalf("%d frames delivered, want 100", len(got))
		}
		for i, r := range got {
			want := time.Duration(i+1) * 10 * time.Millisecond
			if frameSeq(r.b) != uint32(i) || r.at.Sub(start) != want {
				t.Fatalf("frame %d: #%d at %v, want #%d at %v", i, frameSeq(r.b), r.at.Sub(start), i, want)
			}
		}
		if last := got[99].at.Sub(start); last != time.Second {
			t.Errorf("100 frames took %v, want 1s", last)
		}
		// Bandwidth adds to Delay.
		w.SetFaults(AtoB, Faults{Bandwidth: 1_000_000, Delay: 5 * time.Millisecond})
		start = time.Now()
		sendSeq(t, a, 100, 1, 1250)
		time.Sleep(time.Second)
		if r := sb.got()[100]; r.at.Sub(start) != 15*time.Millisecond {
			t.Errorf("with 5ms delay: frame at %v, want 15ms", r.at.Sub(start))
		}
	})
}

// TestWireQueueLimit checks tail drop: with a 12500-byte queue at 1 Mbit/s,
// ten 1250-byte frames fit and the rest of a burst is dropped, counted as
// Oqdrops on the sender; once the queue drains, frames fit again.
func TestWireQueueLimit(t *testing.T) {
	tests := []struct {
		name      string
		limit     int
		burst     int
		delivered int
	}{
		{"ten fit", 12500, 100, 10},
		{"limit below one frame", 100, 5, 1},
		{"no limit", 0, 50, 50},
		{"burst fits", 12500, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := NewWire(WireConfig{})
				defer w.Close()
				a, b := w.Ends()
				sb := sinkOn(b)
				w.SetFaults(AtoB, Faults{Bandwidth: 1_000_000, QueueLimit: tt.limit})
				sendSeq(t, a, 0, tt.burst, 1250)
				time.Sleep(2 * time.Second)
				drops := uint64(tt.burst - tt.delivered)
				if got := len(sb.got()); got != tt.delivered {
					t.Errorf("%d delivered, want %d", got, tt.delivered)
				}
				s := w.Stats().AtoB
				if s.QueueDrops != drops || a.Stats.Oqdrops.Load() != drops {
					t.Errorf("QueueDrops %d, Oqdrops %d, want %d", s.QueueDrops, a.Stats.Oqdrops.Load(), drops)
				}
				sendSeq(t, a, tt.burst, 1, 1250)
				time.Sleep(time.Second)
				if got := len(sb.got()); got != tt.delivered+1 {
					t.Errorf("after draining: %d delivered, want %d", got, tt.delivered+1)
				}
				checkConservation(t, "AtoB", w.Stats().AtoB)
			})
		})
	}
}

// TestWireCut checks that a cut wire drops everything, including what was
// in flight, and that a healed wire carries frames again.
func TestWireCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWire(WireConfig{})
		defer w.Close()
		a, b := w.Ends()
		sa, sb := sinkOn(a), sinkOn(b)
		w.SetFaults(Both, Faults{Delay: 10 * time.Millisecond})
		sendSeq(t, a, 0, 3, 60) // in flight when the wire is cut
		w.Cut()
		sendSeq(t, a, 3, 2, 60)
		sendSeq(t, b, 0, 2, 60)
		time.Sleep(time.Second)
		if len(sa.got())+len(sb.got()) != 0 {
			t.Fatalf("cut wire delivered %d and %d frames", len(sa.got()), len(sb.got()))
		}
		s := w.Stats()
		if s.AtoB.CutDrops != 5 || s.BtoA.CutDrops != 2 {
			t.Errorf("CutDrops %d %d, want 5 2", s.AtoB.CutDrops, s.BtoA.CutDrops)
		}
		if !a.Up() || !b.Up() {
			t.Errorf("a cut takes the interfaces down")
		}
		w.Heal()
		sendSeq(t, a, 5, 1, 60)
		sendSeq(t, b, 2, 1, 60)
		time.Sleep(time.Second)
		if !slicesEqual(sb.seqs(), []uint32{5}) || !slicesEqual(sa.seqs(), []uint32{2}) {
			t.Errorf("after Heal: %v and %v", sb.seqs(), sa.seqs())
		}
		// One way only.
		w.SetCut(AtoB, true)
		sendSeq(t, a, 6, 1, 60)
		sendSeq(t, b, 3, 1, 60)
		time.Sleep(time.Second)
		if len(sb.got()) != 1 || len(sa.got()) != 2 {
			t.Errorf("AtoB cut: %v and %v", sb.seqs(), sa.seqs())
		}
		s = w.Stats()
		checkConservation(t, "AtoB", s.AtoB)
		checkConservation(t, "BtoA", s.BtoA)
	})
}

// TestWireMTU checks that frames too big for the sender are refused with
// EMSGSIZE (Oerrors) and those too big for the receiver dropped as giants
// (Ierrors).
func TestWireMTU(t *testing.T) {
	tests := []struct {
		name       string
		recvMTU    int
		n          int
		err        error
		delivered  bool
		oerr, ierr uint64
	}{
		{"fits", 1500, EtherHdrLen + 1500, nil, true, 0, 0},
		{"too big to send", 1500, EtherHdrLen + 1501, syscall.EMSGSIZE, false, 1, 0},
		{"too big to receive", 1000, EtherHdrLen + 1200, nil, false, 0, 1},
		{"fits the smaller MTU", 1000, EtherHdrLen + 1000, nil, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWire(WireConfig{})
			defer w.Close()
			a, b := w.Ends()
			b.SetMTU(tt.recvMTU)
			sb := sinkOn(b)
			err := a.Transmit(a.Pool.CopyIn(mbuf.MT_DATA, faultFrame(b.HWAddr(), a.HWAddr(), 0, tt.n), 0))
			if !errors.Is(err, tt.err) || (err != nil) != (tt.err != nil) {
				t.Errorf("Transmit: %v, want %v", err, tt.err)
			}
			if got := len(sb.got()) == 1; got != tt.delivered {
				t.Errorf("delivered %v, want %v", got, tt.delivered)
			}
			if a.Stats.Oerrors.Load() != tt.oerr || b.Stats.Ierrors.Load() != tt.ierr {
				t.Errorf("Oerrors %d Ierrors %d, want %d %d", a.Stats.Oerrors.Load(), b.Stats.Ierrors.Load(), tt.oerr, tt.ierr)
			}
			s := w.Stats().AtoB
			if want := uint64(1) - map[bool]uint64{true: 1}[tt.delivered]; s.MTUDrops != want {
				t.Errorf("MTUDrops %d, want %d", s.MTUDrops, want)
			}
			checkConservation(t, "AtoB", s)
		})
	}
}

// TestWireDelayJitter checks delays on virtual time: exact without jitter,
// within Delay±Jitter and in send order with it.
func TestWireDelayJitter(t *testing.T) {
	tests := []struct {
		name          string
		f             Faults
		lo, hi        time.Duration
		wantVariation bool
	}{
		{"delay", Faults{Delay: 10 * time.Millisecond}, 10 * time.Millisecond, 10 * time.Millisecond, false},
		{"jitter", Faults{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond}, 5 * time.Millisecond, 15 * time.Millisecond, true},
		{"jitter past zero", Faults{Delay: time.Millisecond, Jitter: 3 * time.Millisecond}, 0, 4 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := NewWire(WireConfig{Seed: 13})
				defer w.Close()
				a, b := w.Ends()
				sb := sinkOn(b)
				w.SetFaults(AtoB, tt.f)
				start := time.Now()
				for i := range 500 {
					sendSeq(t, a, i, 1, 60)
					time.Sleep(time.Millisecond)
				}
				time.Sleep(time.Second)
				got := sb.got()
				if len(got) != 500 {
					t.Fatalf("%d frames delivered, want 500", len(got))
				}
				seen := map[time.Duration]bool{}
				for i, r := range got {
					if frameSeq(r.b) != uint32(i) {
						t.Fatalf("frame %d is #%d: jitter reordered", i, frameSeq(r.b))
					}
					d := r.at.Sub(start) - time.Duration(i)*time.Millisecond
					if d < tt.lo || d > tt.hi {
						t.Fatalf("frame %d took %v, want %v..%v", i, d, tt.lo, tt.hi)
					}
					seen[d] = true
				}
				if tt.wantVariation != (len(seen) > 1) {
					t.Errorf("%d different delays", len(seen))
				}
			})
		})
	}
}

// TestWireFaultsInFlight checks that changing faults leaves the frames in
// flight on their schedule and keeps send order.
func TestWireFaultsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWire(WireConfig{Seed: 17})
		defer w.Close()
		a, b := w.Ends()
		sb := sinkOn(b)
		start := time.Now()
		w.SetFaults(AtoB, Faults{Delay: 100 * time.Millisecond})
		sendSeq(t, a, 0, 5, 60)
		time.Sleep(10 * time.Millisecond)
		// Total loss now: what is in flight still arrives.
		w.SetFaults(AtoB, Faults{Loss: 1})
		sendSeq(t, a, 5, 5, 60)
		// No delay now: these wait behind the frames in flight.
		w.SetFaults(AtoB, Faults{})
		sendSeq(t, a, 10, 5, 60)
		if n := len(sb.got()); n != 0 {
			t.Fatalf("%d frames overtook the ones in flight", n)
		}
		time.Sleep(time.Second)
		want := []uint32{0, 1, 2, 3, 4, 10, 11, 12, 13, 14}
		if got := sb.seqs(); !slicesEqual(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for _, r := range sb.got() {
			if d := r.at.Sub(start); d != 100*time.Millisecond {
				t.Errorf("#%d arrived at %v, want 100ms", frameSeq(r.b), d)
			}
		}
		// With nothing in flight, delivery is synchronous again.
		sendSeq(t, a, 15, 1, 60)
		if got := sb.seqs(); got[len(got)-1] != 15 {
			t.Errorf("frame not delivered in the sender's goroutine")
		}
		// Shorter delay for later frames: they still arrive after earlier ones.
		w.SetFaults(AtoB, Faults{Delay: 50 * time.Millisecond})
		sendSeq(t, a, 16, 1, 60)
		w.SetFaults(AtoB, Faults{Delay: 10 * time.Millisecond})
		sendSeq(t, a, 17, 1, 60)
		time.Sleep(time.Second)
		if got := sb.seqs(); !slicesEqual(got[len(got)-2:], []uint32{16, 17}) {
			t.Errorf("got %v, want ... 16 17", got)
		}
		s := w.Stats().AtoB
		if s.Lost != 5 {
			t.Errorf("Lost %d, want 5", s.Lost)
		}
		checkConservation(t, "AtoB", s)
	})
}

// TestWireClose checks that Close frees the frames in flight, stops all
// delivery, takes the carrier away from the other end and leaves no
// goroutine or timer behind.
func TestWireClose(t *testing.T) {
	for _, closeEnd := range []string{"A", "B", "wire"} {
		t.Run(closeEnd, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := NewWire(WireConfig{Seed: 19})
				a, b := w.Ends()
				sa, sb := sinkOn(a), sinkOn(b)
				w.SetFaults(Both, Faults{Delay: 10 * time.Millisecond, Reorder: 0.3, Jitter: time.Millisecond})
				var frames []*mbuf.Mbuf
				for i := range 20 {
					m := (*mbuf.Pool)(nil).CopyIn(mbuf.MT_DATA, faultFrame(b.HWAddr(), a.HWAddr(), uint32(i), 100), 0)
					frames = append(frames, m)
					if err := a.Transmit(m); err != nil {
						t.Fatal(err)
					}
				}
				sendSeq(t, b, 0, 5, 60)
				switch closeEnd {
				case "A":
					a.Close()
				case "B":
					b.Close()
				default:
					w.Close()
				}
				for i, m := range frames {
					if m.Len() != 0 { // a freed heap mbuf is zeroed
						t.Errorf("frame %d not freed by Close", i)
					}
				}
				if a.Up() || b.Up() {
					t.Errorf("ends still running after Close")
				}
				if err := a.Transmit(a.Pool.CopyIn(mbuf.MT_DATA, faultFrame(b.HWAddr(), a.HWAddr(), 99, 60), 0)); !errors.Is(err, ErrDown) {
					t.Errorf("Transmit after Close: %v, want ErrDown", err)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if len(sa.got())+len(sb.got()) != 0 {
					t.Errorf("delivered after Close: %v %v", sa.seqs(), sb.seqs())
				}
				s := w.Stats()
				if s.AtoB.CutDrops != 20 || s.BtoA.CutDrops != 5 {
					t.Errorf("CutDrops %d %d, want 20 5", s.AtoB.CutDrops, s.BtoA.CutDrops)
				}
				if err := w.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
			})
		})
	}
	t.Run("goroutines", func(t *testing.T) {
		before := runtime.NumGoroutine()
		w := NewWire(WireConfig{Seed: 23})
		a, b := w.Ends()
		sinkOn(b)
		w.SetFaults(AtoB, Faults{Delay: time.Hour})
		sendSeq(t, a, 0, 100, 60)
		w.SetFaults(AtoB, Faults{Delay: time.Millisecond, Jitter: time.Millisecond})
		sendSeq(t, a, 100, 100, 60)
		time.Sleep(5 * time.Millisecond)
		a.Close()
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines after Close, %d before", n, before)
		}
		if s := w.Stats().AtoB; s.Delivered+s.CutDrops != 200 {
			t.Errorf("delivered %d + dropped %d != 200", s.Delivered, s.CutDrops)
		}
	})
}

// TestWireEcho checks that a receiver may send back through the wire from
// its input routine, synchronously and with delays.
func TestWireEcho(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			w := NewWire(WireConfig{})
			defer w.Close()
			a, b := w.Ends()
			sa := sinkOn(a)
			b.SetInput(func(ifp *Ifnet, m *mbuf.Mbuf) { ifp.Transmit(m) })
			w.SetFaults(Both, Faults{Delay: d})
			sendSeq(t, a, 0, 10, 60)
			time.Sleep(time.Second)
			if got := sa.seqs(); len(got) != 10 {
				t.Errorf("delay %v: %d echoes, want 10", d, len(got))
			}
		})
	}
}

// TestWireAllocs checks that the data path allocates nothing per frame once
// warm: synchronous delivery, and delayed delivery on virtual time.
func TestWireAllocs(t *testing.T) {
	if testing.Short() || wireRaceEnabled {
		t.Skip("allocation counts need a full run without the race detector")
	}
	frame := faultFrame(net.HardwareAddr{2, 0, 0, 0, 0, 2}, net.HardwareAddr{2, 0, 0, 0, 0, 1}, 0, 1514)
	tests := []struct {
		name string
		f    Faults
		max  float64
	}{
		{"sync", Faults{}, 0},
		{"delay", Faults{Delay: time.Millisecond}, 0},
		{"rate", Faults{Bandwidth: 1e9, Jitter: time.Microsecond}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := NewWire(WireConfig{})
				defer w.Close()
				a, b := w.Ends()
				pool := mbuf.NewPool()
				a.Pool = pool
				b.SetInput(func(_ *Ifnet, m *mbuf.Mbuf) { mbuf.FreeChain(m) })
				w.SetFaults(AtoB, tt.f)
				send := func() {
					for range 10 {
						a.Transmit(pool.CopyIn(mbuf.MT_DATA, frame, 0))
					}
					time.Sleep(10 * time.Millisecond)
				}
				send()
				if got := testing.AllocsPerRun(100, send) / 10; got > tt.max {
					t.Errorf("%.2f allocations per frame, want at most %v", got, tt.max)
				}
				if s := w.Stats().AtoB; s.Delivered != s.Sent {
					t.Errorf("delivered %d of %d", s.Delivered, s.Sent)
				}
			})
		})
	}
}
