// Package local implements the PF_LOCAL (AF_UNIX) domain: stream,
// datagram and sequenced-packet sockets within one stack, with FreeBSD's
// semantics (sys/kern/uipc_usrreq.c).
//
// Addresses name sockets in the stack's own namespace: a map from path to
// socket, not a file system. A path is bound by Bind and released when its
// socket closes (there is no file to unlink).
//
// Data path: a send appends straight to the peer's receive buffer in the
// sender's goroutine and wakes the peer. For stream and seqpacket sockets,
// the sender's own send buffer holds nothing; it is stopped (SB_STOP) while
// the peer's receive buffer holds at least the sender's send-buffer size,
// and restarted when the reader drains it (pr_rcvd), as in FreeBSD 14.
//
// Locking: the domain's link lock (unp_link_rwlock) guards every peer link
// and the namespace; sends and pr_rcvd hold it shared, connect, disconnect,
// bind and close exclusively. Under it, a send holds the peer's receive
// buffer and then its own send buffer; pr_rcvd its own receive buffer and
// then the peer's send buffer. Nothing that may close a socket (releasing
// in-flight descriptors) runs under the link lock.
package local

import (
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// SOL_LOCAL is the option level of PF_LOCAL options.
const SOL_LOCAL = 0

// PF_LOCAL options.
const (
	LOCAL_PEERCRED = 1 // get the peer's credential, a struct xucred
	LOCAL_CREDS    = 2 // receive the sender's credential with data
)

// Tunables are the domain's sysctl knobs (net.local.*).
type Tunables struct {
	StreamSendspace    int // net.local.stream.sendspace
	StreamRecvspace    int // net.local.stream.recvspace
	SeqpacketSendspace int // net.local.seqpacket.maxseqpacket
	SeqpacketRecvspace int // net.local.seqpacket.recvspace
	DgramMaxdgram      int // net.local.dgram.maxdgram
	DgramRecvspace     int // net.local.dgram.recvspace
}

// DefaultTunables are FreeBSD's current defaults: 64 KiB stream and
// seqpacket buffers, datagrams of up to 8 KiB into 16 KiB receive buffers.
func DefaultTunables() Tunables {
	return Tunables{
		StreamSendspace:    64 * 1024,
		StreamRecvspace:    64 * 1024,
		SeqpacketSendspace: 64 * 1024,
		SeqpacketRecvspace: 64 * 1024,
		DgramMaxdgram:      8 * 1024,
		DgramRecvspace:     16 * 1024,
	}
}

// Domain is the PF_LOCAL domain of one stack.
type Domain struct {
	vnet *socket.Vnet
	dom  *socket.Domain
	tun  Tunables

	link  sync.RWMutex        // unp_link_rwlock
	names map[string]*unpcb   // the namespace (link)
	pcbs  map[*unpcb]struct{} // every pcb (pcbMu)
	pcbMu sync.Mutex
	ino   atomic.Uint64

	inflight  atomic.Int64
	gcMu      sync.Mutex
	gcRunning bool
	gcAgain   bool
	// Stats are the domain's counters.
	Stats Stats
}

// Stats are PF_LOCAL counters.
type Stats struct {
	Sockets     atomic.Int64  // net.local.sockcount
	DgramDrops  atomic.Uint64 // datagrams refused by a full receiver (ENOBUFS)
	GCRuns      atomic.Uint64 // collections of in-flight descriptors
	GCCollected atomic.Uint64 // unreachable sockets collected
}

// unpcb is a PF_LOCAL protocol control block.
type unpcb struct {
	so    *socket.Socket
	d     *Domain
	ino   uint64
	conn  *unpcb              // the peer (link)
	refs  map[*unpcb]struct{} // datagram sockets connected to this one (link)
	addr  string              // the name it reports: bound path, or its listener's (link)
	bound bool                // addr is bound in the namespace (link)
	// peercred is LOCAL_PEERCRED: the peer's credential at connect time.
	peercred *socket.Cred // (link)
	// listencred is the credential cached at listen(2), given to connectors.
	listencred *socket.Cred
	wantcred   atomic.Bool // LOCAL_CREDS: add the sender's credential (once on a stream)
}

// Attach adds the PF_LOCAL domain to a stack with the given tunables and
// returns it.
func Attach(v *socket.Vnet, tun Tunables) (*Domain, error) {
	d := &Domain{
		vnet:  v,
		tun:   tun,
		names: make(map[string]*unpcb),
		pcbs:  make(map[*unpcb]struct{}),
	}
	stream := &socket.Protosw{Type: socket.SOCK_STREAM,
		Flags:   socket.PR_CONNREQUIRED | socket.PR_WANTRCVD | socket.PR_RIGHTS | socket.PR_CAPATTACH,
		Usrreqs: &proto{d: d}}
	dgram := &socket.Protosw{Type: socket.SOCK_DGRAM,
		Flags:     socket.PR_ATOMIC | socket.PR_ADDR | socket.PR_RIGHTS | socket.PR_CAPATTACH,
		Usrreqs:   &proto{d: d},
		Sosend:    socket.SendDgram,
		Soreceive: socket.ReceiveDgram}
	seqpacket := &socket.Protosw{Type: socket.SOCK_SEQPACKET,
		Flags: socket.PR_ADDR | socket.PR_ATOMIC | socket.PR_CONNREQUIRED | socket.PR_WANTRCVD |
			socket.PR_RIGHTS | socket.PR_CAPATTACH,
		Usrreqs: &proto{d: d}}
	d.dom = &socket.Domain{
		Family:      socket.AF_LOCAL,
		Name:        "local",
		Protos:      []*socket.Protosw{stream, dgram, seqpacket},
		Dispose:     d.rightsLeft,
		Externalize: d.rightsLeft,
	}
	if err := v.AddDomain(d.dom); err != nil {
		return nil, err
	}
	return d, nil
}

// Tunables returns the domain's knobs.
func (d *Domain) Tunables() Tunables { return d.tun }

func pcb(so *socket.Socket) *unpcb {
	u, _ := so.PCB.(*unpcb)
	return u
}

// proto implements socket.Protocol for the three PF_LOCAL types.
type proto struct {
	socket.ProtoDefaults
	d *Domain
}

// Attach is uipc_attach: reserve the type's buffer sizes and make the pcb.
func (p *proto) Attach(so *socket.Socket, _ int) error {
	t := p.d.tun
	var snd, rcv int
	switch so.Type() {
	case socket.SOCK_STREAM:
		snd, rcv = t.StreamSendspace, t.StreamRecvspace
	case socket.SOCK_SEQPACKET:
		snd, rcv = t.SeqpacketSendspace, t.SeqpacketRecvspace
	case socket.SOCK_DGRAM:
		snd, rcv = t.DgramRecvspace, t.DgramRecvspace
	default:
		return syscall.EPROTOTYPE
	}
	// A socket cloned from a listener already has the listener's sizes.
	if so.Snd.Hiwat() == 0 || so.Rcv.Hiwat() == 0 {
		if err := so.Reserve(snd, rcv); err != nil {
			return err
		}
	}
	u := &unpcb{so: so, d: p.d, ino: p.d.ino.Add(1)}
	so.PCB = u
	p.d.pcbMu.Lock()
	p.d.pcbs[u] = struct{}{}
	p.d.pcbMu.Unlock()
	p.d.Stats.Sockets.Add(1)
	return nil
}

// Detach is uipc_detach: disconnect, release the name, forget the pcb, and
// collect in-flight descriptors if any are out.
func (p *proto) Detach(so *socket.Socket) {
	u := pcb(so)
	if u == nil {
		return
	}
	p.d.link.Lock()
	wake := p.d.disconnectAllLocked(u, syscall.ECONNRESET)
	p.d.unbindLocked(u)
	p.d.link.Unlock()
	wakeAll(wake)
	p.d.pcbMu.Lock()
	delete(p.d.pcbs, u)
	p.d.pcbMu.Unlock()
	p.d.Stats.Sockets.Add(-1)
	// Release what our buffer carries before collecting, so that the
	// collector sees the holds it dropped (FreeBSD disposes of the rights
	// in sofree and collects later from a task).
	so.Rflush()
	p.d.maybeGC()
}

// clearConnected is what unp_disconnect does to a datagram socket: it is no
// longer connected, and may send and connect again.
func clearConnected(so *socket.Socket) {
	so.Lock()
	so.SetStateLocked(0, socket.SS_ISCONNECTED)
	so.Unlock()
	so.Wwakeup()
}

// unbindLocked releases u's name in the namespace; the link lock is held.
func (d *Domain) unbindLocked(u *unpcb) {
	if u.bound && d.names[u.addr] == u {
		delete(d.names, u.addr)
	}
	u.bound = false
}

// wakeup is a deferred state change to run after the link lock is dropped.
type wakeup func()

func wakeAll(ws []wakeup) {
	for _, w := range ws {
		w()
	}
}

// disconnectAllLocked breaks every link of u: its own connection, and the
// datagram sockets connected to it, which get err as so_error. The link
// lock is held; the returned state changes run after it is released.
func (d *Domain) disconnectAllLocked(u *unpcb, err syscall.Errno) []wakeup {
	var ws []wakeup
	if u.conn != nil {
		ws = append(ws, d.disconnectLocked(u)...)
	}
	for r := range u.refs {
		// unp_drop: a datagram socket whose target goes away.
		r.conn = nil
		delete(u.refs, r)
		rso := r.so
		ws = append(ws, func() {
			rso.SetError(err)
			clearConnected(rso)
		})
	}
	return ws
}

// disconnectLocked is unp_disconnect: unlink u from its peer. Stream and
// seqpacket connections go down on both sides; a datagram socket only
// forgets its target.
func (d *Domain) disconnectLocked(u *unpcb) []wakeup {
	u2 := u.conn
	if u2 == nil {
		return nil
	}
	u.conn = nil
	so, so2 := u.so, u2.so
	if so.Type() == socket.SOCK_DGRAM {
		delete(u2.refs, u)
		return []wakeup{func() { clearConnected(so) }}
	}
	u2.conn = nil
	return []wakeup{so.Isdisconnected, so2.Isdisconnected}
}

// Bind is uipc_bind: the address must be AF_UNIX (EAFNOSUPPORT) with a
// path of 1 to 104 bytes (EINVAL, ENAMETOOLONG); a socket binds once
// (EINVAL) to a free path (EADDRINUSE).
func (p *proto) Bind(so *socket.Socket, nam socket.Sockaddr) error {
	path, err := unixPath(nam)
	if err != nil {
		return err
	}
	u := pcb(so)
	p.d.link.Lock()
	defer p.d.link.Unlock()
	if u.bound {
		return syscall.EINVAL
	}
	if _, ok := p.d.names[path]; ok {
		return syscall.EADDRINUSE
	}
	p.d.names[path] = u
	u.addr, u.bound = path, true
	return nil
}

func unixPath(nam socket.Sockaddr) (string, error) {
	var sa socket.SockaddrUnix
	switch a := nam.(type) {
	case socket.SockaddrUnix:
		sa = a
	case *socket.SockaddrUnix:
		if a == nil {
			return "", syscall.EINVAL
		}
		sa = *a
	case nil:
		return "", syscall.EINVAL
	default:
		return "", syscall.EAFNOSUPPORT
	}
	if len(sa.Path) > socket.SUNPATHLEN {
		return "", syscall.ENAMETOOLONG
	}
	if sa.Path == "" {
		return "", syscall.EINVAL
	}
	for i := 0; i < len(sa.Path); i++ {
		if sa.Path[i] == 0 {
			return sa.Path[:i], nil
		}
	}
	return sa.Path, nil
}

// Listen is uipc_listen: datagram sockets cannot listen (EOPNOTSUPP); a
// connected socket is EINVAL, an unbound one EDESTADDRREQ.
func (p *proto) Listen(so *socket.Socket, backlog int) error {
	if so.Type() == socket.SOCK_DGRAM {
		return syscall.EOPNOTSUPP
	}
	u := pcb(so)
	p.d.link.RLock()
	connected, bound := u.conn != nil, u.bound
	p.d.link.RUnlock()
	if connected {
		return syscall.EINVAL
	}
	if !bound {
		return syscall.EDESTADDRREQ
	}
	so.Lock()
	defer so.Unlock()
	if err := so.ListenProtoCheck(); err != nil {
		return err
	}
	u.listencred = so.Cred()
	so.ListenProto(backlog)
	return nil
}

// Connect is uipc_connect.
func (p *proto) Connect(so *socket.Socket, nam socket.Sockaddr) error {
	path, err := unixPath(nam)
	if err != nil {
		return err
	}
	u := pcb(so)
	d := p.d
	d.link.RLock()
	target := d.names[path]
	connected := u.conn != nil
	d.link.RUnlock()
	if target == nil {
		return syscall.ENOENT
	}
	so2 := target.so
	if so2.Type() != so.Type() {
		return syscall.EPROTOTYPE
	}
	if so.Type() == socket.SOCK_DGRAM {
		d.link.Lock()
		if d.names[path] != target {
			d.link.Unlock()
			return syscall.ECONNREFUSED
		}
		var ws []wakeup
		if connected || u.conn != nil {
			ws = d.disconnectLocked(u)
		}
		d.connectLocked(u, target)
		d.link.Unlock()
		wakeAll(ws)
		so.Isconnected()
		return nil
	}
	if connected {
		return syscall.EISCONN
	}
	if !so2.Listening() {
		return syscall.ECONNREFUSED
	}
	so3 := so2.Newconn(0)
	if so3 == nil {
		return syscall.ECONNREFUSED
	}
	u3 := pcb(so3)
	d.link.Lock()
	if d.names[path] != target || !so2.Listening() || u.conn != nil {
		refused := u.conn == nil
		d.link.Unlock()
		so3.Abort()
		if refused {
			return syscall.ECONNREFUSED
		}
		return syscall.EISCONN
	}
	u3.addr = target.addr // the accepted socket reports the listener's name
	u3.peercred = so.Cred()
	u.peercred = target.listencred
	u3.wantcred.Store(target.wantcred.Load())
	d.connectLocked(u, u3)
	d.link.Unlock()
	so3.Isconnected()
	so.Isconnected()
	return nil
}

// connectLocked is unp_connect2: link u to u2 (both ways for stream and
// seqpacket); the link lock is held.
func (d *Domain) connectLocked(u, u2 *unpcb) {
	u.conn = u2
	if u.so.Type() == socket.SOCK_DGRAM {
		if u2.refs == nil {
			u2.refs = make(map[*unpcb]struct{})
		}
		u2.refs[u] = struct{}{}
		return
	}
	u2.conn = u
}

// Connect2 is uipc_connect2, for socketpair: both ends get the creating
// credential as their peer's.
func (p *proto) Connect2(so1, so2 *socket.Socket) error {
	if so1.Type() != so2.Type() || so2.Proto().Domain != so1.Proto().Domain {
		return syscall.EPROTOTYPE
	}
	u1, u2 := pcb(so1), pcb(so2)
	p.d.link.Lock()
	if u1.conn != nil || (so1.Type() != socket.SOCK_DGRAM && u2.conn != nil) {
		p.d.link.Unlock()
		return syscall.EISCONN
	}
	p.d.connectLocked(u1, u2)
	if so1.Type() != socket.SOCK_DGRAM {
		u1.peercred, u2.peercred = so2.Cred(), so1.Cred()
	}
	p.d.link.Unlock()
	so1.Isconnected()
	if so1.Type() != socket.SOCK_DGRAM {
		so2.Isconnected()
	}
	return nil
}

// Accept is uipc_accept: the peer's name, or the unnamed address.
func (p *proto) Accept(so *socket.Socket) (socket.Sockaddr, error) {
	return p.Peeraddr(so)
}

// Disconnect is uipc_disconnect.
func (p *proto) Disconnect(so *socket.Socket) error {
	u := pcb(so)
	p.d.link.Lock()
	ws := p.d.disconnectLocked(u)
	p.d.link.Unlock()
	wakeAll(ws)
	return nil
}

// Abort is uipc_abort: drop the connection of a socket taken off a listen
// queue; the peer learns of it as ECONNRESET.
func (p *proto) Abort(so *socket.Socket) {
	u := pcb(so)
	p.d.link.Lock()
	var ws []wakeup
	if u2 := u.conn; u2 != nil {
		so2 := u2.so
		ws = append(ws, func() { so2.SetError(syscall.ECONNRESET) })
		ws = append(ws, p.d.disconnectLocked(u)...)
	}
	p.d.link.Unlock()
	wakeAll(ws)
}

// Close is uipc_close: disconnect; datagram sockets connected to this one
// are dropped with ECONNRESET; the name is released.
func (p *proto) Close(so *socket.Socket) {
	u := pcb(so)
	p.d.link.Lock()
	ws := p.d.disconnectAllLocked(u, syscall.ECONNRESET)
	p.d.unbindLocked(u)
	p.d.link.Unlock()
	wakeAll(ws)
}

// Shutdown is uipc_shutdown: the peer of a stream or seqpacket socket can
// receive no more.
func (p *proto) Shutdown(so *socket.Socket) error {
	so.Cantsendmore()
	if so.Type() == socket.SOCK_DGRAM {
		return nil
	}
	u := pcb(so)
	p.d.link.RLock()
	var so2 *socket.Socket
	if u.conn != nil {
		so2 = u.conn.so
	}
	p.d.link.RUnlock()
	if so2 != nil {
		so2.Cantrcvmore()
	}
	return nil
}

// Flush is told of a shutdown before the receive side is flushed: for
// SHUT_RD and SHUT_RDWR the receive side is shut first, and a writer
// stopped on our full buffer is restarted so that it learns (EPIPE) instead
// of sleeping for ever.
func (p *proto) Flush(so *socket.Socket, how int) {
	if how == socket.SHUT_WR || so.Type() == socket.SOCK_DGRAM {
		return
	}
	so.Cantrcvmore()
	u := pcb(so)
	p.d.link.RLock()
	defer p.d.link.RUnlock()
	if u.conn == nil {
		return
	}
	so2 := u.conn.so
	so2.Snd.Lock()
	so2.Snd.ClearFlagsLocked(socket.SB_STOP)
	so2.WwakeupLocked()
}

// Sockaddr is uipc_sockaddr: the bound name, the listener's name for an
// accepted socket, or the unnamed address.
func (p *proto) Sockaddr(so *socket.Socket) (socket.Sockaddr, error) {
	u := pcb(so)
	p.d.link.RLock()
	defer p.d.link.RUnlock()
	return socket.SockaddrUnix{Path: u.addr}, nil
}

// Peeraddr is uipc_peeraddr: the connected peer's name or the unnamed
// address; an unconnected socket gets the unnamed address, not an error.
func (p *proto) Peeraddr(so *socket.Socket) (socket.Sockaddr, error) {
	u := pcb(so)
	p.d.link.RLock()
	defer p.d.link.RUnlock()
	if u.conn == nil {
		return socket.SockaddrUnix{}, nil
	}
	return socket.SockaddrUnix{Path: u.conn.addr}, nil
}

// Rcvd is uipc_rcvd: the reader took data; restart the writer when the
// receive buffer is below the writer's send-buffer size again.
func (p *proto) Rcvd(so *socket.Socket, _ int) error {
	u := pcb(so)
	p.d.link.RLock()
	defer p.d.link.RUnlock()
	u2 := u.conn
	if u2 == nil {
		return nil
	}
	so2 := u2.so
	so.Rcv.Lock()
	cc, mbcnt := so.Rcv.AvailLocked(), so.Rcv.MbcntLocked()
	so2.Snd.Lock()
	if cc < so2.Snd.HiwatLocked() && mbcnt < so2.Snd.MbmaxLocked() {
		so2.Snd.ClearFlagsLocked(socket.SB_STOP)
	}
	so2.WwakeupLocked()
	so.Rcv.Unlock()
	return nil
}

// Send is uipc_send: append to the peer's receive buffer and wake it.
// MSG_OOB is EOPNOTSUPP; a datagram over net.local.dgram.maxdgram is
// EMSGSIZE; a full datagram receiver is ENOBUFS at once, even for a blocking
// socket (the datagram path is sosend_dgram, which never waits).
func (p *proto) Send(so *socket.Socket, flags int, m *mbuf.Mbuf, nam socket.Sockaddr, control *mbuf.Mbuf) error {
	d := p.d
	u := pcb(so)
	var err error
	switch {
	case flags&socket.PRUS_OOB != 0:
		err = syscall.EOPNOTSUPP
	case so.Type() == socket.SOCK_DGRAM && mbuf.Length(m) > d.tun.DgramMaxdgram:
		// uipc_sosend_dgram: net.local.dgram.maxdgram bounds a datagram.
		err = syscall.EMSGSIZE
	}
	if err != nil {
		mbuf.FreeChain(m)
		d.vnet.DisposeControl(control)
		return err
	}
	if control != nil {
		if control, err = d.internalize(so, control); err != nil {
			mbuf.FreeChain(m)
			return err
		}
	}
	var ws []wakeup
	d.link.RLock()
	switch so.Type() {
	case socket.SOCK_DGRAM:
		err = d.sendDgramLocked(u, m, nam, control)
	default:
		err = d.sendStreamLocked(u, m, control)
	}
	if err == nil && flags&socket.PRUS_EOF != 0 {
		if u.conn != nil {
			so2 := u.conn.so
			ws = append(ws, so2.Cantrcvmore)
		}
		ws = append(ws, so.Cantsendmore)
	}
	d.link.RUnlock()
	wakeAll(ws)
	if err != nil {
		mbuf.FreeChain(m)
		d.rightsLeft(control)
		d.vnet.DisposeControl(control)
	}
	return err
}

// sendDgramLocked delivers one datagram, to nam or the connected target.
// A full receiver is ENOBUFS, never a wait. On error nothing is consumed.
func (d *Domain) sendDgramLocked(u *unpcb, m *mbuf.Mbuf, nam socket.Sockaddr, control *mbuf.Mbuf) error {
	var target *unpcb
	if nam != nil {
		if u.conn != nil {
			return syscall.EISCONN
		}
		path, err := unixPath(nam)
		if err != nil {
			return err
		}
		if target = d.names[path]; target == nil {
			return syscall.ENOENT
		}
		if target.so.Type() != socket.SOCK_DGRAM {
			return syscall.EPROTOTYPE
		}
	} else if target = u.conn; target == nil {
		return syscall.ENOTCONN
	}
	so2 := target.so
	from := socket.SockaddrUnix{Path: u.addr}
	addcred := target.wantcred.Load()
	if addcred {
		control = d.addSockcred(u.so, control)
	}
	so2.Rcv.Lock()
	if so2.Rcv.StateLocked()&socket.SBS_CANTRCVMORE != 0 || !so2.Rcv.AppendAddrLocked(from, m, control) {
		so2.Rcv.Unlock()
		d.Stats.DgramDrops.Add(1)
		if addcred {
			// Take back the credential we prepended.
			c := control
			control = c.Next
			c.Next = nil
			c.Free()
		}
		return syscall.ENOBUFS
	}
	so2.RwakeupLocked()
	return nil
}

// sendStreamLocked appends to the connected peer of a stream or seqpacket
// socket and stops the sender when the peer holds a send buffer's worth.
func (d *Domain) sendStreamLocked(u *unpcb, m, control *mbuf.Mbuf) error {
	u2 := u.conn
	if u2 == nil {
		if u.so.State()&socket.SS_ISDISCONNECTED != 0 {
			return syscall.EPIPE
		}
		return syscall.ENOTCONN
	}
	so, so2 := u.so, u2.so
	if u2.wantcred.CompareAndSwap(true, false) {
		control = d.addSockcred(so, control)
	}
	so2.Rcv.Lock()
	if so2.Rcv.StateLocked()&socket.SBS_CANTRCVMORE != 0 {
		so2.Rcv.Unlock()
		return syscall.EPIPE
	}
	if so.Type() == socket.SOCK_SEQPACKET {
		so2.Rcv.AppendAddrNoSpaceCheckLocked(socket.SockaddrUnix{}, m, control)
	} else if control != nil {
		so2.Rcv.AppendControlLocked(m, control)
	} else {
		so2.Rcv.AppendLocked(m)
	}
	cc, mbcnt := so2.Rcv.AvailLocked(), so2.Rcv.MbcntLocked()
	so.Snd.Lock()
	if cc >= so.Snd.HiwatLocked() || mbcnt >= so.Snd.MbmaxLocked() {
		so.Snd.SetFlagsLocked(socket.SB_STOP)
	}
	so.Snd.Unlock()
	so2.RwakeupLocked()
	return nil
}
