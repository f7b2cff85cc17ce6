package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bsdnet/bsdnet"
)

// The services a stack offers in the tap and nc commands and the demo:
// echo (RFC 862) and discard (RFC 863) over TCP and UDP, and HTTP with a
// small page and /bytes?n=N. Each runs on the stack's sockets through the
// net adapters; the servers have a goroutine per connection, as Go's
// servers do (the stack underneath has none).

// Service ports.
const (
	portEcho    = 7
	portDiscard = 9
	portHTTP    = 80
)

// maxBytes bounds /bytes?n=N.
const maxBytes = 1 << 32

// service counts what one service handled.
type service struct {
	name  string
	count atomic.Uint64 // connections, datagrams or requests
	bytes atomic.Uint64 // bytes received (echo, discard) or sent (http)
}

// services runs the servers on one stack until Close.
type services struct {
	st  *bsdnet.Stack
	log io.Writer // a line per connection, datagram and request; nil: none

	tcpEcho, tcpDiscard, udpEcho, udpDiscard, http service

	wg        sync.WaitGroup
	listeners []net.Listener
	packets   []net.PacketConn
	srv       *http.Server

	mu    sync.Mutex
	conns map[net.Conn]struct{} // open echo and discard connections
}

// startServices listens on the stack's wildcard addresses (IPv4 and IPv6)
// for every service. log, if not nil, gets a line for each connection,
// datagram and request.
func startServices(st *bsdnet.Stack, log io.Writer) (*services, error) {
	s := &services{st: st, log: log, conns: make(map[net.Conn]struct{}),
		tcpEcho: service{name: "TCP echo"}, tcpDiscard: service{name: "TCP discard"},
		udpEcho: service{name: "UDP echo"}, udpDiscard: service{name: "UDP discard"},
		http: service{name: "HTTP"}}
	if err := s.start(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *services) start() error {
	for _, c := range []struct {
		port int
		svc  *service
		echo bool
	}{{portEcho, &s.tcpEcho, true}, {portDiscard, &s.tcpDiscard, false}} {
		l, err := s.st.Listen("tcp", fmt.Sprintf(":%d", c.port))
		if err != nil {
			return err
		}
		s.listeners = append(s.listeners, l)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.acceptLoop(l, c.svc, c.echo)
		}()
	}
	for _, c := range []struct {
		port int
		svc  *service
		echo bool
	}{{portEcho, &s.udpEcho, true}, {portDiscard, &s.udpDiscard, false}} {
		pc, err := s.st.ListenPacket("udp", fmt.Sprintf(":%d", c.port))
		if err != nil {
			return err
		}
		s.packets = append(s.packets, pc)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.packetLoop(pc, c.svc, c.echo)
		}()
	}
	l, err := s.st.Listen("tcp", fmt.Sprintf(":%d", portHTTP))
	if err != nil {
		return err
	}
	s.srv = newHTTPServer(s.st, &s.http, s.log)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.srv.Serve(l)
	}()
	return nil
}

func (s *services) logf(format string, args ...any) {
	if s.log != nil {
		fmt.Fprintf(s.log, format, args...)
	}
}

// acceptLoop serves the connections of one listener until it is closed.
func (s *services) acceptLoop(l net.Listener, svc *service, echo bool) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		svc.count.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			var w io.Writer = io.Discard
			if echo {
				w = c
			}
			n, err := io.Copy(w, c)
			svc.bytes.Add(uint64(n))
			what := "discarded"
			if echo {
				what = "echoed"
			}
			if err != nil && !errors.Is(err, net.ErrClosed) {
				what += fmt.Sprintf(" (%v)", err)
			}
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.logf("%s: connection from %v: %d bytes %s\n", svc.name, c.RemoteAddr(), n, what)
		}()
	}
}

// packetLoop serves datagrams until the socket is closed.
func (s *services) packetLoop(c net.PacketConn, svc *service, echo bool) {
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		svc.count.Add(1)
		svc.bytes.Add(uint64(n))
		what := "discarded"
		if echo {
			what = "echoed"
			if _, err := c.WriteTo(buf[:n], from); err != nil {
				what = fmt.Sprintf("not echoed (%v)", err)
			}
		}
		s.logf("%s: %d bytes from %v %s\n", svc.name, n, from, what)
	}
}

// Close stops every server and closes their connections.
func (s *services) Close() {
	for _, l := range s.listeners {
		l.Close()
	}
	for _, p := range s.packets {
		p.Close()
	}
	if s.srv != nil {
		s.srv.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// summary prints what each service handled, a tab-indented line each.
func (s *services) summary(w io.Writer) {
	for _, c := range []struct {
		svc  *service
		what string
	}{
		{&s.tcpEcho, "connections (%d bytes echoed) to"}, {&s.tcpDiscard, "connections (%d bytes discarded) to"},
		{&s.udpEcho, "datagrams (%d bytes) to"}, {&s.udpDiscard, "datagrams (%d bytes) to"},
		{&s.http, "requests (%d bytes of responses) to"},
	} {
		fmt.Fprintf(w, "\t%d "+c.what+" %s\n", c.svc.count.Load(), c.svc.bytes.Load(), c.svc.name)
	}
}

// connKey is the context key of the connection an HTTP request came on.
type connKey struct{}

// newHTTPServer returns the HTTP server of st: a page about the request's
// connection at /, and N bytes of a printable pattern at /bytes?n=N.
// Requests are counted in svc and logged to log, if not nil.
func newHTTPServer(st *bsdnet.Stack, svc *service, logw io.Writer) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := httpPage(st, r)
		n, _ := io.WriteString(w, page)
		svc.bytes.Add(uint64(n))
	})
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("n")
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 || n > maxBytes {
			http.Error(w, fmt.Sprintf("n=%q: want a byte count within 0..%d", q, int64(maxBytes)), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		sent, _ := writePattern(w, n)
		svc.bytes.Add(uint64(sent))
	})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc.count.Add(1)
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		if logw != nil {
			fmt.Fprintf(logw, "HTTP: %s %s from %s: %d, %d bytes\n", r.Method, r.URL.RequestURI(), r.RemoteAddr, rec.status, rec.n)
		}
	})
	return &http.Server{
		Handler:     h,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
		ErrorLog:    log.New(io.Discard, "", 0),
		ReadTimeout: time.Minute,
	}
}

// statusWriter remembers the status and counts the body of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

// WriteHeader remembers the status and sends it.
func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Write counts and sends a part of the body.
func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// httpPage is the page at /: the stack's name and the request's
// connection as the stack sees it.
func httpPage(st *bsdnet.Stack, r *http.Request) string {
	conn := ""
	if c, ok := r.Context().Value(connKey{}).(*bsdnet.Conn); ok {
		conn = fmt.Sprintf("<p>Your connection: %s to %s", html.EscapeString(c.RemoteAddr().String()), html.EscapeString(c.LocalAddr().String()))
		if ti, err := getTCPInfo(c.Socket()); err == nil {
			conn += fmt.Sprintf(", %s, MSS %d, cwnd %d bytes, smoothed RTT %v (TCP_INFO)",
				tcpStateName(int(ti.State)), ti.SndMSS, ti.SndCwnd, ti.RTT)
		}
		conn += ".</p>\n"
	}
	return fmt.Sprintf(`<!DOCTYPE html>
<html><head><title>bsdnet</title></head>
<body>
<h1>Hello from bsdnet</h1>
<p>This page was served by Go's net/http on host %s, a bsdnet stack: FreeBSD's
socket layer and TCP/IP written in Go, running in user space.</p>
%s<p>Try <a href="/bytes?n=1048576">/bytes?n=1048576</a> for a megabyte of text,
or the echo (7) and discard (9) ports over TCP and UDP.</p>
</body></html>
`, html.EscapeString(st.Name()), conn)
}

// The /bytes pattern: 64-byte lines of letters and digits, each line
// starting one character further on, so that every offset's byte is known
// (a client can check a body) and the text reads well in a terminal.
const (
	patternAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	patternLine  = 64
	// patternPeriod is where the pattern repeats.
	patternPeriod = len(patternAlnum) * patternLine
)

// patternAt returns the pattern's byte at offset i.
func patternAt(i int64) byte {
	line, pos := i/patternLine, i%patternLine
	if pos == patternLine-1 {
		return '\n'
	}
	return patternAlnum[(line+pos)%int64(len(patternAlnum))]
}

// patternBuf holds 16 periods of the pattern.
var patternBuf = func() []byte {
	b := make([]byte, 16*patternPeriod)
	for i := range b {
		b[i] = patternAt(int64(i))
	}
	return b
}()

// writePattern writes the first n bytes of the pattern to w.
func writePattern(w io.Writer, n int64) (int64, error) {
	var sent int64
	for sent < n {
		k := min(n-sent, int64(len(patternBuf)))
		m, err := w.Write(patternBuf[:k])
		sent += int64(m)
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// patternChecker is a writer that checks what it is given against the
// pattern, from offset 0.
type patternChecker struct {
	off int64
	bad int64 // offset of the first wrong byte, -1 when none
}

// Write checks b as the next bytes of the pattern.
func (c *patternChecker) Write(b []byte) (int, error) {
	for i, x := range b {
		if c.bad < 0 && x != patternAt(c.off+int64(i)) {
			c.bad = c.off + int64(i)
		}
	}
	c.off += int64(len(b))
	return len(b), nil
}
