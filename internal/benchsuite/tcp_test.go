package benchsuite

import "testing"

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
	for _, p := range pairs {
		t.Run("stream/"+p.name, func(t *testing.T) {
			a, b, done, err := p.mk()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			defer a.Close()
			defer b.Close()
			if err := streamWorkload(a, b, 16, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("pingpong/"+p.name, func(t *testing.T) {
			a, b, done, err := p.mk()
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			defer a.Close()
			defer b.Close()
			if err := pingPongWorkload(a, b, 200, true); err != nil {
				t.Fatal(err)
			}
		})
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
