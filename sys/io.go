package sys

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// Send sends b on a connected socket (send(2)). As x/sys/unix's, it
// reports no count; see SendmsgN.
func (p *Proc) Send(fd int, b []byte, flags int) error {
	_, err := p.SendmsgN(fd, b, nil, nil, flags)
	return err
}

// Sendto sends b to the address to, or to the connected peer when to is
// nil (sendto(2)). As x/sys/unix's, it reports no count; see SendmsgN.
func (p *Proc) Sendto(fd int, b []byte, flags int, to Sockaddr) error {
	_, err := p.SendmsgN(fd, b, nil, to, flags)
	return err
}

// Sendmsg sends b with the control messages oob (sendmsg(2)); see
// SendmsgN, whose count it drops as x/sys/unix's does.
func (p *Proc) Sendmsg(fd int, b, oob []byte, to Sockaddr, flags int) error {
	_, err := p.SendmsgN(fd, b, oob, to, flags)
	return err
}

// Write sends b on a connected socket with no flags (write(2)) and returns
// the bytes sent.
func (p *Proc) Write(fd int, b []byte) (n int, err error) {
	return p.SendmsgN(fd, b, nil, nil, 0)
}

// SendmsgN is sendmsg(2): send b with the control messages oob (built with
// UnixRights, UnixCmsgcred, ...) to the address to, or to the connected
// peer when to is nil, and return the bytes sent.
//
// SCM_RIGHTS messages name descriptors of this Proc; a bad one is EBADF
// and nothing is sent. The message holds each socket until it is received
// or discarded. A malformed control buffer is EINVAL.
//
// A stream socket that made progress and then would block (non-blocking,
// MSG_DONTWAIT, SO_SNDTIMEO) or was interrupted returns the short count
// and no error; an atomic socket sends all or nothing. A socket that can
// send no more returns EPIPE; no SIGPIPE is delivered (there are no
// signals), so SO_NOSIGPIPE and MSG_NOSIGNAL change nothing. As in
// x/sys/unix, control with no data on a socket that is not SOCK_DGRAM sends
// one zero byte, not counted in n.
func (p *Proc) SendmsgN(fd int, b, oob []byte, to Sockaddr, flags int) (n int, err error) {
	return p.SendmsgNContext(context.Background(), fd, b, oob, to, flags)
}

// SendmsgNContext is SendmsgN whose wait for buffer space ends with ctx:
// EINTR when cancelled, EWOULDBLOCK at its deadline (or a short count, by
// the rule above).
func (p *Proc) SendmsgNContext(ctx context.Context, fd int, b, oob []byte, to Sockaddr, flags int) (n int, err error) {
	so, err := p.get(fd)
	if err != nil {
		return 0, err
	}
	defer put(so)
	addr, err := toStack(to)
	if err != nil {
		return 0, err
	}
	dummy := false
	if len(oob) > 0 && len(b) == 0 && so.Type() != SOCK_DGRAM {
		b, dummy = []byte{0}, true
	}
	var control *mbuf.Mbuf
	if len(oob) > 0 {
		if control, err = p.internalize(oob); err != nil {
			return 0, err
		}
	}
	uio := socket.UioBuf(b)
	err = so.Send(ctx, addr, &uio, nil, control, flags)
	n = len(b) - uio.Resid
	if err != nil && n > 0 && so.Proto().Flags&socket.PR_ATOMIC == 0 &&
		(errors.Is(err, EINTR) || errors.Is(err, EWOULDBLOCK)) {
		err = nil
	}
	if err != nil {
		return 0, err
	}
	if dummy {
		n = 0
	}
	return n, nil
}

// internalize turns the caller's control buffer into the stack's control
// chain, one mbuf per message. SCM_RIGHTS messages get the sockets their
// descriptors name, each held for the message (socket.Rights); the
// protocol checks the rest. On error nothing stays held.
func (p *Proc) internalize(oob []byte) (*mbuf.Mbuf, error) {
	msgs, err := socket.ParseCmsgs(oob)
	if err != nil {
		return nil, EINVAL
	}
	var head, tail *mbuf.Mbuf
	for _, c := range msgs {
		m := p.vnet.NewControl(c.Level, c.Type, c.Data)
		if c.Level == SOL_SOCKET && c.Type == SCM_RIGHTS && len(c.Data) >= 4 {
			r, err := p.holdRights(c.Data)
			if err != nil {
				m.Free()
				p.vnet.DisposeControl(head)
				return nil, err
			}
			m.Obj = r
		}
		if head == nil {
			head = m
		} else {
			tail.Next = m
		}
		tail = m
	}
	return head, nil
}

// holdRights looks up the descriptors of an SCM_RIGHTS message and holds
// their sockets; EBADF, holding none, if one is not open.
func (p *Proc) holdRights(data []byte) (socket.Rights, error) {
	n := len(data) / 4
	r := make(socket.Rights, 0, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i < n; i++ {
		fd := int(int32(binary.NativeEndian.Uint32(data[4*i:])))
		if fd < 0 || fd >= len(p.files) || p.files[fd] == nil || p.files[fd].so == nil {
			for _, so := range r {
				// Not the last holder: the descriptors still hold them,
				// and the table lock keeps them from closing.
				so.Close()
			}
			return nil, EBADF
		}
		so := p.files[fd].so
		so.Hold()
		r = append(r, so)
	}
	return r, nil
}

// Read receives into b with no flags (read(2)) and returns the bytes read;
// 0 with no error is end of file.
func (p *Proc) Read(fd int, b []byte) (n int, err error) {
	n, _, _, _, err = p.RecvmsgContext(context.Background(), fd, b, nil, 0)
	return n, err
}

// Recv receives into b (recv(2)).
func (p *Proc) Recv(fd int, b []byte, flags int) (n int, err error) {
	n, _, _, _, err = p.RecvmsgContext(context.Background(), fd, b, nil, flags)
	return n, err
}

// Recvfrom receives into b and returns the sender's address (recvfrom(2));
// from is nil for a stream socket.
func (p *Proc) Recvfrom(fd int, b []byte, flags int) (n int, from Sockaddr, err error) {
	n, _, _, from, err = p.RecvmsgContext(context.Background(), fd, b, nil, flags)
	return n, from, err
}

// Recvmsg is recvmsg(2): receive data into b and control messages into oob
// (parse them with ParseSocketControlMessage), returning the bytes of each,
// the flags of the message (MSG_EOR, MSG_TRUNC, MSG_CTRUNC, MSG_OOB) and
// the sender's address.
//
// SCM_RIGHTS messages arrive as new descriptors of this Proc, lowest free
// first, with FD_CLOEXEC when flags has MSG_CMSG_CLOEXEC. If the table
// cannot take them all, the call fails with EMFILE and the sockets carried
// are closed (their holds released): a datagram is dropped; a stream or
// seqpacket socket's data is kept for the next receive. A message that does
// not fit oob whole is left out, its sockets closed, and MSG_CTRUNC is set.
// With an empty oob, control is discarded (rights closed) without
// MSG_CTRUNC, as when msg_control is NULL. MSG_PEEK never returns rights.
//
// A receive interrupted or timed out after it moved data returns the short
// count and no error. As in x/sys/unix, an empty b with a non-empty oob on a
// socket that is not SOCK_DGRAM reads one byte, reported as 0.
func (p *Proc) Recvmsg(fd int, b, oob []byte, flags int) (n, oobn int, recvflags int, from Sockaddr, err error) {
	return p.RecvmsgContext(context.Background(), fd, b, oob, flags)
}

// RecvmsgContext is Recvmsg whose wait for data ends with ctx: EINTR when
// cancelled, EWOULDBLOCK at its deadline.
func (p *Proc) RecvmsgContext(ctx context.Context, fd int, b, oob []byte, flags int) (n, oobn int, recvflags int, from Sockaddr, err error) {
	so, err := p.get(fd)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	defer put(so)
	if flags&MSG_OOB == 0 {
		if k, ok := p.takeUnread(so, b, flags&MSG_PEEK != 0); ok {
			return k, 0, 0, nil, nil
		}
	}
	dummy := false
	if len(oob) > 0 && len(b) == 0 && so.Type() != SOCK_DGRAM {
		b, dummy = make([]byte, 1), true
	}
	uio := socket.UioBuf(b)
	var sa socket.Sockaddr
	var ctl *mbuf.Mbuf
	var controlp **mbuf.Mbuf
	if len(oob) > 0 {
		controlp = &ctl
	}
	fl := flags &^ MSG_CMSG_CLOEXEC
	err = so.Receive(ctx, &sa, &uio, nil, controlp, &fl)
	n = len(b) - uio.Resid
	if err != nil && n > 0 && (errors.Is(err, EINTR) || errors.Is(err, EWOULDBLOCK)) {
		err = nil
	}
	if err != nil {
		p.vnet.DisposeControl(ctl)
		return 0, 0, 0, nil, err
	}
	oobn, cflags, err := p.externalize(ctl, oob, flags&MSG_CMSG_CLOEXEC != 0)
	if err != nil {
		if so.Type() != SOCK_DGRAM && n > 0 && !dummy {
			p.keepUnread(so, b[:min(n, len(b))])
		}
		return 0, 0, 0, nil, err
	}
	if dummy {
		n = 0
	}
	return n, oobn, fl | cflags, fromStack(sa), nil
}

// cmsg is one received control message on its way to the caller.
type cmsg struct {
	level, typ int
	data       []byte
	rights     socket.Rights
}

func (c *cmsg) datalen() int {
	if c.rights != nil {
		return 4 * len(c.rights)
	}
	return len(c.data)
}

// externalize is unp_externalize and the control half of kern_recvit: it
// turns the received control chain into bytes in oob, installing the
// sockets of SCM_RIGHTS messages as descriptors. It returns the bytes
// written and MSG_CTRUNC when messages were left out. EMFILE, with every
// carried socket released, when the table cannot take them all. ctl is
// consumed.
func (p *Proc) externalize(ctl *mbuf.Mbuf, oob []byte, cloexec bool) (int, int, error) {
	if ctl == nil {
		return 0, 0, nil
	}
	defer p.vnet.DisposeControl(ctl)
	var msgs []cmsg
	total := 0
	for m := ctl; m != nil; m = m.Next {
		r, _ := m.Obj.(socket.Rights)
		m.Obj = nil
		cs, _ := socket.ParseCmsgs(m.Data())
		for _, c := range cs {
			mm := cmsg{level: c.Level, typ: c.Type, data: c.Data}
			if c.Level == SOL_SOCKET && c.Type == SCM_RIGHTS && r != nil {
				mm.rights, r = r, nil
				total += len(mm.rights)
			}
			msgs = append(msgs, mm)
		}
		r.Release() // rights with no message to carry them: none expected
	}
	release := func(ms []cmsg) {
		for _, m := range ms {
			m.rights.Release()
		}
	}
	fit, off := 0, 0
	for _, m := range msgs {
		sz := CmsgSpace(m.datalen())
		if off+sz > len(oob) {
			break
		}
		off += sz
		fit++
	}
	fds := make([][]int, fit)
	p.mu.Lock()
	if p.freeLocked() < total {
		p.mu.Unlock()
		release(msgs)
		return 0, 0, EMFILE
	}
	for i := 0; i < fit; i++ {
		for _, so := range msgs[i].rights {
			// The message's hold on the socket becomes the descriptor's.
			fd, _ := p.allocLocked(0, &file{so: so, cloexec: cloexec})
			fds[i] = append(fds[i], fd)
		}
	}
	p.mu.Unlock()
	release(msgs[fit:])
	out := oob[:0]
	for i := 0; i < fit; i++ {
		data := msgs[i].data
		if msgs[i].rights != nil {
			data = make([]byte, 4*len(fds[i]))
			for j, fd := range fds[i] {
				binary.NativeEndian.PutUint32(data[4*j:], uint32(int32(fd)))
			}
		}
		out = socket.AppendCmsg(out, msgs[i].level, msgs[i].typ, data)
	}
	flags := 0
	if fit < len(msgs) {
		flags = MSG_CTRUNC
	}
	return len(out), flags, nil
}

// takeUnread returns data held back for so by an EMFILE, if any.
func (p *Proc) takeUnread(so *socket.Socket, b []byte, peek bool) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	buf, ok := p.unread[so]
	if !ok {
		return 0, false
	}
	k := copy(b, buf)
	if !peek {
		if buf = buf[k:]; len(buf) == 0 {
			delete(p.unread, so)
		} else {
			p.unread[so] = buf
		}
	}
	return k, true
}

// keepUnread holds back data for the next receive on so.
func (p *Proc) keepUnread(so *socket.Socket, b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unread == nil {
		p.unread = make(map[*socket.Socket][]byte)
	}
	p.unread[so] = append(p.unread[so], b...)
}

// hasUnread reports whether data is held back for so.
func (p *Proc) hasUnread(so *socket.Socket) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.unread[so]) > 0
}
