package inet

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet/header"
)

// TIME_WAIT (tcp_timewait.c).
//
// A connection in TIME_WAIT keeps only what tcp_twcheck needs: the
// sequence numbers, the timestamp state and its place in the table. Its
// buffers, scoreboard, reassembly queue and timers go when it enters the
// state; its 2·MSL expiry is kept by one per-stack queue in expiry order
// (all waits are equally long; a restart goes to the back), served by one
// timer, instead of a timer per connection. Once its socket is closed too,
// the control block itself goes: a small tcptw (the old struct tcptw)
// hangs from a fresh inpcb that takes the old one's place in the table.

// twQueue is the stack's TIME_WAIT expiry queue.
type twQueue struct {
	q     []twEntry
	head  int
	timer *time.Timer
	armed bool
}

type twEntry struct {
	r  *twRef
	at time.Time
}

// twRef is what the queue knows of a connection in TIME_WAIT: its block,
// until that becomes compact, then the compact one. Guarded by the
// queue's lock.
type twRef struct {
	tp *tcpcb
	p  *inpcb
}

// tcptw is a connection in TIME_WAIT with no socket and no control block.
type tcptw struct {
	mu       sync.Mutex
	sndNxt   seqnum
	rcvNxt   seqnum
	tsRecent uint32
	tsOffset uint32
	ts       bool
	gone     bool // expired or recycled: no longer in the table
	soOpts   int  // the socket's options, for bind's reuse rules
	expire   time.Time
	win      uint16
	ref      *twRef
}

// twCompact trades a detached block in TIME_WAIT for a tcptw on a fresh
// inpcb (tcp_twstart's compaction). Called with tp.mu held.
func (tp *tcpcb) twCompact() {
	if tp.flags&tfFreed != 0 || tp.state != tcpsTimeWait {
		return
	}
	s := tp.s
	tw := &tcptw{sndNxt: tp.sndNxt, rcvNxt: tp.rcvNxt, tsRecent: tp.tsRecent, tsOffset: tp.tsOffset,
		ts: tp.useTS(), soOpts: tp.so.Options(), expire: tp.twExpire, ref: tp.twRef}
	if tp.rcvScale <= 14 {
		tw.win = uint16(min(max(tp.rcvAdv.sub(tp.rcvNxt), 0)>>tp.rcvScale, tcpMaxWin))
	}
	old := tp.inp
	t := &s.tcp.pcbs
	t.mu.Lock()
	t.adoptLocked(old.lport)
	np := &inpcb{t: t, v6: old.v6, tw: tw, laddr: old.laddr, faddr: old.faddr,
		lport: old.lport, fport: old.fport, explicit: old.explicit}
	np.opts = pcbOpts{ttl: -1, mttl: -1}
	old.mu.Lock()
	np.opts.ttl, np.opts.tos = old.opts.ttl, old.opts.tos
	old.mu.Unlock()
	t.unhashLocked(old)
	t.hashLocked(np)
	t.mu.Unlock()
	// The block goes; the connection stays counted until it expires.
	tp.flags |= tfFreed
	tp.timerKill()
	// The queue's entries now lead to the compact block, and nothing
	// holds the old one, its socket or its inpcb.
	s.tcp.twmu.Lock()
	tw.ref.tp, tw.ref.p = nil, np
	s.tcp.twmu.Unlock()
	tp.twRef = nil
	s.Stats.TCP.TWCompact.Add(1)
}

// twRemove takes an expired or recycled compact block out of the table.
func (s *Stack) twRemove(p *inpcb) {
	tw := p.tw
	tw.mu.Lock()
	if tw.gone {
		tw.mu.Unlock()
		return
	}
	tw.gone = true
	tw.mu.Unlock()
	t := &s.tcp.pcbs
	t.mu.Lock()
	t.adoptLocked(p.lport)
	t.unhashLocked(p)
	t.mu.Unlock()
	s.tcp.conns.Add(-1)
	s.Stats.TCP.Closed.Add(1)
}

// twCompactInput is tcp_twcheck for a compact block; it reports whether a
// new SYN recycled it (the caller gives the segment to the listener).
func (s *Stack) twCompactInput(p *inpcb, in *tcpIn) bool {
	st := &s.Stats.TCP
	tw := p.tw
	flags := in.flags
	tw.mu.Lock()
	if tw.gone {
		tw.mu.Unlock()
		return true
	}
	var ack bool
	switch {
	case flags&tcpRst != 0:
	case flags&(tcpSyn|tcpAck) == tcpSyn && (in.seq.gt(tw.rcvNxt) || in.ts && tw.ts && int32(in.tsVal-tw.tsRecent) > 0):
		tw.mu.Unlock()
		st.TWRecycled.Add(1)
		s.twRemove(p)
		return true
	case flags&tcpAck == 0:
	default:
		if flags&tcpFin != 0 && in.seq+seqnum(in.tlen)+1 == tw.rcvNxt {
			tw.expire = time.Now().Add(2 * s.tcp.tun.MSL)
			s.twPush(twEntry{r: tw.ref, at: tw.expire})
		}
		ack = flags != tcpAck || in.tlen != 0 || in.seq != tw.rcvNxt || in.ack != tw.sndNxt
	}
	if !ack {
		tw.mu.Unlock()
		return false
	}
	var optb [12]byte
	var opts []byte
	if tw.ts {
		b := optb[:]
		b[0], b[1], b[2], b[3] = header.TCPOptNOP, header.TCPOptNOP, header.TCPOptTimestamp, 10
		binary.BigEndian.PutUint32(b[4:], uint32(time.Now().UnixMilli())+tw.tsOffset)
		binary.BigEndian.PutUint32(b[8:], tw.tsRecent)
		opts = b
	}
	seq, ackn, win := tw.sndNxt, tw.rcvNxt, tw.win
	tw.mu.Unlock()
	st.SndTotal.Add(1)
	st.SndAcks.Add(1)
	m := s.tcpBuild(p.laddr, p.lport, p.faddr, p.fport, seq, ackn, tcpAck, win, opts, nil, 0)
	o := &ipOut{src: p.laddr, dst: p.faddr, proto: header.ProtoTCP, ttl: p.opts.ttl, tos: p.opts.tos}
	if p.faddr.Is4() {
		s.ip4Output(m, o)
	} else {
		s.ip6Output(m, o)
	}
	return false
}

// twStart puts tp, just entered TIME_WAIT, on the expiry queue: 2·MSL
// from now. Called with tp.mu held.
func (tp *tcpcb) twStart() {
	tp.twExpire = tp.clock().Add(2 * tp.s.tcp.tun.MSL)
	tp.twRef = &twRef{tp: tp}
	tp.s.twPush(twEntry{r: tp.twRef, at: tp.twExpire})
}

// twPush adds an entry at the back of the expiry queue, arming its timer.
func (s *Stack) twPush(e twEntry) {
	t := &s.tcp
	t.twmu.Lock()
	t.tw.q = append(t.tw.q, e)
	if !t.tw.armed {
		t.tw.armed = true
		d := max(time.Until(t.tw.q[t.tw.head].at), 0)
		if t.tw.timer == nil {
			t.tw.timer = time.AfterFunc(d, s.twTimer)
		} else {
			t.tw.timer.Reset(d)
		}
	}
	t.twmu.Unlock()
}

// twTimer closes the connections whose 2·MSL has passed (tcp_tw_2msl_scan).
func (s *Stack) twTimer() {
	t := &s.tcp
	for {
		t.twmu.Lock()
		if t.tw.head == len(t.tw.q) {
			t.tw.q, t.tw.head, t.tw.armed = t.tw.q[:0], 0, false
			t.twmu.Unlock()
			return
		}
		e := t.tw.q[t.tw.head]
		if d := time.Until(e.at); d > 0 {
			t.tw.timer.Reset(d)
			t.twmu.Unlock()
			return
		}
		etp, ep := e.r.tp, e.r.p
		t.tw.q[t.tw.head] = twEntry{}
		t.tw.head++
		if t.tw.head > 1024 && t.tw.head*2 > len(t.tw.q) {
			n := copy(t.tw.q, t.tw.q[t.tw.head:])
			clear(t.tw.q[n:])
			t.tw.q, t.tw.head = t.tw.q[:n], 0
		}
		t.twmu.Unlock()
		if ep != nil {
			tw := ep.tw
			tw.mu.Lock()
			due := !tw.gone && !tw.expire.After(e.at)
			tw.mu.Unlock()
			if due {
				s.twRemove(ep)
			}
			continue
		}
		tp := etp
		if tp == nil {
			continue
		}
		tp.lock()
		// A restarted wait has a later expiry and a later place in the
		// queue; a closed block is gone already.
		if tp.state == tcpsTimeWait && tp.flags&tfFreed == 0 && !tp.twExpire.After(e.at) {
			tp.close()
		}
		tp.mu.Unlock()
	}
}

// twInput is tcp_twcheck: a segment for a connection in TIME_WAIT. It
// reports whether a new connection's SYN recycled the block, in which case
// the caller gives the segment to the listener.
func (tp *tcpcb) twInput(in *tcpIn) bool {
	st := &tp.s.Stats.TCP
	flags := in.flags
	// tcp_twcheck does no PAWS: a new SYN is judged by its sequence
	// number alone.
	// RFC 1337: a RST does not cut TIME_WAIT short.
	if flags&tcpRst != 0 {
		return false
	}
	// A new connection request above the old sequence space, or with a
	// later timestamp (RFC 6191), ends the wait.
	if flags&(tcpSyn|tcpAck) == tcpSyn && (in.seq.gt(tp.rcvNxt) || in.ts && tp.useTS() && int32(in.tsVal-tp.tsRecent) > 0) {
		st.TWRecycled.Add(1)
		tp.close()
		return true
	}
	if flags&tcpAck == 0 {
		return false
	}
	// A retransmitted FIN restarts the wait.
	if flags&tcpFin != 0 && in.seq+seqnum(in.tlen)+1 == tp.rcvNxt {
		tp.twExpire = tp.clock().Add(2 * tp.s.tcp.tun.MSL)
		tp.twRequeue()
	}
	if flags != tcpAck || in.tlen != 0 || in.seq != tp.rcvNxt || in.ack != tp.sndNxt {
		tp.respond(tp.sndNxt, tp.rcvNxt, tcpAck)
	}
	return false
}

// twRequeue puts tp at the back of the queue with its new expiry.
func (tp *tcpcb) twRequeue() {
	tp.s.twPush(twEntry{r: tp.twRef, at: tp.twExpire})
}
