package benchsuite

import (
	"fmt"
	"io"
	"net"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

// The TCP workloads run over the stream, ping-pong and connect loops the
// PF_LOCAL ones use, on bsdnet's net.Conn adapters (one stack's loopback,
// or two stacks over a wire) and on the kernel's TCP on 127.0.0.1.

// tcpDialer is what makes the two ends of a bsdnet TCP connection: one
// stack, or the two hosts of a network.
type tcpDialer struct {
	cli, srv *bsdnet.Stack
	addr     string // the server's listening address
	done     func()
}

func newTCPLoopback() (*tcpDialer, error) {
	st := bsdnet.NewStack()
	return &tcpDialer{cli: st, srv: st, addr: "127.0.0.1:5002", done: func() { st.Close() }}, nil
}

func newTCPWire() (*tcpDialer, error) {
	n := bsdnet.NewNetwork(1)
	a, b := n.Host("a"), n.Host("b")
	if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{}); err != nil {
		n.Close()
		return nil, err
	}
	return &tcpDialer{cli: a, srv: b, addr: "10.0.0.2:5002", done: func() { n.Close() }}, nil
}

// bsdnetTCPPair returns a pairFunc for connected bsdnet TCP conns.
func bsdnetTCPPair(mk func() (*tcpDialer, error)) pairFunc {
	return func() (io.ReadWriteCloser, io.ReadWriteCloser, func(), error) {
		d, err := mk()
		if err != nil {
			return nil, nil, nil, err
		}
		l, err := d.srv.Listen("tcp4", d.addr)
		if err != nil {
			d.done()
			return nil, nil, nil, err
		}
		defer l.Close()
		c, s, err := dialAccept(l, func() (net.Conn, error) { return d.cli.Dial("tcp4", d.addr) })
		if err != nil {
			d.done()
			return nil, nil, nil, err
		}
		return c, s, d.done, nil
	}
}

// kernelTCPPair is a kernel TCP connection on 127.0.0.1.
func kernelTCPPair() (io.ReadWriteCloser, io.ReadWriteCloser, func(), error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	defer l.Close()
	c, s, err := dialAccept(l, func() (net.Conn, error) { return net.Dial("tcp4", l.Addr().String()) })
	if err != nil {
		return nil, nil, nil, err
	}
	return c, s, func() {}, nil
}

// dialAccept dials with dial and accepts on l.
func dialAccept(l net.Listener, dial func() (net.Conn, error)) (c, s net.Conn, err error) {
	c, err = dial()
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	s, err = l.Accept()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("accept: %w", err)
	}
	return c, s, nil
}

// netAcceptor makes TCP connections through Go's net interfaces: dial
// makes the client end, l accepts the server end.
type netAcceptor struct {
	l    net.Listener
	dial func() (net.Conn, error)
	done func()
}

func (a *netAcceptor) cycle(check bool) error {
	c, s, err := dialAccept(a.l, a.dial)
	if err != nil {
		return err
	}
	defer c.Close()
	defer s.Close()
	if check {
		return exchange(c, s)
	}
	return nil
}

func (a *netAcceptor) close() {
	a.l.Close()
	a.done()
}

func newBsdnetTCPAcceptor() (acceptor, error) {
	d, err := newTCPLoopback()
	if err != nil {
		return nil, err
	}
	if err := d.srv.Vnet().SetSomaxconn(4096); err != nil {
		d.done()
		return nil, err
	}
	l, err := d.srv.Listen("tcp4", d.addr)
	if err != nil {
		d.done()
		return nil, err
	}
	return &netAcceptor{l: l, dial: func() (net.Conn, error) { return d.cli.Dial("tcp4", d.addr) }, done: d.done}, nil
}

func newKernelTCPAcceptor() (acceptor, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	return &netAcceptor{l: l, dial: func() (net.Conn, error) { return net.Dial("tcp4", addr) }, done: func() {}}, nil
}

// tcpWorkloads are the suite's TCP figures.
func tcpWorkloads() []Workload {
	return []Workload{
		{Name: "TCP stream, 64 KiB writes, loopback", Unit: "MB/s",
			Bsdnet: localStream(bsdnetTCPPair(newTCPLoopback)), Kernel: localStream(kernelTCPPair)},
		{Name: "TCP stream, 64 KiB writes, wire", Unit: "MB/s",
			Note:   "bsdnet: two stacks over a 1500-byte-MTU wire; kernel: 127.0.0.1",
			Bsdnet: localStream(bsdnetTCPPair(newTCPWire)), Kernel: localStream(kernelTCPPair)},
		{Name: "TCP ping-pong, 1 byte, loopback", Unit: "µs/op", LowerIsBetter: true,
			Bsdnet: localPingPong(bsdnetTCPPair(newTCPLoopback)), Kernel: localPingPong(kernelTCPPair)},
		{Name: "TCP connect+accept+close, loopback", Unit: "conns/s",
			Bsdnet: connectCycle(newBsdnetTCPAcceptor), Kernel: connectCycle(newKernelTCPAcceptor)},
	}
}
