package benchsuite

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestWorkloadsChecked runs every workload on both sides briefly with its
// data checked.
func TestWorkloadsChecked(t *testing.T) {
	sides := []struct {
		name   string
		stream pairFunc
		dgram  pairFunc
		kernel bool
	}{
		{"bsdnet", bsdnetStreamPair, bsdnetDgramPair, false},
		{"kernel", kernelStreamPair, kernelDgramPair, true},
	}
	for _, s := range sides {
		t.Run("stream/"+s.name, func(t *testing.T) {
			a, b, done, err := s.stream()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			if err := streamWorkload(a, b, 8, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("pingpong/"+s.name, func(t *testing.T) {
			a, b, done, err := s.stream()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			if err := pingPongWorkload(a, b, 200, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("dgram/"+s.name, func(t *testing.T) {
			a, b, done, err := s.dgram()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			if err := dgramWorkload(a, b, 1000, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("connect/"+s.name, func(t *testing.T) {
			if err := connectWorkload(s.kernel, 100); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, size := range []int{64, 1400} {
		for _, p := range []struct {
			name string
			mk   func() (udpPair, error)
		}{{"loopback", newBsdnetLoopback}, {"wire", newBsdnetWire}, {"kernel", newKernelUDP}} {
			t.Run(fmt.Sprintf("udp%d/%s", size, p.name), func(t *testing.T) {
				u, err := p.mk()
				if err != nil {
					t.Fatal(err)
				}
				defer u.close()
				if err := udpWarmup(u, size); err != nil {
					t.Fatal(err)
				}
				var full0 uint64
				if bu, ok := u.(*bsdnetUDP); ok {
					full0 = bu.rxStack.Inet().Stats.UDP.FullSock.Load()
				}
				res, err := udpWorkload(u, 1000, size, true)
				if err != nil {
					t.Fatal(err)
				}
				if res.received == 0 {
					t.Fatalf("none of %d datagrams arrived", res.sent)
				}
				// On bsdnet every datagram is accounted for: received,
				// refused to the sender, or dropped at the full buffer.
				if bu, ok := u.(*bsdnetUDP); ok {
					dropped := int(bu.rxStack.Inet().Stats.UDP.FullSock.Load() - full0)
					if res.received+res.refused+dropped != res.sent {
						t.Errorf("%d sent, %d received + %d refused + %d dropped", res.sent, res.received, res.refused, dropped)
					}
				}
			})
		}
	}
}

// TestRunAndPrint measures every workload with a tiny benchtime and checks
// the table.
func TestRunAndPrint(t *testing.T) {
	var results []Result
	for _, w := range Workloads() {
		r, err := Run(w, "20x")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []Figure{r.Bsdnet, r.Kernel} {
			if f.Err != nil || f.Value <= 0 || math.IsNaN(f.Value) {
				t.Errorf("%s: figure %v, error %v", w.Name, f.Value, f.Err)
			}
		}
		if math.IsNaN(r.Ratio()) {
			t.Errorf("%s: no ratio", w.Name)
		}
		results = append(results, r)
	}
	var out bytes.Buffer
	Print(&out, results)
	s := out.String()
	for _, w := range Workloads() {
		if !strings.Contains(s, w.Name) {
			t.Errorf("table lacks %q", w.Name)
		}
	}
	for _, want := range []string{"WORKLOAD", "BSDNET", "KERNEL", "RATIO", "gVisor: see bench/peers"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, err := Run(Workloads()[0], "bogus"); err == nil {
		t.Error("Run accepted benchtime \"bogus\"")
	}
	t.Logf("\n%s", s)
}

// TestRunError: a side that fails has its error in the table, not a figure.
func TestRunError(t *testing.T) {
	w := Workload{Name: "failing", Unit: "MB/s",
		Bsdnet: func(b *testing.B) error { return fmt.Errorf("broken on purpose") },
		Kernel: func(b *testing.B) error { b.SetBytes(1); return nil }}
	r, err := Run(w, "5x")
	if err != nil {
		t.Fatal(err)
	}
	if r.Bsdnet.Err == nil || !math.IsNaN(r.Ratio()) {
		t.Errorf("bsdnet side: %+v, ratio %v", r.Bsdnet, r.Ratio())
	}
	var out bytes.Buffer
	Print(&out, []Result{r})
	if !strings.Contains(out.String(), "broken on purpose") {
		t.Errorf("error not printed:\n%s", out.String())
	}
}
