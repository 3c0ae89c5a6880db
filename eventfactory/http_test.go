package eventfactory

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/stepcqrs/stepcqrs/core"
)

// The HTTP fixtures: one request of each shape, as AWS sends them.
const (
	fixtureV1  = "apigw-v1-rest.json" // REST API, Cognito authorizer, POST /orders
	fixtureV2  = "apigw-v2-http.json" // HTTP API, JWT authorizer, GET /orders/o-2001
	fixtureURL = "function-url.json"  // function URL, IAM auth, PATCH /orders/o-2001
)

// remove, as a value of editFixture's changes, deletes the key.
type removeKey struct{}

var remove = removeKey{}

// editFixture returns a fixture with values changed: keys are dotted paths
// ("requestContext.http.method").
func editFixture(t testing.TB, name string, changes map[string]any) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range changes {
		keys := strings.Split(path, ".")
		obj := m
		for _, k := range keys[:len(keys)-1] {
			next, ok := obj[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[k] = next
			}
			obj = next
		}
		if v == remove {
			delete(obj, keys[len(keys)-1])
		} else {
			obj[keys[len(keys)-1]] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seen is what a handler saw of its request.
type seen struct {
	method, path, escapedPath, requestURI string
	query                                 map[string][]string
	host, remoteAddr, proto               string
	header                                http.Header
	cookies                               map[string]string
	body                                  string
	contentLength                         int64
	proxy                                 string
	invoke                                core.Invoke
	event                                 HTTPEvent
	hasEvent                              bool
}

func capture(dst *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		*dst = seen{
			method: r.Method, path: r.URL.Path, escapedPath: r.URL.EscapedPath(), requestURI: r.RequestURI,
			query: r.URL.Query(), host: r.Host, remoteAddr: r.RemoteAddr, proto: r.Proto,
			header: r.Header, cookies: map[string]string{}, body: string(b), contentLength: r.ContentLength,
			proxy: r.PathValue("proxy"),
		}
		for _, c := range r.Cookies() {
			dst.cookies[c.Name] = c.Value
		}
		dst.invoke, _ = core.FromContext(r.Context())
		dst.event, dst.hasEvent = HTTPEventFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
}

func httpDispatcher(t testing.TB, cfg Config, h http.Handler) *Dispatcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	r := NewRouter(cfg)
	OnHTTP(r, h)
	d, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestHTTPIngressRequest: each fixture reaches the handler as the
// http.Request a server would have built, with the caller's Invoke and the
// event in its context.
func TestHTTPIngressRequest(t *testing.T) {
	var got seen
	d := httpDispatcher(t, Config{}, capture(&got))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})

	v1Body := `{"code":"o-2001","name":"order o-2001","attributes":{"customer":"Ada","total":42.5,"items":["book","pen"],"status":"new"}}`
	cases := []struct {
		file   string
		source Source
		want   seen
		check  func(t *testing.T, ev HTTPEvent)
	}{
		{fixtureV1, SourceAPIGatewayV1, seen{
			method: "POST", path: "/orders", escapedPath: "/orders", requestURI: "/orders?notify=email&notify=sms",
			query: map[string][]string{"notify": {"email", "sms"}},
			host:  "70ixmpl4fl.execute-api.eu-west-1.amazonaws.com", remoteAddr: "198.51.100.7:0", proto: "HTTP/1.1",
			header: http.Header{"X-Order-Tag": {"urgent", "gift"}, "Content-Type": {"application/json"},
				"X-Forwarded-For": {"198.51.100.7, 130.176.133.2"}},
			cookies: map[string]string{"session": "s3ss10n", "theme": "dark"},
			body:    v1Body, contentLength: int64(len(v1Body)),
			invoke: core.Invoke{RequestID: "lambda-req-1", APIRequestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
				TenantCode: "acme", UserID: "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b", Username: "ada", SourceIP: "198.51.100.7", External: true},
		}, func(t *testing.T, ev HTTPEvent) {
			if ev.V1 == nil || ev.V2 != nil || ev.FunctionURL != nil || ev.V1.RequestContext.Stage != "prod" {
				t.Errorf("event %+v", ev)
			}
		}},
		{fixtureV2, SourceAPIGatewayV2, seen{
			method: "GET", path: "/orders/o-2001", escapedPath: "/orders/o-2001", requestURI: "/orders/o-2001?view=full&tag=a&tag=b%20c",
			query: map[string][]string{"view": {"full"}, "tag": {"a", "b c"}},
			host:  "r3pmxmplak.execute-api.eu-west-1.amazonaws.com", remoteAddr: "203.0.113.9:0", proto: "HTTP/1.1",
			header:  http.Header{"X-Order-Tag": {"urgent,gift"}, "Accept": {"application/json"}},
			cookies: map[string]string{"session": "s3ss10n", "theme": "dark"},
			proxy:   "orders/o-2001",
			invoke: core.Invoke{RequestID: "lambda-req-1", APIRequestID: "JKJaXmPLvHcESHA=",
				TenantCode: "acme", UserID: "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9", Username: "grace", SourceIP: "203.0.113.9", External: true},
		}, func(t *testing.T, ev HTTPEvent) {
			if ev.V2 == nil || ev.V1 != nil || ev.FunctionURL != nil || ev.V2.RequestContext.Authorizer.JWT.Claims["email"] != "grace@example.com" {
				t.Errorf("event %+v", ev)
			}
		}},
		{fixtureURL, SourceFunctionURL, seen{
			method: "PATCH", path: "/orders/o-2001", escapedPath: "/orders/o-2001", requestURI: "/orders/o-2001",
			query: map[string][]string{},
			host:  "a2b3xmpl4c5d6e7f8g9h0i1j2k3l4m5n.lambda-url.eu-west-1.on.aws", remoteAddr: "192.0.2.44:0", proto: "HTTP/1.1",
			header:  http.Header{"X-Tenant-Code": {"acme"}, "Content-Type": {"application/json"}},
			cookies: map[string]string{},
			body:    `{"version":1,"attributes":{"status":"paid"}}`, contentLength: 44,
			// IAM auth carries no claims, and the default resolver ignores
			// the tenant header.
			invoke: core.Invoke{RequestID: "lambda-req-1", APIRequestID: "5f1c9e0a-8b7d-4c6e-9f2a-3b4c5d6e7f80", SourceIP: "192.0.2.44", External: true},
		}, func(t *testing.T, ev HTTPEvent) {
			if ev.FunctionURL == nil || ev.V1 != nil || ev.V2 != nil ||
				ev.FunctionURL.RequestContext.Authorizer.IAM.UserARN != "arn:aws:sts::123456789012:assumed-role/billing-batch/billing-batch" {
				t.Errorf("event %+v", ev)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got = seen{}
			payload := readFixture(t, c.file)
			if src, err := Detect(payload); src != c.source || err != nil {
				t.Fatalf("Detect = %v, %v", src, err)
			}
			out, err := d.Dispatch(ctx, payload)
			if err != nil {
				t.Fatal(err)
			}
			if status := statusOf(t, out); status != http.StatusNoContent {
				t.Fatalf("status %d", status)
			}
			w := c.want
			for k, vs := range w.header {
				if g := got.header.Values(k); !reflect.DeepEqual(g, vs) {
					t.Errorf("header %s = %q, want %q", k, g, vs)
				}
			}
			if _, ok := got.header["Host"]; ok {
				t.Errorf("Host left in the header: %v", got.header)
			}
			got.header, w.header = nil, nil
			if !got.hasEvent || got.event.Source != c.source {
				t.Errorf("event in context: %v %v", got.hasEvent, got.event.Source)
			}
			c.check(t, got.event)
			got.event, got.hasEvent = HTTPEvent{}, false
			if got.invoke.Claims == nil != (c.source == SourceFunctionURL) {
				t.Errorf("claims %v", got.invoke.Claims)
			}
			got.invoke.Claims = nil
			if !reflect.DeepEqual(got, w) {
				t.Errorf("request\n got %+v\nwant %+v", got, w)
			}
		})
	}
}

// statusOf returns the status code of an HTTP response struct.
func statusOf(t testing.TB, out any) int {
	t.Helper()
	switch r := out.(type) {
	case events.APIGatewayProxyResponse:
		return r.StatusCode
	case events.APIGatewayV2HTTPResponse:
		return r.StatusCode
	case events.LambdaFunctionURLResponse:
		return r.StatusCode
	}
	t.Fatalf("answer %T is not an HTTP response", out)
	return 0
}

// TestHTTPIngressResponse: the handler's response in the struct each source
// expects: payload format 1.0 with multi-value headers, format 2.0 with
// comma-joined headers and cookies apart.
func TestHTTPIngressResponse(t *testing.T) {
	d := httpDispatcher(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Cookie")
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "new", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "light"})
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"code":"o-2001"}`)
	}))
	cookies := []string{"session=new; HttpOnly", "theme=light"}
	want := map[string]any{
		fixtureV1: events.APIGatewayProxyResponse{StatusCode: 201,
			Headers: map[string]string{"Content-Type": "application/json"},
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"},
				"Vary": {"Accept", "Cookie"}, "Set-Cookie": cookies},
			Body: `{"code":"o-2001"}`},
		fixtureV2: events.APIGatewayV2HTTPResponse{StatusCode: 201,
			Headers: map[string]string{"Content-Type": "application/json", "Vary": "Accept,Cookie"},
			Cookies: cookies, Body: `{"code":"o-2001"}`},
		fixtureURL: events.LambdaFunctionURLResponse{StatusCode: 201,
			Headers: map[string]string{"Content-Type": "application/json", "Vary": "Accept,Cookie"},
			Cookies: cookies, Body: `{"code":"o-2001"}`},
	}
	for file, w := range want {
		out, err := d.Dispatch(context.Background(), readFixture(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !reflect.DeepEqual(out, w) {
			t.Errorf("%s:\n got %#v\nwant %#v", file, out, w)
		}
		// The JSON the Lambda runtime sends back has the keys AWS reads.
		b, _ := json.Marshal(out)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		keys := []string{"statusCode", "headers", "body"}
		if file == fixtureV1 {
			keys = append(keys, "multiValueHeaders")
		} else {
			keys = append(keys, "cookies")
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: response JSON %s lacks %q", file, b, k)
			}
		}
	}
}

// TestHTTPIngressBodies: request bodies are base64-decoded when AWS says
// so; response bodies are base64-encoded unless they are UTF-8 text of a
// textual media type.
func TestHTTPIngressBodies(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0xff}
	d := httpDispatcher(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if ct := r.URL.Query().Get("type"); ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		if ce := r.URL.Query().Get("encoding"); ce != "" {
			w.Header().Set("Content-Encoding", ce)
		}
		_, _ = w.Write(b)
	}))
	cases := []struct {
		name, query string
		body        []byte
		wantB64     bool
		wantType    string
	}{
		{"png, sniffed", "", binary, true, "image/png"},
		{"octet-stream", "type=application/octet-stream", []byte("plain"), true, "application/octet-stream"},
		{"text, sniffed", "", []byte("héllo"), false, "text/plain; charset=utf-8"},
		{"json", "type=application/json", []byte(`{"a":"é"}`), false, "application/json"},
		{"problem+json", "type=application/problem%2Bjson", []byte(`{"title":"x"}`), false, "application/problem+json"},
		{"text that is not UTF-8", "type=text/plain", []byte{'a', 0xff}, true, "text/plain"},
		{"gzip", "type=application/json&encoding=gzip", []byte{0x1f, 0x8b, 8, 0}, true, "application/json"},
	}
	for _, c := range cases {
		for _, file := range []string{fixtureV1, fixtureV2, fixtureURL} {
			changes := map[string]any{"body": base64.StdEncoding.EncodeToString(c.body), "isBase64Encoded": true,
				"rawQueryString": c.query}
			if file == fixtureV1 {
				q := map[string]any{}
				for _, kv := range strings.Split(c.query, "&") {
					if k, v, ok := strings.Cut(kv, "="); ok {
						q[k] = []any{strings.ReplaceAll(v, "%2B", "+")}
					}
				}
				changes["multiValueQueryStringParameters"] = q
			}
			out, err := d.Dispatch(context.Background(), editFixture(t, file, changes))
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, file, err)
			}
			b, _ := json.Marshal(out)
			var r struct {
				Body              string
				IsBase64Encoded   bool
				Headers           map[string]string
				MultiValueHeaders map[string][]string
			}
			_ = json.Unmarshal(b, &r)
			body := []byte(r.Body)
			if r.IsBase64Encoded {
				body, _ = base64.StdEncoding.DecodeString(r.Body)
			}
			if r.IsBase64Encoded != c.wantB64 || !bytes.Equal(body, c.body) || r.Headers["Content-Type"] != c.wantType {
				t.Errorf("%s %s: base64 %v, body %q, type %q; want %v, %q, %q", c.name, file, r.IsBase64Encoded, body, r.Headers["Content-Type"], c.wantB64, c.body, c.wantType)
			}
		}
	}
}

// TestHTTPIngressWriterSemantics: the response is what net/http would have
// sent for the same handler calls.
func TestHTTPIngressWriterSemantics(t *testing.T) {
	cases := []struct {
		name   string
		method string
		h      http.HandlerFunc
		want   events.APIGatewayV2HTTPResponse
	}{
		{"nothing written: 200, no body, no type", "GET", func(w http.ResponseWriter, r *http.Request) {},
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}, Cookies: []string{}}},
		{"headers after WriteHeader are not sent", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Before", "1")
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-After", "1")
			w.WriteHeader(http.StatusTeapot) // superfluous
		}, events.APIGatewayV2HTTPResponse{StatusCode: 202, Headers: map[string]string{"X-Before": "1"}, Cookies: []string{}}},
		{"1xx is not a final status", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusConflict)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 409, Headers: map[string]string{}, Cookies: []string{}}},
		{"204 takes no body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				panic("Write on 204: " + err.Error())
			}
		}, events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{}, Cookies: []string{}}},
		{"HEAD drops the body, keeps the headers", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5")
			_, _ = io.WriteString(w, "hello")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Length": "5", "Content-Type": "text/plain; charset=utf-8"}, Cookies: []string{}}},
	}
	for _, c := range cases {
		d := httpDispatcher(t, Config{}, c.h)
		out, err := d.Dispatch(context.Background(), editFixture(t, fixtureV2, map[string]any{"requestContext.http.method": c.method}))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(out, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.name, out, c.want)
		}
	}
}

// TestHTTPIngressPanic: a panicking handler gets a clean 500, logged with
// its stack, whatever it had written; the Lambda does not fail.
func TestHTTPIngressPanic(t *testing.T) {
	for _, value := range []any{"boom", http.ErrAbortHandler} {
		var logs bytes.Buffer
		d := httpDispatcher(t, Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Partial", "1")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "half a resp")
			panic(value)
		}))
		for _, file := range []string{fixtureV1, fixtureV2, fixtureURL} {
			logs.Reset()
			out, err := d.Dispatch(context.Background(), readFixture(t, file))
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			b, _ := json.Marshal(out)
			var r struct {
				StatusCode int
				Headers    map[string]string
				Body       string
			}
			_ = json.Unmarshal(b, &r)
			if r.StatusCode != 500 || r.Body != `{"message":"Internal Server Error"}` ||
				!reflect.DeepEqual(r.Headers, map[string]string{"Content-Type": "application/json"}) {
				t.Errorf("%s: %s", file, b)
			}
			for _, s := range []string{`"level":"ERROR"`, "panicked", `"stack":"goroutine`, "http_test.go"} {
				if !strings.Contains(logs.String(), s) {
					t.Errorf("%s: log lacks %s:\n%s", file, s, logs.String())
				}
			}
		}
	}
}

// TestHTTPIngressMalformed: requests that cannot be served fail the
// invocation with a *MalformedError naming the source and the part.
func TestHTTPIngressMalformed(t *testing.T) {
	called := false
	d := httpDispatcher(t, Config{}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	cases := []struct {
		name    string
		payload json.RawMessage
		source  Source
		what    string
	}{
		{"v1 wrong types", readFixture(t, "bad-apigw-v1-wrong-types.json"), SourceAPIGatewayV1, "request"},
		{"v2 body not base64", readFixture(t, "bad-apigw-v2-base64.json"), SourceAPIGatewayV2, "body"},
		{"function URL without method", readFixture(t, "bad-function-url-no-method.json"), SourceFunctionURL, "httpMethod"},
		{"v1 without path", editFixture(t, fixtureV1, map[string]any{"path": remove}), SourceAPIGatewayV1, "path"},
		{"v1 invalid method", editFixture(t, fixtureV1, map[string]any{"httpMethod": "GE T"}), SourceAPIGatewayV1, "httpMethod"},
		{"v1 body not base64", editFixture(t, fixtureV1, map[string]any{"isBase64Encoded": true}), SourceAPIGatewayV1, "body"},
		{"v2 relative path", editFixture(t, fixtureV2, map[string]any{"rawPath": "orders", "requestContext.http.path": "orders"}), SourceAPIGatewayV2, "path"},
		{"v2 headers not strings", editFixture(t, fixtureV2, map[string]any{"headers": map[string]any{"accept": []any{"a"}}}), SourceAPIGatewayV2, "request"},
		{"function URL without method", editFixture(t, fixtureURL, map[string]any{"requestContext.http.method": ""}), SourceFunctionURL, "httpMethod"},
	}
	for _, c := range cases {
		out, err := d.Dispatch(context.Background(), c.payload)
		var me *MalformedError
		if !errors.As(err, &me) || me.Source != c.source || me.What != c.what || out != nil {
			t.Errorf("%s: %v, %v; want a malformed %v %s", c.name, out, err, c.source, c.what)
			continue
		}
		if !errors.Is(err, ErrMalformed) || ErrorName(err) != ErrorNameValidation {
			t.Errorf("%s: %v named %s", c.name, err, ErrorName(err))
		}
	}
	if called {
		t.Error("the handler ran for a malformed request")
	}
}

// TestHTTPIngressUnrouted: a request needs a response, so it fails without
// an HTTP handler, under either policy.
func TestHTTPIngressUnrouted(t *testing.T) {
	for _, p := range []UnroutedPolicy{UnroutedFail, UnroutedSkip} {
		r := NewRouter(Config{Unrouted: p, Logger: quietLogger()})
		d, err := r.Build()
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Dispatch(context.Background(), readFixture(t, fixtureV2))
		var ue *UnroutedError
		if !errors.As(err, &ue) || ue.Source != SourceAPIGatewayV2 || ue.Route != "request GET /orders/o-2001" || out != nil {
			t.Errorf("%v: %v %v", p, out, err)
		}
	}
}

// TestHTTPIngressTenant: Config.Invoke decides the tenant; a refused
// tenant is answered 403 and a tenant code that cannot be used 400,
// without running the handler.
func TestHTTPIngressTenant(t *testing.T) {
	cases := []struct {
		name     string
		resolver core.InvokeResolver
		payload  json.RawMessage
		status   int
		tenant   string
		message  string
	}{
		{"claim wins, header ignored", core.InvokeResolver{}, editFixture(t, fixtureV2, map[string]any{"headers.x-tenant-code": "globex"}), 204, "acme", ""},
		{"header outside the claim", core.InvokeResolver{HeaderMode: core.TenantHeaderWithinClaim},
			editFixture(t, fixtureV2, map[string]any{"headers.x-tenant-code": "globex"}), 403, "", `globex\\\" not allowed`},
		{"header within the claim", core.InvokeResolver{HeaderMode: core.TenantHeaderWithinClaim},
			editFixture(t, fixtureV1, map[string]any{"requestContext.authorizer.claims.custom:tenant": "acme,globex",
				"multiValueHeaders.X-Tenant-Code": []any{"Globex"}}), 204, "globex", ""},
		{"function URL: header as fallback", core.InvokeResolver{HeaderMode: core.TenantHeaderFallback}, readFixture(t, fixtureURL), 204, "acme", ""},
		{"unusable tenant claim", core.InvokeResolver{}, editFixture(t, fixtureV2, map[string]any{"requestContext.authorizer.jwt.claims.custom:tenant": "ac#me"}), 400, "", "tenantCode"},
	}
	for _, c := range cases {
		var got seen
		d := httpDispatcher(t, Config{Invoke: c.resolver}, capture(&got))
		out, err := d.Dispatch(context.Background(), c.payload)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := json.Marshal(out)
		if statusOf(t, out) != c.status || got.invoke.TenantCode != c.tenant || !strings.Contains(string(b), c.message) {
			t.Errorf("%s: %s; tenant %q", c.name, b, got.invoke.TenantCode)
		}
		if c.status != 204 && got.method != "" {
			t.Errorf("%s: the handler ran", c.name)
		}
	}
	_, err := NewRouter(Config{Invoke: core.InvokeResolver{HeaderMode: "sometimes"}}).Build()
	if !errors.Is(err, core.ErrValidation) || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("bad header mode: %v", err)
	}
}

// TestHTTPIngressRegistration: one HTTP handler per service.
func TestHTTPIngressRegistration(t *testing.T) {
	r := NewRouter(Config{})
	h := http.NotFoundHandler()
	OnHTTP(r, h)
	OnHTTP(r, h)
	OnHTTP(r, nil)
	_, err := r.Build()
	if !errors.Is(err, core.ErrValidation) {
		t.Fatalf("Build: %v", err)
	}
	for _, s := range []string{"eventfactory: http route OnHTTP: registered twice", "eventfactory: http route OnHTTP: nil handler"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%v lacks %q", err, s)
		}
	}
}

// TestHTTPIngressDetect: the shapes that are, and are not, HTTP requests.
func TestHTTPIngressDetect(t *testing.T) {
	cases := []struct {
		name    string
		payload json.RawMessage
		source  Source
		err     error
	}{
		{"HTTP API on a custom domain", editFixture(t, fixtureV2, map[string]any{"requestContext.domainName": "api.example.com"}), SourceAPIGatewayV2, nil},
		{"HTTP API named like a function URL elsewhere", editFixture(t, fixtureV2, map[string]any{"requestContext.domainName": "x.lambda-url.example.com"}), SourceAPIGatewayV2, nil},
		{"function URL, upper case host", editFixture(t, fixtureV2, map[string]any{"requestContext.domainName": "ABC.LAMBDA-URL.us-east-1.ON.AWS"}), SourceFunctionURL, nil},
		{"function URL without domainName: HTTP API", editFixture(t, fixtureURL, map[string]any{"requestContext.domainName": remove}), SourceAPIGatewayV2, nil},
		{"HTTP API, payload format 1.0", editFixture(t, fixtureV1, map[string]any{"version": "1.0"}), SourceAPIGatewayV1, nil},
		{"payload format 2.0 without rawPath", editFixture(t, fixtureV2, map[string]any{"rawPath": remove}), SourceAPIGatewayV2, nil},
		{"unknown payload format", editFixture(t, fixtureV2, map[string]any{"version": "3.0"}), SourceUnknown, ErrUnknownSource},
		{"no requestContext", editFixture(t, fixtureV1, map[string]any{"requestContext": remove}), SourceUnknown, ErrUnknownSource},
		{"load balancer", readFixture(t, "bad-alb.json"), SourceUnknown, ErrUnknownSource},
		{"WebSocket", json.RawMessage(`{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","connectionId":"x"},"isBase64Encoded":false}`), SourceUnknown, ErrUnknownSource},
	}
	for _, c := range cases {
		src, err := Detect(c.payload)
		if src != c.source || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: %v, %v; want %v, %v", c.name, src, err, c.source, c.err)
		}
	}
	_, err := Detect(readFixture(t, "bad-alb.json"))
	if err == nil || !strings.Contains(err.Error(), "Application Load Balancer") {
		t.Errorf("ALB: %v", err)
	}
}

// TestHTTPIngressRequestURL: encoded paths (REST APIs, function URLs) pass
// as they are; decoded ones (HTTP APIs) cannot inject a query or fragment.
func TestHTTPIngressRequestURL(t *testing.T) {
	cases := []struct{ in, path, escaped string }{
		{"/orders/o-1", "/orders/o-1", "/orders/o-1"},
		{"/orders/a%2Fb", "/orders/a/b", "/orders/a%2Fb"},
		{"/orders/a%20b", "/orders/a b", "/orders/a%20b"},
		{"/orders/a b", "/orders/a b", "/orders/a%20b"},
		{"/orders/what?admin=1", "/orders/what?admin=1", "/orders/what%3Fadmin=1"},
		{"/orders/x#frag", "/orders/x#frag", "/orders/x%23frag"},
		{"/100%", "/100%", "/100%25"},
		{"/caf%C3%A9", "/café", "/caf%C3%A9"},
		{"/café", "/café", "/caf%C3%A9"},
		{"//evil.example/x", "//evil.example/x", "//evil.example/x"},
	}
	for _, c := range cases {
		u := requestURL(c.in, "q=1")
		if u.Path != c.path || u.EscapedPath() != c.escaped || u.Host != "" || u.RawQuery != "q=1" || u.RequestURI() != c.escaped+"?q=1" {
			t.Errorf("%q: path %q escaped %q host %q query %q", c.in, u.Path, u.EscapedPath(), u.Host, u.RawQuery)
		}
	}
}

// TestHTTPIngressServeMux: Go 1.22 patterns route the requests; API
// Gateway's path parameters stay readable beside the mux's wildcards.
func TestHTTPIngressServeMux(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{code}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.PathValue("code")+" "+r.PathValue("proxy")+" "+r.Pattern)
	})
	d := httpDispatcher(t, Config{}, mux)
	out, err := d.Dispatch(context.Background(), readFixture(t, fixtureV2))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(events.APIGatewayV2HTTPResponse); r.StatusCode != 200 || r.Body != "o-2001 orders/o-2001 GET /orders/{code}" {
		t.Errorf("%+v", r)
	}
	out, err = d.Dispatch(context.Background(), editFixture(t, fixtureV2, map[string]any{"requestContext.http.method": "DELETE"}))
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(events.APIGatewayV2HTTPResponse); r.StatusCode != 405 || r.Headers["Allow"] != "GET, HEAD" {
		t.Errorf("%+v", r)
	}
}

// TestHTTPIngressConcurrent: one dispatcher serves concurrent requests.
func TestHTTPIngressConcurrent(t *testing.T) {
	d := httpDispatcher(t, Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, _ := core.FromContext(r.Context())
		_, _ = io.WriteString(w, inv.APIRequestID+" "+r.URL.Path)
	}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strings.Repeat("r", i+1)
			out, err := d.Dispatch(context.Background(), editFixture(t, fixtureV2, map[string]any{
				"requestContext.requestId": id, "rawPath": "/p/" + id}))
			if err != nil {
				t.Error(err)
				return
			}
			if b := out.(events.APIGatewayV2HTTPResponse).Body; b != id+" /p/"+id {
				t.Errorf("body %q", b)
			}
		}()
	}
	wg.Wait()
}
