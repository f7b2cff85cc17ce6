package bsdnet_test

import (
	"fmt"
	"io"

	"github.com/bsdnet/bsdnet"
)

// A server and a client on a stack's "unix" network, through the net.Conn
// and net.Listener adapters. Swapping st for bsdnet.HostNet() (and the
// path for one in the file system) runs the same code on the host.
func ExampleStack_Listen() {
	st := bsdnet.NewStack()
	defer st.Close()
	var n bsdnet.Net = st

	l, err := n.Listen("unix", "/run/echo.sock")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo until the client closes its side
	}()

	c, err := n.Dial("unix", "/run/echo.sock")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello, bsdnet")
	c.(*bsdnet.Conn).CloseWrite()
	reply, err := io.ReadAll(c)
	fmt.Printf("%s %v\n", reply, err)
	fmt.Println("client", c.RemoteAddr().Network(), c.RemoteAddr())
	// Output:
	// hello, bsdnet <nil>
	// client unix /run/echo.sock
}
