package benchsuite

import (
	"io"
	"testing"
)

// TestTCPWorkloadsChecked runs each TCP workload briefly on both sides
// with its data checked.
func TestTCPWorkloadsChecked(t *testing.T) {
	pairs := []struct {
		name string
		mk   pairFunc
	}{
		{"bsdnet-loopback", bsdnetTCPPair(newTCPLoopback)},
		{"bsdnet-wire", bsdnetTCPPair(newTCPWire)},
		{"kernel", kernelTCPPair},
	}
	workloads := []struct {
		name string
		run  func(a, b io.ReadWriteCloser) error
	}{
		{"stream", func(a, b io.ReadWriteCloser) error { return streamWorkload(a, b, 16, true) }},
		{"pingpong", func(a, b io.ReadWriteCloser) error { return pingPongWorkload(a, b, 200, true) }},
	}
	for _, p := range pairs {
		for _, w := range workloads {
			t.Run(w.name+"/"+p.name, func(t *testing.T) {
				a, b, done, err := p.mk()
				if err != nil {
					t.Fatal(err)
				}
				defer done()
				defer a.Close()
				defer b.Close()
				if err := w.run(a, b); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	for _, a := range []struct {
		name string
		mk   func() (acceptor, error)
	}{{"bsdnet", newBsdnetTCPAcceptor}, {"kernel", newKernelTCPAcceptor}} {
		t.Run("connect/"+a.name, func(t *testing.T) {
			acc, err := a.mk()
			if err != nil {
				t.Fatal(err)
			}
			defer acc.close()
			for i := range 100 {
				if err := acc.cycle(true); err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
			}
		})
	}
}
