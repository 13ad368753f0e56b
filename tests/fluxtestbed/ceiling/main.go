// Command ceiling replays a recorded list of API requests (fluxd's own
// server-side-apply PATCHes: same path, query, headers and body) against the
// API server as fast as a client can: HTTP/1.1 keep-alive connections, an
// admin client certificate, a fixed number of requests in flight. The
// benchmark reads its throughput as the ceiling fluxd is compared with.
//
// Namespaces go first (nothing in them can be created before), then every
// other request; that is the only ordering the API server imposes. Each run
// renames the recording's run tag to a fresh one of the same length, so
// every run creates new objects with bodies of the same size. The benchmark
// starts it once per run, so the cluster can settle between runs.
//
// Output: one JSON object per run on stdout, with the CPU the process used
// during the run (to tell a starved client from a slow server), the protocol
// the server answered with and how many connections were opened.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// request is one line of the recording.
type request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// result is what one run reports.
type result struct {
	Concurrency int     `json:"concurrency"`
	Tag         string  `json:"tag"`
	Requests    int     `json:"requests"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error"`
	CPUSeconds  float64 `json:"cpu_s"`
	Proto       string  `json:"proto"`
	Connections int64   `json:"connections"`
}

// stats is what the workers of one run share.
type stats struct {
	errs     atomic.Int64
	firstErr atomic.Value
	proto    atomic.Value
	conns    atomic.Int64
}

var namespacePath = regexp.MustCompile(`^/api/v1/namespaces/[^/?]+(\?|$)`)

func main() {
	server := flag.String("server", "", "API server URL")
	ca := flag.String("ca", "", "CA certificate file")
	cert := flag.String("cert", "", "client certificate file")
	key := flag.String("key", "", "client key file")
	recording := flag.String("requests", "", "JSON lines of recorded requests")
	from := flag.String("from", "", "run tag in the recording")
	runs := flag.String("runs", "", "comma list of concurrency:tag, run in order")
	flag.Parse()
	reqs, err := load(*recording)
	if err != nil {
		fail(err)
	}
	client, err := newClient(*ca, *cert, *key)
	if err != nil {
		fail(err)
	}
	out := json.NewEncoder(os.Stdout)
	for _, spec := range strings.Split(*runs, ",") {
		var c int
		var tag string
		if _, err := fmt.Sscanf(strings.Replace(spec, ":", " ", 1), "%d %s", &c, &tag); err != nil || c < 1 {
			fail(fmt.Errorf("bad run %q: want concurrency:tag", spec))
		}
		if len(tag) != len(*from) {
			fail(fmt.Errorf("tag %q must have the length of %q", tag, *from))
		}
		res := replay(client, *server, rename(reqs, *from, tag), c)
		res.Tag = tag
		if err := out.Encode(res); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "ceiling:", err)
	os.Exit(1)
}

func load(path string) ([]request, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var reqs []request
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		var r request
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		reqs = append(reqs, r)
	}
	return reqs, scanner.Err()
}

func newClient(ca, cert, key string) (*http.Client, error) {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	// A custom TLS config keeps net/http on HTTP/1.1, as fluxd's client is.
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}},
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: transport, Timeout: 60 * time.Second}, nil
}

func rename(reqs []request, from, to string) []request {
	out := make([]request, len(reqs))
	for i, r := range reqs {
		r.Path = strings.ReplaceAll(r.Path, from, to)
		r.Body = strings.ReplaceAll(r.Body, from, to)
		out[i] = r
	}
	return out
}

func replay(client *http.Client, server string, reqs []request, c int) result {
	var first, rest []request
	for _, r := range reqs {
		if namespacePath.MatchString(r.Path) {
			first = append(first, r)
		} else {
			rest = append(rest, r)
		}
	}
	var st stats
	cpu := cpuSeconds()
	began := time.Now()
	for _, stage := range [][]request{first, rest} {
		send(client, server, stage, c, &st)
	}
	took := time.Since(began).Seconds()
	msg, _ := st.firstErr.Load().(string)
	proto, _ := st.proto.Load().(string)
	return result{
		Concurrency: c, Requests: len(reqs), Seconds: took,
		PerSecond: float64(len(reqs)) / took, Errors: st.errs.Load(), FirstError: msg,
		CPUSeconds: cpuSeconds() - cpu, Proto: proto, Connections: st.conns.Load(),
	}
}

// cpuSeconds is the user and system CPU this process has used so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func send(client *http.Client, server string, reqs []request, c int, st *stats) {
	work := make(chan request)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := do(client, server, r, st); err != nil {
					if st.errs.Add(1) == 1 {
						st.firstErr.Store(err.Error())
					}
				}
			}
		}()
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
}

func do(client *http.Client, server string, r request, st *stats) error {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			st.conns.Add(1)
		}
	}}
	ctx := httptrace.WithClientTrace(context.Background(), trace)
	req, err := http.NewRequestWithContext(ctx, r.Method, server+r.Path, bytes.NewReader([]byte(r.Body)))
	if err != nil {
		return err
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	// The whole answer is read (and the connection kept) as any client must.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	st.proto.CompareAndSwap(nil, resp.Proto)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %.200s", r.Method, r.Path, resp.StatusCode, body)
	}
	return nil
}
