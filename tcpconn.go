package bsdnet

import (
	"net"
	"os"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/socket"
)

// The TCP options of a Conn, as Go's *net.TCPConn offers them. Each sets a
// socket option through the socket layer (sosetopt), where TCP's
// tcp_ctloutput takes it: TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE,
// TCP_KEEPINTVL, TCP_KEEPCNT and SO_LINGER. On a socket that is not TCP the
// errno is the one its protocol gives for the option (EINVAL from
// PF_LOCAL for an IPPROTO_TCP option), as setsockopt(2) would.

// Go's defaults for keepalive parameters left zero (net.KeepAliveConfig):
// 15 s idle, 15 s between probes, 9 probes.
const (
	defaultKeepAliveIdle     = 15 * time.Second
	defaultKeepAliveInterval = 15 * time.Second
	defaultKeepAliveCount    = 9
)

// SetNoDelay sets whether TCP sends small segments at once (TCP_NODELAY,
// true) or delays them while data is unacknowledged, to send fewer of them
// (Nagle's algorithm, false). As in Go, TCP connections made by Dial and
// Accept start with no delay (FreeBSD's sockets start with Nagle on).
func (c *Conn) SetNoDelay(noDelay bool) error {
	return c.setOpt(inet.IPPROTO_TCP, inet.TCP_NODELAY, boolInt(noDelay))
}

// SetKeepAlive turns keepalive probes on an idle connection on or off
// (SO_KEEPALIVE). Unlike Go's Dial and Accept, bsdnet's leave them off, as
// FreeBSD does; SetKeepAliveConfig sets the timing.
func (c *Conn) SetKeepAlive(keepalive bool) error {
	return c.setOpt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, boolInt(keepalive))
}

// SetKeepAlivePeriod sets how long the connection stays idle before the
// first keepalive probe (TCP_KEEPIDLE), rounded up to whole seconds; 0 is
// Go's default of 15 s and a negative d changes nothing.
func (c *Conn) SetKeepAlivePeriod(d time.Duration) error {
	return c.setKeepAliveDur(inet.TCP_KEEPIDLE, d, defaultKeepAliveIdle)
}

// SetKeepAliveConfig sets keepalive as config says: Enable turns probes on
// or off (SO_KEEPALIVE); Idle (TCP_KEEPIDLE) and Interval (TCP_KEEPINTVL)
// are rounded up to whole seconds, Count is TCP_KEEPCNT. As in Go, a zero
// field takes Go's default (15 s, 15 s, 9) and a negative one is left as
// it is. A connection whose peer answers none of Count probes is dropped:
// its calls fail with ETIMEDOUT.
func (c *Conn) SetKeepAliveConfig(config net.KeepAliveConfig) error {
	if err := c.SetKeepAlive(config.Enable); err != nil {
		return err
	}
	if err := c.setKeepAliveDur(inet.TCP_KEEPIDLE, config.Idle, defaultKeepAliveIdle); err != nil {
		return err
	}
	if err := c.setKeepAliveDur(inet.TCP_KEEPINTVL, config.Interval, defaultKeepAliveInterval); err != nil {
		return err
	}
	switch n := config.Count; {
	case n == 0:
		return c.setOpt(inet.IPPROTO_TCP, inet.TCP_KEEPCNT, defaultKeepAliveCount)
	case n > 0:
		return c.setOpt(inet.IPPROTO_TCP, inet.TCP_KEEPCNT, n)
	}
	return nil
}

func (c *Conn) setKeepAliveDur(name int, d, def time.Duration) error {
	switch {
	case d == 0:
		d = def
	case d < 0:
		return nil
	}
	secs := (d + time.Second - 1) / time.Second
	return c.setOpt(inet.IPPROTO_TCP, name, int(secs))
}

// SetLinger sets what Close does with data not yet sent (SO_LINGER), as
// Go's TCPConn.SetLinger: sec < 0 (the default) sends it in the background
// after Close returns; sec == 0 discards it and resets the connection (the
// peer's calls fail with ECONNRESET); sec > 0 makes Close wait up to sec
// seconds (on the stack's clock) for the connection to finish sending and
// close, as FreeBSD's soclose does and Linux's close may; sec above 65535
// is EDOM, FreeBSD's errno.
func (c *Conn) SetLinger(sec int) error {
	l := socket.Linger{}
	if sec >= 0 {
		l = socket.Linger{Onoff: 1, Linger: int32(min(sec, 1<<31-1))}
	}
	if !c.ok() {
		return syscall.EINVAL
	}
	if c.closed.Load() {
		return c.setError(net.ErrClosed)
	}
	b := l.Bytes()
	sopt := socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: b, Valsize: len(b)}
	if err := c.so.SetOpt(&sopt); err != nil {
		return c.setError(os.NewSyscallError("setsockopt", err))
	}
	return nil
}

// isTCP reports whether the connection is a TCP one.
func (c *sock) isTCP() bool {
	return c.typ == socket.SOCK_STREAM && (c.fam == socket.AF_INET || c.fam == socket.AF_INET6)
}
