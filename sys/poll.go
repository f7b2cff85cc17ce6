package sys

import (
	"context"
	"errors"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// PollFd is struct pollfd: a descriptor, the events wanted, the events
// returned.
type PollFd struct {
	Fd      int32
	Events  int16
	Revents int16
}

// Poll waits until one of the descriptors is ready for its events or
// timeout milliseconds pass (poll(2)); a negative timeout waits forever, 0
// does not wait. It returns how many entries have non-zero Revents (0 when
// the time ran out). A negative Fd is skipped (Revents 0); a descriptor not
// open gets POLLNVAL. POLLHUP is reported whether asked for or not.
func (p *Proc) Poll(fds []PollFd, timeout int) (n int, err error) {
	return p.PollContext(context.Background(), fds, timeout)
}

// PollContext is Poll whose wait also ends with ctx: EINTR when it is
// cancelled, as a signal interrupts poll(2); its deadline ends the wait as
// a timeout does.
func (p *Proc) PollContext(ctx context.Context, fds []PollFd, timeout int) (n int, err error) {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	pl := socket.NewPoller()
	defer p.unpoll(fds, pl)
	for {
		n := p.pollScan(fds, pl)
		if n > 0 || timeout == 0 {
			return n, nil
		}
		d := time.Duration(-1)
		if timeout > 0 {
			if d = time.Until(deadline); d <= 0 {
				return 0, nil
			}
		}
		if err := pl.Wait(ctx, d); err != nil {
			if errors.Is(err, EWOULDBLOCK) && ctx.Err() != context.Canceled {
				// The timeout, or the context's deadline.
				return 0, nil
			}
			return 0, err
		}
	}
}

// unpoll makes every socket of fds forget the poller, so that sockets
// which stay idle do not collect the pollers of past calls.
func (p *Proc) unpoll(fds []PollFd, pl *socket.Poller) {
	for i := range fds {
		if fds[i].Fd < 0 {
			continue
		}
		if so, err := p.get(int(fds[i].Fd)); err == nil {
			so.Unpoll(pl)
			put(so)
		}
	}
}

// pollScan is one pass of poll over every entry: it sets Revents, records
// pl with the sockets that are not ready, and counts the ready ones.
func (p *Proc) pollScan(fds []PollFd, pl *socket.Poller) int {
	n := 0
	for i := range fds {
		f := &fds[i]
		f.Revents = 0
		if f.Fd < 0 {
			continue
		}
		so, err := p.get(int(f.Fd))
		if err != nil {
			f.Revents = POLLNVAL
			n++
			continue
		}
		ev := int(uint16(f.Events))
		r := so.Poll(ev, pl)
		if ev&(POLLIN|POLLRDNORM) != 0 && p.hasUnread(so) {
			r |= ev & (POLLIN | POLLRDNORM)
		}
		put(so)
		if r != 0 {
			f.Revents = int16(r)
			n++
		}
	}
	return n
}
