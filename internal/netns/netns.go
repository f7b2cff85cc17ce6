// Package netns gives tests a Linux network namespace of their own, with
// a TAP device moved into it, so that bsdnet can be checked against the
// host kernel's TCP/IP stack as a real peer. It drives iproute2's ip(8).
//
// A test that cannot have a namespace (not Linux, not root, no ip command,
// namespaces not permitted) is skipped with the reason, never failed.
package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// NS is a network namespace created for one test and deleted when it ends.
type NS struct {
	name string
	ip   string // path of ip(8)
}

// Name returns the namespace's name, as `ip netns` knows it.
func (ns *NS) Name() string { return ns.name }

// Available reports whether this process can create network namespaces
// with ip(8), and if not, why.
func Available() (ok bool, why string) {
	if runtime.GOOS != "linux" {
		return false, "network namespaces are a Linux feature; this is " + runtime.GOOS
	}
	if os.Geteuid() != 0 {
		return false, "creating a network namespace and a TAP device needs root (CI runs as root)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return false, "the ip command (iproute2) is not installed: apt-get install -y iproute2"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return false, "the kernel has no network namespaces (/proc/self/ns/net: " + err.Error() + ")"
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return false, "no TUN/TAP support (/dev/net/tun: " + err.Error() + ")"
	}
	return true, ""
}

// New creates a network namespace for the test, with its loopback up, and
// registers its deletion with t.Cleanup. The namespace's name is
// "bsdnet-<name>-<pid>-<random>", so that parallel tests and parallel runs
// never collide. New skips the test, saying why, when namespaces are not
// available (see Available) or creating one fails for want of privilege.
func New(t testing.TB, name string) *NS {
	t.Helper()
	if ok, why := Available(); !ok {
		t.Skip("netns: " + why)
	}
	ip, _ := exec.LookPath("ip")
	var rnd [3]byte
	rand.Read(rnd[:])
	ns := &NS{name: fmt.Sprintf("bsdnet-%s-%d-%s", name, os.Getpid(), hex.EncodeToString(rnd[:])), ip: ip}
	if out, err := ns.ipCmd("netns", "add", ns.name); err != nil {
		t.Skipf("netns: cannot create network namespace %s (%v): %s", ns.name, err, out)
	}
	t.Cleanup(func() {
		if out, err := ns.ipCmd("netns", "delete", ns.name); err != nil {
			t.Errorf("netns: delete %s: %v: %s", ns.name, err, out)
		}
	})
	if out, err := ns.ipCmd("-n", ns.name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns: %s: lo up: %v: %s", ns.name, err, out)
	}
	return ns
}

func (ns *NS) ipCmd(args ...string) ([]byte, error) {
	out, err := exec.Command(ns.ip, args...).CombinedOutput()
	return bytes.TrimSpace(out), err
}

// Exec runs a command inside the namespace (ip netns exec) and returns its
// combined standard output and error.
func (ns *NS) Exec(args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("netns: Exec: no command")
	}
	return exec.Command(ns.ip, append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
}

// IP runs ip(8) with args inside the namespace (ip -n NS args...).
func (ns *NS) IP(args ...string) ([]byte, error) {
	out, err := ns.ipCmd(append([]string{"-n", ns.name}, args...)...)
	if err != nil {
		return out, fmt.Errorf("ip -n %s %s: %w: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// AdoptTAP moves the network device tapName (a TAP device bsdnet holds the
// other end of) into the namespace, brings it up and gives it addrs, each an
// address with its prefix length ("10.99.0.1/24", "fd99::1/64"). IPv6
// addresses are added with nodad, so that they are usable at once. The
// device stays the namespace's until its descriptor is closed, which
// destroys it.
func (ns *NS) AdoptTAP(tapName string, addrs ...string) error {
	if out, err := ns.ipCmd("link", "set", tapName, "netns", ns.name); err != nil {
		return fmt.Errorf("ip link set %s netns %s: %w: %s", tapName, ns.name, err, out)
	}
	for _, a := range addrs {
		args := []string{"addr", "add", a, "dev", tapName}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		if _, err := ns.IP(args...); err != nil {
			return err
		}
	}
	if _, err := ns.IP("link", "set", tapName, "up"); err != nil {
		return err
	}
	return nil
}
