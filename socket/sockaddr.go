package socket

import (
	"fmt"
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
