package inet

import "time"

// TIME_WAIT (tcp_timewait.c).
//
// A connection in TIME_WAIT keeps only what tcp_twcheck needs: the
// sequence numbers, the timestamp state and its place in the table. Its
// buffers, scoreboard, reassembly queue and timers go when it enters the
// state; its 2·MSL expiry is kept by one per-stack queue in expiry order
// (all waits are equally long; a restart goes to the back), served by one
// timer, instead of a timer per connection.

// twQueue is the stack's TIME_WAIT expiry queue.
type twQueue struct {
	q     []twEntry
	head  int
	timer *time.Timer
	armed bool
}

type twEntry struct {
	tp *tcpcb
	at time.Time
}

// twStart puts tp, just entered TIME_WAIT, on the expiry queue: 2·MSL
// from now. Called with tp.mu held.
func (tp *tcpcb) twStart() {
	s := tp.s
	at := tp.clock().Add(2 * s.tcp.tun.MSL)
	tp.twExpire = at
	t := &s.tcp
	t.twmu.Lock()
	t.tw.q = append(t.tw.q, twEntry{tp, at})
	if !t.tw.armed {
		t.tw.armed = true
		d := time.Until(t.tw.q[t.tw.head].at)
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
		t.tw.q[t.tw.head] = twEntry{}
		t.tw.head++
		if t.tw.head > 1024 && t.tw.head*2 > len(t.tw.q) {
			n := copy(t.tw.q, t.tw.q[t.tw.head:])
			clear(t.tw.q[n:])
			t.tw.q, t.tw.head = t.tw.q[:n], 0
		}
		t.twmu.Unlock()
		tp := e.tp
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
	// PAWS: an old duplicate is acknowledged and dropped.
	if in.ts && tp.useTS() && tp.tsRecent != 0 && int32(in.tsVal-tp.tsRecent) < 0 {
		st.PAWSDrop.Add(1)
		tp.respond(tp.sndNxt, tp.rcvNxt, tcpAck)
		return false
	}
	// RFC 1337: a RST does not cut TIME_WAIT short.
	if flags&tcpRst != 0 {
		return false
	}
	// A new connection request above the old sequence space ends the wait.
	if flags&(tcpSyn|tcpAck) == tcpSyn && in.seq.gt(tp.rcvNxt) {
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
	t := &tp.s.tcp
	t.twmu.Lock()
	t.tw.q = append(t.tw.q, twEntry{tp, tp.twExpire})
	t.twmu.Unlock()
}
