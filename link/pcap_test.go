package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// pcapFile is a parsed pcap file.
type pcapFile struct {
	magic          uint32
	major, minor   uint16
	snaplen        uint32
	linkType       uint32
	records        []pcapRecord
	thiszone, sigs uint32
}

// pcapRecord is one parsed record.
type pcapRecord struct {
	ts      time.Time
	origLen int
	data    []byte
}

// parsePcap reads a little-endian, nanosecond pcap file.
func parsePcap(b []byte) (*pcapFile, error) {
	if len(b) < pcapHdrLen {
		return nil, fmt.Errorf("short global header: %d bytes", len(b))
	}
	le := binary.LittleEndian
	f := &pcapFile{
		magic:    le.Uint32(b[0:]),
		major:    le.Uint16(b[4:]),
		minor:    le.Uint16(b[6:]),
		thiszone: le.Uint32(b[8:]),
		sigs:     le.Uint32(b[12:]),
		snaplen:  le.Uint32(b[16:]),
		linkType: le.Uint32(b[20:]),
	}
	if f.magic != PcapMagicNano {
		return nil, fmt.Errorf("magic %#x", f.magic)
	}
	b = b[pcapHdrLen:]
	for len(b) > 0 {
		if len(b) < pcapRecHdrLen {
			return nil, fmt.Errorf("short record header: %d bytes", len(b))
		}
		sec, nsec := le.Uint32(b[0:]), le.Uint32(b[4:])
		incl, orig := int(le.Uint32(b[8:])), int(le.Uint32(b[12:]))
		if nsec >= 1e9 || incl > orig || incl > int(f.snaplen) || len(b) < pcapRecHdrLen+incl {
			return nil, fmt.Errorf("bad record: %d.%09d incl %d orig %d, %d bytes left", sec, nsec, incl, orig, len(b))
		}
		f.records = append(f.records, pcapRecord{
			ts:      time.Unix(int64(sec), int64(nsec)),
			origLen: orig,
			data:    b[pcapRecHdrLen : pcapRecHdrLen+incl],
		})
		b = b[pcapRecHdrLen+incl:]
	}
	return f, nil
}

// tsharkLens runs tshark on a pcap file and returns the frame lengths it
// reports, or skips the caller's subtest when tshark is not installed.
func tsharkLens(t *testing.T, file []byte) []int {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH; skipping the cross-check")
	}
	name := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(name, file, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-r", name, "-T", "fields", "-e", "frame.len")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v: %s", err, stderr.String())
	}
	var lens []int
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("tshark printed %q", f)
		}
		lens = append(lens, n)
	}
	return lens
}

func TestPcapWriter(t *testing.T) {
	eth := faultFrame(net.HardwareAddr{2, 0, 0, 0, 0, 2}, net.HardwareAddr{2, 0, 0, 0, 0, 1}, 7, 100)
	null := append([]byte{2, 0, 0, 0}, bytes.Repeat([]byte{0x45}, 40)...) // AF_INET, little-endian host
	big := faultFrame(net.HardwareAddr{2, 0, 0, 0, 0, 2}, net.HardwareAddr{2, 0, 0, 0, 0, 1}, 8, 9014)
	tests := []struct {
		name     string
		lt       Type
		snaplen  int
		frames   [][]byte
		cuts     []int // split points of the mbuf chains
		wantSnap uint32
	}{
		{"ethernet", Ethernet, 0, [][]byte{eth, eth[:60]}, nil, PcapSnaplen},
		{"chained", Ethernet, 0, [][]byte{eth, big}, []int{14, 50}, PcapSnaplen},
		{"null", Null, 0, [][]byte{null}, nil, PcapSnaplen},
		{"snaplen cuts", Ethernet, 64, [][]byte{eth, big, eth[:30]}, nil, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			pw, err := NewPcapWriter(&buf, tt.lt, tt.snaplen)
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
			for i, fr := range tt.frames {
				m := mbuf.NewPool().CopyIn(mbuf.MT_DATA, fr, 0)
				for _, c := range tt.cuts {
					if rest := mbuf.Split(m, c); rest != nil {
						m.Last().Next = rest
					}
				}
				if err := pw.WriteFrame(base.Add(time.Duration(i)*time.Microsecond), m); err != nil {
					t.Fatal(err)
				}
				mbuf.FreeChain(m)
			}
			f, err := parsePcap(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if f.major != 2 || f.minor != 4 || f.snaplen != tt.wantSnap || f.linkType != uint32(tt.lt) || f.thiszone != 0 || f.sigs != 0 {
				t.Errorf("header %+v", f)
			}
			if len(f.records) != len(tt.frames) {
				t.Fatalf("%d records, want %d", len(f.records), len(tt.frames))
			}
			var lens []int
			for i, r := range f.records {
				fr := tt.frames[i]
				want := fr[:min(len(fr), int(f.snaplen))]
				if r.origLen != len(fr) || !bytes.Equal(r.data, want) {
					t.Errorf("record %d: %d of %d bytes, want %d of %d", i, len(r.data), r.origLen, len(want), len(fr))
				}
				if ts := base.Add(time.Duration(i) * time.Microsecond); !r.ts.Equal(ts) {
					t.Errorf("record %d: time %v, want %v", i, r.ts, ts)
				}
				lens = append(lens, len(fr))
			}
			t.Run("tshark", func(t *testing.T) {
				if got := tsharkLens(t, buf.Bytes()); !slicesEqual(got, lens) {
					t.Errorf("tshark reads lengths %v, want %v", got, lens)
				}
			})
		})
	}
}

// failWriter fails every write after the first ok ones.
type failWriter struct{ ok int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.ok == 0 {
		return 0, errors.New("disk full")
	}
	w.ok--
	return len(b), nil
}

func TestPcapErrors(t *testing.T) {
	if _, err := NewPcapWriter(&failWriter{}, Ethernet, 0); err == nil {
		t.Errorf("NewPcapWriter on a failing writer succeeded")
	}
	w := &failWriter{ok: 2}
	pw, err := NewPcapWriter(w, Ethernet, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := (*mbuf.Pool)(nil).CopyIn(mbuf.MT_DATA, make([]byte, 60), 0)
	pw.Frame(nil, m, true)
	if pw.Err() != nil {
		t.Fatalf("Err after a good write: %v", pw.Err())
	}
	pw.Frame(nil, m, true)
	if pw.Err() == nil {
		t.Fatalf("Err nil after a failed write")
	}
	if err := pw.Close(); err == nil {
		t.Errorf("Close hides the write error")
	}
	if err := pw.WriteFrame(time.Now(), m); err == nil {
		t.Errorf("WriteFrame after Close succeeded")
	}
}

// TestCapture captures a wire end on virtual time and reads it back.
func TestCapture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := NewWire(WireConfig{})
		defer w.Close()
		a, b := w.Ends()
		sinkOn(a)
		sinkOn(b)
		w.SetFaults(Both, Faults{Delay: 3 * time.Millisecond})
		var buf bytes.Buffer
		stop, err := Capture(a, &buf)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		sendSeq(t, a, 0, 1, 100) // out at 0
		time.Sleep(time.Millisecond)
		sendSeq(t, b, 1, 1, 200) // in at 4ms
		time.Sleep(time.Second)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		sendSeq(t, a, 2, 1, 100) // not captured
		time.Sleep(time.Second)
		f, err := parsePcap(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if f.linkType != uint32(Ethernet) || len(f.records) != 2 {
			t.Fatalf("link type %d, %d records, want 1 and 2", f.linkType, len(f.records))
		}
		want := []struct {
			seq uint32
			n   int
			at  time.Duration
		}{{0, 100, 0}, {1, 200, 4 * time.Millisecond}}
		for i, r := range f.records {
			if frameSeq(r.data) != want[i].seq || len(r.data) != want[i].n || r.ts.Sub(start) != want[i].at {
				t.Errorf("record %d: #%d, %d bytes at %v; want #%d, %d at %v",
					i, frameSeq(r.data), len(r.data), r.ts.Sub(start), want[i].seq, want[i].n, want[i].at)
			}
		}
	})
	t.Run("loopback", func(t *testing.T) {
		lo := NewLoopback("lo0")
		lo.SetInput(func(_ *Ifnet, m *mbuf.Mbuf) { mbuf.FreeChain(m) })
		var buf bytes.Buffer
		stop, err := Capture(lo, &buf)
		if err != nil {
			t.Fatal(err)
		}
		fr := binary.NativeEndian.AppendUint32(nil, 2)
		fr = append(fr, bytes.Repeat([]byte{0x45}, 20)...)
		lo.Transmit(lo.Pool.CopyIn(mbuf.MT_DATA, fr, 0))
		stop()
		f, err := parsePcap(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		// One frame, seen going out and coming in.
		if f.linkType != uint32(Null) || len(f.records) != 2 || !bytes.Equal(f.records[1].data, fr) {
			t.Fatalf("link type %d, %d records", f.linkType, len(f.records))
		}
		t.Run("tshark", func(t *testing.T) {
			if got := tsharkLens(t, buf.Bytes()); !slicesEqual(got, []int{24, 24}) {
				t.Errorf("tshark reads lengths %v", got)
			}
		})
	})
}

// TestWireDeterministic runs the same seeded, faulty, two-way traffic twice
// on virtual time and checks that both captures are byte for byte the same,
// and that another seed gives another capture.
func TestWireDeterministic(t *testing.T) {
	run := func(seed uint64) (capA, capB []byte, st WireStats) {
		synctest.Test(t, func(t *testing.T) {
			w := NewWire(WireConfig{Seed: seed})
			a, b := w.Ends()
			sinkOn(a)
			// b echoes every frame it receives, from its input routine.
			b.SetInput(func(ifp *Ifnet, m *mbuf.Mbuf) { ifp.Transmit(m) })
			w.SetFaults(Both, Faults{
				Delay:     5 * time.Millisecond,
				Jitter:    3 * time.Millisecond,
				Loss:      0.1,
				Duplicate: 0.1,
				Reorder:   0.1,
				Corrupt:   0.05,
			})
			var bufA, bufB bytes.Buffer
			stopA, _ := Capture(a, &bufA)
			stopB, _ := Capture(b, &bufB)
			for i := range 300 {
				sendSeq(t, a, i, 1, 60+i%1400)
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Second)
			stopA()
			stopB()
			w.Close()
			capA, capB, st = bufA.Bytes(), bufB.Bytes(), w.Stats()
		})
		return capA, capB, st
	}
	a1, b1, s1 := run(99)
	a2, b2, s2 := run(99)
	if !bytes.Equal(a1, a2) || !bytes.Equal(b1, b2) {
		t.Errorf("same seed, different captures: %d/%d and %d/%d bytes", len(a1), len(b1), len(a2), len(b2))
	}
	if s1 != s2 {
		t.Errorf("same seed, different stats:\n%+v\n%+v", s1, s2)
	}
	for _, s := range []DirStats{s1.AtoB, s1.BtoA} {
		if s.Lost == 0 || s.Duplicated == 0 || s.Reordered == 0 || s.Corrupted == 0 {
			t.Errorf("faults not exercised: %+v", s)
		}
		checkConservation(t, "run", s)
	}
	a3, b3, _ := run(100)
	if bytes.Equal(a1, a3) || bytes.Equal(b1, b3) {
		t.Errorf("seeds 99 and 100 give the same capture")
	}
	fa, err := parsePcap(a1)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fa.records); n < 300 {
		t.Errorf("capture on a has %d records, want at least the 300 sent", n)
	}
	t.Run("tshark", func(t *testing.T) {
		if got := tsharkLens(t, b1); len(got) == 0 {
			t.Errorf("tshark reads nothing")
		}
	})
}
