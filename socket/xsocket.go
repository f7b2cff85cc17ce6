package socket

import "fmt"

// Xsockbuf is the exported form of a socket buffer (struct xsockbuf).
type Xsockbuf struct {
	Cc    int // bytes held (sb_ccc)
	Hiwat int
	Mbcnt int
	Mbmax int
	Lowat int
	Flags int
	Timeo int64 // nanoseconds
}

// Xsocket is the external form of a socket (struct xsocket): what netstat
// and sockstat print, isolated from the Socket's layout.
type Xsocket struct {
	So       uintptr // an identity for the socket (xso_so)
	Pcb      string  // the protocol's description of its state
	Type     int
	Options  int
	Linger   int
	State    int // so_state with the queue state ORed in
	Protocol int
	Family   int
	Qlen     int
	Incqlen  int
	Qlimit   int
	Error    int
	Oobmark  int
	UID      uint32
	Gen      uint64
	Local    Sockaddr
	Foreign  Sockaddr
	Rcv, Snd Xsockbuf
}

// ToXsocket is sotoxsocket(9): fill in the external form of the socket,
// with its addresses from the protocol.
func (so *Socket) ToXsocket(xso *Xsocket) {
	*xso = Xsocket{}
	so.mu.Lock()
	xso.So = uintptr(so.gencnt)
	xso.Gen = so.gencnt
	xso.Type = so.typ
	xso.Options = so.Options()
	xso.Linger = so.linger
	xso.State = so.State()
	xso.Protocol = so.proto.Protocol
	if so.proto.Domain != nil {
		xso.Family = so.proto.Domain.Family
	}
	xso.Error = int(so.soerror.Load())
	xso.UID = so.cred.Uid
	listening := so.sol != nil
	if listening {
		xso.Qlen, xso.Incqlen, xso.Qlimit = so.sol.qlen, so.sol.incqlen, so.sol.qlimit
	} else {
		xso.State |= so.qstate
	}
	if so.PCB != nil {
		xso.Pcb = fmt.Sprintf("%p", so.PCB)
	}
	so.mu.Unlock()
	if !listening {
		so.Rcv.mu.Lock()
		xso.Oobmark = so.oobmark
		xso.Rcv = so.Rcv.export()
		so.Rcv.mu.Unlock()
		so.Snd.mu.Lock()
		xso.Snd = so.Snd.export()
		so.Snd.mu.Unlock()
	}
	xso.Local, _ = so.proto.Usrreqs.Sockaddr(so)
	if !listening {
		xso.Foreign, _ = so.proto.Usrreqs.Peeraddr(so)
	}
}

func (sb *Sockbuf) export() Xsockbuf {
	return Xsockbuf{Cc: sb.ccc, Hiwat: sb.hiwat, Mbcnt: sb.mbcnt, Mbmax: sb.mbmax,
		Lowat: sb.lowat, Flags: sb.flags, Timeo: int64(sb.timeo)}
}

// Xsockets returns the external form of every socket of the stack, oldest
// first (the kern.ipc pcblist export).
func (v *Vnet) Xsockets() []Xsocket {
	socks := v.Sockets()
	out := make([]Xsocket, len(socks))
	for i, so := range socks {
		so.ToXsocket(&out[i])
	}
	return out
}
