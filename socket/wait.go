package socket

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"
)

// waitq is a set of goroutines sleeping on a condition that a mutex guards,
// as a wait channel of msleep(9). Sleepers take the current channel under
// the mutex; wakeup closes it. The channel exists only while someone sleeps,
// which is FreeBSD's SB_WAIT.
type waitq struct{ ch chan struct{} }

// channel returns the channel to sleep on; the guarding mutex is held.
func (w *waitq) channel() chan struct{} {
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// wakeup wakes every sleeper; the guarding mutex is held. It reports whether
// there was one.
func (w *waitq) wakeup() bool {
	if w.ch == nil {
		return false
	}
	close(w.ch)
	w.ch = nil
	return true
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

// msleep releases mu, sleeps on w until a wakeup, the context's end or the
// timeout, and takes mu again (msleep_sbt with PCATCH). It returns nil after
// a wakeup, EWOULDBLOCK on a timeout or deadline and EINTR on cancellation.
func msleep(mu *sync.Mutex, w *waitq, ctx context.Context, to *timeout) error {
	ch := w.channel()
	mu.Unlock()
	var err error
	select {
	case <-ch:
	case <-ctx.Done():
		err = ctxErrno(ctx)
	case <-to.c():
		err = syscall.EWOULDBLOCK
	}
	mu.Lock()
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

// wakeup notifies every recorded poller and forgets them (selwakeup).
func (si *selinfo) wakeup() {
	for i, p := range si.pollers {
		p.notify()
		si.pollers[i] = nil
	}
	si.pollers = si.pollers[:0]
}
