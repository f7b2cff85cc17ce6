package bsdnet

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A deadline is one direction's deadline of a connection (read, write or
// accept). Blocking calls sleep with the context of the current generation
// (a *waitCtx); SetDeadline makes a new generation and cancels the old one,
// so that a call asleep under the old deadline wakes (EINTR from the socket
// layer), sees that the generation changed and sleeps again under the new.
// A generation is made only when the deadline changes: the data path
// allocates nothing per call.
type deadline struct {
	mu  sync.Mutex              // serializes set and close
	cur atomic.Pointer[waitCtx] // the live generation; never nil after init
}

// Generation states. A generation leaves live once, to expired (its timer
// fired, or it was born past its deadline), replaced (SetDeadline) or
// closed (the connection was closed); then done is closed.
const (
	ctxLive int32 = iota
	ctxExpired
	ctxReplaced
	ctxClosed
)

// waitCtx is one generation of a deadline, as a context.Context: the
// socket layer sleeps on Done, and reads Err to tell a deadline
// (EWOULDBLOCK) from a cancellation (EINTR).
type waitCtx struct {
	when  time.Time     // immutable: the deadline, zero for none
	done  chan struct{} // immutable: closed when state leaves ctxLive
	state atomic.Int32
	timer *time.Timer // immutable once set (under deadline.mu)
}

// init makes the first generation: no deadline.
func (d *deadline) init() {
	d.cur.Store(&waitCtx{done: make(chan struct{})})
}

// get returns the live generation.
func (d *deadline) get() *waitCtx { return d.cur.Load() }

// set replaces the deadline with t (zero: none) and wakes calls asleep
// under the old one. After close it does nothing.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cur.Load()
	if old.state.Load() == ctxClosed {
		return
	}
	n := &waitCtx{when: t, done: make(chan struct{})}
	if !t.IsZero() {
		if dur := time.Until(t); dur <= 0 {
			n.end(ctxExpired)
		} else {
			n.timer = time.AfterFunc(dur, func() { n.end(ctxExpired) })
		}
	}
	d.cur.Store(n)
	old.end(ctxReplaced)
}

// close ends the live generation for good: sleepers wake and later calls
// find it closed.
func (d *deadline) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cur.Load().end(ctxClosed)
}

// end moves the generation from live to state s and wakes its sleepers; a
// generation already ended keeps its first state. Ending as expired or
// replaced also stops the timer.
func (c *waitCtx) end(s int32) {
	if !c.state.CompareAndSwap(ctxLive, s) {
		if s == ctxClosed && c.state.Load() == ctxExpired {
			// Closing an expired generation: calls made after Close must
			// see the close, not the deadline.
			c.state.Store(ctxClosed)
		}
		return
	}
	if s != ctxExpired && c.timer != nil {
		c.timer.Stop()
	}
	close(c.done)
}

// expired reports whether the generation's deadline has passed.
func (c *waitCtx) expired() bool { return c.state.Load() == ctxExpired }

// Deadline returns the deadline, if any.
func (c *waitCtx) Deadline() (time.Time, bool) { return c.when, !c.when.IsZero() }

// Done returns the channel closed when the generation ends.
func (c *waitCtx) Done() <-chan struct{} { return c.done }

// Err is context.DeadlineExceeded after expiry, context.Canceled after a
// replacement or a close, and nil while the generation is live.
func (c *waitCtx) Err() error {
	switch c.state.Load() {
	case ctxLive:
		return nil
	case ctxExpired:
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// Value returns nil: the context carries no values.
func (c *waitCtx) Value(any) any { return nil }
