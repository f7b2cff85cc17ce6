//go:build linux

package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/internal/netns"
)

// lockedBuffer is a bytes.Buffer safe for the tap run's goroutines and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTap runs the tap subcommand's logic in-process with the device moved
// into a network namespace (instead of -configure, which configures the
// root namespace): the kernel there pings bsdnet over IPv4 and IPv6 and
// sends datagrams to its discard and echo ports, and the counters the run
// prints at the end show it all.
func TestTap(t *testing.T) {
	ns := netns.New(t, "tap")
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("the kernel side needs ping(8) (iputils-ping): ", err)
	}
	o, err := parseTap([]string{"-duration", "30s"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	o.hostSide = func(dev string, host []netip.Prefix) error {
		if len(host) != 2 || host[0].String() != "10.99.0.1/24" || host[1].String() != "fd99::1/64" {
			t.Errorf("host side %v, want 10.99.0.1/24 and fd99::1/64", host)
		}
		return ns.AdoptTAP(dev, host[0].String(), host[1].String())
	}
	ready := make(chan string, 1)
	o.ready = func(dev string) { ready <- dev }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out lockedBuffer
	done := make(chan error, 1)
	go func() { done <- tapRun(ctx, o, &out) }()
	select {
	case dev := <-ready:
		t.Logf("TAP %s in namespace %s", dev, ns.Name())
	case err := <-done:
		t.Fatalf("tap: %v\n%s", err, out.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("tap did not come up:\n%s", out.String())
	}

	// A loaded machine can stall the TAP reader: try each command again
	// before calling it a failure.
	try := func(want string, args ...string) {
		t.Helper()
		var b []byte
		var err error
		for range 3 {
			if b, err = ns.Exec(args...); err == nil && bytes.Contains(b, []byte(want)) {
				return
			}
		}
		t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}
	try("3 received", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.99.0.2")
	try("3 received", "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", "fd99::2")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	try(`echoed: "hello bsdnet`, "env", "BSDNET_TEST_UDP=10.99.0.2", exe)
	try(`echoed: "hello bsdnet`, "env", "BSDNET_TEST_UDP=fd99::2", exe)

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tap: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"serving UDP echo (port 7) and discard (port 9)",
		"when TCP lands",
		"ping -c 3 10.99.0.2", "ping -6 -c 3 fd99::2",
		"udp echo: 14 bytes from", "udp discard: 15 bytes from",
		"netstat -s", "netstat -i",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// The counters moved: at least 3 echo requests each way over each
	// family, and at least 2 datagrams to each UDP service.
	counter := func(re string) int {
		m := regexp.MustCompile(re).FindStringSubmatch(s)
		if m == nil {
			t.Errorf("no %q in:\n%s", re, s)
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, re := range []string{
		`(\d+) ICMP echo requests received`, `ICMP echo requests received, (\d+) echo replies sent`,
		`(\d+) ICMPv6 echo requests received`, `ICMPv6 echo requests received, (\d+) echo replies sent`,
	} {
		if n := counter(re); n < 3 {
			t.Errorf("%s: %d, want at least 3", re, n)
		}
	}
	for _, re := range []string{`(\d+) datagrams \(\d+ bytes\) to UDP echo`, `(\d+) datagrams \(\d+ bytes\) to UDP discard`} {
		if n := counter(re); n < 2 {
			t.Errorf("%s: %d, want at least 2", re, n)
		}
	}
	if n := counter(`(\d+) UDP datagrams output`); n < 2 {
		t.Errorf("%d UDP datagrams output, want the echoes", n)
	}
	// netstat -i: the TAP interface received and sent packets.
	m := regexp.MustCompile(`bsdnet\s+(bsdnet\d+)\s+1500\s+10\.99\.0\.0/24\s+10\.99\.0\.2\s+(\d+)\s+\d+\s+\d+\s+(\d+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no TAP row in netstat -i:\n%s", s)
	}
	if in, _ := strconv.Atoi(m[2]); in < 10 {
		t.Errorf("%s received %d packets", m[1], in)
	}
	if outp, _ := strconv.Atoi(m[3]); outp < 10 {
		t.Errorf("%s sent %d packets", m[1], outp)
	}
	t.Logf("\n%s", s)
}
