package bsdnet

import (
	"fmt"
	"strings"
	"sync"

	"github.com/bsdnet/bsdnet/link"
)

// Network builds a topology of stacks in one process: hosts joined by
// wires that can delay, lose, reorder, duplicate and corrupt frames. Every
// random choice (the hosts' ports and IDs, the wires' faults and hardware
// addresses) derives from the network's seed, so a run can be replayed.
type Network struct {
	seed uint64

	mu    sync.Mutex
	hosts []*Stack
	wires []*link.Wire
	ports map[*Stack]int // interfaces made so far on each host
}

// NewNetwork returns an empty network whose randomness derives from seed.
func NewNetwork(seed uint64) *Network {
	return &Network{seed: seed, ports: make(map[*Stack]int)}
}

// derive mixes the network seed with a counter (SplitMix64's finalizer).
func (n *Network) derive(i uint64) uint64 {
	z := n.seed + 0x9e3779b97f4a7c15*(i+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Host adds a stack named name. Options such as WithForwarding apply.
func (n *Network) Host(name string, opts ...Option) *Stack {
	n.mu.Lock()
	i := uint64(len(n.hosts))
	n.mu.Unlock()
	opts = append([]Option{WithName(name), WithSeed(n.derive(i))}, opts...)
	st := NewStack(opts...)
	n.mu.Lock()
	n.hosts = append(n.hosts, st)
	n.mu.Unlock()
	return st
}

// Connect joins a to b with a wire carrying f in both directions, and
// gives the new interfaces (eth0, eth1, ... on each host) the addresses in
// aAddrs and bAddrs, comma-separated CIDR ("10.0.0.1/24, fd00::1/64").
// The wire is returned so that its faults can change while it runs.
func (n *Network) Connect(a *Stack, aAddrs string, b *Stack, bAddrs string, f link.Faults) (*link.Wire, error) {
	n.mu.Lock()
	na, nb := n.ports[a], n.ports[b]
	n.ports[a]++
	n.ports[b]++
	seed := n.derive(1<<32 + uint64(len(n.wires)))
	n.mu.Unlock()
	w := link.NewWire(link.WireConfig{
		NameA: fmt.Sprintf("eth%d", na),
		NameB: fmt.Sprintf("eth%d", nb),
		Seed:  seed,
	})
	w.SetFaults(link.Both, f)
	ea, eb := w.Ends()
	if err := a.AddInterface(ea, splitAddrs(aAddrs)...); err != nil {
		w.Close()
		return nil, err
	}
	if err := b.AddInterface(eb, splitAddrs(bAddrs)...); err != nil {
		w.Close()
		return nil, err
	}
	n.mu.Lock()
	n.wires = append(n.wires, w)
	n.mu.Unlock()
	return w, nil
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Hosts returns the network's stacks in the order they were made.
func (n *Network) Hosts() []*Stack {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Stack(nil), n.hosts...)
}

// Close closes every wire and every stack.
func (n *Network) Close() error {
	n.mu.Lock()
	wires, hosts := n.wires, n.hosts
	n.wires, n.hosts = nil, nil
	n.mu.Unlock()
	for _, w := range wires {
		w.Close()
	}
	for _, h := range hosts {
		h.Close()
	}
	return nil
}
