package netns

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestNamespace(t *testing.T) {
	var name string
	t.Run("create", func(t *testing.T) {
		ns := New(t, "self")
		name = ns.Name()
		if !strings.HasPrefix(name, "bsdnet-self-") {
			t.Errorf("namespace name %q", name)
		}
		// The namespace is a separate stack: only its own loopback.
		out, err := ns.IP("-o", "link", "show")
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "lo:") || !strings.Contains(lines[0], "UP") {
			t.Errorf("links in a new namespace:\n%s", out)
		}
		out, err = ns.Exec("ip", "-o", "addr", "show", "dev", "lo")
		if err != nil {
			t.Fatalf("exec: %v: %s", err, out)
		}
		if !bytes.Contains(out, []byte("127.0.0.1")) {
			t.Errorf("lo in the namespace has no 127.0.0.1:\n%s", out)
		}
		if _, err := ns.Exec(); err == nil {
			t.Error("Exec with no command succeeded")
		}
		if err := ns.AdoptTAP("bsdnet-nonesuch"); err == nil {
			t.Error("adopting a device that does not exist succeeded")
		}
	})
	if name == "" {
		return // skipped
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	if bytes.Contains(out, []byte(name)) {
		t.Errorf("namespace %s still exists after its test ended", name)
	}
}
