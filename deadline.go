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
//
// A quiet deadline (a connection's read or write side) makes generations
// without a deadline quiet too: their Done is nil while they are live, so
// that the socket layer's msleep waits on its wakeup channel alone, with no
// select over a second channel that no one will close (a 1-byte round trip
// costs about a fifth less). Such a generation cannot wake its sleepers by
// closing a channel they do not watch; set and close report that it ended,
// and the owner then wakes the socket buffer's sleepers (sorwakeup), which
// go back to msleep, call Done again and find it closed.
type deadline struct {
	quiet bool                    // immutable: generations without a deadline are quiet
	mu    sync.Mutex              // serializes set and close
	cur   atomic.Pointer[waitCtx] // the live generation; never nil after init
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
	quiet bool          // immutable: Done is nil while live (see deadline)
	state atomic.Int32
	timer *time.Timer // immutable once set (under deadline.mu)
}

// init makes the first generation: no deadline. A quiet deadline's owner
// must wake its sleepers when set or close reports so.
func (d *deadline) init(quiet bool) {
	d.quiet = quiet
	d.cur.Store(&waitCtx{done: make(chan struct{}), quiet: quiet})
}

// get returns the live generation.
func (d *deadline) get() *waitCtx { return d.cur.Load() }

// set replaces the deadline with t (zero: none) and wakes calls asleep
// under the old one, unless the old one was quiet: then it reports that
// the owner must wake them. After close it does nothing.
func (d *deadline) set(t time.Time) (wake bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cur.Load()
	if old.state.Load() == ctxClosed {
		return false
	}
	n := &waitCtx{when: t, done: make(chan struct{}), quiet: d.quiet && t.IsZero()}
	if !t.IsZero() {
		if dur := time.Until(t); dur <= 0 {
			n.end(ctxExpired)
		} else {
			n.timer = time.AfterFunc(dur, func() { n.end(ctxExpired) })
		}
	}
	d.cur.Store(n)
	old.end(ctxReplaced)
	return old.quiet
}

// close ends the live generation for good: sleepers wake (or, when it was
// quiet, close reports that the owner must wake them) and later calls find
// it closed.
func (d *deadline) close() (wake bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.cur.Load()
	c.end(ctxClosed)
	return c.quiet
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

// Done returns the channel closed when the generation ends; nil while a
// quiet generation is live. Unlike a context.Context's, the value changes
// (once, from nil to the closed channel): the socket layer asks for it
// afresh at each sleep, and the deadline's owner wakes the sleepers that
// saw nil.
func (c *waitCtx) Done() <-chan struct{} {
	if c.quiet && c.state.Load() == ctxLive {
		return nil
	}
	return c.done
}

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
