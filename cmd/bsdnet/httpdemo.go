package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// httpDemo runs net/http's server on host b and its client on host a, and
// transfers a body of size bytes from b to a across the router, tracing
// the server's connection.
type httpDemo struct {
	size     int64
	progress io.Writer // the progress bar's terminal; nil: none
	plot     string    // the SVG file to draw the time-sequence graph in; "": none
	wires    wireOpts

	// Filled in by run, for the caller's summary and the tests.
	trace  traceData
	final  tcpInfo // the server connection's TCP_INFO after the transfer
	client *http.Client
	srv    *http.Server
}

// run transfers the body and prints what happened. The connections stay
// open (idle, kept alive) for the tables until close.
func (d *httpDemo) run(t *topology, stdout io.Writer) error {
	const url4 = "http://10.2.0.2/bytes?n="
	tracer := newTCPTracer(portHTTP)
	_, eb := t.wb.Ends()
	eb.AddTap(tracer)
	defer eb.RemoveTap(tracer)

	l, err := t.b.Listen("tcp", fmt.Sprintf(":%d", portHTTP))
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	var svc service
	d.srv = newHTTPServer(t.b, &svc, nil)
	conns := make(chan *socket.Socket, 1)
	d.srv.ConnState = func(c net.Conn, s http.ConnState) {
		if bc, ok := c.(*bsdnet.Conn); ok && s == http.StateNew {
			select {
			case conns <- bc.Socket():
			default:
			}
		}
	}
	go d.srv.Serve(l)
	d.client = &http.Client{Transport: &http.Transport{DialContext: t.a.DialContext}, Timeout: 5 * time.Minute}

	// Sample the server's TCP_INFO on a ticker of the stacks' clock (the
	// time package's, virtual under testing/synctest) once the server has
	// its connection.
	interval := max(d.wires.delay, time.Millisecond)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	var server atomic.Pointer[socket.Socket]
	go func() {
		defer sampler.Done()
		var so *socket.Socket
		select {
		case so = <-conns:
		case <-stop:
			return
		}
		server.Store(so)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if ti, err := getTCPInfo(so); err == nil {
				tracer.sample(ti)
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()

	url := url4 + fmt.Sprint(d.size)
	fmt.Fprintf(stdout, "\nHTTP: GET %s from a, served by net/http on b\n", url)
	start := time.Now()
	var bar *progressBar
	if d.progress != nil {
		bar = startProgress(d.progress, d.size)
	}
	got, status, check, err := d.get(url, bar)
	elapsed := time.Since(start)
	if bar != nil {
		bar.finish()
	}
	if so := server.Load(); so != nil && err == nil {
		drain(so, 20*interval+time.Second)
	}
	close(stop)
	sampler.Wait()
	if err != nil {
		return fmt.Errorf("http: GET %s: %w", url, err)
	}
	if so := server.Load(); so != nil {
		if d.final, err = getTCPInfo(so); err == nil {
			tracer.sample(d.final)
		}
	}
	d.trace = tracer.data()
	switch {
	case status != http.StatusOK:
		return fmt.Errorf("http: GET %s: status %d", url, status)
	case got != d.size:
		return fmt.Errorf("http: GET %s: %d bytes, want %d", url, got, d.size)
	case check.bad >= 0:
		return fmt.Errorf("http: GET %s: the body differs from what the server sent at offset %d", url, check.bad)
	}
	fmt.Fprintf(stdout, "  200 OK, %d bytes in %v (%s/s), every byte as sent\n",
		got, elapsed.Round(time.Millisecond), mb(int64(float64(got)/elapsed.Seconds())))
	fmt.Fprintf(stdout, "  server's connection: %d data segments sent, %d of them retransmissions; TCP_INFO: %s, cwnd %d bytes, ssthresh %s, smoothed RTT %v\n",
		len(d.trace.segs), d.trace.retransmissions(), tcpStateName(int(d.final.State)), d.final.SndCwnd,
		ssthreshString(d.final.SndSsthresh), d.final.RTT)
	if d.plot != "" {
		if err := d.writePlot(url); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  time-sequence graph (%d segments, %d ACKs, %d TCP_INFO samples) written to %s\n",
			len(d.trace.segs), len(d.trace.acks), len(d.trace.info), d.plot)
	}
	return nil
}

// drain waits until the server's send buffer is empty, every byte
// acknowledged (the client has read all; its last ACKs may still be on
// the wire), or for at most limit.
func drain(so *socket.Socket, limit time.Duration) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var x socket.Xsocket
		so.ToXsocket(&x)
		if x.Snd.Cc == 0 {
			return
		}
		<-tick.C
	}
}

// ssthreshString prints ssthresh, which starts out "infinite".
func ssthreshString(v uint32) string {
	if v >= 1<<30 {
		return "unset"
	}
	return fmt.Sprintf("%d bytes", v)
}

// get fetches url, checking the body against the pattern.
func (d *httpDemo) get(url string, bar *progressBar) (n int64, status int, check *patternChecker, err error) {
	resp, err := d.client.Get(url)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	check = &patternChecker{bad: -1}
	var w io.Writer = check
	if bar != nil {
		w = io.MultiWriter(check, bar)
	}
	n, err = io.Copy(w, resp.Body)
	return n, resp.StatusCode, check, err
}

// writePlot draws the trace.
func (d *httpDemo) writePlot(url string) error {
	f, err := os.Create(d.plot)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	pi := plotInfo{
		title:    fmt.Sprintf("GET %s: %s from b to a, traced at b's eth0", strings.TrimPrefix(url, "http://10.2.0.2"), byteSize(d.size)),
		subtitle: "a -- r -- b, each wire: " + d.wires.String(),
	}
	if err := writePlot(f, d.trace, pi); err != nil {
		f.Close()
		return fmt.Errorf("plot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// close ends the kept-alive connections and the server.
func (d *httpDemo) close() {
	if d.client != nil {
		d.client.CloseIdleConnections()
	}
	if d.srv != nil {
		d.srv.Close()
	}
}

// progressBar draws a transfer's progress on a terminal, refreshed ten
// times a second: [=====>    ] 45%  0.94/2.10 MB  1.2 MB/s.
type progressBar struct {
	w     io.Writer
	total int64
	start time.Time
	n     atomic.Int64
	stop  chan struct{}
	done  sync.WaitGroup
}

func startProgress(w io.Writer, total int64) *progressBar {
	p := &progressBar{w: w, total: total, start: time.Now(), stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			p.draw()
			select {
			case <-tick.C:
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// Write counts bytes received.
func (p *progressBar) Write(b []byte) (int, error) {
	p.n.Add(int64(len(b)))
	return len(b), nil
}

func (p *progressBar) draw() {
	const width = 40
	n := p.n.Load()
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(n)/float64(p.total), 1)
	}
	full := int(frac * width)
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	rate := float64(n) / max(time.Since(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r  [%s] %3.0f%%  %.2f/%.2f MB  %s/s ", bar, frac*100, float64(n)/1e6, float64(p.total)/1e6, mb(int64(rate)))
}

// finish draws the bar a last time and ends its line.
func (p *progressBar) finish() {
	close(p.stop)
	p.done.Wait()
	p.draw()
	fmt.Fprintln(p.w)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
