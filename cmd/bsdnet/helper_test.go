package main

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary double as a UDP client for the tap test,
// which runs it inside a network namespace (ip netns exec ... env
// BSDNET_TEST_UDP=host test-binary): it sends a datagram to the discard
// port and one to the echo port of host, and checks the echo.
func TestMain(m *testing.M) {
	if host := os.Getenv("BSDNET_TEST_UDP"); host != "" {
		if err := udpClient(host); err != nil {
			fmt.Println("udp client:", err)
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
