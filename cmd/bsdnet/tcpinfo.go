package main

import (
	"fmt"

	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpStates are the TCP states by number, as tcp_fsm.h's tcpstates[]
// names them and netstat prints them.
var tcpStates = [...]string{"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT"}

// tcpStateName names state s.
func tcpStateName(s int) string {
	if s >= 0 && s < len(tcpStates) {
		return tcpStates[s]
	}
	return fmt.Sprint(s)
}

// tcpInfo is FreeBSD's struct tcp_info as inet decodes it.
type tcpInfo = inet.TCPInfo

// getTCPInfo reads TCP_INFO from a TCP socket.
func getTCPInfo(so *socket.Socket) (tcpInfo, error) {
	var b [inet.TCPInfoLen]byte
	sopt := socket.Sockopt{Level: inet.IPPROTO_TCP, Name: inet.TCP_INFO, Val: b[:], Valsize: len(b)}
	if err := so.GetOpt(&sopt); err != nil {
		return tcpInfo{}, err
	}
	ti, err := inet.ParseTCPInfo(b[:sopt.Valsize])
	if err != nil {
		return tcpInfo{}, fmt.Errorf("TCP_INFO: %d bytes: %w", sopt.Valsize, err)
	}
	return ti, nil
}
