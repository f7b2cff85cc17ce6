package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary double as the kernel side's programs in
// the tap and nc tests, which run it inside a network namespace (ip netns
// exec ... env BSDNET_TEST_UDP=host test-binary): with BSDNET_TEST_UDP it
// sends a datagram to the discard port and one to the echo port of host
// and checks the echo; with BSDNET_TEST_TCP it talks to host's TCP echo,
// discard and HTTP servers with Go's net and net/http; with BSDNET_TEST_NC
// it is the peer of bsdnet nc (see ncPeer).
func TestMain(m *testing.M) {
	if host := os.Getenv("BSDNET_TEST_UDP"); host != "" {
		if err := udpClient(host); err != nil {
			fmt.Println("udp client:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if host := os.Getenv("BSDNET_TEST_TCP"); host != "" {
		if err := tcpClient(host); err != nil {
			fmt.Println("tcp client:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv("BSDNET_TEST_NC"); mode != "" {
		if err := ncPeer(mode, os.Getenv("BSDNET_TEST_ADDR")); err != nil {
			fmt.Println("nc peer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// udpClient is the helper's work: discard first, then echo, retrying the
// echo a few times (the first datagram may wait for address resolution).
func udpClient(host string) error {
	d, err := net.Dial("udp", net.JoinHostPort(host, "9"))
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Write([]byte("to be discarded")); err != nil {
		return err
	}
	c, err := net.Dial("udp", net.JoinHostPort(host, "7"))
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	for try := range 5 {
		msg := fmt.Sprintf("hello bsdnet %d", try)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) == msg {
			fmt.Printf("echoed: %q from %s\n", msg, c.RemoteAddr())
			return nil
		}
	}
	return fmt.Errorf("no echo from %s", c.RemoteAddr())
}

// tcpClient checks host's TCP services: an echo of a message (closing the
// write side, then reading to EOF), 100000 bytes to discard, the page at
// / and /bytes?n=100000, checked byte by byte.
func tcpClient(host string) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, "7"), 5*time.Second)
	if err != nil {
		return err
	}
	msg := "hello bsdnet over TCP"
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != msg {
		return fmt.Errorf("echo: %q, %v", got, err)
	}
	fmt.Printf("tcp echoed: %q\n", got)
	d, err := net.DialTimeout("tcp", net.JoinHostPort(host, "9"), 5*time.Second)
	if err != nil {
		return err
	}
	d.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := d.Write(make([]byte, 100000)); err != nil {
		return err
	}
	d.(*net.TCPConn).CloseWrite()
	if n, err := io.Copy(io.Discard, d); n != 0 || err != nil {
		return fmt.Errorf("discard sent back %d bytes, %v", n, err)
	}
	d.Close()
	fmt.Println("tcp discarded: 100000 bytes")
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + net.JoinHostPort(host, "80")
	resp, err := hc.Get(base + "/")
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(page), "Hello from bsdnet") || !strings.Contains(string(page), "ESTABLISHED") {
		return fmt.Errorf("GET /: %d %v:\n%s", resp.StatusCode, err, page)
	}
	fmt.Printf("http page: %d bytes\n", len(page))
	resp, err = hc.Get(base + "/bytes?n=100000")
	if err != nil {
		return err
	}
	check := &patternChecker{bad: -1}
	n, err := io.Copy(check, resp.Body)
	resp.Body.Close()
	if err != nil || n != 100000 || check.bad >= 0 {
		return fmt.Errorf("GET /bytes?n=100000: %d bytes, first bad at %d, %v", n, check.bad, err)
	}
	fmt.Printf("http bytes: %d bytes, as sent\n", n)
	return nil
}

// ncPeer is the kernel's side of the nc tests. In mode "serve" it listens
// on addr, accepts one connection, reads it to the end and answers with
// what it got, then closes; in mode "connect" it connects to addr (trying
// again while nothing listens), sends a line, shuts down its sending side
// and prints what comes back.
func ncPeer(mode, addr string) error {
	switch mode {
	case "serve":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		defer l.Close()
		fmt.Println("listening")
		l.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
		c, err := l.Accept()
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c, "kernel got %d bytes: %s", len(got), got)
		return err
	case "connect":
		var c net.Conn
		var err error
		for range 50 {
			if c, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := io.WriteString(c, "hello from the kernel\n"); err != nil {
			return err
		}
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		fmt.Printf("kernel read: %q\n", got)
		return err
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// lockedBuffer is a bytes.Buffer safe for the tap run's goroutines and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written.
func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
