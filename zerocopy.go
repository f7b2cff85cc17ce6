package bsdnet

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// The io.ReaderFrom and io.WriterTo fast paths of a stream Conn, which
// io.Copy takes on its own. They move mbufs instead of bytes:
//
//   - between two stream Conns (of one stack or two), the chain that
//     soreceive hands out through mp0 goes straight to sosend as top: no
//     byte is copied (WriteTo to a *Conn, ReadFrom from a *Conn or an
//     *io.LimitedReader over one);
//   - to any other writer, WriteTo writes the segments of the received
//     chain where they lie (one copy, the writer's; net.Buffers, so Go's
//     own connections get one writev);
//   - from any other reader, ReadFrom reads into a cluster from the
//     stack's pool and sends that cluster (one copy, the reader's).
//
// Plain io.Copy through a buffer copies every byte twice: out of the stack
// into the buffer, and from the buffer into the stack.
//
// A step moves at most what the destination's send buffer holds (chunk),
// in pieces that fit the room free (sendChain).
// Other kinds of Conn (datagram, seqpacket) keep their record boundaries
// and go through a plain copy.

// errInvalidRead is the error of a reader that reports more bytes than it
// was given room for, or fewer than none.
var errInvalidRead = errors.New("bsdnet: reader returned an invalid count")

// WriteTo writes what the connection receives to w until end of file (the
// io.WriterTo that io.Copy prefers), and returns the bytes written; end of
// file is not an error. To another stream *Conn it moves mbuf chains from
// this socket's receive buffer to the other's send buffer without copying.
// The read deadline bounds the receives; the writes are bounded as w
// bounds them (a *Conn destination: its write deadline). Errors are a
// *net.OpError with Op "writeto", wrapping the destination's own error
// when the write failed.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	if !c.ok() {
		return 0, syscall.EINVAL
	}
	var n int64
	var err error
	dst, isConn := w.(*Conn)
	switch {
	case c.typ != socket.SOCK_STREAM:
		n, err = io.Copy(w, readerOnly{c})
	case isConn && dst.ok() && dst.typ == socket.SOCK_STREAM:
		var rerr, werr error
		n, rerr, werr = c.splice(dst, -1)
		if err = rerr; werr != nil {
			err = dst.opError("write", werr)
		}
	default:
		n, err = c.writeSegments(w)
	}
	if err != nil {
		err = c.opError("writeto", err)
	}
	return n, err
}

// ReadFrom sends what r reads until r's end of file (the io.ReaderFrom
// that io.Copy takes when the source is no io.WriterTo), and returns the
// bytes sent. From another stream *Conn, or an *io.LimitedReader over one
// (whose N it lowers), it moves mbuf chains without copying; from another
// reader it reads into clusters of the stack's pool that it sends as
// they are. The write deadline bounds the sends. Errors are a
// *net.OpError with Op "readfrom", wrapping the source's own error when
// the read failed.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if !c.ok() {
		return 0, syscall.EINVAL
	}
	src, limit := r, int64(-1)
	lr, _ := r.(*io.LimitedReader)
	if lr != nil {
		if lr.N <= 0 {
			return 0, nil
		}
		src, limit = lr.R, lr.N
	}
	var n int64
	var err error
	sc, isConn := src.(*Conn)
	switch {
	case c.typ != socket.SOCK_STREAM:
		n, err = io.Copy(writerOnly{c}, r)
	case isConn && sc.ok() && sc.typ == socket.SOCK_STREAM:
		var rerr error
		n, rerr, err = sc.splice(c, limit)
		if lr != nil {
			lr.N -= n
		}
		if err == nil && rerr != nil {
			err = sc.opError("read", rerr)
		}
	default:
		n, err = c.readClusters(r)
	}
	if err != nil {
		err = c.opError("readfrom", err)
	}
	return n, err
}

// readerOnly and writerOnly hide a Conn's fast paths from io.Copy.
type readerOnly struct{ io.Reader }
type writerOnly struct{ io.Writer }

// splice moves what c receives to dst as mbuf chains, up to limit bytes
// (limit < 0: until end of file), and returns the bytes moved, c's error
// (rerr) and dst's (werr), neither wrapped.
func (c *Conn) splice(dst *Conn, limit int64) (n int64, rerr, werr error) {
	for limit < 0 || n < limit {
		want, seg := dst.chunk()
		if limit >= 0 {
			want = int(min(int64(want), limit-n))
		}
		m, k, err := c.recvChain(want)
		if k > 0 {
			sent, werr := dst.sendChain(m, k, seg)
			n += int64(sent)
			if werr != nil {
				return n, nil, werr
			}
		} else {
			mbuf.FreeChain(m)
		}
		if err != nil || k == 0 {
			return n, err, nil
		}
	}
	return n, nil, nil
}

// writeSegments writes the chains c receives to w segment by segment, in
// place, until end of file.
func (c *Conn) writeSegments(w io.Writer) (n int64, err error) {
	var vec net.Buffers
	for {
		m, k, rerr := c.recvChain(maxChain)
		if k > 0 {
			vec = vec[:0]
			for s := m; s != nil; s = s.Next {
				if s.Len() > 0 {
					vec = append(vec, s.Data())
				}
			}
			bufs := vec
			wn, werr := bufs.WriteTo(w)
			mbuf.FreeChain(m)
			n += wn
			if werr == nil && wn != int64(k) {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, werr
			}
		} else {
			mbuf.FreeChain(m)
		}
		if rerr != nil || k == 0 {
			return n, rerr
		}
	}
}

// maxChain bounds one receive of a chain for WriteTo to another writer:
// in practice the receive buffer holds less, and the receive takes all.
const maxChain = 1 << 20

// readClusters reads r into clusters from the stack's pool and sends each
// as it is, until r's end of file.
func (c *Conn) readClusters(r io.Reader) (n int64, err error) {
	pool := c.so.Vnet().Pool
	for {
		size, seg := c.chunk()
		size = min(size, mbuf.MaxCluster)
		m := pool.GetHdr(mbuf.MT_DATA, size, 0)
		k, rerr := r.Read(m.Extend(size))
		if k < 0 || k > size {
			mbuf.FreeChain(m)
			return n, errInvalidRead
		}
		if k > 0 {
			mbuf.Adj(m, k-size)
			if k < size/8 {
				// A small read would hold a large cluster in the send
				// buffer, charged at its full size: copy it to a small one.
				small := pool.CopyIn(mbuf.MT_DATA, m.Data(), 0)
				mbuf.FreeChain(m)
				m = small
			}
			m.PktLen = k
			sent, werr := c.sendChain(m, k, seg)
			n += int64(sent)
			if werr != nil {
				return n, werr
			}
		} else {
			mbuf.FreeChain(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// chunk is how many bytes to take at a time for a send to c: as much as
// its send buffer holds, so that the chain in hand stays bounded, cut to
// whole segments on TCP (see seg); it also returns seg.
func (c *sock) chunk() (n, seg int) {
	seg = c.seg()
	return max(alignSeg(c.so.Snd.Hiwat(), seg), 1), seg
}

// seg is the unit that data sent to c should come in: TCP's maximum
// segment size (TCP_MAXSEG), or 1. TCP sends what it is given at once
// (TCP_NODELAY is on), so a send that ends in the middle of a segment
// leaves a short segment on the wire; pieces cut to whole segments do not.
func (c *sock) seg() int {
	if !c.isTCP() {
		return 1
	}
	mss, err := c.so.GetOptInt(inet.IPPROTO_TCP, inet.TCP_MAXSEG)
	if err != nil || mss <= 0 {
		return 1
	}
	return mss
}

// alignSeg rounds n down to whole segments of seg bytes, unless that
// leaves none.
func alignSeg(n, seg int) int {
	if n < seg {
		return n
	}
	return n - n%seg
}

// room returns the free space in the send buffer and its size.
func (c *sock) room() (space, hiwat int) {
	sb := &c.so.Snd
	sb.Lock()
	space, hiwat = sb.SpaceLocked(), sb.HiwatLocked()
	sb.Unlock()
	return space, hiwat
}

// recvChain is one receive (soreceive with mp0) of up to max bytes as an
// mbuf chain, under the read deadline. It returns the chain (the caller's
// to free), its length, and the error to report after using the chain; no
// bytes and no error is the end of the stream.
func (c *sock) recvChain(max int) (*mbuf.Mbuf, int, error) {
	if c.closed.Load() {
		return nil, 0, net.ErrClosed
	}
	for {
		d := c.rd.get()
		if d.expired() {
			return nil, 0, os.ErrDeadlineExceeded
		}
		u := socket.UioLen(max)
		var m *mbuf.Mbuf
		err := c.so.Receive(d, nil, &u, &m, nil, nil)
		n := max - u.Resid
		if err == nil {
			if n == 0 && c.gone() {
				mbuf.FreeChain(m)
				return nil, 0, net.ErrClosed
			}
			return m, n, nil
		}
		if n > 0 && (err == syscall.EINTR || err == syscall.EWOULDBLOCK) {
			return m, n, nil
		}
		e, retry := c.mapErr("read", d, err)
		if !retry {
			return m, n, e
		}
		mbuf.FreeChain(m)
	}
}

// sendChain sends the chain m of n bytes under the write deadline, as a
// write of n bytes would send them, and returns the bytes sent. m is
// consumed.
//
// A send of a chain (sosend with top) is atomic: it waits until all of it
// fits the send buffer. To keep the buffer about as full as a write of
// bytes does (which sends what fits as soon as the low watermark of room
// is free), the chain goes in pieces cut (without copying) to the room
// free at the time, or to a quarter of the buffer when there is less: the
// piece then waits for that much room, while the rest of the buffer keeps
// the connection busy. (Pieces of the low watermark, 2 KiB, would each
// cost a protocol send.) Pieces are cut to whole segments of seg bytes.
func (c *sock) sendChain(m *mbuf.Mbuf, n, seg int) (int, error) {
	sent := 0
	for m != nil {
		space, hiwat := c.room()
		k := min(n-sent, max(space, hiwat/4, 1))
		if k < n-sent {
			k = alignSeg(k, seg)
		}
		var rest *mbuf.Mbuf
		if k < n-sent {
			rest = mbuf.Split(m, k)
		}
		if err := c.sendAll(m); err != nil {
			mbuf.FreeChain(rest)
			return sent, err
		}
		sent += k
		m = rest
	}
	return sent, nil
}

// sendAll sends the chain m (sosend with top) under the write deadline:
// all of it or, with an error, none. m is consumed.
func (c *sock) sendAll(m *mbuf.Mbuf) error {
	if c.closed.Load() {
		mbuf.FreeChain(m)
		return net.ErrClosed
	}
	for {
		d := c.wd.get()
		if d.expired() {
			mbuf.FreeChain(m)
			return os.ErrDeadlineExceeded
		}
		// The socket layer consumes the chain even when the send fails:
		// keep a second reference to the data (no copy), so that a send
		// woken by a new deadline sleeps again with the same bytes.
		again := mbuf.Copy(m, 0, -1)
		err := c.so.Send(d, nil, nil, m, nil, 0)
		if err == nil {
			mbuf.FreeChain(again)
			return nil
		}
		e, retry := c.mapErr("write", d, err)
		if !retry {
			mbuf.FreeChain(again)
			return e
		}
		m = again
	}
}
