package socket

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// waitq is a set of goroutines sleeping on a condition that a mutex
// guards, as a wait channel of msleep(9). Each sleeper links a waiter (a
// reusable one-slot channel from the stack's pool) while it holds the
// mutex; wakeup signals them all and empties the set. Sleepers recheck
// their condition, so a stale signal only costs a loop.
type waitq struct{ head *waiter }

type waiter struct {
	ch   chan struct{}
	next *waiter
}

// wakeup wakes every sleeper; the guarding mutex is held. It reports whether
// there was one.
func (q *waitq) wakeup() bool {
	w := q.head
	if w == nil {
		return false
	}
	q.head = nil
	for w != nil {
		next := w.next
		w.next = nil
		select {
		case w.ch <- struct{}{}:
		default:
		}
		w = next
	}
	return true
}

func (q *waitq) remove(w *waiter) {
	for p := &q.head; *p != nil; p = &(*p).next {
		if *p == w {
			*p = w.next
			w.next = nil
			return
		}
	}
}

func (v *Vnet) getWaiter() *waiter {
	if w, ok := v.waiters.Get().(*waiter); ok {
		return w
	}
	return &waiter{ch: make(chan struct{}, 1)}
}

// timeout is the expiry of a socket timeout (SO_RCVTIMEO, SO_SNDTIMEO,
// SO_LINGER) over the whole of one call: the timer starts at the first sleep
// and is reused by later ones.
type timeout struct {
	d     time.Duration
	timer *time.Timer
}

func (t *timeout) c() <-chan time.Time {
	if t == nil || t.d <= 0 {
		return nil
	}
	if t.timer == nil {
		t.timer = time.NewTimer(t.d)
	}
	return t.timer.C
}

func (t *timeout) stop() {
	if t != nil && t.timer != nil {
		t.timer.Stop()
	}
}

// ctxErrno maps a context's end to errno as the design says: a deadline is
// EWOULDBLOCK (a timeout), a cancellation is EINTR (a signal).
func ctxErrno(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return syscall.EWOULDBLOCK
	}
	return syscall.EINTR
}

// msleep releases mu, sleeps on q until a wakeup, the context's end or the
// timeout, and takes mu again (msleep_sbt with PCATCH). It returns nil after
// a wakeup, EWOULDBLOCK on a timeout or deadline and EINTR on cancellation.
func (v *Vnet) msleep(mu *sync.Mutex, q *waitq, ctx context.Context, to *timeout) error {
	w := v.getWaiter()
	w.next = q.head
	q.head = w
	mu.Unlock()
	var err error
	if done, tc := ctx.Done(), to.c(); done == nil && tc == nil {
		<-w.ch
	} else {
		select {
		case <-w.ch:
		case <-done:
			err = ctxErrno(ctx)
		case <-tc:
			err = syscall.EWOULDBLOCK
		}
	}
	mu.Lock()
	if err != nil {
		// Not woken, or woken too late: leave the set, drop a late signal.
		q.remove(w)
		select {
		case <-w.ch:
		default:
		}
	}
	v.waiters.Put(w)
	return err
}

// Poller waits for readiness of many sockets at once: poll(2)'s side of
// selrecord and selwakeup. Pass it to Poll; when no requested event is
// ready, the socket records the poller and notifies it on its next wakeup.
type Poller struct {
	ch chan struct{}
}

// NewPoller returns a poller.
func NewPoller() *Poller { return &Poller{ch: make(chan struct{}, 1)} }

func (p *Poller) notify() {
	select {
	case p.ch <- struct{}{}:
	default:
	}
}

// Wait sleeps until a socket that recorded p wakes it, the context ends
// (EINTR, or EWOULDBLOCK for a deadline) or d passes (d < 0: forever). It
// returns nil when woken and EWOULDBLOCK when d passed.
func (p *Poller) Wait(ctx context.Context, d time.Duration) error {
	var tc <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-p.ch:
		return nil
	case <-ctx.Done():
		return ctxErrno(ctx)
	case <-tc:
		return syscall.EWOULDBLOCK
	}
}

// selinfo is the set of pollers waiting on one socket buffer (struct
// selinfo), guarded by the buffer's lock.
type selinfo struct {
	pollers []*Poller
}

func (si *selinfo) record(p *Poller) {
	for _, q := range si.pollers {
		if q == p {
			return
		}
	}
	si.pollers = append(si.pollers, p)
}

// forget removes p from the set.
func (si *selinfo) forget(p *Poller) {
	for i, q := range si.pollers {
		if q == p {
			last := len(si.pollers) - 1
			si.pollers[i] = si.pollers[last]
			si.pollers[last] = nil
			si.pollers = si.pollers[:last]
			return
		}
	}
}

// wakeup notifies every recorded poller and forgets them (selwakeup).
func (si *selinfo) wakeup() {
	for i, p := range si.pollers {
		p.notify()
		si.pollers[i] = nil
	}
	si.pollers = si.pollers[:0]
}
