//go:build linux

package link

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/bsdnet/bsdnet/mbuf"
)

// From linux/if_tun.h and linux/if.h.
const (
	tunSetIff = 0x400454ca // TUNSETIFF: _IOW('T', 202, int)
	iffTap    = 0x0002     // IFF_TAP: Ethernet frames
	iffNoPI   = 0x1000     // IFF_NO_PI: no packet information header
	ifNameSiz = 16         // IFNAMSIZ
)

// ifreq is struct ifreq as TUNSETIFF reads it: the name, then the flags
// (a short) at the start of a union that makes the whole 40 bytes long.
type ifreq struct {
	name  [ifNameSiz]byte
	flags uint16
	_     [22]byte
}

// The kernel copies sizeof(struct ifreq), 40 bytes on every Linux ABI
// Go supports; these fail to compile if ifreq is any other size.
var (
	_ [unsafe.Sizeof(ifreq{}) - 40]struct{}
	_ [40 - unsafe.Sizeof(ifreq{})]struct{}
)

// TAPMTU is the MTU of a TAP interface: Ethernet's.
const TAPMTU = 1500

// OpenTAP creates a TAP device named name in the host kernel (opening
// /dev/net/tun with IFF_TAP|IFF_NO_PI) and returns an Ethernet interface
// whose frames are the device's: what the interface transmits the kernel
// receives on the device, and what the kernel sends on the device the
// interface receives. A name with a %d in it, such as "bsdnet%d", lets the
// kernel pick a free number; Name reports the name it got. The MTU is 1500,
// the hardware address a locally administered one derived from the name
// (see MACFromName) and checksums are on: the frames cross a real link.
//
// Received frames are read into mbufs from pool by one goroutine per
// device, which calls Input. Close stops that goroutine and waits for it, so
// it must not be called from the input routine. Closing the device removes
// it from the kernel, in whatever network namespace it then lives.
//
// While the kernel's end of the device is down (ip link set NAME down, as
// it is when created), the device refuses frames and Transmit fails with
// EIO. Creating a TAP device needs CAP_NET_ADMIN.
func OpenTAP(name string, pool *mbuf.Pool) (*Ifnet, error) {
	if len(name) >= ifNameSiz {
		return nil, fmt.Errorf("link: tap %q: name longer than %d bytes", name, ifNameSiz-1)
	}
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("link: tap %q: open /dev/net/tun: %w", name, err)
	}
	var ifr ifreq
	copy(ifr.name[:], name)
	ifr.flags = iffTap | iffNoPI
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("link: tap %q: TUNSETIFF: %w", name, e)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("link: tap %q: %w", name, err)
	}
	kname := cstring(ifr.name[:])
	// With the descriptor non-blocking, os.NewFile puts it in the runtime's
	// poller: Read parks the goroutine instead of a thread, and Close wakes
	// it.
	f := os.NewFile(uintptr(fd), "/dev/net/tun:"+kname)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("link: tap %q: %w", kname, err)
	}
	d := &tap{f: f, rc: rc, pool: pool, done: make(chan struct{})}
	ifp := New(kname, Ethernet, TAPMTU, MACFromName(kname), d)
	ifp.Pool = pool
	d.ifp = ifp
	go d.readLoop()
	return ifp, nil
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// tap is the driver of a TAP interface.
type tap struct {
	ifp  *Ifnet
	f    *os.File
	rc   syscall.RawConn
	pool *mbuf.Pool
	wv   sync.Pool // of *writev

	once     sync.Once
	closeErr error
	done     chan struct{} // closed when readLoop has returned
}

// maxIovecs is how many mbufs of a chain Output hands to one writev; a
// longer chain is copied into one cluster first.
const maxIovecs = 16

// writev is one writev call's arguments and results, recycled through the
// driver's pool with its function value so that Output allocates nothing.
type writev struct {
	iov   [maxIovecs]syscall.Iovec
	cnt   int
	n     uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool
}

func (w *writev) call(fd uintptr) bool {
	w.n, _, w.errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&w.iov[0])), uintptr(w.cnt))
	return w.errno != syscall.EAGAIN
}

// Output writes the frame to the device in one writev, so that the kernel
// gets it as one frame, straight from the mbufs.
func (d *tap) Output(ifp *Ifnet, m *mbuf.Mbuf) error {
	defer mbuf.FreeChain(m)
	n := mbuf.Length(m)
	if n < EtherHdrLen {
		return fmt.Errorf("tap: frame of %d bytes: %w", n, syscall.EINVAL)
	}
	if n > EtherHdrLen+ifp.MTU() {
		return fmt.Errorf("tap: frame of %d bytes: %w", n, syscall.EMSGSIZE)
	}
	w, _ := d.wv.Get().(*writev)
	if w == nil {
		w = new(writev)
		w.fn = w.call
	}
	defer func() {
		w.iov = [maxIovecs]syscall.Iovec{} // drop the references to the mbufs
		d.wv.Put(w)
	}()
	w.cnt = 0
	for mm := m; mm != nil; mm = mm.Next {
		if mm.Len() == 0 {
			continue
		}
		if w.cnt == maxIovecs {
			w.cnt = -1
			break
		}
		b := mm.Data()
		w.iov[w.cnt].Base = &b[0]
		w.iov[w.cnt].SetLen(len(b))
		w.cnt++
	}
	if w.cnt < 0 {
		// A long chain: gather it into one cluster.
		buf := d.pool.Get(mbuf.MT_DATA, n)
		defer buf.Free()
		b := buf.Extend(n)
		mbuf.CopyData(m, 0, b)
		w.iov[0].Base = &b[0]
		w.iov[0].SetLen(n)
		w.cnt = 1
	}
	if err := d.rc.Write(w.fn); err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	if w.errno != 0 {
		return fmt.Errorf("tap: writev: %w", w.errno)
	}
	if int(w.n) != n {
		return fmt.Errorf("tap: short write: %d of %d bytes", w.n, n)
	}
	return nil
}

// readLoop reads one frame per read into a fresh cluster and gives it to
// Input, until the device is closed.
func (d *tap) readLoop() {
	defer close(d.done)
	ifp := d.ifp
	for {
		// Room for a frame one byte longer than the largest allowed, so
		// that a longer one (the kernel side's MTU was raised) shows.
		limit := EtherHdrLen + ifp.MTU()
		m := d.pool.GetHdr(mbuf.MT_DATA, limit+1, 0)
		buf := m.Extend(m.Trailing())
		n, err := d.f.Read(buf)
		if err != nil {
			m.Free()
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
				return
			}
			// The device is gone from under us (EBADFD once the kernel
			// unregisters it) or the read failed: count it and stop if
			// the error persists. A closed device ends the loop above.
			ifp.Stats.Ierrors.Add(1)
			if errors.Is(err, syscall.EBADFD) || errors.Is(err, syscall.EBADF) {
				return
			}
			continue
		}
		if n < EtherHdrLen || n > limit {
			m.Free()
			ifp.Stats.Ierrors.Add(1)
			continue
		}
		mbuf.Adj(m, n-len(buf))
		m.PktLen = n
		ifp.Input(m)
	}
}

// Close closes the device, which wakes the reader and removes the device
// from the kernel, and waits for the reader to return.
func (d *tap) Close() error {
	d.once.Do(func() {
		d.closeErr = d.f.Close()
		<-d.done
	})
	return d.closeErr
}
