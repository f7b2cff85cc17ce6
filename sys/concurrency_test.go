package sys_test

import (
	"sync"
	"testing"

	"github.com/bsdnet/bsdnet/sys"
)

// Goroutines of two processes make, pass, duplicate and close descriptors
// at once; the tables stay consistent and no socket outlives its
// descriptors (the cleanup checks the stack is empty).
func TestConcurrentTable(t *testing.T) {
	e := newEnv(t)
	a, b, afd, bfd := passfd(e, sys.SOCK_DGRAM)
	const rounds = 200
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			fds, err := a.Socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0)
			if err != nil {
				t.Error(err)
				return
			}
			if err := a.Sendmsg(afd, []byte{byte(i)}, sys.UnixRights(fds[0], fds[1]), nil, 0); err != nil && err != sys.ENOBUFS {
				t.Error(err)
			}
			a.Close(fds[0])
			a.Close(fds[1])
		}
		a.Shutdown(afd, sys.SHUT_WR)
		b.Shutdown(bfd, sys.SHUT_RD)
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, 4)
		oob := make([]byte, sys.CmsgSpace(8))
		for i := 0; i < rounds; i++ {
			_, oobn, _, _, err := b.Recvmsg(bfd, buf, oob, sys.MSG_DONTWAIT)
			if err != nil {
				continue
			}
			msgs, _ := sys.ParseSocketControlMessage(oob[:oobn])
			for j := range msgs {
				fds, _ := sys.ParseUnixRights(&msgs[j])
				for _, fd := range fds {
					if d, err := b.Dup(fd); err == nil {
						b.Close(d)
					}
					b.Close(fd)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			fd, err := b.Socket(sys.AF_UNIX, sys.SOCK_DGRAM, 0)
			if err != nil {
				t.Error(err)
				return
			}
			b.Fcntl(fd, sys.F_SETFD, sys.FD_CLOEXEC)
			b.Close(fd)
		}
	}()
	wg.Wait()
}
