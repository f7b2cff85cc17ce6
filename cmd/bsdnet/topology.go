package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

// The demo topology, which demo, ping and nc build in this process with no
// root and no setup:
//
//	a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2)
//
// a and r share the wire 10.1.0.0/24 and fd01::/64, r and b the wire
// 10.2.0.0/24 and fd02::/64; a and b route through r by default.
type topology struct {
	n       *bsdnet.Network
	a, r, b *bsdnet.Stack
	wa, wb  *link.Wire // a -- r (a is end A) and r -- b (b is end B)
}

// demoHosts are the topology's hosts by name, and their IPv4 and IPv6
// addresses (r's on the wire to a).
var demoHosts = map[string][2]string{
	"a": {"10.1.0.1", "fd01::1"},
	"r": {"10.1.0.254", "fd01::fe"},
	"b": {"10.2.0.2", "fd02::2"},
}

// topologyLine describes the topology and its wires in one line.
func topologyLine(w wireOpts) string {
	return fmt.Sprintf("a (10.1.0.1, fd01::1) -- r (router) -- b (10.2.0.2, fd02::2); each wire: %s", w)
}

// newTopology builds the topology with faults f on both wires, every
// random choice derived from seed.
func newTopology(f link.Faults, seed uint64) (*topology, error) {
	n := bsdnet.NewNetwork(seed)
	t := &topology{n: n, a: n.Host("a"), r: n.Host("r", bsdnet.WithForwarding()), b: n.Host("b")}
	err := func() error {
		var err error
		if t.wa, err = n.Connect(t.a, "10.1.0.1/24, fd01::1/64", t.r, "10.1.0.254/24, fd01::fe/64", f); err != nil {
			return err
		}
		if t.wb, err = n.Connect(t.r, "10.2.0.254/24, fd02::fe/64", t.b, "10.2.0.2/24, fd02::2/64", f); err != nil {
			return err
		}
		for _, rt := range []struct {
			h   *bsdnet.Stack
			gws []string
		}{{t.a, []string{"10.1.0.254", "fd01::fe"}}, {t.b, []string{"10.2.0.254", "fd02::fe"}}} {
			for _, gw := range rt.gws {
				if err := rt.h.AddRoute("default", gw); err != nil {
					return fmt.Errorf("default route via %s on %s: %w", gw, rt.h.Name(), err)
				}
			}
		}
		return nil
	}()
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("topology: %w", err)
	}
	return t, nil
}

// Close closes every wire and stack.
func (t *topology) Close() { t.n.Close() }

// hosts returns a, r and b.
func (t *topology) hosts() []*bsdnet.Stack { return []*bsdnet.Stack{t.a, t.r, t.b} }

// resolveHost turns a host argument into an address: one of the names a,
// r and b (their IPv6 address when v6 is set), or an address.
func resolveHost(host string, v6 bool) (netip.Addr, error) {
	if addrs, ok := demoHosts[host]; ok {
		if v6 {
			return netip.MustParseAddr(addrs[1]), nil
		}
		return netip.MustParseAddr(addrs[0]), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cannot resolve %s: not an address nor one of a, r, b", host)
	}
	return a.Unmap(), nil
}

// wireOpts are the faults of the topology's wires, set from flags.
type wireOpts struct {
	delay     time.Duration
	jitter    time.Duration
	loss      float64
	reorder   float64
	bandwidth rate
	queue     byteSize
	seed      uint64
}

// addWireFlags registers the wire flags on fs with the defaults in w.
func (w *wireOpts) addFlags(fs *flag.FlagSet, withShape bool) {
	fs.DurationVar(&w.delay, "delay", w.delay, "one-way delay of each wire")
	fs.Float64Var(&w.loss, "loss", w.loss, "probability that a wire loses a frame")
	fs.Uint64Var(&w.seed, "seed", w.seed, "seed of every random choice (ports, ISNs, IDs, faults): a seed replays a run")
	if withShape {
		fs.DurationVar(&w.jitter, "jitter", w.jitter, "vary each frame's delay within delay±jitter (without reordering)")
		fs.Float64Var(&w.reorder, "reorder", w.reorder, "probability that a wire holds a frame back by the wire's delay (at least 1ms), letting later ones pass")
		fs.Var(&w.bandwidth, "bandwidth", "rate of each wire in bits per second, with an optional k, M or G (0: unlimited)")
		fs.Var(&w.queue, "queue", "bytes that may wait for a wire with a -bandwidth before it drops (0: no limit)")
	}
}

// check validates the flags' values.
func (w *wireOpts) check() error {
	switch {
	case w.delay < 0 || w.jitter < 0:
		return errors.New("-delay and -jitter must not be negative")
	case w.loss < 0 || w.loss >= 1:
		return errors.New("-loss must be in [0,1)")
	case w.reorder < 0 || w.reorder >= 1:
		return errors.New("-reorder must be in [0,1)")
	}
	return nil
}

// faults returns the link faults the options describe.
func (w *wireOpts) faults() link.Faults {
	f := link.Faults{Delay: w.delay, Jitter: w.jitter, Loss: w.loss, Reorder: w.reorder,
		Bandwidth: int64(w.bandwidth), QueueLimit: int(w.queue)}
	if w.reorder > 0 {
		f.ReorderDelay = max(w.delay, time.Millisecond)
	}
	return f
}

// String describes the wires as the commands print them.
func (w wireOpts) String() string {
	s := fmt.Sprintf("delay %v", w.delay)
	if w.jitter > 0 {
		s += fmt.Sprintf("±%v", w.jitter)
	}
	s += fmt.Sprintf(", loss %.1f%%", w.loss*100)
	if w.reorder > 0 {
		s += fmt.Sprintf(", reorder %.1f%%", w.reorder*100)
	}
	if w.bandwidth > 0 {
		s += ", " + w.bandwidth.String()
		if w.queue > 0 {
			s += " (queue " + w.queue.String() + ")"
		}
	}
	return s + fmt.Sprintf(", seed %d", w.seed)
}
