package inet

import (
	"encoding/binary"
	"net/netip"
	"syscall"

	"github.com/bsdnet/bsdnet/socket"
)

// IPPROTO_IP options, with FreeBSD's values.
const (
	IP_OPTIONS         = 1
	IP_HDRINCL         = 2
	IP_TOS             = 3
	IP_TTL             = 4
	IP_RECVDSTADDR     = 7
	IP_MULTICAST_IF    = 9
	IP_MULTICAST_TTL   = 10
	IP_MULTICAST_LOOP  = 11
	IP_ADD_MEMBERSHIP  = 12
	IP_DROP_MEMBERSHIP = 13
	IP_RECVIF          = 20
	IP_RECVTTL         = 65
	IP_DONTFRAG        = 67
)

// IPPROTO_IPV6 options, with FreeBSD's values.
const (
	IPV6_UNICAST_HOPS   = 4
	IPV6_MULTICAST_IF   = 9
	IPV6_MULTICAST_HOPS = 10
	IPV6_MULTICAST_LOOP = 11
	IPV6_JOIN_GROUP     = 12
	IPV6_LEAVE_GROUP    = 13
	IPV6_CHECKSUM       = 26
	IPV6_V6ONLY         = 27
	IPV6_RECVPKTINFO    = 36
	IPV6_PKTINFO        = 46
	IPV6_TCLASS         = 61
	IPV6_DONTFRAG       = 62
)

// ctloutput is ip_ctloutput and ip6_ctloutput for a control block.
// Levels other than IPPROTO_IP and IPPROTO_IPV6 are EINVAL (the socket
// layer's notification of SOL_SOCKET sets is ignored); unknown options are
// ENOPROTOOPT.
func (s *Stack) ctloutput(p *inpcb, sopt *socket.Sockopt) error {
	switch sopt.Level {
	case socket.SOL_SOCKET:
		return nil
	case IPPROTO_IP:
		if sopt.Dir == socket.SOPT_SET {
			return s.setIP(p, sopt)
		}
		return s.getIP(p, sopt)
	case IPPROTO_IPV6:
		if !p.v6 {
			return syscall.EINVAL
		}
		if sopt.Dir == socket.SOPT_SET {
			return s.setIP6(p, sopt)
		}
		return s.getIP6(p, sopt)
	}
	return syscall.EINVAL
}

// optByteOrInt reads an option FreeBSD takes as u_char or int.
func optByteOrInt(sopt *socket.Sockopt) (int, error) {
	if sopt.Valsize == 1 && len(sopt.Val) >= 1 {
		return int(sopt.Val[0]), nil
	}
	return sopt.OptInt()
}

func (s *Stack) setIP(p *inpcb, sopt *socket.Sockopt) error {
	var boolField *bool
	switch sopt.Name {
	case IP_TTL, IP_TOS:
		v, err := sopt.OptInt()
		if err != nil {
			return err
		}
		if v < 0 || v > 255 {
			return syscall.EINVAL
		}
		p.mu.Lock()
		if sopt.Name == IP_TTL {
			p.opts.ttl = v
		} else {
			p.opts.tos = uint8(v)
		}
		p.mu.Unlock()
		return nil
	case IP_MULTICAST_TTL, IP_MULTICAST_LOOP:
		v, err := optByteOrInt(sopt)
		if err != nil {
			return err
		}
		if v < 0 || v > 255 {
			return syscall.EINVAL
		}
		p.mu.Lock()
		if sopt.Name == IP_MULTICAST_TTL {
			p.opts.mttl = v
		} else {
			p.opts.mloop = v != 0
		}
		p.mu.Unlock()
		return nil
	case IP_MULTICAST_IF:
		var b [12]byte
		if err := sopt.OptCopyIn(b[:], 4); err != nil {
			return err
		}
		a := netip.AddrFrom4([4]byte(b[:4]))
		var ifa *Iface
		if sopt.Valsize >= 12 {
			if idx := int(binary.NativeEndian.Uint32(b[8:])); idx != 0 {
				if ifa = s.Interface(idx); ifa == nil {
					return syscall.EADDRNOTAVAIL
				}
			}
		}
		if ifa == nil && !a.IsUnspecified() {
			x, ok := s.isLocal(a)
			if !ok {
				return syscall.EADDRNOTAVAIL
			}
			ifa = x
		}
		p.mu.Lock()
		p.opts.mif = ifa
		p.mu.Unlock()
		return nil
	case IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP:
		var b [12]byte
		if err := sopt.OptCopyIn(b[:], 8); err != nil {
			return err
		}
		g := netip.AddrFrom4([4]byte(b[:4]))
		ifaddr := netip.AddrFrom4([4]byte(b[4:8]))
		if !g.IsMulticast() {
			return syscall.EINVAL
		}
		var ifa *Iface
		if sopt.Valsize >= 12 {
			if idx := int(binary.NativeEndian.Uint32(b[8:])); idx != 0 {
				ifa = s.Interface(idx)
			}
		}
		if ifa == nil {
			if ifaddr.IsUnspecified() {
				ifa = s.groupIface(g)
			} else if x, ok := s.isLocal(ifaddr); ok {
				ifa = x
			}
		}
		if ifa == nil {
			return syscall.EADDRNOTAVAIL
		}
		return s.membership(p, g, ifa, sopt.Name == IP_ADD_MEMBERSHIP)
	case IP_RECVDSTADDR:
		boolField = &p.opts.recvdstaddr
	case IP_RECVIF:
		boolField = &p.opts.recvif
	case IP_RECVTTL:
		boolField = &p.opts.recvttl
	case IP_DONTFRAG:
		boolField = &p.opts.dontfrag
	case IP_HDRINCL:
		if p.so.Type() != socket.SOCK_RAW {
			return syscall.EINVAL
		}
		boolField = &p.opts.hdrincl
	default:
		return syscall.ENOPROTOOPT
	}
	v, err := sopt.OptInt()
	if err != nil {
		return err
	}
	p.mu.Lock()
	*boolField = v != 0
	p.mu.Unlock()
	return nil
}

// groupIface picks the interface for a membership given without one: the
// route to the group, else the first multicast interface other than lo0.
func (s *Stack) groupIface(g netip.Addr) *Iface {
	if r, _ := s.lookupRoute(g); r != nil {
		return r.ifa
	}
	for _, x := range s.Interfaces() {
		if x != s.lo {
			return x
		}
	}
	return s.lo
}

// membership joins or leaves a group on an interface for the socket:
// EADDRINUSE to join twice, EADDRNOTAVAIL to leave what was not joined.
func (s *Stack) membership(p *inpcb, g netip.Addr, ifa *Iface, join bool) error {
	p.mu.Lock()
	for i, m := range p.opts.groups {
		if m.group == g && m.ifa == ifa {
			if join {
				p.mu.Unlock()
				return syscall.EADDRINUSE
			}
			p.opts.groups = append(p.opts.groups[:i:i], p.opts.groups[i+1:]...)
			p.mu.Unlock()
			s.leaveGroup(ifa, g)
			return nil
		}
	}
	if !join {
		p.mu.Unlock()
		return syscall.EADDRNOTAVAIL
	}
	p.opts.groups = append(p.opts.groups, membership{g, ifa})
	p.mu.Unlock()
	s.joinGroup(ifa, g)
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Stack) getIP(p *inpcb, sopt *socket.Sockopt) error {
	o := p.options()
	switch sopt.Name {
	case IP_TTL:
		v := o.ttl
		if v < 0 {
			v = s.Tunables.DefaultTTL
		}
		return sopt.OptOutInt(v)
	case IP_TOS:
		return sopt.OptOutInt(int(o.tos))
	case IP_MULTICAST_TTL:
		v := o.mttl
		if v < 0 {
			v = 1
		}
		return sopt.OptCopyOut([]byte{byte(v)})
	case IP_MULTICAST_LOOP:
		return sopt.OptCopyOut([]byte{byte(boolInt(o.mloop))})
	case IP_MULTICAST_IF:
		var a [4]byte
		if o.mif != nil {
			for _, pf := range o.mif.Addrs() {
				if pf.Addr().Is4() {
					a = pf.Addr().As4()
					break
				}
			}
		}
		return sopt.OptCopyOut(a[:])
	case IP_RECVDSTADDR:
		return sopt.OptOutInt(boolInt(o.recvdstaddr))
	case IP_RECVIF:
		return sopt.OptOutInt(boolInt(o.recvif))
	case IP_RECVTTL:
		return sopt.OptOutInt(boolInt(o.recvttl))
	case IP_DONTFRAG:
		return sopt.OptOutInt(boolInt(o.dontfrag))
	case IP_HDRINCL:
		if p.so.Type() != socket.SOCK_RAW {
			return syscall.EINVAL
		}
		return sopt.OptOutInt(boolInt(o.hdrincl))
	}
	return syscall.ENOPROTOOPT
}

func (s *Stack) setIP6(p *inpcb, sopt *socket.Sockopt) error {
	switch sopt.Name {
	case IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP:
		var b [20]byte
		if err := sopt.OptCopyIn(b[:], 20); err != nil {
			return err
		}
		g := netip.AddrFrom16([16]byte(b[:16]))
		if !g.IsMulticast() {
			return syscall.EINVAL
		}
		var ifa *Iface
		if idx := int(binary.NativeEndian.Uint32(b[16:])); idx != 0 {
			if ifa = s.Interface(idx); ifa == nil {
				return syscall.EADDRNOTAVAIL
			}
		} else {
			ifa = s.groupIface(g)
		}
		return s.membership(p, g, ifa, sopt.Name == IPV6_JOIN_GROUP)
	}
	v, err := sopt.OptInt()
	if err != nil {
		return err
	}
	// The table lock comes before a block's option lock.
	la, lp, _, _ := p.addrs()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch sopt.Name {
	case IPV6_V6ONLY:
		if lp != 0 || la.IsValid() {
			return syscall.EINVAL
		}
		p.opts.v6only = v != 0
	case IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS:
		if v < -1 || v > 255 {
			return syscall.EINVAL
		}
		if sopt.Name == IPV6_UNICAST_HOPS {
			p.opts.ttl = v
		} else {
			p.opts.mttl = v
		}
	case IPV6_MULTICAST_LOOP:
		if v != 0 && v != 1 {
			return syscall.EINVAL
		}
		p.opts.mloop = v == 1
	case IPV6_MULTICAST_IF:
		if v == 0 {
			p.opts.mif = nil
			return nil
		}
		ifa := s.Interface(v)
		if ifa == nil {
			return syscall.EADDRNOTAVAIL
		}
		p.opts.mif = ifa
	case IPV6_RECVPKTINFO:
		p.opts.recvpktinfo = v != 0
	case IPV6_DONTFRAG:
		p.opts.dontfrag = v != 0
	case IPV6_TCLASS:
		if v < -1 || v > 255 {
			return syscall.EINVAL
		}
		p.opts.tos = uint8(max(v, 0))
	default:
		return syscall.ENOPROTOOPT
	}
	return nil
}

func (s *Stack) getIP6(p *inpcb, sopt *socket.Sockopt) error {
	o := p.options()
	switch sopt.Name {
	case IPV6_V6ONLY:
		return sopt.OptOutInt(boolInt(o.v6only))
	case IPV6_UNICAST_HOPS:
		v := o.ttl
		if v < 0 {
			v = s.Tunables.DefaultHops
		}
		return sopt.OptOutInt(v)
	case IPV6_MULTICAST_HOPS:
		v := o.mttl
		if v < 0 {
			v = 1
		}
		return sopt.OptOutInt(v)
	case IPV6_MULTICAST_LOOP:
		return sopt.OptOutInt(boolInt(o.mloop))
	case IPV6_MULTICAST_IF:
		if o.mif == nil {
			return sopt.OptOutInt(0)
		}
		return sopt.OptOutInt(o.mif.ifp.Index())
	case IPV6_RECVPKTINFO:
		return sopt.OptOutInt(boolInt(o.recvpktinfo))
	case IPV6_DONTFRAG:
		return sopt.OptOutInt(boolInt(o.dontfrag))
	case IPV6_TCLASS:
		return sopt.OptOutInt(int(o.tos))
	}
	return syscall.ENOPROTOOPT
}
