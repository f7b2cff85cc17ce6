package inet

import (
	"sync"
	"time"
)

// tcpTimerQ is a stack's TCP timer queue, the part of FreeBSD's callout
// wheel that TCP uses: every connection with a timer pending is in it once,
// keyed by the earliest deadline it asked for, and one runtime timer is armed
// for the earliest of all. When it fires, one goroutine runs the due
// connections' handlers in deadline order (a delayed ACK before the
// retransmission timeout it would have prevented), instead of a goroutine
// per connection racing the others.
//
// Lock order: a connection's lock before mu; mu is never held while a
// handler runs.
type tcpTimerQ struct {
	mu     sync.Mutex
	h      []tcpTimerEnt // a min-heap on when
	tmr    *time.Timer
	armed  time.Time // when tmr fires; zero when stopped
	closed bool
}

// tcpTimerEnt is a connection in the queue and when it is due.
type tcpTimerEnt struct {
	when time.Time
	tp   *tcpcb
}

// tcpTimerBatch is the most connections one pass of run takes out of the
// queue before it runs their handlers.
const tcpTimerBatch = 64

// schedule puts tp in the queue at when, or moves it there if it is in
// already; now is the caller's clock. tp's lock is held.
func (q *tcpTimerQ) schedule(tp *tcpcb, when, now time.Time) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.place(tp, when)
	if q.armed.IsZero() || when.Before(q.armed) {
		q.armed = when
		d := max(when.Sub(now), 0)
		if q.tmr == nil {
			q.tmr = time.AfterFunc(d, q.run)
		} else {
			q.tmr.Reset(d)
		}
	}
	q.mu.Unlock()
}

// place puts tp in the heap at when, or moves it there.
func (q *tcpTimerQ) place(tp *tcpcb, when time.Time) {
	if i := tp.tidx - 1; i >= 0 {
		old := q.h[i].when
		q.h[i].when = when
		if when.Before(old) {
			q.up(i)
		} else {
			q.down(i)
		}
		return
	}
	q.h = append(q.h, tcpTimerEnt{when, tp})
	tp.tidx = len(q.h)
	q.up(len(q.h) - 1)
}

// cancel takes tp out of the queue. tp's lock is held.
func (q *tcpTimerQ) cancel(tp *tcpcb) {
	q.mu.Lock()
	if i := tp.tidx - 1; i >= 0 {
		q.remove(i)
	}
	q.mu.Unlock()
}

// run is the runtime timer's function: it takes out the connections that
// are due, a batch at a time, and runs their handlers, then arms the timer
// for the next one.
func (q *tcpTimerQ) run() {
	var batch [tcpTimerBatch]*tcpcb
	for {
		q.mu.Lock()
		q.armed = time.Time{}
		now := time.Now()
		n := 0
		for n < len(batch) && len(q.h) > 0 && !now.Before(q.h[0].when) {
			batch[n] = q.h[0].tp
			q.remove(0)
			n++
		}
		if n < len(batch) && len(q.h) > 0 && !q.closed {
			q.armed = q.h[0].when
			q.tmr.Reset(max(q.armed.Sub(now), 0))
		}
		q.mu.Unlock()
		for _, tp := range batch[:n] {
			tp.timeout()
		}
		clear(batch[:n])
		if n < len(batch) {
			return
		}
	}
}

// close stops the queue: nothing is queued or run after it.
func (q *tcpTimerQ) close() {
	q.mu.Lock()
	q.closed = true
	if q.tmr != nil {
		q.tmr.Stop()
	}
	for i := range q.h {
		q.h[i].tp.tidx = 0
	}
	q.h = nil
	q.armed = time.Time{}
	q.mu.Unlock()
}

// remove takes the entry at i out of the heap.
func (q *tcpTimerQ) remove(i int) {
	q.h[i].tp.tidx = 0
	last := len(q.h) - 1
	if i != last {
		q.h[i] = q.h[last]
		q.h[i].tp.tidx = i + 1
	}
	q.h[last] = tcpTimerEnt{}
	q.h = q.h[:last]
	if i < last {
		q.down(i)
		q.up(i)
	}
	if c := cap(q.h); c > 1024 && len(q.h) < c/4 {
		q.h = append([]tcpTimerEnt(nil), q.h...)
	}
}

func (q *tcpTimerQ) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !q.h[i].when.Before(q.h[p].when) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q *tcpTimerQ) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q.h) {
			return
		}
		m := l
		if r := l + 1; r < len(q.h) && q.h[r].when.Before(q.h[l].when) {
			m = r
		}
		if !q.h[m].when.Before(q.h[i].when) {
			return
		}
		q.swap(i, m)
		i = m
	}
}

func (q *tcpTimerQ) swap(i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	q.h[i].tp.tidx = i + 1
	q.h[j].tp.tidx = j + 1
}
