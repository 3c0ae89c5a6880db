// Package endpointtest gives integration tests an AWS-compatible endpoint.
//
// Config returns an aws.Config for the endpoint:
//
//   - if AWS_ENDPOINT_URL is set, that endpoint (LocalStack, moto, or real
//     AWS when it names an AWS URL) with the environment's credentials and
//     region, falling back to test/test and us-east-1;
//   - else, if moto_server is on PATH, one moto_server per test binary,
//     started on a free loopback port at first use and stopped when the
//     test binary ends (call Main from TestMain for an orderly stop; the
//     server also dies with the test process, as it is started in its own
//     process group with a parent-death signal);
//   - else the test is skipped with one line saying why, or fails when
//     STEPCQRS_REQUIRE_ENDPOINT=1 (CI sets it so the suites really run).
//
// moto is started with state machine execution disabled (its default), since
// moto 5.2.1 answers a second StartExecution with HTTP 500 when execution is
// enabled.
package endpointtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Environment variables the package reads.
const (
	// EnvEndpoint selects an existing endpoint (honoured by aws-sdk-go-v2).
	EnvEndpoint = "AWS_ENDPOINT_URL"
	// EnvRequire, when "1" or "true", turns a missing endpoint into a test
	// failure instead of a skip.
	EnvRequire = "STEPCQRS_REQUIRE_ENDPOINT"
	// MotoBinary is the moto server executable looked up on PATH.
	MotoBinary = "moto_server"
)

// Region is the region of the test configuration when none is set.
const Region = "us-east-1"

type server struct {
	url    string
	cmd    *exec.Cmd
	exited <-chan error // receives once the server process has ended
	err    error
}

var (
	once    sync.Once
	started *server
	stopped atomic.Bool
)

// Endpoint returns the endpoint URL tests use, starting moto if needed, or
// skips (or fails, under STEPCQRS_REQUIRE_ENDPOINT) t when there is none.
func Endpoint(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvEndpoint); u != "" {
		return u
	}
	once.Do(func() { started = startMoto() })
	if started.err != nil {
		unavailable(t, started.err.Error())
	}
	return started.url
}

// UsesMoto reports whether Config will start a moto server of this test
// binary: AWS_ENDPOINT_URL is unset and moto_server is on PATH. Tests use it
// to adapt to moto's known divergences from AWS.
func UsesMoto() bool {
	if External() {
		return false
	}
	_, err := exec.LookPath(MotoBinary)
	return err == nil
}

// External reports whether the endpoint comes from AWS_ENDPOINT_URL rather
// than a moto server of this test binary.
func External() bool { return os.Getenv(EnvEndpoint) != "" }

func unavailable(t testing.TB, why string) {
	t.Helper()
	skipOrFail(t, "no AWS-compatible endpoint: "+why+" (set AWS_ENDPOINT_URL or install moto: pip install 'moto[server]')")
}

// skipOrFail skips the test with msg, or fails it when EnvRequire is set.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if v := os.Getenv(EnvRequire); v == "1" || strings.EqualFold(v, "true") {
		t.Fatal(msg + "; " + EnvRequire + " is set")
	}
	t.Skip(msg)
}

// Config returns the aws.Config of the test endpoint: static credentials
// test/test (unless the environment has credentials and AWS_ENDPOINT_URL is
// set) and region us-east-1 unless AWS_REGION says otherwise. The SDK's
// default HTTP client is kept, so AWS_CA_BUNDLE keeps working.
func Config(t testing.TB) aws.Config {
	t.Helper()
	url := Endpoint(t)
	opts := []func(*config.LoadOptions) error{config.WithBaseEndpoint(url)}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(Region))
	}
	if !External() || os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("endpointtest: loading AWS config: %v", err)
	}
	return cfg
}

// serialMu is the lock of Serialized clients: one request of them at a
// time in this process.
var serialMu sync.Mutex

// serialDoer sends requests one at a time, the response body read in full
// before the next request goes out.
type serialDoer struct{ next aws.HTTPClient }

func (d serialDoer) Do(req *http.Request) (*http.Response, error) {
	serialMu.Lock()
	defer serialMu.Unlock()
	resp, err := d.next.Do(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// Serialized returns cfg whose clients send their requests to a moto
// endpoint one at a time (all Serialized clients of the test binary share
// one lock); on another endpoint it returns cfg unchanged.
//
// moto handles requests on concurrent threads without isolating them: two
// conditional writes of one item, two ADDs to one counter, two
// transactions on one item, two StartExecution calls of one name can
// interleave inside moto and both succeed, or lose an update
// (awsadapter's TestTransactWriteItemsIsolation reproduces it). DynamoDB
// and Step Functions isolate each request. Tests of concurrency properties
// use Serialized clients on moto: the requests still interleave at request
// granularity — an adapter that read and wrote in two requests where one
// conditional request is needed still loses — but moto's own race is out.
// Do not use it for a client whose requests must overlap (an SQS long poll
// waiting for a concurrent send).
func Serialized(cfg aws.Config) aws.Config {
	if External() {
		return cfg
	}
	next := cfg.HTTPClient
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = serialDoer{next: next}
	return cfg
}

// Reset clears all state of a moto endpoint (POST /moto-api/reset). On an
// endpoint that is not moto it does nothing but log; tests that share such
// an endpoint should use unique resource names instead (see Name).
func Reset(t testing.TB) {
	t.Helper()
	url := Endpoint(t)
	resp, err := http.Post(strings.TrimRight(url, "/")+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("endpointtest: reset %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if External() {
			t.Logf("endpointtest: %s does not support /moto-api/reset (HTTP %d); state kept", url, resp.StatusCode)
			return
		}
		t.Fatalf("endpointtest: reset %s: HTTP %d", url, resp.StatusCode)
	}
}

var nameSeq atomic.Int64

// Name returns a resource name that begins with prefix and is unique across
// test processes: prefix, the process id and a counter, valid as a table,
// queue, topic, bucket (lower case) and state machine name.
func Name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameSeq.Add(1))
}

// Main runs the tests of m and then stops the moto server this test binary
// started, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { endpointtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the moto server this test binary started, if any. It is safe
// to call more than once.
func Stop() {
	if started == nil || started.cmd == nil || !stopped.CompareAndSwap(false, true) {
		return
	}
	pid := started.cmd.Process.Pid
	_ = terminate(pid)
	select {
	case <-started.exited:
	case <-time.After(3 * time.Second):
		_ = kill(pid)
		<-started.exited
	}
}

// motoListening matches the line in which moto (werkzeug) reports the
// address it listens on.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// startMoto starts moto_server on a port the kernel picks (-p 0), so that no
// other process can take the port between choosing and binding it, reads the
// port from moto's log and waits until the server answers.
func startMoto() *server {
	bin, err := exec.LookPath(MotoBinary)
	if err != nil {
		return &server{err: errors.New(MotoBinary + " not on PATH and AWS_ENDPOINT_URL not set")}
	}
	return launch(bin)
}

// launch starts the server from a goroutine locked to its OS thread that
// never ends, because the parent-death signal (Linux) fires when the thread
// that forked the child exits, not only when the process does.
func launch(bin string) *server {
	res := make(chan *server, 1)
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
		cmd.SysProcAttr = sysProcAttr()
		cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
		logs, err := cmd.StderrPipe()
		if err != nil {
			res <- &server{err: err}
			return
		}
		cmd.Stdout = io.Discard
		if err := cmd.Start(); err != nil {
			res <- &server{err: fmt.Errorf("starting %s: %w", bin, err)}
			return
		}
		addr := make(chan string, 1)
		go func() {
			// Read until moto says where it listens, then drain its request
			// log so that it never blocks on a full pipe.
			sc := bufio.NewScanner(logs)
			for sc.Scan() {
				if m := motoListening.FindStringSubmatch(sc.Text()); m != nil {
					addr <- m[1]
					break
				}
			}
			close(addr)
			_, _ = io.Copy(io.Discard, logs)
		}()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		fail := func(format string, args ...any) {
			_ = kill(cmd.Process.Pid)
			res <- &server{err: fmt.Errorf(format, args...)}
		}
		var url string
		select {
		case u, ok := <-addr:
			if !ok {
				fail("%s ended its log without saying where it listens", bin)
				return
			}
			url = u
		case <-time.After(30 * time.Second):
			fail("%s did not start within 30s", bin)
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if resp, err := http.Get(url + "/moto-api/"); err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				fail("%s did not answer on %s within 30s", bin, url)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		res <- &server{url: url, cmd: cmd, exited: exited}
		select {} // keep the thread alive for the parent-death signal
	}()
	return <-res
}
