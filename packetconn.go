package bsdnet

import (
	"net"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// PacketConn is a datagram socket as a net.PacketConn: UDP ("udp",
// "udp4", "udp6") with *net.UDPAddr addresses, or PF_LOCAL datagrams
// ("unixgram") with *net.UnixAddr. Beyond net.PacketConn it has ReadMsg
// and WriteMsg, which carry control messages in FreeBSD's cmsg layout
// (socket.AppendCmsg, socket.ParseCmsgs). Errors are shaped as Conn's.
type PacketConn struct {
	sock
}

var _ net.PacketConn = (*PacketConn)(nil)

func newPacketConn(st *Stack, so *socket.Socket, network string, fam int) *PacketConn {
	c := &PacketConn{}
	var raddr net.Addr
	if pa, err := so.Peeraddr(); err == nil {
		if u, ok := pa.(socket.SockaddrUnix); !ok || u.Path != "" {
			raddr = toNetAddr(network, pa)
		}
	}
	c.init(st, so, network, fam, raddr)
	return c
}

// ReadFrom receives one datagram into b and returns its length and
// sender. A datagram longer than b is truncated to len(b) with no error,
// the rest dropped, as Go's net does on the kernels it runs on (ReadMsg
// reports MSG_TRUNC).
func (c *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if !c.ok() {
		return 0, nil, syscall.EINVAL
	}
	var sa socket.Sockaddr
	n, _, err := c.recv(b, &sa, nil, "recvfrom")
	if err != nil {
		return n, nil, c.opError("read", err)
	}
	return n, c.fromAddr(sa), nil
}

// fromAddr converts a sender's address; an unnamed PF_LOCAL sender is nil,
// as Go's net gives it.
func (c *PacketConn) fromAddr(sa socket.Sockaddr) net.Addr {
	if u, ok := sa.(socket.SockaddrUnix); ok && u.Path == "" {
		return nil
	}
	return toNetAddr(c.net, sa)
}

// WriteTo sends b as one datagram to addr, a *net.UDPAddr or a
// *net.UnixAddr as the network says (else EAFNOSUPPORT).
func (c *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if !c.ok() {
		return 0, syscall.EINVAL
	}
	sa, err := c.st.fromNetAddr(c.fam, addr)
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: c.net, Source: c.laddr, Addr: addr, Err: err}
	}
	n, err := c.send(b, sa, nil, "sendto")
	if err != nil {
		return n, &net.OpError{Op: "write", Net: c.net, Source: c.laddr, Addr: addr, Err: err}
	}
	return n, nil
}

// ReadMsg receives one datagram into b and its control messages into oob,
// in FreeBSD's cmsg layout: socket.ParseCmsgs reads them. flags has
// FreeBSD's MSG_TRUNC when the datagram was cut to fit b and MSG_CTRUNC
// when control messages did not fit oob (those that did not are dropped).
// Descriptors passed with SCM_RIGHTS cannot be represented in bytes: they
// are closed, their message dropped and MSG_CTRUNC set.
func (c *PacketConn) ReadMsg(b, oob []byte) (n, oobn, flags int, addr net.Addr, err error) {
	if !c.ok() {
		return 0, 0, 0, nil, syscall.EINVAL
	}
	var sa socket.Sockaddr
	var control *mbuf.Mbuf
	n, flags, err = c.recv(b, &sa, &control, "recvmsg")
	if control != nil {
		var ctrunc bool
		if oobn, ctrunc = c.copyControl(oob, control); ctrunc {
			flags |= socket.MSG_CTRUNC
		}
	}
	if err != nil {
		return n, oobn, flags, nil, c.opError("read", err)
	}
	return n, oobn, flags, c.fromAddr(sa), nil
}

// copyControl copies the messages of control into oob and frees it;
// ctrunc reports messages left out (not fitting, or SCM_RIGHTS).
func (c *PacketConn) copyControl(oob []byte, control *mbuf.Mbuf) (oobn int, ctrunc bool) {
	defer c.so.Vnet().DisposeControl(control)
	for _, so := range socket.ControlRights(control) {
		so.Close()
	}
	msgs, _ := socket.ControlMessages(control)
	out := oob[:0]
	for _, m := range msgs {
		if m.Level == socket.SOL_SOCKET && m.Type == socket.SCM_RIGHTS ||
			len(out)+socket.CmsgSpace(len(m.Data)) > len(oob) {
			ctrunc = true
			continue
		}
		out = socket.AppendCmsg(out, m.Level, m.Type, m.Data)
	}
	return len(out), ctrunc
}

// WriteMsg sends b as one datagram to addr (nil on a connected socket)
// with the control messages in oob, in FreeBSD's cmsg layout
// (socket.AppendCmsg): a malformed buffer is EINVAL, and so is SCM_RIGHTS.
func (c *PacketConn) WriteMsg(b, oob []byte, addr net.Addr) (n, oobn int, err error) {
	if !c.ok() {
		return 0, 0, syscall.EINVAL
	}
	var sa socket.Sockaddr
	if addr != nil {
		if sa, err = c.st.fromNetAddr(c.fam, addr); err != nil {
			return 0, 0, &net.OpError{Op: "write", Net: c.net, Source: c.laddr, Addr: addr, Err: err}
		}
	}
	n, err = c.send(b, sa, oob, "sendmsg")
	if err != nil {
		return n, 0, &net.OpError{Op: "write", Net: c.net, Source: c.laddr, Addr: addr, Err: err}
	}
	return n, len(oob), nil
}
