// Package upcallecho is an echo server driven by socket upcalls: no
// goroutine per connection. Upcalls, which run in whatever goroutine woke
// the socket and must not block, only put the connection on a run queue; a
// few worker goroutines drain it with non-blocking sends and receives. This
// is how in-kernel services (FreeBSD's NFS and RPC servers) use socket(9).
package upcallecho

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/bsdnet/bsdnet/socket"
)

// Server echoes every byte it reads on the connections of one listener.
type Server struct {
	ls   *socket.Socket
	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	queue       []*conn
	acceptReady bool
	conns       map[*conn]struct{}
	closed      bool

	// Accepted counts connections accepted; Echoed counts bytes sent back.
	Accepted atomic.Int64
	Echoed   atomic.Int64
}

// conn states, guarded by Server.mu.
const (
	idle    = iota // no work known
	queued         // on the run queue
	running        // a worker is serving it
	again          // woken while running: serve once more
	dead           // finished: upcalls are ignored
)

type conn struct {
	s       *Server
	so      *socket.Socket
	state   int
	pending []byte // echo bytes not yet sent
	buf     []byte
}

// Serve starts a server on the listening socket ls with the given number of
// workers (at least 1). The server owns ls from then on.
func Serve(ls *socket.Socket, workers int) (*Server, error) {
	s := &Server{
		ls:    ls,
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		conns: make(map[*conn]struct{}),
	}
	if err := ls.ListenUpcallSet(s.listenUpcall, nil); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.acceptReady = true // connections may have queued before the upcall
	s.mu.Unlock()
	for range max(workers, 1) {
		s.wg.Add(1)
		go s.worker()
	}
	s.wake()
	return s, nil
}

func (s *Server) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// listenUpcall runs with the listener locked: it only records readiness.
func (s *Server) listenUpcall(*socket.Socket, any, int) int {
	s.mu.Lock()
	s.acceptReady = true
	s.mu.Unlock()
	s.wake()
	return socket.SU_OK
}

// connUpcall runs with a buffer of the connection locked: it only queues.
func (s *Server) connUpcall(_ *socket.Socket, arg any, _ int) int {
	c := arg.(*conn)
	s.mu.Lock()
	switch c.state {
	case idle:
		c.state = queued
		s.queue = append(s.queue, c)
		s.mu.Unlock()
		s.wake()
		return socket.SU_OK
	case running:
		c.state = again
	}
	s.mu.Unlock()
	return socket.SU_OK
}

func (s *Server) worker() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		for s.runOnce() {
		}
	}
}

// runOnce accepts what is ready and serves one queued connection; it
// reports whether there may be more work.
func (s *Server) runOnce() bool {
	s.mu.Lock()
	accept := s.acceptReady
	s.acceptReady = false
	var c *conn
	if len(s.queue) > 0 {
		c = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		c.state = running
	}
	more := len(s.queue) > 0
	s.mu.Unlock()
	if more {
		s.wake() // let another worker share the queue
	}
	if accept {
		s.acceptAll()
	}
	if c == nil {
		return accept
	}
	alive := c.serve()
	s.mu.Lock()
	switch {
	case !alive:
		delete(s.conns, c)
		c.state = dead
	case c.state == again:
		c.state = queued
		s.queue = append(s.queue, c)
	default:
		c.state = idle
	}
	s.mu.Unlock()
	if !alive {
		c.so.UpcallClear(socket.SO_RCV)
		c.so.UpcallClear(socket.SO_SND)
		c.so.Close()
	}
	return true
}

func (s *Server) acceptAll() {
	for {
		so, err := s.ls.ListenDequeue(context.Background(), socket.MSG_DONTWAIT)
		if err != nil {
			return
		}
		s.Accepted.Add(1)
		c := &conn{s: s, so: so, buf: make([]byte, 4096)}
		so.SetNonblocking(true)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			so.Close()
			continue
		}
		s.conns[c] = struct{}{}
		c.state = queued // data may have arrived before the upcalls
		s.queue = append(s.queue, c)
		s.mu.Unlock()
		so.UpcallSet(socket.SO_RCV, s.connUpcall, c)
		so.UpcallSet(socket.SO_SND, s.connUpcall, c)
		s.wake()
	}
}

// serve moves what it can without blocking; false when the connection ended.
func (c *conn) serve() bool {
	ctx := context.Background()
	for {
		if len(c.pending) > 0 {
			u := socket.UioBuf(c.pending)
			err := c.so.Send(ctx, nil, &u, nil, nil, socket.MSG_DONTWAIT|socket.MSG_NOSIGNAL)
			sent := len(c.pending) - u.Resid
			c.s.Echoed.Add(int64(sent))
			c.pending = c.pending[sent:]
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return true // the SO_SND upcall brings us back
			}
			if err != nil {
				return false
			}
			continue
		}
		u := socket.UioBuf(c.buf)
		err := c.so.Receive(ctx, nil, &u, nil, nil, nil)
		n := len(c.buf) - u.Resid
		switch {
		case errors.Is(err, syscall.EWOULDBLOCK):
			return true
		case err != nil || n == 0:
			return false
		}
		c.pending = c.buf[:n]
	}
}

// Conns returns how many connections are open.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close stops the workers and closes the listener and every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.conns = map[*conn]struct{}{}
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	s.ls.ListenUpcallSet(nil, nil)
	err := s.ls.Close()
	for _, c := range conns {
		c.so.UpcallClear(socket.SO_RCV)
		c.so.UpcallClear(socket.SO_SND)
		c.so.Close()
	}
	return err
}
