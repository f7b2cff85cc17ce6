package socket_test

import (
	"context"
	"fmt"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/socket"
)

// An upcall tells the owner of a socket that it became readable; the
// owner then receives without blocking. Upcalls run with the buffer locked
// and must not block, so this one only signals a channel.
func ExampleSocket_UpcallSet() {
	v := socket.NewVnet()
	defer v.Close()
	local.Attach(v, local.DefaultTunables())
	cred := socket.RootCred()
	a, _ := v.Create(socket.PF_LOCAL, socket.SOCK_DGRAM, 0, cred)
	b, _ := v.Create(socket.PF_LOCAL, socket.SOCK_DGRAM, 0, cred)
	b.Bind(socket.SockaddrUnix{Path: "/b"})

	ready := make(chan struct{}, 1)
	b.UpcallSet(socket.SO_RCV, func(so *socket.Socket, arg any, waitflag int) int {
		select {
		case arg.(chan struct{}) <- struct{}{}:
		default:
		}
		return socket.SU_OK
	}, ready)

	ctx := context.Background()
	msg := socket.UioBuf([]byte("ping"))
	a.Send(ctx, socket.SockaddrUnix{Path: "/b"}, &msg, nil, nil, 0)
	<-ready

	buf := make([]byte, 16)
	in := socket.UioBuf(buf)
	var from socket.Sockaddr
	flags := socket.MSG_DONTWAIT
	if err := b.Receive(ctx, &from, &in, nil, nil, &flags); err != nil {
		panic(err)
	}
	fmt.Printf("%s from %v\n", buf[:len(buf)-in.Resid], from)
	// Output: ping from (unnamed)
}
