// Command grpc runs a gRPC server on one bsdnet stack and its client on
// another, the two joined by a virtual wire with delay and loss, all in
// one process: no ports, no root, no network.
//
// The server offers gRPC's standard health service (grpc.health.v1) and
// the test service of gRPC's interoperability suite (grpc.testing), both
// pre-generated in the grpc module, so no protoc is needed. The client
// makes unary calls, server-streaming, client-streaming and bidirectional
// streaming calls, many at once, and checks every byte it gets back.
//
//	go run . -delay 5ms -loss 0.01 -unary 500 -streams 50
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

func main() {
	var cfg config
	flag.DurationVar(&cfg.Delay, "delay", 2*time.Millisecond, "one-way delay of the wire")
	flag.Float64Var(&cfg.Loss, "loss", 0, "probability that the wire loses a frame")
	flag.IntVar(&cfg.Unary, "unary", 200, "concurrent unary calls")
	flag.IntVar(&cfg.Streams, "streams", 20, "concurrent bidirectional streams")
	flag.IntVar(&cfg.Messages, "messages", 20, "messages each way on each stream")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "the network's seed (ports, faults)")
	flag.Parse()
	start := time.Now()
	res, err := run(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	res.print(os.Stdout)
	fmt.Printf("done in %v\n", time.Since(start).Round(time.Millisecond))
}

// config says what to run.
type config struct {
	Delay    time.Duration // the wire's one-way delay
	Loss     float64       // the wire's frame loss probability
	Unary    int           // concurrent unary calls
	Streams  int           // concurrent bidirectional streams
	Messages int           // messages each way on each stream
	Seed     uint64        // the network's seed
}

// result counts what the client checked.
type result struct {
	Health       []string // the statuses the health Watch saw
	Unary        int      // unary calls answered correctly
	ServerStream int      // messages of the server-streaming call
	ClientStream int      // bytes the server counted in the client-streaming call
	Duplex       int      // messages answered on the bidirectional streams
}

func (r result) print(w io.Writer) {
	fmt.Fprintf(w, "health watch: %v\n", r.Health)
	fmt.Fprintf(w, "unary calls: %d\n", r.Unary)
	fmt.Fprintf(w, "server-streaming messages: %d\n", r.ServerStream)
	fmt.Fprintf(w, "client-streaming bytes: %d\n", r.ClientStream)
	fmt.Fprintf(w, "bidirectional messages: %d\n", r.Duplex)
}

const port = "50051"

// run builds two hosts on a wire, serves on one and calls from the other,
// and shuts everything down before it returns.
func run(ctx context.Context, cfg config) (result, error) {
	n := bsdnet.NewNetwork(cfg.Seed)
	defer n.Close()
	server, client := n.Host("server"), n.Host("client")
	if _, err := n.Connect(server, "10.0.0.1/24, fd00::1/64", client, "10.0.0.2/24, fd00::2/64",
		link.Faults{Delay: cfg.Delay, Loss: cfg.Loss}); err != nil {
		return result{}, err
	}

	// The server: a listener on the server's stack, as net.Listen gives.
	l, err := server.Listen("tcp", net.JoinHostPort("10.0.0.1", port))
	if err != nil {
		return result{}, err
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	testpb.RegisterTestServiceServer(srv, testServer{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Stop()
		<-served
	}()

	// The client: gRPC dials through the client's stack.
	cc, err := grpc.NewClient("passthrough:///"+net.JoinHostPort("10.0.0.1", port),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return client.DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		return result{}, err
	}
	defer cc.Close()
	return exercise(ctx, cfg, cc, hs)
}

// exercise makes the calls and checks the answers.
func exercise(ctx context.Context, cfg config, cc *grpc.ClientConn, hs *health.Server) (result, error) {
	var res result
	hc := healthpb.NewHealthClient(cc)
	tc := testpb.NewTestServiceClient(cc)

	// Health: a Check, then a Watch that sees the status change.
	check, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return res, fmt.Errorf("health check: %w", err)
	}
	if check.Status != healthpb.HealthCheckResponse_SERVING {
		return res, fmt.Errorf("health check: %v, want SERVING", check.Status)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := hc.Watch(wctx, &healthpb.HealthCheckRequest{Service: "bsdnet"})
	if err != nil {
		return res, fmt.Errorf("health watch: %w", err)
	}
	for _, next := range []healthpb.HealthCheckResponse_ServingStatus{
		healthpb.HealthCheckResponse_SERVING,
		healthpb.HealthCheckResponse_NOT_SERVING,
	} {
		hs.SetServingStatus("bsdnet", next)
		got, err := watch.Recv()
		if err != nil {
			return res, fmt.Errorf("health watch: %w", err)
		}
		if got.Status == healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
			// The first report may predate the first SetServingStatus.
			if got, err = watch.Recv(); err != nil {
				return res, fmt.Errorf("health watch: %w", err)
			}
		}
		res.Health = append(res.Health, got.Status.String())
	}
	stopWatch()

	// Many unary calls at once, each with its own payload echoed back.
	var ok atomic.Int64
	errs := make(chan error, cfg.Unary+cfg.Streams+2)
	var wg sync.WaitGroup
	for i := range cfg.Unary {
		wg.Go(func() {
			body := pattern(100+i%900, byte(i))
			resp, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{
				ResponseSize: int32(2 * len(body)),
				Payload:      &testpb.Payload{Body: body},
			})
			if err != nil {
				errs <- fmt.Errorf("unary call %d: %w", i, err)
				return
			}
			if !bytes.Equal(resp.GetPayload().GetBody(), echo(body, 2*len(body))) {
				errs <- fmt.Errorf("unary call %d: wrong payload", i)
				return
			}
			ok.Add(1)
		})
	}

	// A server-streaming call and a client-streaming call beside them.
	wg.Go(func() {
		n, err := serverStream(ctx, tc, 100)
		res.ServerStream = n
		if err != nil {
			errs <- err
		}
	})
	wg.Go(func() {
		n, err := clientStream(ctx, tc, 100)
		res.ClientStream = n
		if err != nil {
			errs <- err
		}
	})

	// Bidirectional streams: each sends its messages one by one, and
	// reads each answer before sending the next (ping-pong).
	var duplex atomic.Int64
	for i := range cfg.Streams {
		wg.Go(func() {
			n, err := fullDuplex(ctx, tc, i, cfg.Messages)
			duplex.Add(int64(n))
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	res.Unary, res.Duplex = int(ok.Load()), int(duplex.Load())
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return res, errors.Join(all...)
}

// serverStream asks for n messages of growing sizes in one call.
func serverStream(ctx context.Context, tc testpb.TestServiceClient, n int) (int, error) {
	req := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("s")}}
	for i := range n {
		req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: int32(1 + 100*i)})
	}
	stream, err := tc.StreamingOutputCall(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("server streaming: %w", err)
	}
	got := 0
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return got, fmt.Errorf("server streaming: %w", err)
		}
		if want := echo([]byte("s"), 1+100*got); !bytes.Equal(resp.GetPayload().GetBody(), want) {
			return got, fmt.Errorf("server streaming: message %d is wrong", got)
		}
		got++
	}
	if got != n {
		return got, fmt.Errorf("server streaming: %d messages, want %d", got, n)
	}
	return got, nil
}

// clientStream sends n payloads of growing sizes; the server answers with
// the total.
func clientStream(ctx context.Context, tc testpb.TestServiceClient, n int) (int, error) {
	stream, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return 0, fmt.Errorf("client streaming: %w", err)
	}
	want := 0
	for i := range n {
		body := pattern(1+100*i, byte(i))
		want += len(body)
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: body}}); err != nil {
			return 0, fmt.Errorf("client streaming: %w", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return 0, fmt.Errorf("client streaming: %w", err)
	}
	got := int(resp.AggregatedPayloadSize)
	if got != want {
		return got, fmt.Errorf("client streaming: server counted %d bytes, want %d", got, want)
	}
	return got, nil
}

// fullDuplex plays ping-pong on one bidirectional stream.
func fullDuplex(ctx context.Context, tc testpb.TestServiceClient, id, n int) (int, error) {
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return 0, err
	}
	for i := range n {
		body := pattern(10+i, byte(id+i))
		size := 1000 + 10*i
		err := stream.Send(&testpb.StreamingOutputCallRequest{
			Payload:            &testpb.Payload{Body: body},
			ResponseParameters: []*testpb.ResponseParameters{{Size: int32(size)}},
		})
		if err != nil {
			return i, err
		}
		resp, err := stream.Recv()
		if err != nil {
			return i, err
		}
		if !bytes.Equal(resp.GetPayload().GetBody(), echo(body, size)) {
			return i, fmt.Errorf("message %d is wrong", i)
		}
	}
	if err := stream.CloseSend(); err != nil {
		return n, err
	}
	if _, err := stream.Recv(); err != io.EOF {
		return n, fmt.Errorf("after the last message: %v, want io.EOF", err)
	}
	return n, nil
}

// pattern returns n bytes that start at seed and count up.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// echo is the server's answer to body: body repeated to size bytes.
func echo(body []byte, size int) []byte {
	if len(body) == 0 {
		return make([]byte, size)
	}
	out := make([]byte, 0, size)
	for len(out) < size {
		out = append(out, body[:min(len(body), size-len(out))]...)
	}
	return out
}

// testServer implements grpc.testing.TestService: each answer is the
// request's payload repeated to the size asked.
type testServer struct {
	testpb.UnimplementedTestServiceServer
}

func (testServer) EmptyCall(context.Context, *testpb.Empty) (*testpb.Empty, error) {
	return &testpb.Empty{}, nil
}

func (testServer) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{
		Payload: &testpb.Payload{Body: echo(req.GetPayload().GetBody(), int(req.ResponseSize))},
	}, nil
}

func (testServer) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) error {
	for _, p := range req.ResponseParameters {
		err := stream.Send(&testpb.StreamingOutputCallResponse{
			Payload: &testpb.Payload{Body: echo(req.GetPayload().GetBody(), int(p.Size))},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (testServer) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) error {
	total := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

func (testServer) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range req.ResponseParameters {
			err := stream.Send(&testpb.StreamingOutputCallResponse{
				Payload: &testpb.Payload{Body: echo(req.GetPayload().GetBody(), int(p.Size))},
			})
			if err != nil {
				return err
			}
		}
	}
}
