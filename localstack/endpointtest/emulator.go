package endpointtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The AWS Lambda Runtime Interface Emulator, which runs a Lambda bootstrap
// locally behind the Lambda invoke API.
const (
	// RIEBinary is the emulator's executable.
	RIEBinary = "aws-lambda-rie"
	// RIEVersion is the pseudo-version of its module that the module proxy
	// serves (.ci/run installs the same).
	RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// LookRIE returns the emulator's path, from PATH or $(go env GOPATH)/bin.
// Without it the test is skipped, or fails under STEPCQRS_REQUIRE_ENDPOINT=1.
func LookRIE(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath(RIEBinary); err == nil {
		return p
	}
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		cand := filepath.Join(strings.TrimSpace(string(gp)), "bin", RIEBinary)
		if _, err := os.Stat(cand); err == nil {
			return cand
		}
	}
	skipOrFail(t, "the AWS Lambda Runtime Interface Emulator ("+RIEBinary+") is not on PATH nor in $(go env GOPATH)/bin: "+
		"go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+RIEVersion+" (.ci/run does)")
	return ""
}

// FreeAddr returns a loopback address with a port the kernel picked.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Emulator is a bootstrap running under the emulator.
type Emulator struct {
	// URL is the emulator's endpoint: POST
	// URL/2015-03-31/functions/function/invocations invokes the function.
	URL  string
	logs lockedBuffer
}

// Logs returns what the emulator and the bootstrap printed so far.
func (e *Emulator) Logs() string { return e.logs.String() }

// StartEmulator runs bootstrap under the emulator rie (see LookRIE), in
// dir with the environment env, on loopback ports of its own, and returns
// once it listens. The process is killed when the test ends, and its
// output logged if the test failed.
func StartEmulator(t testing.TB, rie, bootstrap, dir string, env []string) *Emulator {
	t.Helper()
	addr, apiAddr := FreeAddr(t), FreeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Dir, cmd.Env = dir, env
	e := &Emulator{URL: "http://" + addr}
	cmd.Stdout, cmd.Stderr = &e.logs, &e.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and bootstrap logs:\n%s", e.Logs())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		// A bare TCP connection, no request: the emulator takes one
		// request at a time.
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator did not listen on %s:\n%s", addr, e.Logs())
		}
		time.Sleep(5 * time.Millisecond) // waiting for another process to bind its port
	}
}

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
