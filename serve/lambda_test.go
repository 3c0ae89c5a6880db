package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/stepcqrs/stepcqrs/asl/interp"
	"github.com/stepcqrs/stepcqrs/serve"
)

// TestHTTPFunction: the Invoke request, and the three ways a response
// ends: a payload, a function error (with X-Amz-Function-Error, or the
// emulator's bare error document) and a Lambda service error.
func TestHTTPFunction(t *testing.T) {
	var gotPath, gotAuth, gotType, gotBody string
	respond := func(w http.ResponseWriter) {}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotPath, gotAuth, gotType, gotBody = r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Invocation-Type"), string(b)
		respond(w)
	}))
	defer ts.Close()
	ctx := context.Background()

	emu := &serve.HTTPFunction{Endpoint: ts.URL, Name: "function"}
	respond = func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"ok":true}`)) }
	out, err := emu.Invoke(ctx, []byte(`{"in":1}`))
	if err != nil || string(out) != `{"ok":true}` || gotPath != "/2015-03-31/functions/function/invocations" || gotType != "RequestResponse" || gotBody != `{"in":1}` || gotAuth != "" {
		t.Errorf("payload: %s, %v; request %s %q %q auth %q", out, err, gotPath, gotType, gotBody, gotAuth)
	}
	// The emulator's function error: HTTP 200, no header, an error document.
	respond = func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"errorMessage":"boom","errorType":"MyErr"}`)) }
	_, err = emu.Invoke(ctx, nil)
	var fe *interp.LambdaFunctionError
	if !errors.As(err, &fe) || fe.ErrorType != "MyErr" || fe.ErrorMessage != "boom" {
		t.Errorf("emulator function error: %v", err)
	}
	// A payload that only looks like one in part is a payload.
	respond = func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"errorType":"x","errorMessage":"y","other":1}`)) }
	if _, err := emu.Invoke(ctx, nil); err != nil {
		t.Errorf("payload with error fields: %v", err)
	}

	signed := &serve.HTTPFunction{Endpoint: ts.URL, Name: "orders", Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	respond = func(w http.ResponseWriter) {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		_, _ = w.Write([]byte(`{"errorMessage":"bad","errorType":"ValidationError","stackTrace":["a"]}`))
	}
	_, err = signed.Invoke(ctx, []byte(`{}`))
	if !errors.As(err, &fe) || fe.ErrorType != "ValidationError" || len(fe.StackTrace) != 1 {
		t.Errorf("function error: %v", err)
	}
	if !strings.HasPrefix(gotAuth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(gotAuth, "/eu-west-1/lambda/aws4_request") {
		t.Errorf("Authorization %q", gotAuth)
	}
	respond = func(w http.ResponseWriter) {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazonaws.lambda/")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"Type":"User","message":"Function not found: arn:aws:lambda:eu-west-1:1:function:orders"}`))
	}
	_, err = signed.Invoke(ctx, []byte(`{}`))
	var se *interp.LambdaServiceError
	if !errors.As(err, &se) || se.Code != "ResourceNotFoundException" || se.StatusCode != 404 || !strings.HasPrefix(se.Message, "Function not found") {
		t.Errorf("service error: %v", err)
	}
}

// TestFunctionsRegistry: names, ARNs and qualified ARNs reach the same
// function; an unknown one is Lambda's ResourceNotFoundException; a
// concurrency of one serialises invocations.
func TestFunctionsRegistry(t *testing.T) {
	fns := serve.NewFunctions("eu-west-1", "111122223333")
	inFlight, most := 0, 0
	gate := make(chan struct{})
	fns.Add("f", serve.HandlerFunction{Name: "f", Handler: func(ctx context.Context, payload json.RawMessage) (any, error) {
		inFlight++ // unsynchronised on purpose: the race detector sees overlapping calls
		most = max(most, inFlight)
		<-gate
		inFlight--
		return string(payload), nil
	}}, 1)
	done := make(chan error, 3)
	for _, name := range []string{"f", "arn:aws:lambda:eu-west-1:111122223333:function:f", "arn:aws:lambda:eu-west-1:111122223333:function:f:live"} {
		go func() {
			out, err := fns.Invoke(context.Background(), name, []byte(`"x"`))
			if err == nil && string(out) != `"\"x\""` {
				err = errors.New("output " + string(out))
			}
			done <- err
		}()
	}
	for range 3 {
		gate <- struct{}{}
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if most != 1 || fns.Invocations("f") != 3 {
		t.Errorf("at most %d in flight, %d invocations", most, fns.Invocations("f"))
	}
	_, err := fns.Invoke(context.Background(), "g", nil)
	var se *interp.LambdaServiceError
	if !errors.As(err, &se) || se.Code != "ResourceNotFoundException" || se.Message != "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:g" {
		t.Errorf("unknown function: %v", err)
	}
}
