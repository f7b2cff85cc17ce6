package socket

import (
	"context"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Protocol is the protocol switch's set of operations (struct protosw's
// pr_* methods). The socket layer calls them with no socket lock held.
// Embed ProtoDefaults to inherit FreeBSD's defaults: EOPNOTSUPP for every
// optional operation, and the socket layer's generic send, receive, poll and
// buffer-option routines.
type Protocol interface {
	// Attach (pr_attach) sets up protocol state for a new socket, from
	// Create or Newconn; it usually calls Reserve. An error aborts the
	// creation and Detach is not called. Mandatory.
	Attach(so *Socket, proto int) error
	// Detach (pr_detach) frees protocol state; called exactly once when the
	// last reference goes, after the destructor, iff Attach succeeded.
	Detach(so *Socket)
	// Bind (pr_bind) binds a local address.
	Bind(so *Socket, nam Sockaddr) error
	// Listen (pr_listen) makes the socket a listener; it must call
	// ListenProtoCheck and ListenProto.
	Listen(so *Socket, backlog int) error
	// Connect (pr_connect) starts a connection and sets the socket
	// connecting or connected.
	Connect(so *Socket, nam Sockaddr) error
	// Connect2 (pr_connect2) joins two sockets (socketpair).
	Connect2(so1, so2 *Socket) error
	// Accept (pr_accept) returns the peer address of a socket just taken
	// from a listen queue.
	Accept(so *Socket) (Sockaddr, error)
	// Disconnect (pr_disconnect) starts a disconnection.
	Disconnect(so *Socket) error
	// Shutdown (pr_shutdown) is told that the socket will send no more.
	Shutdown(so *Socket) error
	// Flush (pr_flush) is told before a shutdown flushes the receive side.
	Flush(so *Socket, how int)
	// Rcvd (pr_rcvd) is told that the receiver took data (PR_WANTRCVD).
	Rcvd(so *Socket, flags int) error
	// Send (pr_send) sends data; it always consumes m and control, freeing
	// them on error. flags are PRUS_*.
	Send(so *Socket, flags int, m *mbuf.Mbuf, addr Sockaddr, control *mbuf.Mbuf) error
	// Abort (pr_abort) drops a connection that is being discarded.
	Abort(so *Socket)
	// Close (pr_close) is told of the last close before the socket goes.
	Close(so *Socket)
	// Rcvoob (pr_rcvoob) returns out-of-band data.
	Rcvoob(so *Socket, flags int) (*mbuf.Mbuf, error)
	// Ctloutput (pr_ctloutput) handles options of levels other than
	// SOL_SOCKET, and is told of every SOL_SOCKET option set.
	Ctloutput(so *Socket, sopt *Sockopt) error
	// Sockaddr (pr_sockaddr) returns the local address.
	Sockaddr(so *Socket) (Sockaddr, error)
	// Peeraddr (pr_peeraddr) returns the peer's address.
	Peeraddr(so *Socket) (Sockaddr, error)
	// Control (pr_control) handles ioctls the socket layer does not.
	Control(so *Socket, cmd uint, data any) error
	// Sosend (pr_sosend) is the send routine of protocols whose Protosw
	// says SendProto.
	Sosend(ctx context.Context, so *Socket, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) error
	// Soreceive (pr_soreceive) is the receive routine of protocols whose
	// Protosw says ReceiveProto.
	Soreceive(ctx context.Context, so *Socket, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error
	// Sopoll (pr_sopoll) reports readiness.
	Sopoll(so *Socket, events int, p *Poller) int
	// Setsbopt (pr_setsbopt) sets SO_SNDBUF, SO_RCVBUF, SO_SNDLOWAT and
	// SO_RCVLOWAT.
	Setsbopt(so *Socket, sopt *Sockopt) error
}

// ProtoDefaults supplies FreeBSD's defaults for the optional operations of
// Protocol (pr_init): EOPNOTSUPP, or the socket layer's generic routine.
type ProtoDefaults struct{}

// Attach returns EOPNOTSUPP; every protocol must supply its own.
func (ProtoDefaults) Attach(*Socket, int) error { return syscall.EOPNOTSUPP }

// Detach does nothing.
func (ProtoDefaults) Detach(*Socket) {}

// Bind returns EOPNOTSUPP.
func (ProtoDefaults) Bind(*Socket, Sockaddr) error { return syscall.EOPNOTSUPP }

// Listen returns EOPNOTSUPP.
func (ProtoDefaults) Listen(*Socket, int) error { return syscall.EOPNOTSUPP }

// Connect returns EOPNOTSUPP.
func (ProtoDefaults) Connect(*Socket, Sockaddr) error { return syscall.EOPNOTSUPP }

// Connect2 returns EOPNOTSUPP.
func (ProtoDefaults) Connect2(*Socket, *Socket) error { return syscall.EOPNOTSUPP }

// Accept returns EOPNOTSUPP.
func (ProtoDefaults) Accept(*Socket) (Sockaddr, error) { return nil, syscall.EOPNOTSUPP }

// Disconnect returns EOPNOTSUPP.
func (ProtoDefaults) Disconnect(*Socket) error { return syscall.EOPNOTSUPP }

// Shutdown returns EOPNOTSUPP.
func (ProtoDefaults) Shutdown(*Socket) error { return syscall.EOPNOTSUPP }

// Flush does nothing.
func (ProtoDefaults) Flush(*Socket, int) {}

// Rcvd returns EOPNOTSUPP.
func (ProtoDefaults) Rcvd(*Socket, int) error { return syscall.EOPNOTSUPP }

// Send frees m and control and returns EOPNOTSUPP.
func (ProtoDefaults) Send(so *Socket, _ int, m *mbuf.Mbuf, _ Sockaddr, control *mbuf.Mbuf) error {
	mbuf.FreeChain(m)
	so.vnet.DisposeControl(control)
	return syscall.EOPNOTSUPP
}

// Abort does nothing.
func (ProtoDefaults) Abort(*Socket) {}

// Close does nothing.
func (ProtoDefaults) Close(*Socket) {}

// Rcvoob returns EOPNOTSUPP.
func (ProtoDefaults) Rcvoob(*Socket, int) (*mbuf.Mbuf, error) { return nil, syscall.EOPNOTSUPP }

// Ctloutput returns ENOPROTOOPT.
func (ProtoDefaults) Ctloutput(*Socket, *Sockopt) error { return syscall.ENOPROTOOPT }

// Sockaddr returns EOPNOTSUPP.
func (ProtoDefaults) Sockaddr(*Socket) (Sockaddr, error) { return nil, syscall.EOPNOTSUPP }

// Peeraddr returns EOPNOTSUPP.
func (ProtoDefaults) Peeraddr(*Socket) (Sockaddr, error) { return nil, syscall.EOPNOTSUPP }

// Control returns EOPNOTSUPP.
func (ProtoDefaults) Control(*Socket, uint, any) error { return syscall.EOPNOTSUPP }

// Sosend is SendGeneric.
func (ProtoDefaults) Sosend(ctx context.Context, so *Socket, addr Sockaddr, uio *Uio, top, control *mbuf.Mbuf, flags int) error {
	return so.SendGeneric(ctx, addr, uio, top, control, flags)
}

// Soreceive is ReceiveGeneric.
func (ProtoDefaults) Soreceive(ctx context.Context, so *Socket, psa *Sockaddr, uio *Uio, mp0, controlp **mbuf.Mbuf, flagsp *int) error {
	return so.ReceiveGeneric(ctx, psa, uio, mp0, controlp, flagsp)
}

// Sopoll is PollGeneric.
func (ProtoDefaults) Sopoll(so *Socket, events int, p *Poller) int { return so.PollGeneric(events, p) }

// Setsbopt is SbSetopt.
func (ProtoDefaults) Setsbopt(so *Socket, sopt *Sockopt) error { return so.SbSetopt(sopt) }

// SendImpl selects a protocol's send routine (pr_sosend).
type SendImpl uint8

// The send routines.
const (
	SendGeneric SendImpl = iota // sosend_generic
	SendDgram                   // sosend_dgram
	SendProto                   // the protocol's own Sosend
)

// ReceiveImpl selects a protocol's receive routine (pr_soreceive).
type ReceiveImpl uint8

// The receive routines.
const (
	ReceiveGeneric ReceiveImpl = iota // soreceive_generic
	ReceiveStream                     // soreceive_stream
	ReceiveDgram                      // soreceive_dgram
	ReceiveProto                      // the protocol's own Soreceive
)

// Protosw is one entry of a domain's protocol switch (struct protosw).
// The socket layer's own routines are chosen by Sosend and Soreceive rather
// than through Usrreqs so that the common paths are direct calls.
type Protosw struct {
	Type      int      // socket type (pr_type)
	Protocol  int      // protocol number (pr_protocol); 0 matches any
	Flags     int      // PR_*
	Domain    *Domain  // set when the domain is added
	Usrreqs   Protocol // the operations
	Sosend    SendImpl
	Soreceive ReceiveImpl
}

// Domain is a protocol family (struct domain): its protocols, and hooks the
// socket layer calls.
type Domain struct {
	Family int
	Name   string
	Protos []*Protosw
	// Dispose releases what a flushed receive buffer still carries, such as
	// in-flight descriptors (dom_dispose). Nil means the socket layer's
	// DisposeControl for each record's control.
	Dispose func(m *mbuf.Mbuf)
	// Externalize is told of control data a receive hands to its caller
	// (dom_externalize); nil means nothing to do.
	Externalize func(control *mbuf.Mbuf)
}

// findProto is socreate's lookup: with protocol 0 the domain's first
// protocol of the type (pffindtype); otherwise the protocol of that type
// and number, or a raw protocol that takes any number (pffindproto).
func (d *Domain) findProto(typ, proto int) *Protosw {
	var raw *Protosw
	for _, pr := range d.Protos {
		if pr.Type != typ {
			continue
		}
		if proto == 0 || pr.Protocol == proto {
			return pr
		}
		if typ == SOCK_RAW && pr.Protocol == 0 && raw == nil {
			raw = pr
		}
	}
	return raw
}
