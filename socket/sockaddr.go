package socket

import (
	"fmt"
	"net/netip"
	"syscall"
)

// Sockaddr is a socket address (struct sockaddr). Implementations are small
// immutable values, so that a Sockaddr may be shared once made.
type Sockaddr interface {
	// Family returns the address family (sa_family).
	Family() int
	// Len returns the length of the address in FreeBSD's wire layout (sa_len).
	Len() int
}

// SUNPATHLEN is the size of sun_path in struct sockaddr_un.
const SUNPATHLEN = 104

// SockaddrUnix is a PF_LOCAL address (struct sockaddr_un). The empty path is
// the unnamed address (sun_noname).
type SockaddrUnix struct {
	Path string
}

// Family returns AF_UNIX.
func (SockaddrUnix) Family() int { return AF_UNIX }

// Len returns sun_len: 2 plus the path length, or 16 (sizeof(struct
// sockaddr)) for the unnamed address, as FreeBSD's sun_noname.
func (sa SockaddrUnix) Len() int {
	if sa.Path == "" {
		return 16
	}
	return 2 + len(sa.Path)
}

// String returns the path, or "(unnamed)".
func (sa SockaddrUnix) String() string {
	if sa.Path == "" {
		return "(unnamed)"
	}
	return sa.Path
}

// DupSockaddr is sodupsockaddr(9): it returns a copy of sa that shares
// nothing mutable with it. Addresses are immutable values, so the copy is
// the value itself; a nil address gives nil.
func DupSockaddr(sa Sockaddr) Sockaddr {
	switch a := sa.(type) {
	case nil:
		return nil
	case SockaddrUnix:
		return SockaddrUnix{Path: a.Path}
	case *SockaddrUnix:
		if a == nil {
			return nil
		}
		return SockaddrUnix{Path: a.Path}
	}
	return sa
}

// CheckSockaddr applies the user API's checks to an address (getsockaddr):
// a nil address is EINVAL, a length past SOCK_MAXADDRLEN is ENAMETOOLONG.
func CheckSockaddr(sa Sockaddr) error {
	if sa == nil {
		return syscall.EINVAL
	}
	if p, ok := sa.(*SockaddrUnix); ok && p == nil {
		return syscall.EINVAL
	}
	if sa.Len() > SOCK_MAXADDRLEN {
		return syscall.ENAMETOOLONG
	}
	return nil
}

// FormatSockaddr renders an address as netstat prints it.
func FormatSockaddr(sa Sockaddr) string {
	if sa == nil {
		return "*"
	}
	if s, ok := sa.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("af%d", sa.Family())
}

// SockaddrInet4 is an AF_INET address (struct sockaddr_in).
type SockaddrInet4 struct {
	Port int
	Addr [4]byte
}

// Family returns AF_INET.
func (SockaddrInet4) Family() int { return AF_INET }

// Len returns sizeof(struct sockaddr_in), 16.
func (SockaddrInet4) Len() int { return 16 }

// String returns addr:port, or addr.* for port 0, as netstat prints it.
func (sa SockaddrInet4) String() string {
	a := netip.AddrFrom4(sa.Addr)
	if sa.Port == 0 {
		if a.IsUnspecified() {
			return "*.*"
		}
		return a.String() + ".*"
	}
	if a.IsUnspecified() {
		return fmt.Sprintf("*.%d", sa.Port)
	}
	return fmt.Sprintf("%s.%d", a, sa.Port)
}

// AddrPort returns the address as a netip.AddrPort.
func (sa SockaddrInet4) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
}

// SockaddrInet6 is an AF_INET6 address (struct sockaddr_in6).
type SockaddrInet6 struct {
	Port   int
	ZoneId uint32
	Addr   [16]byte
}

// Family returns AF_INET6.
func (SockaddrInet6) Family() int { return AF_INET6 }

// Len returns sizeof(struct sockaddr_in6), 28.
func (SockaddrInet6) Len() int { return 28 }

// String returns addr.port as netstat prints it.
func (sa SockaddrInet6) String() string {
	a := netip.AddrFrom16(sa.Addr)
	if sa.ZoneId != 0 {
		a = a.WithZone(fmt.Sprint(sa.ZoneId))
	}
	p := "*"
	if sa.Port != 0 {
		p = fmt.Sprint(sa.Port)
	}
	if a.IsUnspecified() {
		return "*." + p
	}
	return a.String() + "." + p
}

// AddrPort returns the address as a netip.AddrPort.
func (sa SockaddrInet6) AddrPort() netip.AddrPort {
	a := netip.AddrFrom16(sa.Addr)
	if sa.ZoneId != 0 {
		a = a.WithZone(fmt.Sprint(sa.ZoneId))
	}
	return netip.AddrPortFrom(a, uint16(sa.Port))
}

// SockaddrFromAddrPort returns the socket address of ap: AF_INET for an
// IPv4 address, AF_INET6 otherwise.
func SockaddrFromAddrPort(ap netip.AddrPort) Sockaddr {
	a := ap.Addr()
	if a.Is4() {
		return SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}

// SockaddrUnspec is an AF_UNSPEC address. Connecting a datagram socket to
// it dissolves the socket's association (connect(2) with AF_UNSPEC).
type SockaddrUnspec struct{}

// Family returns AF_UNSPEC.
func (SockaddrUnspec) Family() int { return AF_UNSPEC }

// Len returns sizeof(struct sockaddr), 16.
func (SockaddrUnspec) Len() int { return 16 }
