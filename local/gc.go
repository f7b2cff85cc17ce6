package local

import (
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// Inflight returns how many sockets are in flight in SCM_RIGHTS messages
// waiting in receive buffers (net.local.inflight).
func (d *Domain) Inflight() int64 { return d.inflight.Load() }

// externalize and dispose keep the in-flight count: rights leave a buffer
// either to the receiver or to be released.
func (d *Domain) rightsLeft(m *mbuf.Mbuf) {
	for ; m != nil; m = m.NextPkt {
		for c := m; c != nil; c = c.Next {
			if r, ok := c.Obj.(socket.Rights); ok {
				d.inflight.Add(-int64(len(r)))
			}
		}
	}
}

func (d *Domain) maybeGC() {
	if d.inflight.Load() > 0 {
		d.GC()
	}
}

// GC is unp_gc: find sockets that are reachable only through SCM_RIGHTS
// messages queued in the receive buffers of other such sockets (cycles that
// no descriptor can ever read again) and flush their buffers, which closes
// them. It runs after a PF_LOCAL socket is freed while descriptors are in
// flight, in the goroutine that freed it; tests may call it directly. It
// returns how many sockets it found unreachable.
func (d *Domain) GC() int {
	d.gcMu.Lock()
	if d.gcRunning {
		d.gcAgain = true
		d.gcMu.Unlock()
		return 0
	}
	d.gcRunning = true
	d.gcMu.Unlock()
	total := 0
	for {
		total += d.gcOnce()
		d.gcMu.Lock()
		if !d.gcAgain {
			d.gcRunning = false
			d.gcMu.Unlock()
			return total
		}
		d.gcAgain = false
		d.gcMu.Unlock()
	}
}

func (d *Domain) gcOnce() int {
	d.Stats.GCRuns.Add(1)
	d.link.Lock()
	d.pcbMu.Lock()
	pcbs := make([]*unpcb, 0, len(d.pcbs))
	for u := range d.pcbs {
		pcbs = append(pcbs, u)
	}
	d.pcbMu.Unlock()
	// msgcount: how many queued messages hold each socket, and which
	// sockets each receive buffer holds.
	count := make(map[*socket.Socket]int)
	holds := make(map[*unpcb][]*socket.Socket)
	for _, u := range pcbs {
		so := u.so
		so.Rcv.Lock()
		so.Rcv.WalkLocked(func(m *mbuf.Mbuf) {
			if r, ok := m.Obj.(socket.Rights); ok {
				for _, s := range r {
					count[s]++
					holds[u] = append(holds[u], s)
				}
			}
		})
		so.Rcv.Unlock()
	}
	// A connection waiting on a listen queue belongs to its listener: what
	// its buffer holds is reached through the listener (unp_gc scans the
	// buffers of sol_comp with the listener's).
	queued := make(map[*unpcb]bool)
	for _, u := range pcbs {
		if h := u.so.Head(); h != nil {
			if hu := pcb(h); hu != nil {
				queued[u] = true
				holds[hu] = append(holds[hu], holds[u]...)
			}
		}
	}
	// Candidates: every hold on the socket is a queued message.
	candidate := make(map[*unpcb]bool)
	for _, u := range pcbs {
		if c := count[u.so]; c > 0 && u.so.Holders() == c {
			candidate[u] = true
		}
	}
	if len(candidate) == 0 {
		d.link.Unlock()
		return 0
	}
	// Mark what live sockets' buffers reach, transitively.
	reached := make(map[*unpcb]bool)
	var stack []*socket.Socket
	for _, u := range pcbs {
		if !candidate[u] && !queued[u] {
			stack = append(stack, holds[u]...)
		}
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		u := pcb(s)
		if u == nil || !candidate[u] || reached[u] {
			continue
		}
		reached[u] = true
		stack = append(stack, holds[u]...)
	}
	var dead []*socket.Socket
	for u := range candidate {
		if !reached[u] {
			dead = append(dead, u.so)
		}
	}
	d.link.Unlock()
	// Flushing releases the rights the dead sockets hold on each other; the
	// last release of each closes it.
	for _, so := range dead {
		so.Rflush()
		for _, c := range so.Queued() {
			c.Rflush()
		}
	}
	d.Stats.GCCollected.Add(uint64(len(dead)))
	return len(dead)
}
