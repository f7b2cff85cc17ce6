package socket

import "syscall"

// Uio describes the user's side of a transfer (struct uio): the buffers
// data is copied from on send or into on receive, and Resid, the bytes that
// remain to move. A Uio made by UioLen carries only a count: it is what a
// send of an mbuf chain (top) or a receive into an mbuf chain (mp0) uses.
//
// A Uio is a small value meant to live on the caller's stack.
type Uio struct {
	iov   [][]byte // further buffers after cur
	cur   []byte   // the unconsumed part of the current buffer
	Resid int
}

// UioBuf returns a Uio over one buffer.
func UioBuf(b []byte) Uio { return Uio{cur: b, Resid: len(b)} }

// UioVec returns a Uio over a vector of buffers (an iovec array).
func UioVec(iov [][]byte) Uio {
	u := Uio{}
	for _, b := range iov {
		u.Resid += len(b)
	}
	if len(iov) > 0 {
		u.cur, u.iov = iov[0], iov[1:]
	}
	return u
}

// UioLen returns a Uio that counts n bytes and holds no buffer.
func UioLen(n int) Uio { return Uio{Resid: n} }

func (u *Uio) advance() {
	for len(u.cur) == 0 && len(u.iov) > 0 {
		u.cur, u.iov = u.iov[0], u.iov[1:]
	}
}

// copyOut moves up to len(src) bytes from src into the user's buffers and
// returns how many it moved (uiomove for UIO_READ).
func (u *Uio) copyOut(src []byte) (int, error) {
	n := 0
	for len(src) > 0 && u.Resid > 0 {
		u.advance()
		if len(u.cur) == 0 {
			return n, syscall.EFAULT
		}
		k := copy(u.cur, src)
		u.cur = u.cur[k:]
		src = src[k:]
		u.Resid -= k
		n += k
	}
	return n, nil
}

// copyIn fills dst from the user's buffers and returns how many bytes it
// moved (uiomove for UIO_WRITE).
func (u *Uio) copyIn(dst []byte) (int, error) {
	n := 0
	for len(dst) > 0 && u.Resid > 0 {
		u.advance()
		if len(u.cur) == 0 {
			return n, syscall.EFAULT
		}
		k := copy(dst, u.cur)
		u.cur = u.cur[k:]
		dst = dst[k:]
		u.Resid -= k
		n += k
	}
	return n, nil
}

// hasBuffers reports whether the Uio has somewhere to copy to or from.
func (u *Uio) hasBuffers() bool { return len(u.cur) > 0 || len(u.iov) > 0 }

// skip counts n bytes as moved without copying (for mp0 receives).
func (u *Uio) skip(n int) { u.Resid -= n }
