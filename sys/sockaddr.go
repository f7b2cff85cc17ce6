package sys

import "github.com/bsdnet/bsdnet/socket"

// Sockaddr is a socket address as the calls take and return it, like
// x/sys/unix's: one of *SockaddrInet4, *SockaddrInet6 and *SockaddrUnix.
// The interface is sealed; the conversion to the stack's socket.Sockaddr
// is this file's alone.
type Sockaddr interface {
	// sockaddr checks the address as x/sys/unix and getsockaddr do and
	// returns the stack's form of it.
	sockaddr() (socket.Sockaddr, error)
}

// SockaddrInet4 is an AF_INET address (struct sockaddr_in).
type SockaddrInet4 struct {
	Port int
	Addr [4]byte
}

// SockaddrInet6 is an AF_INET6 address (struct sockaddr_in6); ZoneId is
// the scope (interface index) of a link-local address.
type SockaddrInet6 struct {
	Port   int
	ZoneId uint32
	Addr   [16]byte
}

// SockaddrUnix is an AF_UNIX address (struct sockaddr_un). An unnamed
// socket's address, as Getsockname, Getpeername, Accept and Recvfrom
// report it, has an empty Name.
type SockaddrUnix struct {
	Name string
}

// sunPathLen is sizeof(sun_path).
const sunPathLen = socket.SUNPATHLEN

func (sa *SockaddrInet4) sockaddr() (socket.Sockaddr, error) {
	if sa == nil || sa.Port < 0 || sa.Port > 0xFFFF {
		return nil, EINVAL
	}
	return socket.SockaddrInet4{Port: sa.Port, Addr: sa.Addr}, nil
}

func (sa *SockaddrInet6) sockaddr() (socket.Sockaddr, error) {
	if sa == nil || sa.Port < 0 || sa.Port > 0xFFFF {
		return nil, EINVAL
	}
	return socket.SockaddrInet6{Port: sa.Port, ZoneId: sa.ZoneId, Addr: sa.Addr}, nil
}

// sockaddr rejects, as x/sys/unix does on FreeBSD, an empty name and one
// that leaves no room for the terminating NUL in sun_path (104 bytes or
// more): EINVAL.
func (sa *SockaddrUnix) sockaddr() (socket.Sockaddr, error) {
	if sa == nil || len(sa.Name) == 0 || len(sa.Name) >= sunPathLen {
		return nil, EINVAL
	}
	a := socket.SockaddrUnix{Path: sa.Name}
	if err := socket.CheckSockaddr(a); err != nil {
		return nil, err
	}
	return a, nil
}

// toStack converts a caller's address; nil stays nil (no address given).
func toStack(sa Sockaddr) (socket.Sockaddr, error) {
	if sa == nil {
		return nil, nil
	}
	return sa.sockaddr()
}

// fromStack converts an address the stack returns (anyToSockaddr); nil,
// and families the package has no type for, give nil.
func fromStack(sa socket.Sockaddr) Sockaddr {
	switch a := sa.(type) {
	case socket.SockaddrInet4:
		return &SockaddrInet4{Port: a.Port, Addr: a.Addr}
	case *socket.SockaddrInet4:
		if a != nil {
			return &SockaddrInet4{Port: a.Port, Addr: a.Addr}
		}
	case socket.SockaddrInet6:
		return &SockaddrInet6{Port: a.Port, ZoneId: a.ZoneId, Addr: a.Addr}
	case *socket.SockaddrInet6:
		if a != nil {
			return &SockaddrInet6{Port: a.Port, ZoneId: a.ZoneId, Addr: a.Addr}
		}
	case socket.SockaddrUnix:
		return &SockaddrUnix{Name: a.Path}
	case *socket.SockaddrUnix:
		if a != nil {
			return &SockaddrUnix{Name: a.Path}
		}
	}
	return nil
}
