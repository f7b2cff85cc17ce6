package bsdnet

import (
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/bsdnet/bsdnet/socket"
)

// Address handling for the net adapters: parsing the address strings of
// Dial, Listen and ListenPacket as Go's net package does (literal IPs only:
// a stack has no resolver), and converting between net.Addr and
// socket.Sockaddr.

// netKind says what a network name asks for.
type netKind struct {
	family int    // AF_INET, AF_INET6, AF_UNIX; 0 for "tcp"/"udp" (either)
	typ    int    // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
	proto  string // "tcp", "udp" or "unix"
}

// parseNetwork maps a network name to its kind, or reports it unknown.
func parseNetwork(network string) (netKind, bool) {
	switch network {
	case "tcp":
		return netKind{0, socket.SOCK_STREAM, "tcp"}, true
	case "tcp4":
		return netKind{socket.AF_INET, socket.SOCK_STREAM, "tcp"}, true
	case "tcp6":
		return netKind{socket.AF_INET6, socket.SOCK_STREAM, "tcp"}, true
	case "udp":
		return netKind{0, socket.SOCK_DGRAM, "udp"}, true
	case "udp4":
		return netKind{socket.AF_INET, socket.SOCK_DGRAM, "udp"}, true
	case "udp6":
		return netKind{socket.AF_INET6, socket.SOCK_DGRAM, "udp"}, true
	case "unix":
		return netKind{socket.AF_UNIX, socket.SOCK_STREAM, "unix"}, true
	case "unixgram":
		return netKind{socket.AF_UNIX, socket.SOCK_DGRAM, "unix"}, true
	case "unixpacket":
		return netKind{socket.AF_UNIX, socket.SOCK_SEQPACKET, "unix"}, true
	}
	return netKind{}, false
}

// errMissingAddress is Go's error for an empty address where one is needed.
var errMissingAddress = &net.AddrError{Err: "missing address"}

// resolveInet parses host:port for an inet network. An empty host is the
// wildcard (an invalid netip.Addr); "localhost" is the loopback address of
// the network's family (IPv4 for "tcp"/"udp"); another name is a
// *net.DNSError "no such host", as a stack has no resolver. A zone names
// an interface of s by name or by index.
func (s *Stack) resolveInet(k netKind, address string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		if port == "" {
			p = 0
		} else {
			return netip.AddrPort{}, &net.AddrError{Err: "unknown port", Addr: address}
		}
	}
	var a netip.Addr
	switch host {
	case "":
	case "localhost":
		a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		if k.family == socket.AF_INET6 {
			a = netip.IPv6Loopback()
		}
	default:
		a, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		if z := a.Zone(); z != "" {
			if _, err := strconv.Atoi(z); err != nil && s.zoneIndex(z) == 0 {
				return netip.AddrPort{}, &net.AddrError{Err: "unknown zone", Addr: address}
			}
		}
	}
	if a.IsValid() {
		a = a.Unmap()
		switch {
		case k.family == socket.AF_INET && !a.Is4(),
			k.family == socket.AF_INET6 && a.Is4():
			return netip.AddrPort{}, &net.AddrError{Err: "no suitable address found", Addr: address}
		}
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// zoneIndex returns the index of the interface named z, or 0.
func (s *Stack) zoneIndex(z string) int {
	if n, err := strconv.Atoi(z); err == nil {
		return n
	}
	for _, ifa := range s.inet.Interfaces() {
		if ifa.Ifnet().Name() == z {
			return ifa.Ifnet().Index()
		}
	}
	return 0
}

// inetSockaddr renders ap for a socket of family fam: an IPv4 address on
// an AF_INET6 socket becomes v4-mapped; the invalid address is the
// wildcard.
func (s *Stack) inetSockaddr(fam int, ap netip.AddrPort) socket.Sockaddr {
	a := ap.Addr()
	if fam == socket.AF_INET {
		if !a.IsValid() {
			a = netip.IPv4Unspecified()
		}
		return socket.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	var zone uint32
	if z := a.Zone(); z != "" {
		zone = uint32(s.zoneIndex(z))
	}
	return socket.SockaddrInet6{Port: int(ap.Port()), ZoneId: zone, Addr: a.As16()}
}

// toNetAddr converts a socket address to the net.Addr of the network
// named nw: *net.UnixAddr (the unnamed address has the empty Name, as on
// FreeBSD), *net.UDPAddr or *net.TCPAddr. nil stays nil.
func toNetAddr(nw string, sa socket.Sockaddr) net.Addr {
	var ip net.IP
	var port int
	var zone string
	switch a := sa.(type) {
	case socket.SockaddrUnix:
		return &net.UnixAddr{Name: a.Path, Net: nw}
	case *socket.SockaddrUnix:
		if a == nil {
			return nil
		}
		return &net.UnixAddr{Name: a.Path, Net: nw}
	case socket.SockaddrInet4:
		ip, port = net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3]).To4(), a.Port
	case socket.SockaddrInet6:
		ip, port = append(net.IP(nil), a.Addr[:]...), a.Port
		if a.ZoneId != 0 {
			zone = strconv.Itoa(int(a.ZoneId))
		}
	default:
		return nil
	}
	if len(nw) >= 3 && nw[:3] == "tcp" {
		return &net.TCPAddr{IP: ip, Port: port, Zone: zone}
	}
	return &net.UDPAddr{IP: ip, Port: port, Zone: zone}
}

// fromNetAddr converts a destination given to WriteTo or WriteMsg to a
// socket address for a socket of family fam. A wrong kind of address is
// EAFNOSUPPORT, as sendto(2) says; an IPv6 address on an AF_INET socket
// too.
func (s *Stack) fromNetAddr(fam int, addr net.Addr) (socket.Sockaddr, error) {
	switch a := addr.(type) {
	case *net.UnixAddr:
		if fam == socket.AF_UNIX && a != nil {
			return socket.SockaddrUnix{Path: a.Name}, nil
		}
	case *net.UDPAddr:
		if fam != socket.AF_UNIX && a != nil {
			return s.ipSockaddr(fam, a.AddrPort(), a.Zone)
		}
	case *net.TCPAddr:
		if fam != socket.AF_UNIX && a != nil {
			return s.ipSockaddr(fam, a.AddrPort(), a.Zone)
		}
	case nil:
		return nil, syscall.EINVAL
	}
	return nil, syscall.EAFNOSUPPORT
}

func (s *Stack) ipSockaddr(fam int, ap netip.AddrPort, zone string) (socket.Sockaddr, error) {
	a := ap.Addr()
	if !a.IsValid() {
		return nil, syscall.EINVAL
	}
	if zone != "" {
		a = a.WithZone(zone)
	}
	if fam == socket.AF_INET {
		if a = a.Unmap(); !a.Is4() {
			return nil, syscall.EAFNOSUPPORT
		}
	}
	return s.inetSockaddr(fam, netip.AddrPortFrom(a, ap.Port())), nil
}
