package inet

import "github.com/bsdnet/bsdnet/mbuf"

// Close ends the stack's protocols, for when its VNET goes away (the
// vnet_destroy of netinet): arriving packets are dropped from then on;
// every TCP control block left (connections closing after their socket
// was closed, TIME_WAIT) closes with its timers stopped; the TIME_WAIT
// queue, the SYN cache, the fragment queues and the neighbour caches are
// emptied and their timers stopped. Nothing of the stack runs, or keeps it
// reachable, afterwards. Close the sockets first (socket.Vnet.Close).
func (s *Stack) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	// TCP blocks, collected under the table's lock and closed after it.
	t := &s.tcp.pcbs
	var tps []*tcpcb
	var tws []*inpcb
	t.mu.RLock()
	for _, l := range t.ports {
		for _, p := range l {
			if p.tw != nil {
				tws = append(tws, p)
			}
			if p.so != nil {
				if tp := tcpcbOf(p.so); tp != nil {
					tps = append(tps, tp)
				}
			}
		}
	}
	t.mu.RUnlock()
	for _, tp := range tps {
		tp.lock()
		if tp.flags&tfFreed == 0 && tp.state != tcpsListen {
			tp.close()
		}
		tp.timerKill()
		for i := range tp.out {
			mbuf.FreeChain(tp.out[i].m)
		}
		tp.out = nil
		tp.mu.Unlock()
	}
	s.tcp.timers.close()
	for _, p := range tws {
		s.twRemove(p)
	}
	s.tcp.twmu.Lock()
	if s.tcp.tw.timer != nil {
		s.tcp.tw.timer.Stop()
	}
	s.tcp.tw = twQueue{}
	s.tcp.twmu.Unlock()
	sc := &s.tcp.sc
	sc.mu.Lock()
	if sc.timer != nil {
		sc.timer.Stop()
	}
	sc.m = nil
	sc.mu.Unlock()
	for _, r := range []*reassembly{&s.frag4, &s.frag6} {
		r.mu.Lock()
		for k, q := range r.queues {
			if q.timer != nil {
				q.timer.Stop()
			}
			for _, pc := range q.pieces {
				mbuf.FreeChain(pc.m)
			}
			delete(r.queues, k)
		}
		r.bytes = 0
		r.mu.Unlock()
	}
	for _, c := range []*nbrCache{&s.arp, &s.nd} {
		c.mu.Lock()
		for k, e := range c.entries {
			if e.timer != nil {
				e.timer.Stop()
			}
			if e.age != nil {
				e.age.Stop()
			}
			for _, h := range e.hold {
				mbuf.FreeChain(h.m)
			}
			delete(c.entries, k)
		}
		c.mu.Unlock()
	}
	return nil
}
