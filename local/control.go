package local

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// maxRights is how many descriptors one SCM_RIGHTS message may carry:
// (MCLBYTES - CMSG_ALIGN(sizeof(struct cmsghdr))) / sizeof(void *).
const maxRights = (mbuf.MCLBYTES - socket.CmsgHdrLen) / 8

// cmsgcredLen is sizeof(struct cmsgcred).
const cmsgcredLen = 84

// internalize is unp_internalize: check the sender's control messages and
// turn them into what the receiver gets. SCM_RIGHTS must come with its
// sockets (the user API resolved the descriptors); SCM_CREDS is filled in
// from the sender's credential; timestamps are taken now. Anything else,
// or a malformed header, is EINVAL. On error control is consumed.
func (d *Domain) internalize(so *socket.Socket, control *mbuf.Mbuf) (*mbuf.Mbuf, error) {
	var out, tail *mbuf.Mbuf
	add := func(m *mbuf.Mbuf) {
		if out == nil {
			out = m
		} else {
			tail.Next = m
		}
		tail = m
	}
	fail := func(err error) (*mbuf.Mbuf, error) {
		d.rightsLeft(out)
		d.vnet.DisposeControl(out)
		d.vnet.DisposeControl(control)
		return nil, err
	}
	for m := control; m != nil; m = m.Next {
		msgs, err := socket.ParseCmsgs(m.Data())
		if err != nil {
			return fail(syscall.EINVAL)
		}
		rights, hasRights := m.Obj.(socket.Rights)
		for _, c := range msgs {
			if c.Level != socket.SOL_SOCKET {
				return fail(syscall.EINVAL)
			}
			switch c.Type {
			case socket.SCM_RIGHTS:
				n := len(c.Data) / 4
				if n == 0 {
					continue
				}
				if n > maxRights {
					return fail(syscall.EMSGSIZE)
				}
				if !hasRights || len(rights) != n {
					return fail(syscall.EBADF)
				}
				r := d.vnet.NewControl(socket.SOL_SOCKET, socket.SCM_RIGHTS, make([]byte, 4*n))
				r.Obj = rights
				m.Obj, hasRights = nil, false
				d.inflight.Add(int64(n))
				add(r)
			case socket.SCM_CREDS:
				add(d.vnet.NewControl(socket.SOL_SOCKET, socket.SCM_CREDS, cmsgcred(so.Cred())))
			case socket.SCM_TIMESTAMP:
				tv := socket.NsecToTimeval(time.Duration(time.Now().UnixNano()))
				add(d.vnet.NewControl(socket.SOL_SOCKET, socket.SCM_TIMESTAMP, tv.Bytes()))
			case socket.SCM_REALTIME, socket.SCM_MONOTONIC:
				var ts [16]byte
				ns := time.Now().UnixNano()
				binary.NativeEndian.PutUint64(ts[:], uint64(ns/1e9))
				binary.NativeEndian.PutUint64(ts[8:], uint64(ns%1e9))
				add(d.vnet.NewControl(socket.SOL_SOCKET, c.Type, ts[:]))
			default:
				return fail(syscall.EINVAL)
			}
		}
	}
	d.vnet.DisposeControl(control)
	return out, nil
}

// cmsgcred encodes struct cmsgcred for cred: pid, real uid, effective uid,
// real gid, the group count and up to CMGROUP_MAX groups, the first being
// the effective gid.
func cmsgcred(c *socket.Cred) []byte {
	b := make([]byte, cmsgcredLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(c.Pid))
	ne.PutUint32(b[4:], c.Ruid)
	ne.PutUint32(b[8:], c.Uid)
	ne.PutUint32(b[12:], c.Rgid)
	groups := append([]uint32{c.Gid}, c.Groups...)
	if len(groups) > socket.CMGROUP_MAX {
		groups = groups[:socket.CMGROUP_MAX]
	}
	ne.PutUint16(b[16:], uint16(len(groups)))
	for i, g := range groups {
		ne.PutUint32(b[20+4*i:], g)
	}
	return b
}

// Cmsgcred is a decoded struct cmsgcred (SCM_CREDS as the sender gets it
// filled in).
type Cmsgcred struct {
	Pid       int32
	Uid, Euid uint32
	Gid       uint32
	Groups    []uint32
}

// ParseCmsgcred decodes struct cmsgcred.
func ParseCmsgcred(b []byte) (Cmsgcred, error) {
	if len(b) < cmsgcredLen {
		return Cmsgcred{}, syscall.EINVAL
	}
	ne := binary.NativeEndian
	c := Cmsgcred{Pid: int32(ne.Uint32(b)), Uid: ne.Uint32(b[4:]), Euid: ne.Uint32(b[8:]), Gid: ne.Uint32(b[12:])}
	n := min(int(ne.Uint16(b[16:])), socket.CMGROUP_MAX)
	for i := 0; i < n; i++ {
		c.Groups = append(c.Groups, ne.Uint32(b[20+4*i:]))
	}
	return c, nil
}

// addSockcred is unp_addsockcred: for a receiver that set LOCAL_CREDS, put
// the sender's struct sockcred first in the control chain, and drop any
// SCM_CREDS (struct cmsgcred) the sender asked for.
func (d *Domain) addSockcred(so *socket.Socket, control *mbuf.Mbuf) *mbuf.Mbuf {
	head := d.sockcred(so)
	tail := head
	for m := control; m != nil; {
		next := m.Next
		m.Next = nil
		if isCreds(m) {
			m.Free()
		} else {
			tail.Next = m
			tail = m
		}
		m = next
	}
	return head
}

func isCreds(m *mbuf.Mbuf) bool {
	c, err := socket.ParseCmsgs(m.Data())
	return err == nil && len(c) == 1 && c[0].Level == socket.SOL_SOCKET && c[0].Type == socket.SCM_CREDS
}

// sockcred makes an SCM_CREDS message with struct sockcred (uid, euid,
// gid, egid, ngroups, groups).
func (d *Domain) sockcred(so *socket.Socket) *mbuf.Mbuf {
	c := so.Cred()
	groups := append([]uint32{c.Gid}, c.Groups...)
	b := make([]byte, 20+4*len(groups))
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], c.Ruid)
	ne.PutUint32(b[4:], c.Uid)
	ne.PutUint32(b[8:], c.Rgid)
	ne.PutUint32(b[12:], c.Gid)
	ne.PutUint32(b[16:], uint32(len(groups)))
	for i, g := range groups {
		ne.PutUint32(b[20+4*i:], g)
	}
	return d.vnet.NewControl(socket.SOL_SOCKET, socket.SCM_CREDS, b)
}

// XucredLen is sizeof(struct xucred) on LP64.
const XucredLen = 88

// XU_NGROUPS is the number of groups a struct xucred holds.
const XU_NGROUPS = 16

// Xucred is struct xucred, the answer to LOCAL_PEERCRED.
type Xucred struct {
	Version uint32 // XUCRED_VERSION, 0
	Uid     uint32 // effective uid
	Groups  []uint32
	Pid     int32
}

// Bytes encodes the credential as the kernel lays it out.
func (x Xucred) Bytes() []byte {
	b := make([]byte, XucredLen)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], x.Version)
	ne.PutUint32(b[4:], x.Uid)
	g := x.Groups
	if len(g) > XU_NGROUPS {
		g = g[:XU_NGROUPS]
	}
	ne.PutUint16(b[8:], uint16(len(g)))
	for i, v := range g {
		ne.PutUint32(b[12+4*i:], v)
	}
	ne.PutUint32(b[80:], uint32(x.Pid))
	return b
}

// ParseXucred decodes struct xucred.
func ParseXucred(b []byte) (Xucred, error) {
	if len(b) < XucredLen {
		return Xucred{}, syscall.EINVAL
	}
	ne := binary.NativeEndian
	x := Xucred{Version: ne.Uint32(b), Uid: ne.Uint32(b[4:]), Pid: int32(ne.Uint32(b[80:]))}
	n := min(int(ne.Uint16(b[8:])), XU_NGROUPS)
	for i := 0; i < n; i++ {
		x.Groups = append(x.Groups, ne.Uint32(b[12+4*i:]))
	}
	return x, nil
}

// Ctloutput is uipc_ctloutput: level SOL_LOCAL only (else EINVAL).
// LOCAL_PEERCRED gets the peer's credential (ENOTCONN when there is none on
// a connection-oriented socket, EINVAL on a datagram socket); LOCAL_CREDS
// sets or gets the wish to receive senders' credentials. Unknown options:
// EOPNOTSUPP to get, ENOPROTOOPT to set.
func (p *proto) Ctloutput(so *socket.Socket, sopt *socket.Sockopt) error {
	if sopt.Level != SOL_LOCAL {
		return syscall.EINVAL
	}
	u := pcb(so)
	d := p.d
	if sopt.Dir == socket.SOPT_GET {
		switch sopt.Name {
		case LOCAL_PEERCRED:
			d.link.RLock()
			c := u.peercred
			d.link.RUnlock()
			if c == nil {
				if so.Type() == socket.SOCK_STREAM {
					return syscall.ENOTCONN
				}
				return syscall.EINVAL
			}
			x := Xucred{Uid: c.Uid, Groups: append([]uint32{c.Gid}, c.Groups...), Pid: c.Pid}
			return sopt.OptCopyOut(x.Bytes())
		case LOCAL_CREDS:
			v := 0
			if u.wantcred.Load() {
				v = 1
			}
			return sopt.OptOutInt(v)
		}
		return syscall.EOPNOTSUPP
	}
	switch sopt.Name {
	case LOCAL_CREDS:
		v, err := sopt.OptInt()
		if err != nil {
			return err
		}
		u.wantcred.Store(v != 0)
		return nil
	}
	return syscall.ENOPROTOOPT
}
