package inet

import "github.com/bsdnet/bsdnet/socket"

// attachDomains adds AF_INET and AF_INET6 to the socket layer: TCP stream, UDP
// datagram sockets and raw sockets of any protocol.
func (s *Stack) attachDomains() error {
	s.tcpInit()
	for _, v6 := range []bool{false, true} {
		fam, name := socket.AF_INET, "internet"
		if v6 {
			fam, name = socket.AF_INET6, "internet6"
		}
		d := &socket.Domain{Family: fam, Name: name, Protos: []*socket.Protosw{
			s.tcpProtosw(v6),
			{Type: socket.SOCK_DGRAM, Protocol: IPPROTO_UDP,
				Flags:   socket.PR_ATOMIC | socket.PR_ADDR,
				Usrreqs: &udpProto{s: s, v6: v6}, Sosend: socket.SendDgram, Soreceive: socket.ReceiveDgram},
			{Type: socket.SOCK_RAW, Protocol: 0,
				Flags:   socket.PR_ATOMIC | socket.PR_ADDR,
				Usrreqs: &rawProto{s: s, v6: v6}, Sosend: socket.SendGeneric, Soreceive: socket.ReceiveDgram},
		}}
		if err := s.vnet.AddDomain(d); err != nil {
			return err
		}
	}
	return nil
}
