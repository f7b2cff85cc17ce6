package bsdnet

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// sock is what Conn and PacketConn share: a socket, its addresses and its
// deadlines.
type sock struct {
	// Immutable after creation.
	st    *Stack
	so    *socket.Socket
	net   string   // the network name given to Dial, Listen or ListenPacket
	fam   int      // AF_UNIX, AF_INET or AF_INET6
	typ   int      // SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
	laddr net.Addr // the local address, nil when the socket has none
	raddr net.Addr // the peer, nil when not connected

	rd, wd deadline    // read and write deadlines
	closed atomic.Bool // set by Close before anything else it does
}

func (c *sock) init(st *Stack, so *socket.Socket, network string, fam int, raddr net.Addr) {
	c.st, c.so, c.net, c.fam, c.typ = st, so, network, fam, so.Type()
	if sa, err := so.Sockaddr(); err == nil {
		c.laddr = toNetAddr(network, sa)
	}
	c.raddr = raddr
	c.rd.init(true)
	c.wd.init(true)
}

func (c *sock) ok() bool { return c != nil && c.so != nil }

// gone reports whether the socket was closed, by Close or by the stack's
// Close: calls then fail with net.ErrClosed.
func (c *sock) gone() bool { return c.closed.Load() || c.st.closed.Load() }

// Socket returns the underlying socket(9) socket, for options and calls
// the adapter does not offer. Closing it directly leaves the adapter
// returning EBADF errors rather than net.ErrClosed.
func (c *sock) Socket() *socket.Socket {
	if !c.ok() {
		return nil
	}
	return c.so
}

// LocalAddr returns the local address: a *net.UnixAddr (the unnamed
// address has an empty Name, as on FreeBSD; Linux shows "@") or a
// *net.UDPAddr.
func (c *sock) LocalAddr() net.Addr {
	if !c.ok() {
		return nil
	}
	return c.laddr
}

// Close closes the socket (soclose). Calls blocked in the connection
// return net.ErrClosed, as do all calls after it, a second Close
// included.
func (c *sock) Close() error {
	if !c.ok() {
		return syscall.EINVAL
	}
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", net.ErrClosed)
	}
	if c.rd.close() {
		c.so.Rwakeup()
	}
	if c.wd.close() {
		c.so.Wwakeup()
	}
	if err := c.so.Close(); err != nil {
		return c.opError("close", os.NewSyscallError("close", err))
	}
	return nil
}

// SetDeadline sets the read and write deadlines, as net.Conn says: a
// blocked call returns a timeout error (os.ErrDeadlineExceeded) once the
// deadline passes, including a deadline set while it blocks; the zero
// time means none. Deadlines run on the time package's clock, virtual in
// a testing/synctest bubble.
func (c *sock) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for Read, ReadFrom and ReadMsg.
func (c *sock) SetReadDeadline(t time.Time) error {
	if !c.ok() {
		return syscall.EINVAL
	}
	if c.closed.Load() {
		return c.setError(net.ErrClosed)
	}
	if c.rd.set(t) {
		c.so.Rwakeup()
	}
	return nil
}

// SetWriteDeadline sets the deadline for Write, WriteTo and WriteMsg; a
// write that times out may have written part of its data.
func (c *sock) SetWriteDeadline(t time.Time) error {
	if !c.ok() {
		return syscall.EINVAL
	}
	if c.closed.Load() {
		return c.setError(net.ErrClosed)
	}
	if c.wd.set(t) {
		c.so.Wwakeup()
	}
	return nil
}

// SetReadBuffer sets the receive buffer's size (SO_RCVBUF).
func (c *sock) SetReadBuffer(bytes int) error {
	return c.setOpt(socket.SOL_SOCKET, socket.SO_RCVBUF, bytes)
}

// SetWriteBuffer sets the send buffer's size (SO_SNDBUF).
func (c *sock) SetWriteBuffer(bytes int) error {
	return c.setOpt(socket.SOL_SOCKET, socket.SO_SNDBUF, bytes)
}

// setOpt sets an int option (sosetopt) as the Set methods do.
func (c *sock) setOpt(level, name, v int) error {
	if !c.ok() {
		return syscall.EINVAL
	}
	if c.closed.Load() {
		return c.setError(net.ErrClosed)
	}
	if err := c.so.SetOptInt(level, name, v); err != nil {
		return c.setError(os.NewSyscallError("setsockopt", err))
	}
	return nil
}

func (c *sock) setError(err error) error {
	return &net.OpError{Op: "set", Net: c.net, Addr: c.laddr, Err: err}
}

func (c *sock) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.net, Source: c.laddr, Addr: c.raddr, Err: err}
}

// mapErr turns the errno of a call that slept with d into the error to
// report (wrapped as the system call name says), or reports that the
// deadline changed under the call, which then sleeps again.
func (c *sock) mapErr(name string, d *waitCtx, err error) (_ error, retry bool) {
	if c.gone() {
		return net.ErrClosed, false
	}
	switch err {
	case syscall.EINTR:
		if d.state.Load() == ctxReplaced {
			return nil, true
		}
	case syscall.EWOULDBLOCK:
		if d.expired() {
			return os.ErrDeadlineExceeded, false
		}
	}
	return os.NewSyscallError(name, err), false
}

// recv is one receive (soreceive) into b, under the read deadline. It
// returns the bytes received and the flags out; *psa and *controlp are
// filled when not nil. Flags are asked for only with control (ReadMsg).
func (c *sock) recv(b []byte, psa *socket.Sockaddr, controlp **mbuf.Mbuf, name string) (int, int, error) {
	if c.closed.Load() {
		return 0, 0, net.ErrClosed
	}
	for {
		d := c.rd.get()
		if d.expired() {
			return 0, 0, os.ErrDeadlineExceeded
		}
		u := socket.UioBuf(b)
		flags := 0
		var err error
		if controlp != nil {
			err = c.so.Receive(d, psa, &u, nil, controlp, &flags)
		} else {
			err = c.so.Receive(d, psa, &u, nil, nil, nil)
		}
		n := len(b) - u.Resid
		if err == nil {
			if n == 0 && c.gone() {
				// The end of file that Close gives blocked readers.
				return 0, 0, net.ErrClosed
			}
			return n, flags, nil
		}
		if n > 0 && (err == syscall.EINTR || err == syscall.EWOULDBLOCK) {
			// Progress first, as read(2) reports it.
			return n, flags, nil
		}
		e, retry := c.mapErr(name, d, err)
		if !retry {
			return n, flags, e
		}
	}
}

// send writes all of b (sosend) to the peer or to, under the write
// deadline, with control messages in FreeBSD's cmsg layout. A stream
// socket loops until all is written; a record goes in one piece.
func (c *sock) send(b []byte, to socket.Sockaddr, oob []byte, name string) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	nn := 0
	for {
		d := c.wd.get()
		if d.expired() {
			return nn, os.ErrDeadlineExceeded
		}
		var control *mbuf.Mbuf
		if len(oob) > 0 && nn == 0 {
			m, err := c.control(oob)
			if err != nil {
				return 0, os.NewSyscallError(name, err)
			}
			control = m
		}
		u := socket.UioBuf(b[nn:])
		err := c.so.Send(d, to, &u, nil, control, 0)
		nn += len(b) - nn - u.Resid
		if err == nil {
			if nn == len(b) || c.typ != socket.SOCK_STREAM {
				return nn, nil
			}
			continue
		}
		e, retry := c.mapErr(name, d, err)
		if !retry {
			return nn, e
		}
	}
}

// control builds the control mbuf of a send from oob: well-formed
// messages (ParseCmsgs) other than SCM_RIGHTS, which a byte buffer cannot
// carry (the stack's descriptors are sockets, not numbers): EINVAL.
func (c *sock) control(oob []byte) (*mbuf.Mbuf, error) {
	msgs, err := socket.ParseCmsgs(oob)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Level == socket.SOL_SOCKET && m.Type == socket.SCM_RIGHTS {
			return nil, syscall.EINVAL
		}
	}
	m := c.so.Vnet().Pool.Get(mbuf.MT_CONTROL, len(oob))
	copy(m.Extend(len(oob)), oob)
	return m, nil
}

// Conn is a connected socket as a net.Conn: a TCP connection ("tcp",
// "tcp4", "tcp6"), a PF_LOCAL stream ("unix") or seqpacket ("unixpacket")
// connection, or a datagram socket connected by Dial ("udp", "unixgram").
// Beyond net.Conn it has CloseRead and CloseWrite, the options of Go's
// *net.TCPConn (SetNoDelay, SetKeepAlive, SetKeepAliveConfig, SetLinger,
// SetReadBuffer, SetWriteBuffer), and ReadFrom and WriteTo, which move
// mbufs rather than bytes where they can (see WriteTo). Its methods may be
// called from many goroutines at once. Errors are *net.OpError wrapping an *os.SyscallError with the
// errno (errors.Is(err, syscall.ECONNRESET) holds), net.ErrClosed after
// Close, or os.ErrDeadlineExceeded after a deadline; io.EOF stays bare.
type Conn struct {
	sock
}

var _ net.Conn = (*Conn)(nil)

func newConn(st *Stack, so *socket.Socket, network string, fam int, raddr net.Addr) *Conn {
	c := &Conn{}
	c.init(st, so, network, fam, raddr)
	if c.isTCP() {
		// Go's choice for every TCP connection (see SetNoDelay). Failing
		// leaves Nagle on, which is still a working connection.
		_ = so.SetOptInt(inet.IPPROTO_TCP, inet.TCP_NODELAY, 1)
	}
	return c
}

// Read reads one receive's worth (soreceive) into b: what a stream has,
// up to len(b), or one record, whose excess is dropped. It returns io.EOF
// at the end of a stream or seqpacket connection. An empty b returns at
// once.
func (c *Conn) Read(b []byte) (int, error) {
	if !c.ok() {
		return 0, syscall.EINVAL
	}
	if len(b) == 0 {
		if c.closed.Load() {
			return 0, c.opError("read", net.ErrClosed)
		}
		return 0, nil
	}
	n, _, err := c.recv(b, nil, nil, "read")
	if err != nil {
		return n, c.opError("read", err)
	}
	if n == 0 && c.typ != socket.SOCK_DGRAM {
		return 0, io.EOF
	}
	return n, nil
}

// Write writes b (sosend): all of it on a stream, looping over partial
// sends, or one record. After a timeout or an error, n says how much was
// written.
func (c *Conn) Write(b []byte) (int, error) {
	if !c.ok() {
		return 0, syscall.EINVAL
	}
	n, err := c.send(b, nil, nil, "write")
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// RemoteAddr returns the peer's address (*net.UnixAddr or *net.UDPAddr).
func (c *Conn) RemoteAddr() net.Addr {
	if !c.ok() {
		return nil
	}
	return c.raddr
}

// CloseRead shuts down the reading side (soshutdown SHUT_RD).
func (c *Conn) CloseRead() error { return c.shutdown(socket.SHUT_RD) }

// CloseWrite shuts down the writing side (soshutdown SHUT_WR): the peer
// reads end of file.
func (c *Conn) CloseWrite() error { return c.shutdown(socket.SHUT_WR) }

func (c *Conn) shutdown(how int) error {
	if !c.ok() {
		return syscall.EINVAL
	}
	if c.closed.Load() {
		return c.opError("close", net.ErrClosed)
	}
	if err := c.so.Shutdown(how); err != nil {
		return c.opError("close", os.NewSyscallError("shutdown", err))
	}
	return nil
}
