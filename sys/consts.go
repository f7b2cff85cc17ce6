package sys

import (
	"syscall"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// Address families, with FreeBSD's values.
const (
	AF_UNSPEC = socket.AF_UNSPEC
	AF_UNIX   = socket.AF_UNIX
	AF_LOCAL  = socket.AF_LOCAL
	AF_INET   = socket.AF_INET
	AF_INET6  = socket.AF_INET6
)

// Socket types, and the flags socket(2), socketpair(2) and accept4(2) take
// with them.
const (
	SOCK_STREAM    = socket.SOCK_STREAM
	SOCK_DGRAM     = socket.SOCK_DGRAM
	SOCK_RAW       = socket.SOCK_RAW
	SOCK_SEQPACKET = socket.SOCK_SEQPACKET
	SOCK_NONBLOCK  = socket.SOCK_NONBLOCK
	SOCK_CLOEXEC   = socket.SOCK_CLOEXEC
)

// Protocol numbers.
const (
	IPPROTO_IP   = inet.IPPROTO_IP
	IPPROTO_ICMP = inet.IPPROTO_ICMP
	IPPROTO_TCP  = inet.IPPROTO_TCP
	IPPROTO_UDP  = inet.IPPROTO_UDP
	IPPROTO_IPV6 = inet.IPPROTO_IPV6
)

// Option levels: the socket layer's, and PF_LOCAL's.
const (
	SOL_SOCKET = socket.SOL_SOCKET
	SOL_LOCAL  = local.SOL_LOCAL
)

// PF_LOCAL options.
const (
	LOCAL_PEERCRED = local.LOCAL_PEERCRED
	LOCAL_CREDS    = local.LOCAL_CREDS
)

// Socket options at SOL_SOCKET.
const (
	SO_DEBUG        = socket.SO_DEBUG
	SO_ACCEPTCONN   = socket.SO_ACCEPTCONN
	SO_REUSEADDR    = socket.SO_REUSEADDR
	SO_KEEPALIVE    = socket.SO_KEEPALIVE
	SO_DONTROUTE    = socket.SO_DONTROUTE
	SO_BROADCAST    = socket.SO_BROADCAST
	SO_LINGER       = socket.SO_LINGER
	SO_OOBINLINE    = socket.SO_OOBINLINE
	SO_REUSEPORT    = socket.SO_REUSEPORT
	SO_TIMESTAMP    = socket.SO_TIMESTAMP
	SO_NOSIGPIPE    = socket.SO_NOSIGPIPE
	SO_ACCEPTFILTER = socket.SO_ACCEPTFILTER
	SO_SNDBUF       = socket.SO_SNDBUF
	SO_RCVBUF       = socket.SO_RCVBUF
	SO_SNDLOWAT     = socket.SO_SNDLOWAT
	SO_RCVLOWAT     = socket.SO_RCVLOWAT
	SO_SNDTIMEO     = socket.SO_SNDTIMEO
	SO_RCVTIMEO     = socket.SO_RCVTIMEO
	SO_ERROR        = socket.SO_ERROR
	SO_TYPE         = socket.SO_TYPE
	SO_LISTENQLIMIT = socket.SO_LISTENQLIMIT
	SO_LISTENQLEN   = socket.SO_LISTENQLEN
	SO_PROTOCOL     = socket.SO_PROTOCOL
	SO_DOMAIN       = socket.SO_DOMAIN
)

// Message flags.
const (
	MSG_OOB          = socket.MSG_OOB
	MSG_PEEK         = socket.MSG_PEEK
	MSG_DONTROUTE    = socket.MSG_DONTROUTE
	MSG_EOR          = socket.MSG_EOR
	MSG_TRUNC        = socket.MSG_TRUNC
	MSG_CTRUNC       = socket.MSG_CTRUNC
	MSG_WAITALL      = socket.MSG_WAITALL
	MSG_DONTWAIT     = socket.MSG_DONTWAIT
	MSG_EOF          = socket.MSG_EOF
	MSG_NBIO         = socket.MSG_NBIO
	MSG_NOSIGNAL     = socket.MSG_NOSIGNAL
	MSG_CMSG_CLOEXEC = socket.MSG_CMSG_CLOEXEC
)

// shutdown(2) directions.
const (
	SHUT_RD   = socket.SHUT_RD
	SHUT_WR   = socket.SHUT_WR
	SHUT_RDWR = socket.SHUT_RDWR
)

// Control-message types at SOL_SOCKET.
const (
	SCM_RIGHTS    = socket.SCM_RIGHTS
	SCM_TIMESTAMP = socket.SCM_TIMESTAMP
	SCM_CREDS     = socket.SCM_CREDS
)

// poll(2) events.
const (
	POLLIN       = socket.POLLIN
	POLLPRI      = socket.POLLPRI
	POLLOUT      = socket.POLLOUT
	POLLERR      = socket.POLLERR
	POLLHUP      = socket.POLLHUP
	POLLNVAL     = socket.POLLNVAL
	POLLRDNORM   = socket.POLLRDNORM
	POLLRDBAND   = socket.POLLRDBAND
	POLLWRNORM   = socket.POLLWRNORM
	POLLWRBAND   = socket.POLLWRBAND
	POLLINIGNEOF = socket.POLLINIGNEOF
	POLLRDHUP    = socket.POLLRDHUP
)

// File status flags (fcntl F_GETFL, F_SETFL), with FreeBSD's values.
const (
	O_RDWR     = 0x0002
	O_NONBLOCK = 0x0004
	O_CLOEXEC  = 0x00100000
)

// fcntl(2) commands and the descriptor flag, with FreeBSD's values.
const (
	F_DUPFD         = 0
	F_GETFD         = 1
	F_SETFD         = 2
	F_GETFL         = 3
	F_SETFL         = 4
	F_DUPFD_CLOEXEC = 17
	FD_CLOEXEC      = 1
)

// ioctl(2) requests on sockets, with FreeBSD's values.
const (
	FIONREAD  = 0x4004667f // bytes of data ready to read (int)
	FIONWRITE = 0x40046677 // bytes in the send buffer (int)
	FIONSPACE = 0x40046676 // free space in the send buffer (int)
	FIONBIO   = 0x8004667e // set or clear non-blocking mode (int)
)

// RLIMIT_NOFILE_DEFAULT is the descriptor limit of a new Proc.
const RLIMIT_NOFILE_DEFAULT = 1024

// Errors the calls return, as in x/sys/unix: these are the syscall package's
// values, so errors.Is and == work with either name.
const (
	E2BIG           = syscall.E2BIG
	EACCES          = syscall.EACCES
	EADDRINUSE      = syscall.EADDRINUSE
	EADDRNOTAVAIL   = syscall.EADDRNOTAVAIL
	EAFNOSUPPORT    = syscall.EAFNOSUPPORT
	EAGAIN          = syscall.EAGAIN
	EALREADY        = syscall.EALREADY
	EBADF           = syscall.EBADF
	ECONNABORTED    = syscall.ECONNABORTED
	ECONNREFUSED    = syscall.ECONNREFUSED
	ECONNRESET      = syscall.ECONNRESET
	EDESTADDRREQ    = syscall.EDESTADDRREQ
	EDOM            = syscall.EDOM
	EHOSTUNREACH    = syscall.EHOSTUNREACH
	EINPROGRESS     = syscall.EINPROGRESS
	EINTR           = syscall.EINTR
	EINVAL          = syscall.EINVAL
	EISCONN         = syscall.EISCONN
	EMFILE          = syscall.EMFILE
	EMSGSIZE        = syscall.EMSGSIZE
	ENAMETOOLONG    = syscall.ENAMETOOLONG
	ENETUNREACH     = syscall.ENETUNREACH
	ENOBUFS         = syscall.ENOBUFS
	ENOENT          = syscall.ENOENT
	ENOPROTOOPT     = syscall.ENOPROTOOPT
	ENOTCONN        = syscall.ENOTCONN
	ENOTSOCK        = syscall.ENOTSOCK
	ENOTTY          = syscall.ENOTTY
	EOPNOTSUPP      = syscall.EOPNOTSUPP
	EPERM           = syscall.EPERM
	EPIPE           = syscall.EPIPE
	EPROTONOSUPPORT = syscall.EPROTONOSUPPORT
	EPROTOTYPE      = syscall.EPROTOTYPE
	ETIMEDOUT       = syscall.ETIMEDOUT
	EWOULDBLOCK     = syscall.EWOULDBLOCK
)
