package socket

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Socket is a socket (struct socket).
//
// Locking key: (a) constant after creation; (b) mu, the socket lock; (f)
// atomic, written under mu; (h) the listening head's mu; (r) Rcv's lock.
// For a listener, mu also guards the listen queues.
//
// Life cycle: Create returns a socket with one holder. Hold adds holders
// (a descriptor, an SCM_RIGHTS message in flight); Close drops one and the
// last Close performs soclose(9). Internally refs counts what keeps the
// memory alive (the holders' share, a listen queue's, an operation in
// progress); the last release frees the socket: the destructor runs, then
// the protocol's Detach.
type Socket struct {
	mu    sync.Mutex
	vnet  *Vnet    // (a)
	proto *Protosw // (a)
	typ   int      // (a)
	cred  *Cred    // (a)

	// PCB is the protocol's state (so_pcb), for the protocol's use.
	PCB any

	refs     int32        // (b) so_count
	holders  atomic.Int32 // file references; the last Close closes
	state    atomic.Int32 // (f) SS_*
	options  atomic.Int32 // (f) SO_* bits
	soerror  atomic.Int32 // so_error, an errno
	sorerror atomic.Int32 // so_rerror
	attached bool         // (b) Attach succeeded
	closed   bool         // (b) soclose ran (SS_NOFDREF)
	gone     atomic.Bool  // closed: every later call is EBADF
	freed    bool         // (b)

	qstate int     // (h) SQ_*
	head   *Socket // (h) so_listen
	qnext  *Socket // (h) link on the head's queue
	qprev  *Socket // (h)

	linger   int   // (b) seconds
	timeo    waitq // (b) so_timeo: connect and linger sleepers
	dtor     func(*Socket)
	fibnum   int    // (b)
	cookie   uint32 // (b) SO_USER_COOKIE
	pacing   uint32 // (b) SO_MAX_PACING_RATE
	tsclock  int    // (b) SO_TS_CLOCK
	gencnt   uint64 // (a)
	sol      *listenState
	oobmark  int // (r) so_oobmark
	rcvfirst bool

	// Rcv and Snd are the receive and send buffers (so_rcv, so_snd).
	Rcv, Snd Sockbuf
}

// listenState is a listening socket's part (the sol_* fields), guarded by
// the socket lock.
type listenState struct {
	incomp, comp  sockq
	qlen, incqlen int
	qlimit        int
	wq            waitq
	sel           selinfo
	upcall        Upcall
	upcallarg     any
	accf          *AcceptFilter
	accfArg       string
	accfState     any
	overcount     int
	lastover      time.Time
}

// sockq is a queue of sockets linked through qnext/qprev.
type sockq struct{ first, last *Socket }

func (q *sockq) push(so *Socket) {
	so.qnext, so.qprev = nil, q.last
	if q.last != nil {
		q.last.qnext = so
	} else {
		q.first = so
	}
	q.last = so
}

func (q *sockq) remove(so *Socket) {
	if so.qprev != nil {
		so.qprev.qnext = so.qnext
	} else {
		q.first = so.qnext
	}
	if so.qnext != nil {
		so.qnext.qprev = so.qprev
	} else {
		q.last = so.qprev
	}
	so.qnext, so.qprev = nil, nil
}

func (v *Vnet) alloc(pr *Protosw, typ int, cred *Cred) *Socket {
	so := &Socket{vnet: v, proto: pr, typ: typ, cred: cred, refs: 1}
	so.holders.Store(1)
	so.Rcv.so, so.Rcv.which = so, SO_RCV
	so.Snd.so, so.Snd.which = so, SO_SND
	return so
}

// Create is socreate(9): make a socket of the domain, type and protocol,
// authorized by cred, which the socket caches for its life. EAFNOSUPPORT for
// an unknown domain; EPROTOTYPE when the domain has no protocol of that type
// and none was named; EPROTONOSUPPORT otherwise; a nil cred is EINVAL.
func (v *Vnet) Create(dom, typ, proto int, cred *Cred) (*Socket, error) {
	if cred == nil {
		return nil, syscall.EINVAL
	}
	d := v.Domain(dom)
	if d == nil {
		return nil, syscall.EAFNOSUPPORT
	}
	pr := d.findProto(typ, proto)
	if pr == nil {
		if proto == 0 && typ != 0 {
			return nil, syscall.EPROTOTYPE
		}
		return nil, syscall.EPROTONOSUPPORT
	}
	so := v.alloc(pr, typ, cred)
	if err := v.register(so); err != nil {
		return nil, err
	}
	if err := pr.Usrreqs.Attach(so, proto); err != nil {
		v.unregister(so)
		return nil, err
	}
	so.mu.Lock()
	so.attached = true
	so.mu.Unlock()
	return so, nil
}

// Vnet returns the stack the socket belongs to.
func (so *Socket) Vnet() *Vnet { return so.vnet }

// Proto returns the socket's protocol switch entry (so_proto).
func (so *Socket) Proto() *Protosw { return so.proto }

// Type returns the socket type (so_type).
func (so *Socket) Type() int { return so.typ }

// State returns so_state.
func (so *Socket) State() int { return int(so.state.Load()) }

// Options returns so_options.
func (so *Socket) Options() int { return int(so.options.Load()) }

// Listening reports whether the socket listens (SOLISTENING).
func (so *Socket) Listening() bool { return so.options.Load()&SO_ACCEPTCONN != 0 }

// Lock takes the socket lock (SOCK_LOCK).
func (so *Socket) Lock() { so.mu.Lock() }

// Unlock releases the socket lock.
func (so *Socket) Unlock() { so.mu.Unlock() }

// SetStateLocked sets and clears bits of so_state; the socket lock is held.
func (so *Socket) SetStateLocked(set, clear int) {
	so.state.Store(int32((int(so.state.Load()) &^ clear) | set))
}

func (so *Socket) setOptionLocked(bit int, on bool) {
	o := int(so.options.Load())
	if on {
		o |= bit
	} else {
		o &^= bit
	}
	so.options.Store(int32(o))
}

// SetError sets so_error, to be reported once by the next operation.
func (so *Socket) SetError(err syscall.Errno) { so.soerror.Store(int32(err)) }

// Error returns so_error without clearing it.
func (so *Socket) Error() syscall.Errno { return syscall.Errno(so.soerror.Load()) }

// takeError returns and clears so_error: errors are consumed once.
func (so *Socket) takeError() error {
	if so.soerror.Load() == 0 {
		return nil
	}
	if e := so.soerror.Swap(0); e != 0 {
		return syscall.Errno(e)
	}
	return nil
}

// SetRError sets so_rerror, the receive-side error of SO_RERROR.
func (so *Socket) SetRError(err syscall.Errno) { so.sorerror.Store(int32(err)) }

// nbio reports whether the socket is non-blocking (SS_NBIO).
func (so *Socket) nbio() bool { return so.state.Load()&SS_NBIO != 0 }

// SetNonblocking sets or clears SS_NBIO (FIONBIO).
func (so *Socket) SetNonblocking(on bool) {
	so.mu.Lock()
	if on {
		so.SetStateLocked(SS_NBIO, 0)
	} else {
		so.SetStateLocked(0, SS_NBIO)
	}
	so.mu.Unlock()
}

// rele drops a reference (sorele) and frees the socket with the last.
func (so *Socket) rele() {
	so.mu.Lock()
	so.refs--
	last := so.refs == 0
	so.mu.Unlock()
	if last {
		so.free()
	}
}

// free is sofree: run the destructor, detach the protocol, release the
// buffers. The socket is on no queue and nobody holds it.
func (so *Socket) free() {
	so.mu.Lock()
	if so.freed {
		so.mu.Unlock()
		return
	}
	so.freed = true
	dtor, attached := so.dtor, so.attached
	so.mu.Unlock()
	if dtor != nil {
		dtor(so)
	}
	if attached {
		so.proto.Usrreqs.Detach(so)
	}
	so.Snd.mu.Lock()
	snd := so.Snd.FlushLocked()
	so.Snd.mu.Unlock()
	so.Rcv.mu.Lock()
	rcv := so.Rcv.FlushLocked()
	so.Rcv.mu.Unlock()
	so.vnet.disposeQueue(so.proto.Domain, snd)
	so.vnet.disposeQueue(so.proto.Domain, rcv)
	so.vnet.unregister(so)
}

// disposeQueue frees flushed records, letting the domain release what they
// carry.
func (v *Vnet) disposeQueue(d *Domain, q *mbuf.Mbuf) {
	if q == nil {
		return
	}
	if d != nil && d.Dispose != nil {
		d.Dispose(q)
	}
	for q != nil {
		next := q.NextPkt
		q.NextPkt = nil
		v.DisposeControl(q)
		q = next
	}
}

// DtorSet is sodtor_set(9): func runs when the socket is about to be freed,
// before the protocol's Detach.
func (so *Socket) DtorSet(f func(*Socket)) {
	so.mu.Lock()
	so.dtor = f
	so.mu.Unlock()
}

// Hold adds a holder to the socket (fhold): the socket stays open until
// every holder has called Close.
func (so *Socket) Hold() { so.holders.Add(1) }

// Holders returns how many holders the socket has (f_count).
func (so *Socket) Holders() int { return int(so.holders.Load()) }

// Close is soclose(9): the caller gives up its hold on the socket, and the
// last holder's Close closes it as close(2) does: a connected socket is
// disconnected, lingering first when SO_LINGER asks, the protocol is told
// (pr_close), a listener's unaccepted connections are aborted, and the
// socket is freed once nothing else references it. The socket is released
// even when an error (a linger timeout, EWOULDBLOCK) is returned. Calls on
// a closed socket return EBADF, Close included.
func (so *Socket) Close() error {
	for {
		h := so.holders.Load()
		if h <= 0 {
			return syscall.EBADF
		}
		if so.holders.CompareAndSwap(h, h-1) {
			if h > 1 {
				return nil
			}
			return so.soclose(context.Background())
		}
	}
}

// checkOpen is the EBADF of a call on a socket already closed.
func (so *Socket) checkOpen() error {
	if so.gone.Load() {
		return syscall.EBADF
	}
	return nil
}

func (so *Socket) soclose(ctx context.Context) error {
	var err error
	st := so.State()
	if st&SS_ISCONNECTED != 0 && st&SS_ISDISCONNECTING == 0 {
		err = so.Disconnect()
		if err == syscall.ENOTCONN {
			err = nil
		}
	}
	if err == nil && so.Options()&SO_LINGER != 0 {
		so.mu.Lock()
		if so.linger != 0 && so.State()&SS_ISCONNECTED != 0 &&
			!(so.State()&SS_ISDISCONNECTING != 0 && so.nbio()) {
			to := &timeout{d: time.Duration(so.linger) * time.Second}
			for so.State()&SS_ISCONNECTED != 0 {
				if err = so.vnet.msleep(&so.mu, &so.timeo, ctx, to); err != nil {
					break
				}
			}
			to.stop()
		}
		so.mu.Unlock()
	}
	so.proto.Usrreqs.Close(so)
	so.gone.Store(true)
	// Calls still running on the socket in other goroutines return: reads
	// see end of file, writes EPIPE.
	so.Cantrcvmore()
	so.Cantsendmore()
	so.mu.Lock()
	so.closed = true
	so.timeo.wakeup() // connect and linger waiters
	var victims []*Socket
	if sol := so.sol; sol != nil {
		for _, q := range []*sockq{&sol.incomp, &sol.comp} {
			for c := q.first; c != nil; c = q.first {
				q.remove(c)
				c.mu.Lock()
				c.head, c.qstate = nil, SQ_NONE
				c.mu.Unlock()
				victims = append(victims, c)
			}
		}
		sol.qlen, sol.incqlen = 0, 0
		sol.wq.wakeup()
	}
	so.mu.Unlock()
	for _, c := range victims {
		c.Abort()
	}
	so.rele()
	return err
}

// closeAll closes the socket whatever its holders, for Vnet.Close.
func (so *Socket) closeAll() {
	so.mu.Lock()
	closed := so.closed || so.freed
	onq := so.head != nil
	so.mu.Unlock()
	if closed || onq {
		return
	}
	if so.holders.Swap(0) > 0 {
		so.SetNonblocking(true)
		so.soclose(context.Background())
	}
}

// Abort is soabort(9): destroy a socket taken from a listen queue, without
// waiting for it to disconnect. The caller removed it from the queue and
// holds no socket lock; the queue's reference goes with it.
func (so *Socket) Abort() {
	so.proto.Usrreqs.Abort(so)
	so.mu.Lock()
	so.closed = true
	so.mu.Unlock()
	so.rele()
}

// Bind is sobind(9): bind the socket to nam, authorized by its cached
// credential (pr_bind).
func (so *Socket) Bind(nam Sockaddr) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	if nam == nil {
		return syscall.EINVAL
	}
	return so.proto.Usrreqs.Bind(so, nam)
}

// Connect is soconnect(9): start connecting to nam and return at once. A
// socket connected or connecting gets EISCONN when its protocol needs a
// connection (or cannot disconnect first). The caller waits with
// WaitConnected, which sleeps on so_timeo until SS_ISCONNECTING clears or
// so_error is set. On failure Connect clears SS_ISCONNECTING itself: the
// manual's BUGS entry asking the caller to do it is mended here.
func (so *Socket) Connect(nam Sockaddr) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	if nam == nil {
		return syscall.EINVAL
	}
	if so.Listening() {
		return syscall.EOPNOTSUPP
	}
	st := so.State()
	if nam.Family() == AF_UNSPEC && so.proto.Flags&PR_CONNREQUIRED == 0 {
		// Dissolve the association, as connect(2) documents for datagram
		// sockets; FreeBSD then fails the connect to the null address,
		// bsdnet reports success, as the user asked for nothing else.
		if st&SS_ISCONNECTED != 0 {
			return so.Disconnect()
		}
		return nil
	}
	if st&(SS_ISCONNECTED|SS_ISCONNECTING) != 0 &&
		(so.proto.Flags&PR_CONNREQUIRED != 0 || so.Disconnect() != nil) {
		return syscall.EISCONN
	}
	so.soerror.Store(0)
	err := so.proto.Usrreqs.Connect(so, nam)
	if err != nil {
		so.mu.Lock()
		so.SetStateLocked(0, SS_ISCONNECTING)
		so.mu.Unlock()
	}
	return err
}

// WaitConnected sleeps on so_timeo until the connection started by Connect
// completes or fails, and returns so_error (consumed). A cancelled context is
// EINTR and a deadline EWOULDBLOCK; then SS_ISCONNECTING stays set, as after
// an interrupted connect(2), and a later Connect returns EALREADY to the
// user API. A non-blocking socket returns EINPROGRESS while connecting.
func (so *Socket) WaitConnected(ctx context.Context) error {
	so.mu.Lock()
	defer so.mu.Unlock()
	if so.State()&SS_ISCONNECTING != 0 && so.nbio() && so.soerror.Load() == 0 {
		return syscall.EINPROGRESS
	}
	for so.State()&SS_ISCONNECTING != 0 && so.soerror.Load() == 0 {
		if so.closed {
			return syscall.EBADF
		}
		if err := so.vnet.msleep(&so.mu, &so.timeo, ctx, nil); err != nil {
			return err
		}
	}
	if err := so.takeError(); err != nil {
		so.SetStateLocked(0, SS_ISCONNECTING)
		return err
	}
	return nil
}

// Connect2 is soconnect2: join two sockets directly (socketpair).
func Connect2(so1, so2 *Socket) error {
	return so1.proto.Usrreqs.Connect2(so1, so2)
}

// Disconnect is sodisconnect(9): ENOTCONN when not connected, EALREADY when
// already disconnecting, else the protocol starts the disconnection.
func (so *Socket) Disconnect() error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	st := so.State()
	if st&SS_ISCONNECTED == 0 {
		return syscall.ENOTCONN
	}
	if st&SS_ISDISCONNECTING != 0 {
		return syscall.EALREADY
	}
	return so.proto.Usrreqs.Disconnect(so)
}

// Isconnecting is soisconnecting: the protocol started a connection.
func (so *Socket) Isconnecting() {
	so.mu.Lock()
	so.SetStateLocked(SS_ISCONNECTING, SS_ISCONNECTED|SS_ISDISCONNECTING)
	so.mu.Unlock()
}

// Isconnected is soisconnected: the connection is up. A socket on a listen
// queue's incomplete list moves to the complete list (after its accept
// filter, if any, says so) and the listener is woken; any other socket's
// sleepers are woken.
func (so *Socket) Isconnected() {
	so.mu.Lock()
	so.SetStateLocked(SS_ISCONNECTED, SS_ISCONNECTING|SS_ISDISCONNECTING)
	for so.qstate == SQ_INCOMP && so.head != nil {
		head := so.head
		so.mu.Unlock()
		head.mu.Lock()
		so.mu.Lock()
		if so.head != head || so.qstate != SQ_INCOMP {
			head.mu.Unlock()
			continue
		}
		sol := head.sol
		if so.Options()&SO_ACCEPTFILTER != 0 && sol.accf != nil {
			so.setOptionLocked(SO_ACCEPTFILTER, false)
			f, arg := sol.accf, sol.accfArg
			so.mu.Unlock()
			head.mu.Unlock()
			so.Rcv.mu.Lock()
			so.Rcv.upcall, so.Rcv.upcallarg = f.Upcall, arg
			so.Rcv.flags |= SB_UPCALL
			ret := f.Upcall(so, arg, M_NOWAIT)
			if ret == SU_ISCONNECTED {
				so.Rcv.upcall, so.Rcv.upcallarg = nil, nil
				so.Rcv.flags &^= SB_UPCALL
			}
			so.Rcv.mu.Unlock()
			if ret != SU_ISCONNECTED {
				return
			}
			so.mu.Lock()
			continue
		}
		sol.incomp.remove(so)
		sol.incqlen--
		sol.comp.push(so)
		sol.qlen++
		so.qstate = SQ_COMP
		so.mu.Unlock()
		head.listenWakeupLocked()
		head.mu.Unlock()
		return
	}
	so.timeo.wakeup()
	so.mu.Unlock()
	so.Rwakeup()
	so.Wwakeup()
}

// Isdisconnecting is soisdisconnecting: the connection is closing; no more
// can be sent or received.
func (so *Socket) Isdisconnecting() {
	so.mu.Lock()
	so.SetStateLocked(SS_ISDISCONNECTING, SS_ISCONNECTING)
	so.timeo.wakeup()
	so.mu.Unlock()
	so.Cantrcvmore()
	so.Cantsendmore()
}

// Isdisconnected is soisdisconnected: the connection is gone. Unsent data is
// dropped; data already received may still be read.
func (so *Socket) Isdisconnected() {
	so.mu.Lock()
	so.SetStateLocked(SS_ISDISCONNECTED, SS_ISCONNECTING|SS_ISCONNECTED|SS_ISDISCONNECTING)
	so.timeo.wakeup()
	so.mu.Unlock()
	so.Cantrcvmore()
	so.Snd.mu.Lock()
	dropped := so.Snd.DropLocked(so.Snd.ccc)
	so.Snd.state |= SBS_CANTSENDMORE
	so.WwakeupLocked()
	mbuf.FreeChain(dropped)
}

// Cantsendmore is socantsendmore: nothing more may be sent.
func (so *Socket) Cantsendmore() {
	so.Snd.mu.Lock()
	so.Snd.state |= SBS_CANTSENDMORE
	so.WwakeupLocked()
}

// CantsendmoreLocked is socantsendmore_locked: as Cantsendmore with Snd
// locked; it returns with Snd unlocked.
func (so *Socket) CantsendmoreLocked() {
	so.Snd.state |= SBS_CANTSENDMORE
	so.WwakeupLocked()
}

// Cantrcvmore is socantrcvmore: nothing more will arrive; what is queued may
// still be read, then reads return 0.
func (so *Socket) Cantrcvmore() {
	so.Rcv.mu.Lock()
	so.Rcv.state |= SBS_CANTRCVMORE
	so.RwakeupLocked()
}

// CantrcvmoreLocked is socantrcvmore_locked: with Rcv locked; returns with it
// unlocked.
func (so *Socket) CantrcvmoreLocked() {
	so.Rcv.state |= SBS_CANTRCVMORE
	so.RwakeupLocked()
}

// HasOutOfBand is sohasoutofband(9): the protocol tells the socket layer
// that out-of-band data arrived (it has set the mark itself); pollers of
// POLLPRI and POLLRDBAND are woken.
func (so *Socket) HasOutOfBand() {
	so.Rcv.mu.Lock()
	so.Rcv.sel.wakeup()
	so.Rcv.wq.wakeup()
	so.Rcv.mu.Unlock()
}

// SetOOBMarkLocked sets so_oobmark, the bytes before the out-of-band mark;
// Rcv is locked.
func (so *Socket) SetOOBMarkLocked(n int) {
	so.oobmark = n
	if n == 0 {
		so.Rcv.state |= SBS_RCVATMARK
	}
}

// Reserve is soreserve(9): size both buffers (sbreserve), with ENOBUFS past
// the stack's limit, and give the low watermarks their defaults.
func (so *Socket) Reserve(sndcc, rcvcc int) error {
	so.Snd.mu.Lock()
	defer so.Snd.mu.Unlock()
	so.Rcv.mu.Lock()
	defer so.Rcv.mu.Unlock()
	oldhi, oldmb := so.Snd.hiwat, so.Snd.mbmax
	if err := so.Snd.reserveLocked(sndcc); err != nil {
		return err
	}
	if err := so.Rcv.reserveLocked(rcvcc); err != nil {
		so.Snd.hiwat, so.Snd.mbmax = oldhi, oldmb
		return err
	}
	if so.Rcv.lowat == 0 {
		so.Rcv.lowat = 1
	}
	if so.Snd.lowat == 0 {
		so.Snd.lowat = mbuf.MCLBYTES
	}
	if so.Snd.lowat > so.Snd.hiwat {
		so.Snd.lowat = so.Snd.hiwat
	}
	return nil
}

// Shutdown is soshutdown(9): how is SHUT_RD, SHUT_WR or SHUT_RDWR (else
// EINVAL). An unconnected stream socket gets ENOTCONN and nothing is done;
// an unconnected datagram socket and a listener get ENOTCONN but the
// shutdown is done (a listener's acceptors are woken with ECONNABORTED).
func (so *Socket) Shutdown(how int) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	if how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR {
		return syscall.EINVAL
	}
	var soerr error
	if so.State()&(SS_ISCONNECTED|SS_ISCONNECTING|SS_ISDISCONNECTING) == 0 {
		if so.typ != SOCK_DGRAM && !so.Listening() {
			return syscall.ENOTCONN
		}
		soerr = syscall.ENOTCONN
	}
	if so.Listening() {
		if how != SHUT_WR {
			so.mu.Lock()
			so.SetError(syscall.ECONNABORTED)
			if so.sol != nil {
				so.listenWakeupLocked()
			}
			so.mu.Unlock()
		}
		return soerr
	}
	so.proto.Usrreqs.Flush(so, how)
	if how != SHUT_WR {
		so.Rflush()
	}
	if how != SHUT_RD {
		if err := so.proto.Usrreqs.Shutdown(so); err != nil {
			soerr = err
		}
	}
	so.mu.Lock()
	so.timeo.wakeup()
	so.mu.Unlock()
	return soerr
}

// Rflush is sorflush: mark the receive side shut (waking readers), then
// discard what it holds, releasing any descriptors in flight.
func (so *Socket) Rflush() {
	so.Cantrcvmore()
	so.Rcv.mu.Lock()
	for so.Rcv.iobusy {
		so.vnet.msleep(&so.Rcv.mu, &so.Rcv.iowq, context.Background(), nil)
	}
	q := so.Rcv.FlushLocked()
	so.Rcv.mu.Unlock()
	so.vnet.disposeQueue(so.proto.Domain, q)
}

// Sockaddr returns the socket's local address (sosockaddr, getsockname(2)).
func (so *Socket) Sockaddr() (Sockaddr, error) {
	if err := so.checkOpen(); err != nil {
		return nil, err
	}
	return so.proto.Usrreqs.Sockaddr(so)
}

// Peeraddr returns the connected peer's address (sopeeraddr, as
// getpeername(2) calls it): ENOTCONN when the socket is not connected.
func (so *Socket) Peeraddr() (Sockaddr, error) {
	if err := so.checkOpen(); err != nil {
		return nil, err
	}
	if so.State()&(SS_ISCONNECTED|SS_ISCONFIRMING) == 0 {
		return nil, syscall.ENOTCONN
	}
	return so.proto.Usrreqs.Peeraddr(so)
}
