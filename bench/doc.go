// Package bench holds bsdnet's benchmarks, each measuring bsdnet against a
// peer in the same run, as sub-benchmarks named after the peer:
//
//	bsdnet  bsdnet's socket layer (here PF_LOCAL), driven through socket(9)
//	kernel  the host kernel's sockets through Go's net package
//
// The benchmarks are in the package's test files; run them with
//
//	go test -run XXX -bench . ./bench/
//
// and compare the bsdnet and kernel lines of each benchmark. Every workload
// also runs briefly, with its data checked, as an ordinary test, so that
// `go test ./...` exercises the code.
//
// Figures other than ns/op are reported as custom metrics: MB/s for stream
// throughput, dgrams/s and conns/s for rates, B/pair and goroutines/socket
// for the footprint of idle connections. Peers that need modules beyond the
// standard library (gVisor's netstack) belong in a module of their own
// under bench/, so that bsdnet itself stays light.
package bench
