package eventfactory

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stepcqrs/stepcqrs/core"
)

// HTTPEvent is the event an HTTP request came from, as its handler finds
// it in the request's context (HTTPEventFrom): the authorizer's claims, the
// stage, the API id and everything else http.Request has no field for.
// Exactly one of V1, V2 and FunctionURL is set, as Source says.
type HTTPEvent struct {
	Source      Source                           // SourceAPIGatewayV1, SourceAPIGatewayV2 or SourceFunctionURL
	V1          *events.APIGatewayProxyRequest   // payload format 1.0
	V2          *events.APIGatewayV2HTTPRequest  // HTTP API, payload format 2.0
	FunctionURL *events.LambdaFunctionURLRequest // function URL
}

type httpEventKey struct{}

// HTTPEventFrom returns the event of the HTTP request whose context is
// ctx (r.Context() in a handler registered with OnHTTP), and whether there
// is one.
func HTTPEventFrom(ctx context.Context) (HTTPEvent, bool) {
	ev, ok := ctx.Value(httpEventKey{}).(HTTPEvent)
	return ev, ok
}

// OnHTTP registers h for every HTTP request: API Gateway REST and HTTP APIs
// (payload formats 1.0 and 2.0) and Lambda function URLs. h is a standard
// http.Handler, so an http.ServeMux with method and wildcard patterns
// ("GET /orders/{code}") routes the requests. The request's context carries
// the core.Invoke of the caller (built by Config.Invoke from the
// authorizer's claims) and the HTTPEvent. A service has at most one HTTP
// handler: a second registration is a problem.
func OnHTTP(r *Router, h http.Handler) {
	const route = "OnHTTP"
	ok := true
	if h == nil {
		r.problem(SourceHTTP, route, "nil handler")
		ok = false
	}
	if r.routes.http != nil && ok {
		r.problem(SourceHTTP, route, "registered twice: a service has one HTTP handler (route inside it, e.g. with an http.ServeMux)")
		ok = false
	}
	if ok {
		r.routes.http = h
	}
}

// detectHTTP classifies a top-level object as an HTTP request; ok is false
// when it has no HTTP shape.
func detectHTTP(top map[string]json.RawMessage) (src Source, ok bool, err error) {
	rc, has := top["requestContext"]
	if !has {
		return SourceUnknown, false, nil
	}
	var probe struct {
		DomainName string          `json:"domainName"`
		ELB        json.RawMessage `json:"elb"`
		HTTP       json.RawMessage `json:"http"`
	}
	_ = json.Unmarshal(rc, &probe) // a wrong type leaves a field empty; decoding the request reports it
	var version string
	_ = json.Unmarshal(top["version"], &version)
	_, rawPath := top["rawPath"]
	_, method := top["httpMethod"]
	switch {
	case version == "2.0" && (rawPath || len(probe.HTTP) > 0):
		if isFunctionURLHost(probe.DomainName) {
			return SourceFunctionURL, true, nil
		}
		return SourceAPIGatewayV2, true, nil
	case method && (version == "" || version == "1.0"):
		if len(probe.ELB) > 0 && string(probe.ELB) != "null" {
			return SourceUnknown, true, &SourceError{Err: ErrUnknownSource, Detail: "an Application Load Balancer request (not supported)"}
		}
		return SourceAPIGatewayV1, true, nil
	}
	return SourceUnknown, false, nil
}

// isFunctionURLHost reports whether host is a function URL's,
// <url-id>.lambda-url.<region>.on.aws.
func isFunctionURLHost(host string) bool {
	labels := strings.Split(strings.ToLower(host), ".")
	n := len(labels)
	return n == 5 && labels[0] != "" && labels[1] == "lambda-url" && labels[2] != "" && labels[3] == "on" && labels[4] == "aws"
}

// httpIn is what the three request shapes have in common.
type httpIn struct {
	method, path, rawQuery string
	proto, host, sourceIP  string
	header                 http.Header
	body                   string
	base64                 bool
	pathParams             map[string]string
}

func inV1(e *events.APIGatewayProxyRequest) httpIn {
	in := httpIn{method: e.HTTPMethod, path: e.Path, proto: e.RequestContext.Protocol,
		sourceIP: e.RequestContext.Identity.SourceIP, body: e.Body, base64: e.IsBase64Encoded,
		pathParams: e.PathParameters, header: http.Header{}}
	if in.method == "" {
		in.method = e.RequestContext.HTTPMethod
	}
	if len(e.MultiValueHeaders) > 0 {
		for k, vs := range e.MultiValueHeaders {
			for _, v := range vs {
				in.header.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			in.header.Add(k, v)
		}
	}
	// Payload format 1.0 gives decoded query parameters only.
	q := url.Values{}
	if len(e.MultiValueQueryStringParameters) > 0 {
		for k, vs := range e.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range e.QueryStringParameters {
			q.Set(k, v)
		}
	}
	in.rawQuery = q.Encode()
	in.host = in.header.Get("Host")
	if in.host == "" {
		in.host = e.RequestContext.DomainName
	}
	return in
}

// in20 fills the fields payload format 2.0 has at the same places in HTTP
// API and function URL requests.
func in20(method, rawPath, ctxPath, rawQuery string, query, headers map[string]string, cookies []string, body string, b64 bool) httpIn {
	in := httpIn{method: method, path: rawPath, rawQuery: rawQuery, body: body, base64: b64, header: http.Header{}}
	if in.path == "" {
		in.path = ctxPath
	}
	if in.rawQuery == "" && len(query) > 0 {
		q := url.Values{}
		for k, v := range query {
			q.Set(k, v)
		}
		in.rawQuery = q.Encode()
	}
	for k, v := range headers {
		in.header.Add(k, v)
	}
	if len(cookies) > 0 {
		in.header.Set("Cookie", strings.Join(cookies, "; "))
	}
	in.host = in.header.Get("Host")
	return in
}

func inV2(e *events.APIGatewayV2HTTPRequest) httpIn {
	h := e.RequestContext.HTTP
	in := in20(h.Method, e.RawPath, h.Path, e.RawQueryString, e.QueryStringParameters, e.Headers, e.Cookies, e.Body, e.IsBase64Encoded)
	in.proto, in.sourceIP, in.pathParams = h.Protocol, h.SourceIP, e.PathParameters
	if in.host == "" {
		in.host = e.RequestContext.DomainName
	}
	return in
}

func inFunctionURL(e *events.LambdaFunctionURLRequest) httpIn {
	h := e.RequestContext.HTTP
	in := in20(h.Method, e.RawPath, h.Path, e.RawQueryString, e.QueryStringParameters, e.Headers, e.Cookies, e.Body, e.IsBase64Encoded)
	in.proto, in.sourceIP = h.Protocol, h.SourceIP
	if in.host == "" {
		in.host = e.RequestContext.DomainName
	}
	return in
}

// request builds the server-side *http.Request; the error is a
// *MalformedError of src.
func (in httpIn) request(ctx context.Context, src Source) (*http.Request, error) {
	bad := func(what string, err error) error {
		return &MalformedError{Source: src, Record: -1, What: what, Err: err}
	}
	if in.method == "" {
		return nil, bad("httpMethod", errors.New("no HTTP method"))
	}
	if !strings.HasPrefix(in.path, "/") {
		return nil, bad("path", fmt.Errorf("%q does not start with /", clip(in.path)))
	}
	body := []byte(in.body)
	if in.base64 {
		var err error
		if body, err = base64.StdEncoding.DecodeString(in.body); err != nil {
			return nil, bad("body", fmt.Errorf("isBase64Encoded but not base64: %w", err))
		}
	}
	req, err := http.NewRequestWithContext(ctx, in.method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, bad("httpMethod", err)
	}
	req.URL = requestURL(in.path, in.rawQuery)
	req.RequestURI = req.URL.RequestURI()
	req.Host = in.host
	req.Header = in.header
	req.Header.Del("Host") // a server moves it to req.Host
	req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	if major, minor, ok := http.ParseHTTPVersion(in.proto); ok {
		req.Proto, req.ProtoMajor, req.ProtoMinor = in.proto, major, minor
	}
	if in.sourceIP != "" {
		req.RemoteAddr = net.JoinHostPort(in.sourceIP, "0")
	}
	req.GetBody = nil // a server request
	for k, v := range in.pathParams {
		req.SetPathValue(k, v)
	}
	return req, nil
}

// requestURL builds the URL of a request path as API Gateway or Lambda
// gives it: percent-encoded (REST APIs, function URLs) or already decoded
// (HTTP APIs). Characters that cannot appear in an encoded path (spaces,
// '?', '#', a '%' not starting an escape, non-ASCII, …) are escaped first,
// so an encoded path passes unchanged and a decoded one cannot inject a
// query or fragment.
func requestURL(path, rawQuery string) *url.URL {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7f || strings.IndexByte(`%?#"<>\^`+"`{|}", c) >= 0:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	raw := b.String()
	dec, err := url.PathUnescape(raw)
	if err != nil { // unreachable: every '%' now starts an escape
		dec = path
	}
	u := &url.URL{Path: dec, RawQuery: rawQuery}
	if u.EscapedPath() != raw {
		u.RawPath = raw // kept when it is a valid encoding of Path, e.g. with %2F
	}
	return u
}

// decodeHTTP decodes payload as src's event and builds its request.
func decodeHTTP(ctx context.Context, src Source, payload json.RawMessage) (HTTPEvent, *http.Request, error) {
	ev := HTTPEvent{Source: src}
	var in httpIn
	var err error
	switch src {
	case SourceAPIGatewayV1:
		ev.V1 = new(events.APIGatewayProxyRequest)
		if err = unmarshal(payload, ev.V1); err == nil {
			in = inV1(ev.V1)
		}
	case SourceAPIGatewayV2:
		ev.V2 = new(events.APIGatewayV2HTTPRequest)
		if err = unmarshal(payload, ev.V2); err == nil {
			in = inV2(ev.V2)
		}
	case SourceFunctionURL:
		ev.FunctionURL = new(events.LambdaFunctionURLRequest)
		if err = unmarshal(payload, ev.FunctionURL); err == nil {
			in = inFunctionURL(ev.FunctionURL)
		}
	default:
		return ev, nil, &SourceError{Err: ErrUnknownSource, Detail: src.String() + " is not an HTTP source"}
	}
	if err != nil {
		return ev, nil, &MalformedError{Source: src, Record: -1, What: "request", Err: err}
	}
	req, err := in.request(ctx, src)
	return ev, req, err
}

// invokeOf builds the core.Invoke of an HTTP request with the resolver.
func invokeOf(ctx context.Context, res core.InvokeResolver, ev HTTPEvent) (core.Invoke, error) {
	switch {
	case ev.V1 != nil:
		return res.FromREST(ctx, *ev.V1)
	case ev.V2 != nil:
		return res.FromHTTPAPI(ctx, *ev.V2)
	}
	// A function URL has the HTTP API's payload format without its
	// authorizers: IAM or none, so no claims.
	u := ev.FunctionURL
	return res.FromHTTPAPI(ctx, events.APIGatewayV2HTTPRequest{
		Headers: u.Headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: u.RequestContext.RequestID,
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{SourceIP: u.RequestContext.HTTP.SourceIP},
		},
	})
}

func (d *Dispatcher) serveHTTP(ctx context.Context, log *slog.Logger, src Source, payload json.RawMessage) (any, error) {
	ev, req, err := decodeHTTP(ctx, src, payload)
	if err != nil {
		log.ErrorContext(ctx, "eventfactory: HTTP request rejected", slog.Any("error", err))
		return nil, err
	}
	log = log.With(slog.String("method", req.Method), slog.String("path", clip(req.URL.Path)))
	if d.routes.http == nil {
		// A request needs a response: never skipped.
		err := &UnroutedError{Source: src, Route: "request " + req.Method + " " + clip(req.URL.Path)}
		log.ErrorContext(ctx, "eventfactory: HTTP request failed", slog.Any("error", err))
		return nil, err
	}
	inv, err := invokeOf(ctx, d.cfg.Invoke, ev)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, core.ErrTenantNotAllowed) {
			status = http.StatusForbidden
		}
		log.WarnContext(ctx, "eventfactory: HTTP request refused", slog.Int("status", status), slog.Any("error", err))
		return errorResponse(src, req.Method, status, err.Error()), nil
	}
	ctx = context.WithValue(core.NewContext(ctx, inv), httpEventKey{}, ev)
	req = req.WithContext(ctx)
	w := newResponseWriter()
	if err := call(func() error { d.routes.http.ServeHTTP(w, req); return nil }); err != nil {
		attrs := []any{slog.Any("error", err)}
		var pe *PanicError
		if errors.As(err, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.Stack)))
		}
		log.ErrorContext(ctx, "eventfactory: HTTP handler panicked; answering 500", attrs...)
		return errorResponse(src, req.Method, http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)), nil
	}
	status, header, body := w.result()
	log.DebugContext(ctx, "eventfactory: HTTP request served", slog.Int("status", status))
	return response(src, req.Method, status, header, body), nil
}

// errorResponse is the framework's own answer, in API Gateway's style:
// {"message": "..."}.
func errorResponse(src Source, method string, status int, message string) any {
	body, _ := json.Marshal(map[string]string{"message": message})
	h := http.Header{"Content-Type": {"application/json"}}
	return response(src, method, status, h, body)
}

// response builds src's response struct. Bodies that are not UTF-8 text of
// a textual media type are base64-encoded. Payload format 1.0 gets every
// header in multiValueHeaders and the single-valued ones in headers too;
// format 2.0 gets comma-joined headers and the Set-Cookie values in
// cookies.
func response(src Source, method string, status int, h http.Header, body []byte) any {
	if method == http.MethodHead {
		body = nil
	}
	text, b64 := string(body), false
	if len(body) > 0 && isBinary(h, body) {
		text, b64 = base64.StdEncoding.EncodeToString(body), true
	}
	if src == SourceAPIGatewayV1 {
		r := events.APIGatewayProxyResponse{StatusCode: status, Headers: map[string]string{},
			MultiValueHeaders: map[string][]string{}, Body: text, IsBase64Encoded: b64}
		for k, vs := range h {
			if len(vs) == 0 {
				continue
			}
			r.MultiValueHeaders[k] = append([]string(nil), vs...)
			if len(vs) == 1 {
				r.Headers[k] = vs[0]
			}
		}
		return r
	}
	headers := map[string]string{}
	cookies := []string{}
	for k, vs := range h {
		switch {
		case len(vs) == 0:
		case k == "Set-Cookie":
			cookies = append(cookies, vs...)
		default:
			headers[k] = strings.Join(vs, ",")
		}
	}
	if src == SourceFunctionURL {
		return events.LambdaFunctionURLResponse{StatusCode: status, Headers: headers, Body: text, IsBase64Encoded: b64, Cookies: cookies}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: headers, Body: text, IsBase64Encoded: b64, Cookies: cookies}
}

// isBinary tells whether a response body must travel base64-encoded: it
// is content-encoded (gzip, …), of a non-textual media type, or not UTF-8.
func isBinary(h http.Header, body []byte) bool {
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return true
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return true
	}
	textual := strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
	switch mt {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded",
		"application/yaml", "application/x-yaml", "application/x-ndjson", "application/graphql":
		textual = true
	}
	return !textual || !utf8.Valid(body)
}

// responseWriter records a handler's response, as net/http would send it:
// the header as it was at WriteHeader (or the first Write), the status
// (200 unless written; 1xx ignored), the body, and a sniffed Content-Type
// when the handler set none.
type responseWriter struct {
	header http.Header
	sent   http.Header
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. Like net/http, it panics on
// a code outside 100-999; a later call is ignored.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 || code < 200 { // informational responses do not cross API Gateway
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	return w.body.Write(p)
}

// result returns the response as sent.
func (w *responseWriter) result() (int, http.Header, []byte) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	h, body := w.sent, w.body.Bytes()
	if len(body) > 0 && len(h.Values("Content-Type")) == 0 && h.Get("Transfer-Encoding") == "" {
		h.Set("Content-Type", http.DetectContentType(body))
	}
	return w.status, h, body
}
