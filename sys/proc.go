package sys

import (
	"sync"

	"github.com/bsdnet/bsdnet/socket"
)

// Proc is a process as the socket system calls see it: its descriptor
// table, the limit on that table (RLIMIT_NOFILE), the credential the
// sockets it creates cache (socket(9)'s one credential rule) and the stack
// they live in. A Proc is safe for use by many goroutines, as a process's
// threads share one table.
type Proc struct {
	vnet *socket.Vnet
	cred *socket.Cred

	mu    sync.Mutex
	files []*file // by descriptor; nil is free
	limit int     // RLIMIT_NOFILE
	// unread holds data a receive took from a socket but could not return
	// because the rights that came with it did not fit the table (EMFILE);
	// the next receive on the socket returns it first.
	unread map[*socket.Socket][]byte
}

// file is one descriptor's entry (struct filedescent): the socket it names
// and its own flag. The entry holds one hold on the socket (Hold), dropped
// when the descriptor is closed. A nil so marks a slot reserved by a call
// that is still making its socket.
type file struct {
	so      *socket.Socket
	cloexec bool
}

// NewProc returns a process with an empty descriptor table limited to
// RLIMIT_NOFILE_DEFAULT (1024) descriptors, whose sockets live in v and are
// created with cred. A nil cred is root's.
func NewProc(v *socket.Vnet, cred *socket.Cred) *Proc {
	if cred == nil {
		cred = socket.RootCred()
	}
	return &Proc{vnet: v, cred: cred, limit: RLIMIT_NOFILE_DEFAULT}
}

// Vnet returns the stack the process's sockets live in.
func (p *Proc) Vnet() *socket.Vnet { return p.vnet }

// Cred returns the process's credential.
func (p *Proc) Cred() *socket.Cred { return p.cred }

// SetRlimitNofile sets the descriptor limit (setrlimit RLIMIT_NOFILE):
// descriptors are then allocated below n only. Descriptors already open at
// or above n stay open. A negative n is EINVAL.
func (p *Proc) SetRlimitNofile(n int) error {
	if n < 0 {
		return EINVAL
	}
	p.mu.Lock()
	p.limit = n
	p.mu.Unlock()
	return nil
}

// RlimitNofile returns the descriptor limit.
func (p *Proc) RlimitNofile() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// NumFDs returns how many descriptors are open.
func (p *Proc) NumFDs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.files {
		if f != nil && f.so != nil {
			n++
		}
	}
	return n
}

// freeLocked returns how many descriptors can still be allocated.
func (p *Proc) freeLocked() int {
	used := 0
	for fd, f := range p.files {
		if fd >= p.limit {
			break
		}
		if f != nil {
			used++
		}
	}
	return max(p.limit-used, 0)
}

// allocLocked is fdalloc: the lowest free descriptor at or above min,
// below the limit, else EMFILE. The slot gets f.
func (p *Proc) allocLocked(min int, f *file) (int, error) {
	for fd := min; fd < p.limit; fd++ {
		for len(p.files) <= fd {
			p.files = append(p.files, nil)
		}
		if p.files[fd] == nil {
			p.files[fd] = f
			return fd, nil
		}
	}
	return -1, EMFILE
}

// reserve allocates n descriptors for sockets not yet made (falloc before
// socreate, so that a full table is EMFILE whatever else is wrong).
func (p *Proc) reserve(n int) ([]int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.freeLocked() < n {
		return nil, EMFILE
	}
	fds := make([]int, n)
	for i := range fds {
		fds[i], _ = p.allocLocked(0, &file{})
	}
	return fds, nil
}

// unreserve frees reserved slots that were not filled.
func (p *Proc) unreserve(fds ...int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, fd := range fds {
		if fd >= 0 && fd < len(p.files) && p.files[fd] != nil && p.files[fd].so == nil {
			p.files[fd] = nil
		}
	}
}

// fill installs a socket in a reserved slot; the slot takes over the
// caller's hold on it.
func (p *Proc) fill(fd int, so *socket.Socket, cloexec bool) {
	p.mu.Lock()
	p.files[fd] = &file{so: so, cloexec: cloexec}
	p.mu.Unlock()
}

// get is fget: the socket a descriptor names, with a hold taken for the
// call (a concurrent Close of the descriptor then leaves the socket open
// until the call ends, as a file reference does). The caller releases the
// hold with put. EBADF for a descriptor not open.
func (p *Proc) get(fd int) (*socket.Socket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fd < 0 || fd >= len(p.files) || p.files[fd] == nil || p.files[fd].so == nil {
		return nil, EBADF
	}
	so := p.files[fd].so
	so.Hold()
	return so, nil
}

// put drops the hold get took.
func put(so *socket.Socket) { so.Close() }

// Close closes a descriptor (close(2)): the descriptor is freed and its
// hold on the socket dropped; the socket itself closes (soclose, with
// SO_LINGER's wait) with its last holder, which may be a descriptor in
// another Proc, a descriptor made by Dup, a message in flight or a call in
// progress. EBADF for a descriptor not open.
func (p *Proc) Close(fd int) error {
	p.mu.Lock()
	if fd < 0 || fd >= len(p.files) || p.files[fd] == nil || p.files[fd].so == nil {
		p.mu.Unlock()
		return EBADF
	}
	so := p.files[fd].so
	p.files[fd] = nil
	p.forgetUnreadLocked(so)
	p.mu.Unlock()
	return so.Close()
}

// forgetUnreadLocked drops data held back for so once no descriptor of the
// process names it.
func (p *Proc) forgetUnreadLocked(so *socket.Socket) {
	if len(p.unread) == 0 {
		return
	}
	if _, ok := p.unread[so]; !ok {
		return
	}
	for _, f := range p.files {
		if f != nil && f.so == so {
			return
		}
	}
	delete(p.unread, so)
}

// Dup returns a new descriptor, the lowest free, naming the same socket as
// fd (dup(2)); FD_CLOEXEC is clear on it. EBADF, EMFILE.
func (p *Proc) Dup(fd int) (int, error) {
	return p.dupfd(fd, 0, false)
}

func (p *Proc) dupfd(fd, min int, cloexec bool) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if fd < 0 || fd >= len(p.files) || p.files[fd] == nil || p.files[fd].so == nil {
		return -1, EBADF
	}
	if min < 0 || min >= p.limit {
		return -1, EINVAL
	}
	so := p.files[fd].so
	nfd, err := p.allocLocked(min, &file{so: so, cloexec: cloexec})
	if err != nil {
		return -1, err
	}
	so.Hold()
	return nfd, nil
}

// Dup2 makes newfd name the socket oldfd names (dup2(2)), closing what
// newfd named before; FD_CLOEXEC is clear on newfd. Equal descriptors are
// left alone. EBADF for a bad oldfd, or a newfd that is negative or not
// below the descriptor limit.
func (p *Proc) Dup2(oldfd, newfd int) error {
	p.mu.Lock()
	if oldfd < 0 || oldfd >= len(p.files) || p.files[oldfd] == nil || p.files[oldfd].so == nil ||
		newfd < 0 || newfd >= p.limit {
		p.mu.Unlock()
		return EBADF
	}
	if oldfd == newfd {
		p.mu.Unlock()
		return nil
	}
	so := p.files[oldfd].so
	for len(p.files) <= newfd {
		p.files = append(p.files, nil)
	}
	var old *socket.Socket
	switch f := p.files[newfd]; {
	case f == nil:
	case f.so == nil:
		// Being made by a concurrent call: FreeBSD's dup2 waits for it
		// (EBUSY on Linux); bsdnet reports EBADF rather than race it.
		p.mu.Unlock()
		return EBADF
	default:
		old = f.so
	}
	so.Hold()
	p.files[newfd] = &file{so: so}
	if old != nil {
		p.forgetUnreadLocked(old)
	}
	p.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Exec closes every descriptor marked FD_CLOEXEC, which is what execve(2)
// does to the table.
func (p *Proc) Exec() {
	p.mu.Lock()
	var victims []*socket.Socket
	for fd, f := range p.files {
		if f != nil && f.so != nil && f.cloexec {
			victims = append(victims, f.so)
			p.files[fd] = nil
		}
	}
	for _, so := range victims {
		p.forgetUnreadLocked(so)
	}
	p.mu.Unlock()
	for _, so := range victims {
		so.Close()
	}
}

// CloseAll closes every descriptor, as exit(2) does.
func (p *Proc) CloseAll() {
	p.mu.Lock()
	var victims []*socket.Socket
	for fd, f := range p.files {
		if f != nil && f.so != nil {
			victims = append(victims, f.so)
			p.files[fd] = nil
		}
	}
	p.unread = nil
	p.mu.Unlock()
	for _, so := range victims {
		so.Close()
	}
}

// Fcntl is fcntl(2) on a socket descriptor: F_GETFD and F_SETFD read and set
// FD_CLOEXEC; F_GETFL returns O_RDWR, with O_NONBLOCK when the socket is
// non-blocking; F_SETFL sets or clears O_NONBLOCK (the socket's SS_NBIO,
// shared by every descriptor of it; other flags are ignored); F_DUPFD and
// F_DUPFD_CLOEXEC duplicate fd to the lowest free descriptor at or above
// arg. EBADF for a bad descriptor, EINVAL for another command.
func (p *Proc) Fcntl(fd, cmd, arg int) (int, error) {
	switch cmd {
	case F_DUPFD, F_DUPFD_CLOEXEC:
		return p.dupfd(fd, arg, cmd == F_DUPFD_CLOEXEC)
	case F_GETFD, F_SETFD:
		p.mu.Lock()
		defer p.mu.Unlock()
		if fd < 0 || fd >= len(p.files) || p.files[fd] == nil || p.files[fd].so == nil {
			return -1, EBADF
		}
		f := p.files[fd]
		if cmd == F_SETFD {
			f.cloexec = arg&FD_CLOEXEC != 0
			return 0, nil
		}
		if f.cloexec {
			return FD_CLOEXEC, nil
		}
		return 0, nil
	case F_GETFL, F_SETFL:
		so, err := p.get(fd)
		if err != nil {
			return -1, err
		}
		defer put(so)
		if cmd == F_SETFL {
			so.SetNonblocking(arg&O_NONBLOCK != 0)
			return 0, nil
		}
		fl := O_RDWR
		if so.State()&socket.SS_NBIO != 0 {
			fl |= O_NONBLOCK
		}
		return fl, nil
	}
	so, err := p.get(fd)
	if err != nil {
		return -1, err
	}
	put(so)
	return -1, EINVAL
}

// FcntlInt is x/sys/unix's name for Fcntl with an int argument.
func (p *Proc) FcntlInt(fd, cmd, arg int) (int, error) { return p.Fcntl(fd, cmd, arg) }

// SetNonblock sets or clears O_NONBLOCK on fd, as x/sys/unix's SetNonblock.
func (p *Proc) SetNonblock(fd int, nonblocking bool) error {
	fl, err := p.Fcntl(fd, F_GETFL, 0)
	if err != nil {
		return err
	}
	if nonblocking {
		fl |= O_NONBLOCK
	} else {
		fl &^= O_NONBLOCK
	}
	_, err = p.Fcntl(fd, F_SETFL, fl)
	return err
}

// CloseOnExec sets FD_CLOEXEC on fd, as x/sys/unix's CloseOnExec.
func (p *Proc) CloseOnExec(fd int) {
	p.Fcntl(fd, F_SETFD, FD_CLOEXEC)
}

// IoctlGetInt is ioctl(2) with an int result: FIONREAD gives the bytes of
// data the socket holds to read, control messages and addresses not
// counted (FreeBSD's soo_ioctl), EINVAL on a listener; FIONWRITE the bytes
// in the send buffer; FIONSPACE the free space there. ENOTTY for another
// request, EBADF for a bad descriptor.
func (p *Proc) IoctlGetInt(fd int, req uint) (int, error) {
	so, err := p.get(fd)
	if err != nil {
		return 0, err
	}
	defer put(so)
	switch req {
	case FIONREAD:
		if so.Listening() {
			return 0, EINVAL
		}
		so.Rcv.Lock()
		n := so.Rcv.AvailLocked() - so.Rcv.CtlLocked()
		so.Rcv.Unlock()
		p.mu.Lock()
		n += len(p.unread[so])
		p.mu.Unlock()
		return n, nil
	case FIONWRITE, FIONSPACE:
		if so.Listening() {
			return 0, EINVAL
		}
		so.Snd.Lock()
		n := so.Snd.UsedLocked()
		if req == FIONSPACE {
			n = so.Snd.SpaceLocked()
		}
		so.Snd.Unlock()
		return n, nil
	}
	return 0, ENOTTY
}

// IoctlSetInt is ioctl(2) with an int argument: FIONBIO sets the socket
// non-blocking when value is not 0 and blocking otherwise. ENOTTY for
// another request, EBADF for a bad descriptor.
func (p *Proc) IoctlSetInt(fd int, req uint, value int) error {
	so, err := p.get(fd)
	if err != nil {
		return err
	}
	defer put(so)
	if req != FIONBIO {
		return ENOTTY
	}
	so.SetNonblocking(value != 0)
	return nil
}
