package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

// ncCmd runs the nc subcommand with stdin in.
func ncCmd(t *testing.T, in string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	o, err := parseNc(args, &bytes.Buffer{})
	if err != nil {
		return "", "", err
	}
	var out, errb lockedBuffer
	err = ncRun(context.Background(), o, strings.NewReader(in), &out, &errb)
	return out.String(), errb.String(), err
}

// TestNcBuiltin talks to host b's services from host a of the built-in
// topology over TCP and UDP, IPv4 and IPv6.
func TestNcBuiltin(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		args []string
		want func(string) bool
	}{
		{"tcp echo", "hello bsdnet\n", []string{"b", "echo"}, func(s string) bool { return s == "hello bsdnet\n" }},
		{"tcp6 echo", "hello v6\n", []string{"-6", "b", "7"}, func(s string) bool { return s == "hello v6\n" }},
		{"tcp echo by address, flags after", "x\n", []string{"fd02::2", "7", "-delay", "0"}, func(s string) bool { return s == "x\n" }},
		{"tcp discard", strings.Repeat("d", 100000), []string{"10.2.0.2", "discard"}, func(s string) bool { return s == "" }},
		{"http", "GET /bytes?n=1000 HTTP/1.0\r\n\r\n", []string{"b", "http"}, func(s string) bool {
			head, body, ok := strings.Cut(s, "\r\n\r\n")
			c := &patternChecker{bad: -1}
			c.Write([]byte(body))
			return ok && strings.HasPrefix(head, "HTTP/1.0 200 OK") && len(body) == 1000 && c.bad < 0
		}},
		{"http page", "GET / HTTP/1.0\r\n\r\n", []string{"b", "80"}, func(s string) bool {
			// nc has shut down its sending side by the time the page is
			// made.
			return strings.Contains(s, "Hello from bsdnet") && strings.Contains(s, "to 10.2.0.2:80, CLOSE_WAIT")
		}},
		{"udp echo", "datagram\n", []string{"-u", "-w", "300ms", "b", "7"}, func(s string) bool { return s == "datagram\n" }},
		{"udp6 echo", "datagram6\n", []string{"-u", "-6", "-w", "300ms", "b", "7"}, func(s string) bool { return s == "datagram6\n" }},
		{"udp discard", "gone\n", []string{"-u", "-w", "300ms", "b", "9"}, func(s string) bool { return s == "" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errs, err := ncCmd(t, c.in, append([]string{"-v"}, c.args...)...)
			if err != nil {
				t.Fatalf("nc %q: %v\n%s", c.args, err, errs)
			}
			if !c.want(out) {
				t.Errorf("nc %q printed %q", c.args, out)
			}
			if !strings.Contains(errs, fmt.Sprintf("nc: %d bytes sent, %d bytes received", len(c.in), len(out))) {
				t.Errorf("nc -v does not count %d bytes sent and %d received:\n%s", len(c.in), len(out), errs)
			}
		})
	}
}

// TestNcErrors: refusals, bad operands and flags are errors, with the
// reason.
func TestNcErrors(t *testing.T) {
	_, _, err := ncCmd(t, "x", "b", "1234")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	_, _, err = ncCmd(t, "x", "-w", "200ms", "10.9.9.9", "7")
	if err == nil {
		t.Errorf("connect to a missing host succeeded")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "no port"},
		{[]string{"b"}, "want host and port"},
		{[]string{"b", "nosuchservice"}, "port \"nosuchservice\""},
		{[]string{"b", "0"}, "port \"0\""},
		{[]string{"b", "70000"}, "port"},
		{[]string{"a", "b", "c"}, "want host and port"},
		{[]string{"-l", "5000"}, "-l needs -tunnel or -tap"},
		{[]string{"-tap", "x", "-tunnel", "y", "b", "7"}, "choose one"},
		{[]string{"-addr", "10.0.0.1/24", "b", "7"}, "-addr is for"},
		{[]string{"-w", "-1s", "b", "7"}, "-w"},
		{[]string{"-loss", "2", "b", "7"}, "-loss"},
		{[]string{"nosuchhost", "7"}, "cannot resolve nosuchhost"},
		{[]string{"-tunnel", "127.0.0.1:1", "b", "7"}, "want LOCAL,REMOTE"},
	} {
		if _, _, err := ncCmd(t, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("nc %q: %v, want an error about %q", c.args, err, c.want)
		}
	}
	var errb bytes.Buffer
	if err := run([]string{"nc", "-h"}, &bytes.Buffer{}, &errb); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb.String(), "usage: bsdnet nc") {
		t.Errorf("nc -h: %v\n%s", err, errb.String())
	}
}

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestNcTunnel runs two nc's, each with a stack of its own, joined by a
// UDP tunnel over the host's loopback: one listens, the other connects,
// and each gets what the other read from its stdin, over IPv4 and IPv6.
func TestNcTunnel(t *testing.T) {
	for _, dst := range []string{"10.77.0.1", "fd77::1"} {
		t.Run(dst, func(t *testing.T) {
			p1, p2 := freeUDPPort(t), freeUDPPort(t)
			lo, err := parseNc([]string{"-v", "-l", "-w", "20s", "-tunnel", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", p1, p2), "5000"}, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			ready := make(chan struct{})
			lo.ready = func() { close(ready) }
			var lout, lerr lockedBuffer
			done := make(chan error, 1)
			go func() {
				done <- ncRun(context.Background(), lo, strings.NewReader("from the listener\n"), &lout, &lerr)
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("listener: %v\n%s", err, lerr.String())
			}
			out, errs, err := ncCmd(t, "from the client\n", "-v", "-w", "20s",
				"-tunnel", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", p2, p1), dst, "5000")
			if err != nil {
				t.Fatalf("client: %v\n%s\nthe listener so far:\n%s", err, errs, lerr.String())
			}
			if err := <-done; err != nil {
				t.Fatalf("listener: %v\n%s", err, lerr.String())
			}
			if out != "from the listener\n" || lout.String() != "from the client\n" {
				t.Errorf("client read %q, listener read %q", out, lout.String())
			}
			if !strings.Contains(lerr.String(), "connection received from") || !strings.Contains(errs, "nc: connection to "+dst+" port 5000 [tcp] succeeded") {
				t.Errorf("-v lines:\n%s\n%s", lerr.String(), errs)
			}
		})
	}
	t.Run("udp", func(t *testing.T) {
		p1, p2 := freeUDPPort(t), freeUDPPort(t)
		lo, err := parseNc([]string{"-u", "-l", "-w", "2s", "-tunnel", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", p1, p2), "5001"}, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		lo.ready = func() { close(ready) }
		var lout, lerr lockedBuffer
		done := make(chan error, 1)
		// The listener answers the first datagram with its stdin.
		go func() { done <- ncRun(context.Background(), lo, strings.NewReader("reply\n"), &lout, &lerr) }()
		<-ready
		out, errs, err := ncCmd(t, "ask\n", "-u", "-w", "1s",
			"-tunnel", fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", p2, p1), "10.77.0.1", "5001")
		if err != nil {
			t.Fatalf("client: %v\n%s", err, errs)
		}
		if err := <-done; err != nil {
			t.Fatalf("listener: %v\n%s", err, lerr.String())
		}
		if out != "reply\n" || lout.String() != "ask\n" {
			t.Errorf("client read %q, listener read %q", out, lout.String())
		}
	})
}
