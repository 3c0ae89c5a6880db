package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{{"serve"}, {"serve", "--example", "--config", "x.json"}, {"serve", "extra", "--example"}} {
		var out, errb bytes.Buffer
		if code := execute(context.Background(), args, strings.NewReader(""), &out, &errb); code != 2 || !strings.Contains(errb.String(), "stepcqrs: serve") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

func TestServeExamplePrintConfig(t *testing.T) {
	t.Setenv("STEPCQRS_ENV", "dev")
	t.Setenv("STEPCQRS_APP_NAME", "shop")
	var out, errb bytes.Buffer
	if code := execute(context.Background(), []string{"serve", "--example", "--print-config", "--endpoint", "http://127.0.0.1:5000"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var cfg struct {
		Endpoint      string
		StateMachines []struct{ Name string }
		Functions     []struct {
			Name, URL, RemoteName string
			Concurrency           int
		}
		Mappings []struct{ FunctionName, EventSourceArn string }
	}
	if err := json.Unmarshal(out.Bytes(), &cfg); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if cfg.Endpoint != "http://127.0.0.1:5000" || len(cfg.StateMachines) != 2 || cfg.StateMachines[0].Name != "dev-shop-command" ||
		len(cfg.Functions) != 1 || cfg.Functions[0].RemoteName != "function" || cfg.Functions[0].Concurrency != 1 ||
		len(cfg.Mappings) != 2 || !strings.HasSuffix(cfg.Mappings[0].EventSourceArn, ":table/dev-shop-order-command") ||
		cfg.Mappings[1].EventSourceArn != "arn:aws:sqs:us-east-1:123456789012:dev-shop-task-queue" {
		t.Errorf("example config: %+v", cfg)
	}
}

// TestServeRuns starts `stepcqrs serve` on a config file, reads its
// endpoint from its output, calls the API, and stops it.
func TestServeRuns(t *testing.T) {
	cfg := writeFile(t, "serve.json", `{"stateMachines": [{"name": "hello", "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}]}`)
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- execute(ctx, []string{"serve", "--config", cfg, "--listen", "127.0.0.1:0"}, strings.NewReader(""), w, &errb)
		w.Close()
	}()
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		t.Fatalf("no output; stderr %s", errb.String())
	}
	url, ok := strings.CutPrefix(sc.Text(), "Step Functions API on ")
	if !ok {
		t.Fatalf("first line %q", sc.Text())
	}
	if !sc.Scan() || sc.Text() != "state machine arn:aws:states:us-east-1:123456789012:stateMachine:hello" {
		t.Errorf("second line %q", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"name":"hello"`) {
		t.Errorf("ListStateMachines: HTTP %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after cancel: %s", code, errb.String())
	}
}
