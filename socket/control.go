package socket

import (
	"encoding/binary"
	"syscall"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Control messages travel as MT_CONTROL mbufs holding struct cmsghdr and
// its data in FreeBSD's LP64 layout: cmsg_len (uint32), cmsg_level (int32),
// cmsg_type (int32), padding to 8, data. An SCM_RIGHTS message inside the
// stack also carries its sockets in the mbuf's Obj as Rights.

const cmsgAlignTo = 8

// CmsgAlign rounds n up as CMSG_ALIGN does.
func CmsgAlign(n int) int { return (n + cmsgAlignTo - 1) &^ (cmsgAlignTo - 1) }

// CmsgHdrLen is CMSG_ALIGN(sizeof(struct cmsghdr)).
const CmsgHdrLen = (12 + cmsgAlignTo - 1) &^ (cmsgAlignTo - 1)

// CmsgLen is CMSG_LEN(n).
func CmsgLen(n int) int { return CmsgHdrLen + n }

// CmsgSpace is CMSG_SPACE(n).
func CmsgSpace(n int) int { return CmsgHdrLen + CmsgAlign(n) }

// AppendCmsg appends one control message to b.
func AppendCmsg(b []byte, level, typ int, data []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, CmsgSpace(len(data)))...)
	h := b[start:]
	binary.NativeEndian.PutUint32(h[0:], uint32(CmsgLen(len(data))))
	binary.NativeEndian.PutUint32(h[4:], uint32(int32(level)))
	binary.NativeEndian.PutUint32(h[8:], uint32(int32(typ)))
	copy(h[CmsgHdrLen:], data)
	return b
}

// Cmsg is one parsed control message.
type Cmsg struct {
	Level, Type int
	Data        []byte
}

// ParseCmsgs splits a control buffer into messages. A header that is short
// or claims more than the buffer holds is EINVAL, as unp_internalize says.
func ParseCmsgs(b []byte) ([]Cmsg, error) {
	var out []Cmsg
	for len(b) > 0 {
		if len(b) < 12 {
			return out, syscall.EINVAL
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < CmsgHdrLen || l > len(b) {
			return out, syscall.EINVAL
		}
		out = append(out, Cmsg{
			Level: int(int32(binary.NativeEndian.Uint32(b[4:]))),
			Type:  int(int32(binary.NativeEndian.Uint32(b[8:]))),
			Data:  b[CmsgHdrLen:l],
		})
		if next := CmsgAlign(l); next < len(b) {
			b = b[next:]
		} else {
			b = nil
		}
	}
	return out, nil
}

// NewControl is sbcreatecontrol: an MT_CONTROL mbuf holding one message.
func (v *Vnet) NewControl(level, typ int, data []byte) *mbuf.Mbuf {
	b := AppendCmsg(nil, level, typ, data)
	m := v.Pool.Get(mbuf.MT_CONTROL, len(b))
	copy(m.Extend(len(b)), b)
	return m
}

// NewRightsControl makes an SCM_RIGHTS message carrying socks: it holds
// (Hold) each socket for the message, and the message releases them when it
// is delivered to a receiver that drops it, or disposed of.
func (v *Vnet) NewRightsControl(socks ...*Socket) *mbuf.Mbuf {
	r := make(Rights, len(socks))
	for i, so := range socks {
		so.Hold()
		r[i] = so
	}
	m := v.NewControl(SOL_SOCKET, SCM_RIGHTS, make([]byte, 4*len(socks)))
	m.Obj = r
	return m
}

// ControlRights returns the sockets carried by SCM_RIGHTS messages of a
// received control chain and takes them out of it: the caller now holds
// them and must Close each.
func ControlRights(control *mbuf.Mbuf) Rights {
	var out Rights
	for m := control; m != nil; m = m.Next {
		if r, ok := m.Obj.(Rights); ok {
			out = append(out, r...)
			m.Obj = nil
		}
	}
	return out
}

// ControlMessages parses every message of a control chain.
func ControlMessages(control *mbuf.Mbuf) ([]Cmsg, error) {
	var out []Cmsg
	for m := control; m != nil; m = m.Next {
		c, err := ParseCmsgs(m.Data())
		out = append(out, c...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// WalkLocked calls f for every mbuf in the buffer, record by record; the
// buffer is locked. It is for protocols that must see what is queued, such
// as the collector of in-flight descriptors.
func (sb *Sockbuf) WalkLocked(f func(m *mbuf.Mbuf)) {
	for r := sb.mb; r != nil; r = r.NextPkt {
		for m := r; m != nil; m = m.Next {
			f(m)
		}
	}
}
