package inet

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// IP protocol numbers for socket(2) and option levels.
const (
	IPPROTO_IP     = 0
	IPPROTO_ICMP   = 1
	IPPROTO_TCP    = 6
	IPPROTO_UDP    = 17
	IPPROTO_IPV6   = 41
	IPPROTO_ICMPV6 = 58
	IPPROTO_RAW    = 255
)

// udpProto is UDP's protocol switch entry (udp_usrreqs / udp6_usrreqs).
type udpProto struct {
	socket.ProtoDefaults
	s  *Stack
	v6 bool
}

func pcbOf(so *socket.Socket) *inpcb {
	p, _ := so.PCB.(*inpcb)
	return p
}

// Attach is udp_attach: size the buffers (net.inet.udp.maxdgram and
// recvspace) and make the control block.
func (u *udpProto) Attach(so *socket.Socket, proto int) error {
	if proto != 0 && proto != IPPROTO_UDP {
		return syscall.EPROTONOSUPPORT
	}
	if err := so.Reserve(u.s.Tunables.UDPSendspace, u.s.Tunables.UDPRecvspace); err != nil {
		return err
	}
	u.s.udp.attach(so, u.v6)
	return nil
}

// Detach is udp_detach.
func (u *udpProto) Detach(so *socket.Socket) {
	if p := pcbOf(so); p != nil {
		u.s.udp.detach(p)
	}
}

// Bind is udp_bind.
func (u *udpProto) Bind(so *socket.Socket, nam socket.Sockaddr) error {
	p := pcbOf(so)
	a, port, err := p.sockaddr(nam)
	if err != nil {
		return err
	}
	return u.s.udp.bind(p, a, port)
}

// Connect is udp_connect: the socket sends to and hears only from the
// peer. A socket connected before was disconnected by the socket layer.
func (u *udpProto) Connect(so *socket.Socket, nam socket.Sockaddr) error {
	p := pcbOf(so)
	a, port, err := p.sockaddr(nam)
	if err != nil {
		return err
	}
	if err := u.s.udp.connect(p, a, port); err != nil {
		return err
	}
	so.Isconnected()
	return nil
}

// Disconnect is udp_disconnect.
func (u *udpProto) Disconnect(so *socket.Socket) error {
	p := pcbOf(so)
	if _, _, fa, _ := p.addrs(); !fa.IsValid() {
		return syscall.ENOTCONN
	}
	u.s.udp.disconnect(p)
	so.Lock()
	so.SetStateLocked(0, socket.SS_ISCONNECTED)
	so.Unlock()
	return nil
}

// Shutdown is udp_shutdown.
func (u *udpProto) Shutdown(so *socket.Socket) error {
	so.Cantsendmore()
	return nil
}

// Sockaddr is udp_sockaddr.
func (u *udpProto) Sockaddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := pcbOf(so)
	la, lp, _, _ := p.addrs()
	return p.makeSockaddr(la, lp), nil
}

// Peeraddr is udp_peeraddr: ENOTCONN when not connected.
func (u *udpProto) Peeraddr(so *socket.Socket) (socket.Sockaddr, error) {
	p := pcbOf(so)
	_, _, fa, fp := p.addrs()
	if !fa.IsValid() {
		return nil, syscall.ENOTCONN
	}
	return p.makeSockaddr(fa, fp), nil
}

// Ctloutput handles IPPROTO_IP and IPPROTO_IPV6 options.
func (u *udpProto) Ctloutput(so *socket.Socket, sopt *socket.Sockopt) error {
	return u.s.ctloutput(pcbOf(so), sopt)
}

// Send is udp_output: the datagram goes to addr, or the connected peer
// (EISCONN when both), from the bound address or the route's; an unbound
// socket gets an ephemeral port first. The checksum is left for the link
// to compute where it can be damaged.
func (u *udpProto) Send(so *socket.Socket, flags int, m *mbuf.Mbuf, addr socket.Sockaddr, control *mbuf.Mbuf) error {
	s := u.s
	u.s.vnet.DisposeControl(control)
	err := s.udpOutput(pcbOf(so), m, addr)
	if err == nil {
		s.Stats.UDP.OPackets.Add(1)
	}
	return err
}

func (s *Stack) udpOutput(p *inpcb, m *mbuf.Mbuf, addr socket.Sockaddr) error {
	fail := func(err error) error {
		mbuf.FreeChain(m)
		return err
	}
	laddr, lport, faddr, fport := p.addrs()
	dst, dport := faddr, fport
	if addr != nil {
		if faddr.IsValid() {
			return fail(syscall.EISCONN)
		}
		var err error
		if dst, dport, err = p.sockaddr(addr); err != nil {
			return fail(err)
		}
		if dport == 0 {
			return fail(syscall.EADDRNOTAVAIL)
		}
		if dst.IsUnspecified() {
			if dst.Is4() {
				dst = netip.AddrFrom4([4]byte{127, 0, 0, 1})
			} else {
				dst = netip.IPv6Loopback()
			}
		}
	} else if !dst.IsValid() {
		return fail(syscall.EDESTADDRREQ)
	}
	if !p.family(dst) {
		return fail(syscall.EAFNOSUPPORT)
	}
	if lport == 0 {
		if err := p.t.bind(p, netip.Addr{}, 0); err != nil {
			return fail(err)
		}
		laddr, lport, _, _ = p.addrs()
	}
	src := laddr
	if !src.IsValid() || src.IsMulticast() {
		var err error
		if src, err = s.chooseSource(dst, p); err != nil {
			if err == syscall.ENETUNREACH {
				err = syscall.EHOSTUNREACH
			}
			return fail(err)
		}
	}
	plen := mbuf.Length(m)
	ulen := plen + header.UDPLen
	if ulen > 65535-header.IPv4MinLen {
		return fail(syscall.EMSGSIZE)
	}
	m = s.pool.Prepend(m, header.UDPLen)
	uh := header.UDP(m.Data()[:header.UDPLen])
	uh.SetSrcPort(lport)
	uh.SetDstPort(dport)
	uh.SetLength(ulen)
	uh.SetChecksum(header.PseudoHeaderChecksum(header.ProtoUDP, src.WithZone(""), dst.WithZone(""), uint16(ulen)))
	m.Csum = mbuf.Csum{Delayed: true, UDP: true, Start: 0, Off: 6}
	m.PktLen = ulen
	o := p.options()
	out := &ipOut{src: src, dst: dst, proto: header.ProtoUDP, ttl: o.ttl, tos: o.tos, df: o.dontfrag,
		broadcast: p.so.Options()&socket.SO_BROADCAST != 0, mloop: o.mloop,
		dontroute: p.so.Options()&socket.SO_DONTROUTE != 0}
	if dst.IsMulticast() {
		out.ttl, out.ifa = o.mttl, o.mif
	}
	if dst.Is4() {
		return s.ip4Output(m, out)
	}
	return s.ip6Output(m, out)
}

// udpInput is udp_input: check the header and the checksum, then append
// the datagram to the receive buffer of the socket it is for (every
// matching socket for broadcast and multicast), answering port unreachable
// when there is none. It consumes m (which starts at the IP header).
func (s *Stack) udpInput(ifa *Iface, m *mbuf.Mbuf, off int, v6 bool) {
	st := &s.Stats.UDP
	m, err := mbuf.Pullup(m, off+header.UDPLen)
	if err != nil {
		st.HdrOps.Add(1)
		mbuf.FreeChain(m)
		return
	}
	var src, dst netip.Addr
	var ttl uint8
	if v6 {
		h := header.IPv6(m.Data())
		src, dst, ttl = h.Src(), h.Dst(), h.HopLimit()
	} else {
		h := header.IPv4(m.Data())
		src, dst, ttl = h.Src(), h.Dst(), h.TTL()
	}
	uh := header.UDP(m.Data()[off : off+header.UDPLen])
	plen := mbuf.Length(m) - off
	ulen := uh.Length()
	if ulen < header.UDPLen || ulen > plen {
		st.BadLen.Add(1)
		mbuf.FreeChain(m)
		return
	}
	if plen > ulen {
		mbuf.Adj(m, ulen-plen)
	}
	if ifa.ifp.Checksum.Load() && !m.Csum.Delayed {
		switch {
		case uh.Checksum() == 0 && !v6:
			st.NoSum.Add(1)
		case uh.Checksum() == 0 && v6:
			st.BadSum.Add(1)
			mbuf.FreeChain(m)
			return
		default:
			sum := header.ChecksumMbuf(m, off, ulen, header.PseudoHeaderChecksum(header.ProtoUDP, src, dst, uint16(ulen)))
			if sum != 0xffff {
				st.BadSum.Add(1)
				mbuf.FreeChain(m)
				return
			}
		}
	}
	st.IPackets.Add(1)
	sport, dport := uh.SrcPort(), uh.DstPort()
	src = zoned(src, ifa)
	if dst.IsMulticast() || (!v6 && s.isBroadcast4(dst, ifa)) {
		pcbs := s.udp.lookupAll(src, sport, dst, dport, ifa)
		if len(pcbs) == 0 {
			st.NoPortBcast.Add(1)
			mbuf.FreeChain(m)
			return
		}
		for i, p := range pcbs {
			c := m
			if i < len(pcbs)-1 {
				c = mbuf.Copy(m, 0, -1)
			}
			s.udpAppend(p, c, off, src, sport, dst, ttl, ifa)
		}
		return
	}
	p := s.udp.lookup(src, sport, dst, dport)
	if p == nil {
		st.NoPort.Add(1)
		if v6 {
			s.icmp6Error(m, header.ICMPv6DestUnreachable, header.ICMPv6PortUnreachable, 0, ifa)
		} else {
			s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4PortUnreachable, 0, ifa)
		}
		mbuf.FreeChain(m)
		return
	}
	s.udpAppend(p, m, off, src, sport, dst, ttl, ifa)
}

// udpAppend is udp_append: the datagram's data, its source address and
// the control messages the socket asked for go to its receive buffer; a
// full buffer drops the datagram (counted, and SO_RERROR told).
func (s *Stack) udpAppend(p *inpcb, m *mbuf.Mbuf, off int, src netip.Addr, sport uint16, dst netip.Addr, ttl uint8, ifa *Iface) {
	so := p.so
	o := p.options()
	var control *mbuf.Mbuf
	add := func(level, typ int, data []byte) {
		control = mbuf.Cat(control, s.vnet.NewControl(level, typ, data))
	}
	if so.Options()&socket.SO_TIMESTAMP != 0 {
		add(socket.SOL_SOCKET, socket.SCM_TIMESTAMP, socket.NsecToTimeval(time.Duration(time.Now().UnixNano())).Bytes())
	}
	if dst.Is4() && !p.v6 || dst.Is4() && p.v6 && !o.recvpktinfo {
		if o.recvdstaddr {
			b := dst.As4()
			add(IPPROTO_IP, IP_RECVDSTADDR, b[:])
		}
		if o.recvttl {
			add(IPPROTO_IP, IP_RECVTTL, []byte{ttl})
		}
		if o.recvif {
			add(IPPROTO_IP, IP_RECVIF, sockaddrDL(ifa.ifp))
		}
	}
	if p.v6 && o.recvpktinfo {
		var b [20]byte
		a := dst.As16()
		copy(b[:16], a[:])
		binary.NativeEndian.PutUint32(b[16:], uint32(ifa.ifp.Index()))
		add(IPPROTO_IPV6, IPV6_PKTINFO, b[:])
	}
	mbuf.Adj(m, off+header.UDPLen)
	m.Csum = mbuf.Csum{}
	from := p.fromSockaddr(src, sport)
	so.Rcv.Lock()
	if !so.Rcv.AppendAddrLocked(from, m, control) {
		so.Rcv.Unlock()
		s.Stats.UDP.FullSock.Add(1)
		mbuf.FreeChain(m)
		s.vnet.DisposeControl(control)
		if so.Options()&socket.SO_RERROR != 0 {
			so.SetRError(syscall.ENOBUFS)
			so.Rwakeup()
		}
		return
	}
	so.RwakeupLocked()
}

// sockaddrDL encodes struct sockaddr_dl for IP_RECVIF.
func sockaddrDL(ifp *link.Ifnet) []byte {
	const size = 54
	b := make([]byte, size)
	b[0] = size
	b[1] = 18 // AF_LINK
	binary.NativeEndian.PutUint16(b[2:], uint16(ifp.Index()))
	if ifp.Type() == link.Ethernet {
		b[4] = 6 // IFT_ETHER
	} else {
		b[4] = 0x18 // IFT_LOOP
	}
	name := ifp.Name()
	if len(name) > 40 {
		name = name[:40]
	}
	hw := ifp.HWAddr()
	b[5], b[6] = byte(len(name)), byte(len(hw))
	copy(b[8:], name)
	copy(b[8+len(name):], hw)
	return b
}
