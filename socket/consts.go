package socket

// Address and protocol families (sys/socket.h), with FreeBSD's values.
const (
	AF_UNSPEC = 0
	AF_UNIX   = 1
	AF_LOCAL  = AF_UNIX
	AF_INET   = 2
	AF_ROUTE  = 17
	AF_INET6  = 28

	PF_UNSPEC = AF_UNSPEC
	PF_LOCAL  = AF_LOCAL
	PF_UNIX   = AF_UNIX
	PF_INET   = AF_INET
	PF_INET6  = AF_INET6
)

// Socket types.
const (
	SOCK_STREAM    = 1
	SOCK_DGRAM     = 2
	SOCK_RAW       = 3
	SOCK_RDM       = 4
	SOCK_SEQPACKET = 5

	SOCK_CLOEXEC  = 0x10000000
	SOCK_NONBLOCK = 0x20000000
)

// SOMAXCONN is the default upper bound of a listen queue (kern.ipc.soacceptqueue).
const SOMAXCONN = 128

// SOCK_MAXADDRLEN is the longest socket address the user API accepts.
const SOCK_MAXADDRLEN = 255

// SOL_SOCKET is the option level of the socket layer itself.
const SOL_SOCKET = 0xffff

// Socket options kept as bits in so_options.
const (
	SO_DEBUG        = 0x00000001
	SO_ACCEPTCONN   = 0x00000002
	SO_REUSEADDR    = 0x00000004
	SO_KEEPALIVE    = 0x00000008
	SO_DONTROUTE    = 0x00000010
	SO_BROADCAST    = 0x00000020
	SO_USELOOPBACK  = 0x00000040
	SO_LINGER       = 0x00000080
	SO_OOBINLINE    = 0x00000100
	SO_REUSEPORT    = 0x00000200
	SO_TIMESTAMP    = 0x00000400
	SO_NOSIGPIPE    = 0x00000800
	SO_ACCEPTFILTER = 0x00001000
	SO_BINTIME      = 0x00002000
	SO_NO_OFFLOAD   = 0x00004000
	SO_NO_DDP       = 0x00008000
	SO_REUSEPORT_LB = 0x00010000
	SO_RERROR       = 0x00020000
)

// Socket options that are not bits.
const (
	SO_SNDBUF            = 0x1001
	SO_RCVBUF            = 0x1002
	SO_SNDLOWAT          = 0x1003
	SO_RCVLOWAT          = 0x1004
	SO_SNDTIMEO          = 0x1005
	SO_RCVTIMEO          = 0x1006
	SO_ERROR             = 0x1007
	SO_TYPE              = 0x1008
	SO_LABEL             = 0x1009
	SO_PEERLABEL         = 0x1010
	SO_LISTENQLIMIT      = 0x1011
	SO_LISTENQLEN        = 0x1012
	SO_LISTENINCQLEN     = 0x1013
	SO_SETFIB            = 0x1014
	SO_USER_COOKIE       = 0x1015
	SO_PROTOCOL          = 0x1016
	SO_PROTOTYPE         = SO_PROTOCOL
	SO_TS_CLOCK          = 0x1017
	SO_MAX_PACING_RATE   = 0x1018
	SO_DOMAIN            = 0x1019
	SO_TS_REALTIME_MICRO = 0
	SO_TS_BINTIME        = 1
	SO_TS_REALTIME       = 2
	SO_TS_MONOTONIC      = 3
	SO_TS_CLOCK_MAX      = SO_TS_MONOTONIC
)

// Message flags for send and receive.
const (
	MSG_OOB          = 0x00000001
	MSG_PEEK         = 0x00000002
	MSG_DONTROUTE    = 0x00000004
	MSG_EOR          = 0x00000008
	MSG_TRUNC        = 0x00000010
	MSG_CTRUNC       = 0x00000020
	MSG_WAITALL      = 0x00000040
	MSG_DONTWAIT     = 0x00000080
	MSG_EOF          = 0x00000100
	MSG_NOTIFICATION = 0x00002000
	MSG_NBIO         = 0x00004000
	MSG_SOCALLBCK    = 0x00010000
	MSG_NOSIGNAL     = 0x00020000
	MSG_CMSG_CLOEXEC = 0x00040000
	MSG_WAITFORONE   = 0x00080000
	MSG_MORETOCOME   = 0x00100000
)

// Socket state bits (so_state).
const (
	SS_ISCONNECTED     = 0x0002
	SS_ISCONNECTING    = 0x0004
	SS_ISDISCONNECTING = 0x0008
	SS_NBIO            = 0x0100
	SS_ASYNC           = 0x0200
	SS_ISCONFIRMING    = 0x0400
	SS_ISDISCONNECTED  = 0x2000
)

// Listen-queue membership of a socket (so_qstate); sotoxsocket ORs it into
// the exported state.
const (
	SQ_NONE   = 0
	SQ_INCOMP = 0x0800
	SQ_COMP   = 0x1000
)

// Socket-buffer state bits (sb_state).
const (
	SBS_CANTSENDMORE = 0x0010
	SBS_CANTRCVMORE  = 0x0020
	SBS_RCVATMARK    = 0x0040
)

// Socket-buffer flags (sb_flags).
const (
	SB_WAIT       = 0x04
	SB_SEL        = 0x08
	SB_ASYNC      = 0x10
	SB_UPCALL     = 0x20
	SB_NOINTR     = 0x40
	SB_AUTOSIZE   = 0x800
	SB_STOP       = 0x1000
	SB_NOCOALESCE = 0x200
)

// poll(2) events.
const (
	POLLIN       = 0x0001
	POLLPRI      = 0x0002
	POLLOUT      = 0x0004
	POLLERR      = 0x0008
	POLLHUP      = 0x0010
	POLLNVAL     = 0x0020
	POLLRDNORM   = 0x0040
	POLLRDBAND   = 0x0080
	POLLWRNORM   = POLLOUT
	POLLWRBAND   = 0x0100
	POLLINIGNEOF = 0x2000
	POLLRDHUP    = 0x4000
)

// Protocol flags (pr_flags).
const (
	PR_ATOMIC       = 0x01
	PR_ADDR         = 0x02
	PR_CONNREQUIRED = 0x04
	PR_WANTRCVD     = 0x08
	PR_RIGHTS       = 0x10
	PR_IMPLOPCL     = 0x20
	PR_CAPATTACH    = 0x80
	PR_SOCKBUF      = 0x100
)

// Flags sosend passes to pr_send.
const (
	PRUS_OOB        = 0x1
	PRUS_EOF        = 0x2
	PRUS_MORETOCOME = 0x4
	PRUS_NOTREADY   = 0x8
	PRUS_IPV6       = 0x10
)

// Directions of a socket-option request (sopt_dir).
const (
	SOPT_GET = 0
	SOPT_SET = 1
)

// shutdown(2) directions.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2
)

// Upcall selectors and results.
const (
	SO_RCV = 1
	SO_SND = 2

	SU_OK          = 0
	SU_ISCONNECTED = 1
)

// Control-message levels' types at SOL_SOCKET.
const (
	SCM_RIGHTS    = 0x01
	SCM_TIMESTAMP = 0x02
	SCM_CREDS     = 0x03
	SCM_BINTIME   = 0x04
	SCM_REALTIME  = 0x05
	SCM_MONOTONIC = 0x06
)

// Wait flags an upcall receives (M_WAITOK, M_NOWAIT).
const (
	M_NOWAIT = 0x0001
	M_WAITOK = 0x0002
)
