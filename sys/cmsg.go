package sys

import (
	"encoding/binary"

	"github.com/bsdnet/bsdnet/socket"
)

// Control messages use FreeBSD's LP64 layout: a 12-byte header (length,
// level, type) padded to 16, then the data padded to 8.

// SizeofCmsghdr is sizeof(struct cmsghdr).
const SizeofCmsghdr = 12

// Cmsghdr is struct cmsghdr.
type Cmsghdr struct {
	Len   uint32
	Level int32
	Type  int32
}

// SetLen sets the header's length.
func (h *Cmsghdr) SetLen(length int) { h.Len = uint32(length) }

// SocketControlMessage is one control message: its header and its data.
type SocketControlMessage struct {
	Header Cmsghdr
	Data   []byte
}

// CmsgLen is CMSG_LEN: the length to put in the header of a message with
// datalen bytes of data.
func CmsgLen(datalen int) int { return socket.CmsgLen(datalen) }

// CmsgSpace is CMSG_SPACE: the bytes a message with datalen bytes of data
// takes in a control buffer, padding included.
func CmsgSpace(datalen int) int { return socket.CmsgSpace(datalen) }

// ParseSocketControlMessage splits a control buffer, as Recvmsg returns it
// (oob[:oobn]), into messages. A header whose length is below CmsgLen(0) or
// past the end of the buffer is EINVAL; trailing bytes too short for a
// header are ignored.
func ParseSocketControlMessage(b []byte) ([]SocketControlMessage, error) {
	var msgs []SocketControlMessage
	for i := 0; i+CmsgLen(0) <= len(b); {
		ne := binary.NativeEndian
		h := Cmsghdr{
			Len:   ne.Uint32(b[i:]),
			Level: int32(ne.Uint32(b[i+4:])),
			Type:  int32(ne.Uint32(b[i+8:])),
		}
		if int(h.Len) < CmsgLen(0) || uint64(h.Len) > uint64(len(b)-i) {
			return nil, EINVAL
		}
		msgs = append(msgs, SocketControlMessage{Header: h, Data: b[i+CmsgLen(0) : i+int(h.Len)]})
		i += socket.CmsgAlign(int(h.Len))
	}
	return msgs, nil
}

// UnixRights encodes an SCM_RIGHTS message carrying the descriptors fds,
// for the oob argument of Sendmsg.
func UnixRights(fds ...int) []byte {
	data := make([]byte, 4*len(fds))
	for i, fd := range fds {
		binary.NativeEndian.PutUint32(data[4*i:], uint32(int32(fd)))
	}
	return socket.AppendCmsg(nil, SOL_SOCKET, SCM_RIGHTS, data)
}

// ParseUnixRights decodes the descriptors of an SCM_RIGHTS message; EINVAL
// for another message.
func ParseUnixRights(m *SocketControlMessage) ([]int, error) {
	if m.Header.Level != SOL_SOCKET || m.Header.Type != SCM_RIGHTS {
		return nil, EINVAL
	}
	fds := make([]int, len(m.Data)/4)
	for i := range fds {
		fds[i] = int(int32(binary.NativeEndian.Uint32(m.Data[4*i:])))
	}
	return fds, nil
}

// SizeofCmsgcred is sizeof(struct cmsgcred).
const SizeofCmsgcred = 84

// CMGROUP_MAX is the most groups a struct cmsgcred carries.
const CMGROUP_MAX = socket.CMGROUP_MAX

// Cmsgcred is struct cmsgcred, FreeBSD's SCM_CREDS as a PF_LOCAL sender
// asks for it: the stack fills in the sender's pid, real and effective
// uid, real gid and groups (Groups[0] is the effective gid) whatever the
// sender put there.
type Cmsgcred struct {
	Pid     int32
	Uid     uint32 // real uid
	Euid    uint32
	Gid     uint32 // real gid
	Ngroups int16
	Groups  [CMGROUP_MAX]uint32
}

// UnixCmsgcred encodes an SCM_CREDS message with an empty struct cmsgcred:
// sent with Sendmsg on a PF_LOCAL socket, it makes the receiver get the
// sender's credential (FreeBSD's counterpart of Linux's UnixCredentials).
func UnixCmsgcred() []byte {
	return socket.AppendCmsg(nil, SOL_SOCKET, SCM_CREDS, make([]byte, SizeofCmsgcred))
}

// ParseCmsgcred decodes the struct cmsgcred of an SCM_CREDS message; EINVAL
// for another message or a short one. (A receiver that set LOCAL_CREDS
// gets a struct sockcred instead.)
func ParseCmsgcred(m *SocketControlMessage) (*Cmsgcred, error) {
	if m.Header.Level != SOL_SOCKET || m.Header.Type != SCM_CREDS || len(m.Data) < SizeofCmsgcred {
		return nil, EINVAL
	}
	ne := binary.NativeEndian
	b := m.Data
	c := &Cmsgcred{
		Pid:     int32(ne.Uint32(b)),
		Uid:     ne.Uint32(b[4:]),
		Euid:    ne.Uint32(b[8:]),
		Gid:     ne.Uint32(b[12:]),
		Ngroups: int16(ne.Uint16(b[16:])),
	}
	n := min(max(int(c.Ngroups), 0), CMGROUP_MAX)
	for i := 0; i < n; i++ {
		c.Groups[i] = ne.Uint32(b[20+4*i:])
	}
	return c, nil
}
