package inet

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// rawTable holds a family's raw sockets (ripcbinfo): a list replaced
// whole on every change, so that input reads it without a lock.
type rawTable struct {
	mu   sync.Mutex // writers
	pcbs atomic.Pointer[[]*inpcb]
}

func (t *rawTable) list() []*inpcb {
	if l := t.pcbs.Load(); l != nil {
		return *l
	}
	return nil
}

func (t *rawTable) add(p *inpcb) {
	t.mu.Lock()
	l := append(append([]*inpcb(nil), t.list()...), p)
	t.pcbs.Store(&l)
	t.mu.Unlock()
}

func (t *rawTable) remove(p *inpcb) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.list()
	for i, x := range old {
		if x == p {
			l := append(append([]*inpcb(nil), old[:i]...), old[i+1:]...)
			t.pcbs.Store(&l)
			return
		}
	}
}

// input is rip_input / rip6_input: every raw socket of the protocol (or of
// protocol 0) whose bound and connected addresses match gets a copy: IPv4
// sockets from the IP header on, IPv6 sockets from the upper-layer header.
// It reports whether any did. m is not consumed.
func (t *rawTable) input(s *Stack, ifa *Iface, m *mbuf.Mbuf, off int, proto uint8) bool {
	pcbs := t.list()
	if len(pcbs) == 0 {
		return false
	}
	var src, dst netip.Addr
	v6 := header.IPv4(m.Data()).Version() == 6
	if v6 {
		h := header.IPv6(m.Data())
		src, dst = h.Src(), h.Dst()
	} else {
		h := header.IPv4(m.Data())
		src, dst = h.Src(), h.Dst()
	}
	took := false
	for _, p := range pcbs {
		la, _, fa, _ := p.addrs()
		if p.proto != 0 && p.proto != proto {
			continue
		}
		if la.IsValid() && la != dst || fa.IsValid() && fa != src {
			continue
		}
		start := 0
		if v6 {
			start = off
		}
		c := mbuf.Copy(m, start, -1)
		if c == nil {
			continue
		}
		c.Csum = mbuf.Csum{}
		from := p.makeSockaddr(zoned(src, ifa), 0)
		so := p.so
		so.Rcv.Lock()
		if !so.Rcv.AppendAddrLocked(from, c, nil) {
			so.Rcv.Unlock()
			s.Stats.Raw.FullSock.Add(1)
			mbuf.FreeChain(c)
			continue
		}
		so.RwakeupLocked()
		s.Stats.Raw.Delivered.Add(1)
		took = true
	}
	return took
}

// rawProto is the raw IP protocol (rip_usrreqs / rip6_usrreqs).
type rawProto struct {
	socket.ProtoDefaults
	s  *Stack
	v6 bool
}

func (r *rawProto) table() *rawTable {
	if r.v6 {
		return &r.s.raw6
	}
	return &r.s.raw4
}

// Attach is rip_attach: only uid 0 may make a raw socket (EPERM).
func (r *rawProto) Attach(so *socket.Socket, proto int) error {
	if so.Cred().Uid != 0 {
		return syscall.EPERM
	}
	if proto < 0 || proto > 255 {
		return syscall.EPROTONOSUPPORT
	}
	if err := so.Reserve(r.s.Tunables.RawSendspace, r.s.Tunables.RawRecvspace); err != nil {
		return err
	}
	p := &inpcb{so: so, t: &r.s.udp, v6: r.v6, proto: uint8(proto)}
	p.opts = pcbOpts{v6only: r.v6, ttl: -1, mttl: -1, mloop: true}
	so.PCB = p
	r.table().add(p)
	return nil
}

// Detach is rip_detach.
func (r *rawProto) Detach(so *socket.Socket) {
	p := pcbOf(so)
	r.table().remove(p)
	p.mu.Lock()
	groups := p.opts.groups
	p.opts.groups = nil
	p.mu.Unlock()
	for _, g := range groups {
		r.s.leaveGroup(g.ifa, g.group)
	}
}

// Bind is rip_bind: a local address to receive on (the port is ignored).
func (r *rawProto) Bind(so *socket.Socket, nam socket.Sockaddr) error {
	p := pcbOf(so)
	a, _, err := p.sockaddr(nam)
	if err != nil {
		return err
	}
	if !a.IsUnspecified() {
		if _, ok := r.s.isLocal(a); !ok {
			return syscall.EADDRNOTAVAIL
		}
	}
	p.t.mu.Lock()
	if !a.IsUnspecified() {
		p.laddr = a
	}
	p.t.mu.Unlock()
	return nil
}

// Connect is rip_connect: a default destination and a receive filter.
func (r *rawProto) Connect(so *socket.Socket, nam socket.Sockaddr) error {
	p := pcbOf(so)
	a, _, err := p.sockaddr(nam)
	if err != nil {
		return err
	}
	p.t.mu.Lock()
	p.faddr = a
	p.t.mu.Unlock()
	so.Isconnected()
	return nil
}

// Disconnect is rip_disconnect.
func (r *rawProto) Disconnect(so *socket.Socket) error {
	p := pcbOf(so)
	p.t.mu.Lock()
	connected := p.faddr.IsValid()
	p.faddr = netip.Addr{}
	p.t.mu.Unlock()
	if !connected {
		return syscall.ENOTCONN
	}
	so.Lock()
	so.SetStateLocked(0, socket.SS_ISCONNECTED)
	so.Unlock()
	return nil
}

// Shutdown is rip_shutdown.
func (r *rawProto) Shutdown(so *socket.Socket) error {
	so.Cantsendmore()
	return nil
}

// Sockaddr returns the bound address.
func (r *rawProto) Sockaddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := pcbOf(so)
	la, _, _, _ := p.addrs()
	return p.makeSockaddr(la, 0), nil
}

// Peeraddr returns the connected address.
func (r *rawProto) Peeraddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := pcbOf(so)
	_, _, fa, _ := p.addrs()
	if !fa.IsValid() {
		return nil, syscall.ENOTCONN
	}
	return p.makeSockaddr(fa, 0), nil
}

// Ctloutput handles IP-level options, IP_HDRINCL among them.
func (r *rawProto) Ctloutput(so *socket.Socket, sopt *socket.Sockopt) error {
	return r.s.ctloutput(pcbOf(so), sopt)
}

// Send is rip_output / rip6_output. With IP_HDRINCL the data starts with an
// IPv4 header the sender wrote (EINVAL unless its version, header length
// and total length agree with the data); the stack fills in a zero ID, a
// zero source and the checksum. Without it the stack adds the header. An
// ICMPv6 socket gets its checksum computed.
func (r *rawProto) Send(so *socket.Socket, flags int, m *mbuf.Mbuf, addr socket.Sockaddr, control *mbuf.Mbuf) error {
	s := r.s
	s.vnet.DisposeControl(control)
	p := pcbOf(so)
	la, _, fa, _ := p.addrs()
	dst := fa
	if addr != nil {
		if fa.IsValid() {
			mbuf.FreeChain(m)
			return syscall.EISCONN
		}
		a, _, err := p.sockaddr(addr)
		if err != nil {
			mbuf.FreeChain(m)
			return err
		}
		dst = a
	} else if !dst.IsValid() {
		mbuf.FreeChain(m)
		return syscall.ENOTCONN
	}
	o := p.options()
	out := &ipOut{src: la, dst: dst, proto: p.proto, ttl: o.ttl, tos: o.tos, df: o.dontfrag,
		broadcast: so.Options()&socket.SO_BROADCAST != 0, mloop: o.mloop,
		dontroute: so.Options()&socket.SO_DONTROUTE != 0}
	if dst.IsMulticast() {
		out.ttl, out.ifa = o.mttl, o.mif
	}
	if !r.v6 && o.hdrincl {
		return s.ripOutputHdrincl(m, out)
	}
	if dst.Is4() {
		return s.ip4Output(m, out)
	}
	if p.proto == header.ProtoICMPv6 {
		src := la
		if !src.IsValid() {
			var err error
			if src, err = s.chooseSource(dst, p); err != nil {
				mbuf.FreeChain(m)
				return err
			}
		}
		n := mbuf.Length(m)
		if n < header.ICMPv6MinLen {
			mbuf.FreeChain(m)
			return syscall.EINVAL
		}
		var err error
		if m, err = s.writableHead(m, header.ICMPv6MinLen); err != nil {
			mbuf.FreeChain(m)
			return err
		}
		ic := header.ICMPv6(m.Data())
		ic.SetChecksum(0)
		ic.SetChecksum(^header.ChecksumMbuf(m, 0, n, header.PseudoHeaderChecksum(header.ProtoICMPv6, src.WithZone(""), dst.WithZone(""), uint16(n))))
		out.src = src
	}
	return s.ip6Output(m, out)
}

// ripOutputHdrincl sends a packet whose IPv4 header the user wrote.
func (s *Stack) ripOutputHdrincl(m *mbuf.Mbuf, o *ipOut) error {
	n := mbuf.Length(m)
	var err error
	if m, err = s.writableHead(m, header.IPv4MinLen); err != nil {
		mbuf.FreeChain(m)
		return syscall.EINVAL
	}
	h := header.IPv4(m.Data())
	hl := h.HeaderLen()
	if h.Version() != 4 || hl < header.IPv4MinLen || hl > n || h.TotalLen() != n {
		mbuf.FreeChain(m)
		return syscall.EINVAL
	}
	if m, err = s.writableHead(m, hl); err != nil {
		mbuf.FreeChain(m)
		return syscall.EINVAL
	}
	h = header.IPv4(m.Data())
	o.dst = h.Dst()
	ifa, nexthop, err := s.routeOut(o)
	if err != nil {
		mbuf.FreeChain(m)
		return err
	}
	if h.Src().IsUnspecified() {
		src, ok := s.sourceFor(h.Dst(), ifa)
		if !ok {
			mbuf.FreeChain(m)
			return syscall.EADDRNOTAVAIL
		}
		h.SetSrc(src)
	}
	if h.ID() == 0 {
		h.SetID(uint16(s.ipid.Add(1)))
	}
	if !o.broadcast && s.isBroadcast4(h.Dst(), ifa) {
		mbuf.FreeChain(m)
		return syscall.EACCES
	}
	h.ComputeChecksum()
	m.Flags |= mbuf.M_PKTHDR
	m.PktLen = n
	s.Stats.IP.RawOut.Add(1)
	return s.ip4Send(ifa, m, nexthop, o.mloop)
}
