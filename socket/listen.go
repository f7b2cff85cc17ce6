package socket

import (
	"bytes"
	"context"
	"syscall"
	"time"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Listen is solisten(9): the protocol (pr_listen) checks and sets the listen
// state through ListenProtoCheck and ListenProto. A backlog below 0 or above
// the stack's somaxconn means somaxconn; 0 is kept.
func (so *Socket) Listen(backlog int) error {
	if err := so.checkOpen(); err != nil {
		return err
	}
	return so.proto.Usrreqs.Listen(so, backlog)
}

// ListenProtoCheck is solisten_proto_check(9), called by a protocol's Listen
// with the socket lock held: EINVAL for a socket connected, connecting or
// disconnecting, EAGAIN while a send or receive is in progress. On success
// it holds both buffers and their I/O locks until ListenProto or
// ListenProtoAbort.
func (so *Socket) ListenProtoCheck() error {
	if so.State()&(SS_ISCONNECTED|SS_ISCONNECTING|SS_ISDISCONNECTING) != 0 {
		return syscall.EINVAL
	}
	so.Snd.mu.Lock()
	if so.Snd.iobusy {
		so.Snd.mu.Unlock()
		return syscall.EAGAIN
	}
	so.Rcv.mu.Lock()
	if so.Rcv.iobusy {
		so.Rcv.mu.Unlock()
		so.Snd.mu.Unlock()
		return syscall.EAGAIN
	}
	so.Snd.iobusy, so.Rcv.iobusy = true, true
	return nil
}

// ListenProtoAbort is solisten_proto_abort: undo ListenProtoCheck after the
// protocol failed.
func (so *Socket) ListenProtoAbort() {
	so.Snd.ioUnlock()
	so.Rcv.ioUnlock()
	so.Rcv.mu.Unlock()
	so.Snd.mu.Unlock()
}

// ListenProto is solisten_proto(9): after ListenProtoCheck, make the socket
// a listener (the first time: its buffers are emptied and keep only their
// parameters, which accepted sockets inherit) and set the queue limit from
// backlog. The socket lock stays held.
func (so *Socket) ListenProto(backlog int) {
	if so.sol == nil {
		mbuf.FreeChain(so.Snd.DropLocked(so.Snd.ccc))
		mbuf.FreeChain(so.Rcv.DropLocked(so.Rcv.ccc))
		so.sol = &listenState{}
		so.setOptionLocked(SO_ACCEPTCONN, true)
	}
	if max := so.vnet.Somaxconn(); backlog < 0 || backlog > max {
		backlog = max
	}
	so.sol.qlimit = backlog
	so.Snd.ioUnlock()
	so.Rcv.ioUnlock()
	so.Rcv.wq.wakeup()
	so.Snd.wq.wakeup()
	so.Rcv.mu.Unlock()
	so.Snd.mu.Unlock()
}

// Newconn is sonewconn(9): a protocol makes a new socket for a connection
// arriving at the listener head, with the listener's options, buffer sizes
// and credential, and its protocol state attached. With connstatus
// SS_ISCONNECTED it goes straight to the complete queue, where accept finds
// it; with 0 to the incomplete queue until Isconnected. It returns nil when
// the queue already holds more than 1.5 times the backlog (the overflow is
// counted and logged), or when attaching fails. The listen queue holds the
// returned socket's only reference until it is accepted or aborted.
func (head *Socket) Newconn(connstatus int) *Socket {
	head.mu.Lock()
	sol := head.sol
	if sol == nil || head.closed {
		head.mu.Unlock()
		return nil
	}
	if sol.qlen > 3*sol.qlimit/2 {
		head.vnet.Stats.ListenOverflows.Add(1)
		sol.overcount++
		now := time.Now()
		var msg bool
		var count int
		if sol.lastover.IsZero() || now.Sub(sol.lastover) >= 60*time.Second {
			msg, count, sol.lastover, sol.overcount = true, sol.overcount, now, 0
		}
		qlen := sol.qlen
		head.mu.Unlock()
		if msg {
			name, _ := head.proto.Usrreqs.Sockaddr(head)
			head.vnet.logf("sonewconn: pcb %p (%s): Listen queue overflow: %d already in queue awaiting acceptance (%d occurrences)",
				head, describeListener(name), qlen, count)
		}
		return nil
	}
	so := head.vnet.alloc(head.proto, head.typ, head.cred)
	so.holders.Store(0)
	so.options.Store(head.options.Load() & (SO_KEEPALIVE | SO_DONTROUTE | SO_LINGER | SO_OOBINLINE | SO_NOSIGPIPE))
	if sol.accf != nil {
		so.options.Store(so.options.Load() | SO_ACCEPTFILTER)
		connstatus = 0
	}
	so.linger = head.linger
	so.state.Store(head.state.Load() & SS_NBIO)
	so.fibnum = head.fibnum
	head.mu.Unlock()

	head.Snd.mu.Lock()
	sndhi, sndlo, sndto, sndfl := head.Snd.hiwat, head.Snd.lowat, head.Snd.timeo, head.Snd.flags&SB_AUTOSIZE
	head.Snd.mu.Unlock()
	head.Rcv.mu.Lock()
	rcvhi, rcvlo, rcvto, rcvfl := head.Rcv.hiwat, head.Rcv.lowat, head.Rcv.timeo, head.Rcv.flags&SB_AUTOSIZE
	head.Rcv.mu.Unlock()
	if err := so.Reserve(sndhi, rcvhi); err != nil {
		return nil
	}
	so.Snd.lowat, so.Snd.timeo, so.Snd.flags = sndlo, sndto, so.Snd.flags|sndfl
	so.Rcv.lowat, so.Rcv.timeo, so.Rcv.flags = rcvlo, rcvto, so.Rcv.flags|rcvfl
	if err := head.vnet.register(so); err != nil {
		return nil
	}
	if err := head.proto.Usrreqs.Attach(so, 0); err != nil {
		head.vnet.unregister(so)
		return nil
	}
	so.attached = true

	var victims []*Socket
	head.mu.Lock()
	if head.sol == nil || head.closed {
		head.mu.Unlock()
		so.Abort()
		return nil
	}
	so.head = head
	if connstatus&SS_ISCONNECTED != 0 {
		so.state.Store(so.state.Load() | int32(connstatus))
		sol.comp.push(so)
		sol.qlen++
		so.qstate = SQ_COMP
		head.listenWakeupLocked()
	} else {
		for sol.incqlen > sol.qlimit {
			old := sol.incomp.first
			sol.incomp.remove(old)
			sol.incqlen--
			old.mu.Lock()
			old.head, old.qstate = nil, SQ_NONE
			old.mu.Unlock()
			victims = append(victims, old)
			head.vnet.Stats.IncompDropped.Add(1)
		}
		sol.incomp.push(so)
		sol.incqlen++
		so.qstate = SQ_INCOMP
	}
	head.mu.Unlock()
	for _, v := range victims {
		v.Abort()
	}
	return so
}

func describeListener(sa Sockaddr) string {
	if u, ok := sa.(SockaddrUnix); ok {
		return "local:" + u.Path
	}
	return FormatSockaddr(sa)
}

// listenWakeupLocked is solisten_wakeup with the listener locked: call its
// upcall or wake its pollers, and wake acceptors.
func (head *Socket) listenWakeupLocked() {
	sol := head.sol
	if sol.upcall != nil {
		sol.upcall(head, sol.upcallarg, M_NOWAIT)
	} else {
		sol.sel.wakeup()
	}
	sol.wq.wakeup()
}

// ListenUpcallSet is solisten_upcall_set: f is called, with the listener
// locked, whenever a connection becomes ready to accept (or the listener is
// shut down). It replaces the wakeup of pollers. A nil f clears it.
func (head *Socket) ListenUpcallSet(f Upcall, arg any) error {
	head.mu.Lock()
	defer head.mu.Unlock()
	if head.sol == nil {
		return syscall.EINVAL
	}
	head.sol.upcall, head.sol.upcallarg = f, arg
	return nil
}

// ACCEPT4_INHERIT makes ListenDequeue give the new socket the listener's
// non-blocking mode, as plain accept(2) does on FreeBSD.
const ACCEPT4_INHERIT = 0x1

// ListenDequeue is solisten_dequeue: take the first completed connection
// from the listener, sleeping while there is none unless the listener is
// non-blocking or flags has MSG_DONTWAIT (EWOULDBLOCK). A pending so_error
// on the listener (ECONNABORTED after shutdown) is returned once. EINVAL if
// the socket does not listen. The new socket is non-blocking when flags has
// SOCK_NONBLOCK, or with ACCEPT4_INHERIT when the listener is. The caller
// receives the socket's one holder; soaccept (Accept) gives its peer.
func (head *Socket) ListenDequeue(ctx context.Context, flags int) (*Socket, error) {
	if err := head.checkOpen(); err != nil {
		return nil, err
	}
	head.mu.Lock()
	defer head.mu.Unlock()
	sol := head.sol
	if sol == nil {
		return nil, syscall.EINVAL
	}
	for sol.comp.first == nil && head.soerror.Load() == 0 {
		if head.closed {
			return nil, syscall.ECONNABORTED
		}
		if head.nbio() || flags&MSG_DONTWAIT != 0 {
			return nil, syscall.EWOULDBLOCK
		}
		if err := head.vnet.msleep(&head.mu, &sol.wq, ctx, nil); err != nil {
			return nil, err
		}
	}
	if err := head.takeError(); err != nil {
		return nil, err
	}
	so := sol.comp.first
	sol.comp.remove(so)
	sol.qlen--
	so.mu.Lock()
	so.qstate, so.head = SQ_NONE, nil
	nb := flags&SOCK_NONBLOCK != 0 || (flags&ACCEPT4_INHERIT != 0 && head.nbio())
	if nb {
		so.SetStateLocked(SS_NBIO, 0)
	} else {
		so.SetStateLocked(0, SS_NBIO)
	}
	so.mu.Unlock()
	so.holders.Store(1)
	return so, nil
}

// Accept is soaccept(9): pass to the protocol's accept routine for a socket
// just taken from a listen queue, and return the peer's address.
func (so *Socket) Accept() (Sockaddr, error) {
	return so.proto.Usrreqs.Accept(so)
}

// ListenQueue returns the listener's queue lengths and limit: completed
// (sol_qlen), incomplete (sol_incqlen) and sol_qlimit; zeros when the socket
// does not listen.
func (so *Socket) ListenQueue() (qlen, incqlen, qlimit int) {
	so.mu.Lock()
	defer so.mu.Unlock()
	if so.sol == nil {
		return 0, 0, 0
	}
	return so.sol.qlen, so.sol.incqlen, so.sol.qlimit
}

// AcceptFilter is an accept filter (struct accept_filter): while a listener
// has one, a new connection waits on the incomplete queue until the filter's
// upcall, called on each receive-buffer wakeup, returns SU_ISCONNECTED.
type AcceptFilter struct {
	Name string
	// Upcall decides readiness of a child socket (accf_callback); called with
	// the child's receive buffer locked.
	Upcall Upcall
	// Create checks the argument given with SO_ACCEPTFILTER (accf_create);
	// nil accepts any.
	Create func(head *Socket, arg string) (any, error)
}

// AddAcceptFilter registers an accept filter with the stack (accf_add);
// EEXIST when one of that name exists.
func (v *Vnet) AddAcceptFilter(f *AcceptFilter) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.accf[f.Name]; ok {
		return syscall.EEXIST
	}
	v.accf[f.Name] = f
	return nil
}

// DataReady is the "dataready" accept filter (accf_data): a connection is
// ready to accept once it has data to read.
var DataReady = &AcceptFilter{
	Name: "dataready",
	Upcall: func(so *Socket, _ any, _ int) int {
		if so.Rcv.acc > 0 || so.Rcv.state&SBS_CANTRCVMORE != 0 {
			return SU_ISCONNECTED
		}
		return SU_OK
	},
}

// HTTPReady is the "httpready" accept filter (accf_http): a connection
// that starts with "GET " or "HEAD " is ready once its request is whole (the
// request line for HTTP/0.9, the blank line after the headers for 1.x);
// any other start, a full buffer or the peer's FIN makes it ready at once.
var HTTPReady = &AcceptFilter{
	Name: "httpready",
	Upcall: func(so *Socket, _ any, _ int) int {
		sb := &so.Rcv
		if sb.state&SBS_CANTRCVMORE != 0 || sb.acc >= sb.hiwat {
			return SU_ISCONNECTED
		}
		b := mbuf.Bytes(sb.mb)
		if !httpMethodPrefix(b) {
			return SU_ISCONNECTED
		}
		if len(b) < 5 {
			return SU_OK // not yet known to be GET or HEAD
		}
		eol := bytes.IndexByte(b, '\n')
		if eol < 0 {
			return SU_OK
		}
		if !bytes.Contains(b[:eol], []byte(" HTTP/1.")) {
			return SU_ISCONNECTED // HTTP/0.9: the request line is all
		}
		if bytes.Contains(b[eol:], []byte("\n\r\n")) || bytes.Contains(b[eol:], []byte("\n\n")) {
			return SU_ISCONNECTED
		}
		return SU_OK
	},
}

// httpMethodPrefix reports whether b could start a GET or HEAD request:
// it agrees with "GET " or "HEAD " as far as both go.
func httpMethodPrefix(b []byte) bool {
	for _, m := range []string{"GET ", "HEAD "} {
		n := min(len(b), len(m))
		if string(b[:n]) == m[:n] {
			return true
		}
	}
	return false
}

// Head returns the listener whose queue holds the socket (so_listen), or
// nil.
func (so *Socket) Head() *Socket {
	for {
		so.mu.Lock()
		h := so.head
		so.mu.Unlock()
		if h == nil {
			return nil
		}
		// Confirm under the listener's lock, which guards the link.
		h.mu.Lock()
		so.mu.Lock()
		same := so.head == h
		so.mu.Unlock()
		h.mu.Unlock()
		if same {
			return h
		}
	}
}

// Queued returns the sockets on a listener's queues, incomplete then
// complete; nil when the socket does not listen.
func (so *Socket) Queued() []*Socket {
	so.mu.Lock()
	defer so.mu.Unlock()
	if so.sol == nil {
		return nil
	}
	var out []*Socket
	for _, q := range []*sockq{&so.sol.incomp, &so.sol.comp} {
		for c := q.first; c != nil; c = c.qnext {
			out = append(out, c)
		}
	}
	return out
}
