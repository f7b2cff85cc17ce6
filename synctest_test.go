package bsdnet_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

// Real programs on virtual time: inside a testing/synctest bubble, the
// stacks, their wires and their timers run on the bubble's clock, so
// hundreds of milliseconds of wire delay and seconds of retransmission
// timeouts cost no real time. synctest.Test fails if any goroutine of the
// bubble is still blocked when the test function returns, so each test
// also shows that closing the programs and the network (Stack.Close)
// leaves no goroutine behind. The real time each takes is logged.

// An HTTP client and server on two stacks across a wire with 100 ms of
// delay each way: every request costs exactly its round trips in virtual
// time. Shut down as a program would (the client's idle connections, the
// server, then the network), or by closing the network alone: either way
// no goroutine of the client or server is left.
func TestSynctestHTTPDelay(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		name := map[bool]string{true: "graceful", false: "network close only"}[graceful]
		t.Run(name, func(t *testing.T) { testSynctestHTTPDelay(t, graceful) })
	}
}

func testSynctestHTTPDelay(t *testing.T, graceful bool) {
	const delay = 100 * time.Millisecond
	const rtt = 2 * delay
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		n := bsdnet.NewNetwork(42)
		defer n.Close()
		a, b := n.Host("client"), n.Host("server")
		if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{Delay: delay}); err != nil {
			t.Fatal(err)
		}
		l, err := b.Listen("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		body := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
		mux := http.NewServeMux()
		mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.URL.Query().Get("n"))
		})
		mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
			// HTTP/1 handlers read the body before they answer (Go's
			// server closes it once the response starts).
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Write(b)
		})
		mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
		srv := &http.Server{Handler: mux}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		tr := &http.Transport{DialContext: a.DialContext}
		client := &http.Client{Transport: tr}

		get := func(path string) (string, time.Duration) {
			t.Helper()
			start := time.Now()
			resp, err := client.Get("http://10.0.0.2" + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
			}
			return string(b), time.Since(start)
		}

		// The first request resolves the server's address (ARP), opens
		// the connection and then asks: three round trips.
		if got, d := get("/hello?n=0"); got != "hello 0" || d != 3*rtt {
			t.Errorf("first request: %q after %v, want %q after %v (ARP, handshake, request)", got, d, "hello 0", 3*rtt)
		}
		// On the kept-alive connection, one round trip each.
		for i := 1; i <= 3; i++ {
			want := fmt.Sprintf("hello %d", i)
			if got, d := get(fmt.Sprintf("/hello?n=%d", i)); got != want || d != rtt {
				t.Errorf("request %d: %q after %v, want %q after %v (one round trip)", i, got, d, want, rtt)
			}
		}
		// A streamed request body, echoed back.
		start := time.Now()
		resp, err := client.Post("http://10.0.0.2/echo", "text/plain", strings.NewReader(strings.Repeat("x", 100000)))
		if err != nil {
			t.Fatal(err)
		}
		echoed, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(echoed) != 100000 {
			t.Errorf("echo: %d bytes, %v", len(echoed), err)
		}
		t.Logf("100 kB echoed in %v of virtual time", time.Since(start))
		// A 1 MiB response, and concurrent requests on several connections.
		if got, d := get("/big"); got != string(body) {
			t.Errorf("big body: %d bytes, want %d", len(got), len(body))
		} else {
			t.Logf("1 MiB response in %v of virtual time", d)
		}
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				want := fmt.Sprintf("hello %d", 100+i)
				if got, _ := get(fmt.Sprintf("/hello?n=%d", 100+i)); got != want {
					t.Errorf("concurrent request: %q, want %q", got, want)
				}
			})
		}
		wg.Wait()

		// Shut down: the client's idle connections, the server (its
		// listener and connections), then the network and its stacks;
		// or the network alone, which closes every socket under the
		// client and the server.
		if !graceful {
			n.Close()
			if err := <-served; !errors.Is(err, net.ErrClosed) {
				t.Errorf("Serve returned %v, want net.ErrClosed", err)
			}
			return
		}
		tr.CloseIdleConnections()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if err := <-served; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	t.Logf("real time: %v", time.Since(realStart))
}

// A TCP transfer of several MiB across a wire that loses 2% of frames
// and delays each by 5 ms, byte-exact, with loss recovery on virtual time.
func TestSynctestTCPLoss(t *testing.T) {
	const size = 4 << 20
	data := randomBytes(size, 5)
	want := sha256.Sum256(data)
	realStart := time.Now()
	synctest.Test(t, func(t *testing.T) {
		n := bsdnet.NewNetwork(7)
		defer n.Close()
		a, b := n.Host("a"), n.Host("b")
		w, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24",
			link.Faults{Delay: 5 * time.Millisecond, Loss: 0.02})
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.Listen("tcp", "10.0.0.2:9")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		got := make(chan [32]byte, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				t.Error(err)
				got <- [32]byte{}
				return
			}
			defer c.Close()
			h := sha256.New()
			if n, err := io.Copy(h, c); err != nil || n != size {
				t.Errorf("received %d bytes: %v", n, err)
			}
			var sum [32]byte
			h.Sum(sum[:0])
			got <- sum
		}()
		start := time.Now()
		c, err := a.Dial("tcp", "10.0.0.2:9")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(data); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if sum := <-got; sum != want {
			t.Error("the data received differs from the data sent")
		}
		ws := w.Stats()
		t.Logf("4 MiB in %v of virtual time; wire: %+v", time.Since(start), ws)
		st := &a.Inet().Stats.TCP
		if st.SndRexmitPack.Load() == 0 {
			t.Error("no retransmission: the wire lost nothing?")
		}
		t.Logf("sender: %d data packets, %d retransmitted", st.SndPack.Load(), st.SndRexmitPack.Load())
	})
	t.Logf("real time: %v", time.Since(realStart))
}

// Stack.Close ends the calls blocked on the stack's sockets with
// net.ErrClosed, as each one's own Close would: a Read on a TCP and a unix
// connection, an Accept and a ReadFrom of a PacketConn.
func TestStackCloseEndsBlockedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		tc, _ := tcpPair(t, st, "127.0.0.1:0")
		uc, _ := streamPair(t, st, "unix", "u")
		l, err := st.Listen("tcp", "127.0.0.1:81")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := st.ListenPacket("udp", "127.0.0.1:53")
		if err != nil {
			t.Fatal(err)
		}
		calls := map[string]func() error{
			"tcp Read":  func() error { _, err := tc.Read(make([]byte, 1)); return err },
			"unix Read": func() error { _, err := uc.Read(make([]byte, 1)); return err },
			"Accept":    func() error { _, err := l.Accept(); return err },
			"ReadFrom":  func() error { _, _, err := pc.ReadFrom(make([]byte, 1)); return err },
			"io.Copy":   func() error { _, err := io.Copy(io.Discard, tc); return err },
		}
		errs := make(map[string]chan error)
		for name, call := range calls {
			ch := make(chan error, 1)
			errs[name] = ch
			go func() { ch <- call() }()
		}
		synctest.Wait()
		st.Close()
		for name, ch := range errs {
			if err := <-ch; !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s after Stack.Close: %v, want net.ErrClosed", name, err)
			}
		}
	})
}

// Stack.Close resets the TCP connections still open, so that none lingers
// in the closed stack (no FIN to resend to a peer that may be gone, no
// TIME_WAIT, no timer): the stack holds no connection right after Close,
// and a peer on another stack reads ECONNRESET.
func TestStackCloseResetsTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := bsdnet.NewNetwork(3)
		defer n.Close()
		a, b := n.Host("a"), n.Host("b")
		if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{Delay: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		l, err := b.Listen("tcp", "10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		var peers []net.Conn
		for range 3 {
			c, err := a.Dial("tcp", "10.0.0.2:80")
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("unsent?"))
			s, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			peers = append(peers, s)
		}
		if got := a.Inet().TCPConnections(); got != 3 {
			t.Fatalf("%d connections before Close, want 3", got)
		}
		a.Close()
		if got := a.Inet().TCPConnections(); got != 0 {
			t.Errorf("%d connections left in the closed stack, want 0", got)
		}
		for _, s := range peers {
			buf := make([]byte, 100)
			var err error
			for err == nil {
				_, err = s.Read(buf)
			}
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("peer's Read after the stack's Close: %v, want ECONNRESET", err)
			}
		}
	})
}
