package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.uber.org/fx"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/eventfactory"
	"github.com/stepcqrs/stepcqrs/local"
)

// The event factory's golden HTTP fixtures, one per shape, as AWS sends
// them: a REST API request with a Cognito authorizer (tenant claim "acme",
// user "ada"), an HTTP API request with a JWT authorizer (tenant claim
// "acme", user "grace") and an IAM-signed function URL request, which has
// no claims and names its tenant in the x-tenant-code header.
const (
	shapeV1  = "apigw-v1-rest.json"
	shapeV2  = "apigw-v2-http.json"
	shapeURL = "function-url.json"
)

// Users of the fixtures' claims.
const (
	subAda   = "7f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b" // v1
	subGrace = "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a0f9" // v2
)

// request describes one call; the event is the fixture of shape with
// these changes.
type request struct {
	shape, method, path, query string
	body                       string            // "" keeps none
	header                     map[string]string // set ("" removes)
	claims                     map[string]any    // authorizer claims changed (nil value: removed)
}

// event builds the payload of r from its fixture, changing what a request
// changes: method, path, query, body, headers, claims; the rest (request
// context, identity, authorizer) stays as AWS sent it.
func event(t *testing.T, r request) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "eventfactory", "testdata", r.shape))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	rc := m["requestContext"].(map[string]any)
	q, err := url.ParseQuery(r.query)
	if err != nil {
		t.Fatal(err)
	}
	delete(m, "body")
	if r.body != "" {
		m["body"] = r.body
	}
	m["isBase64Encoded"] = false
	switch r.shape {
	case shapeV1:
		m["httpMethod"], rc["httpMethod"] = r.method, r.method
		m["path"], rc["path"] = r.path, "/prod"+r.path
		m["resource"], rc["resourcePath"] = "/{proxy+}", "/{proxy+}"
		m["pathParameters"] = map[string]any{"proxy": strings.TrimPrefix(r.path, "/")}
		single, multi := map[string]any{}, map[string]any{}
		for k, vs := range q {
			single[k], multi[k] = vs[len(vs)-1], vs
		}
		m["queryStringParameters"], m["multiValueQueryStringParameters"] = single, multi
		if len(q) == 0 {
			m["queryStringParameters"], m["multiValueQueryStringParameters"] = nil, nil
		}
		h, mh := m["headers"].(map[string]any), m["multiValueHeaders"].(map[string]any)
		for k, v := range r.header {
			h[k], mh[k] = v, []any{v}
			if v == "" {
				delete(h, k)
				delete(mh, k)
			}
		}
		if claims, ok := rc["authorizer"].(map[string]any)["claims"].(map[string]any); ok {
			edit(claims, r.claims)
		}
	default: // payload format 2.0
		http := rc["http"].(map[string]any)
		http["method"] = r.method
		m["rawPath"], http["path"] = r.path, r.path
		m["rawQueryString"] = r.query
		joined := map[string]any{}
		for k, vs := range q {
			joined[k] = strings.Join(vs, ",")
		}
		m["queryStringParameters"] = joined
		if len(q) == 0 {
			delete(m, "queryStringParameters")
		}
		h := m["headers"].(map[string]any)
		for k, v := range r.header {
			h[strings.ToLower(k)] = v
			if v == "" {
				delete(h, strings.ToLower(k))
			}
		}
		if r.body != "" {
			h["content-type"] = "application/json"
		}
		if r.shape == shapeV2 {
			m["pathParameters"] = map[string]any{"proxy": strings.TrimPrefix(r.path, "/")}
			edit(rc["authorizer"].(map[string]any)["jwt"].(map[string]any)["claims"].(map[string]any), r.claims)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func edit(m map[string]any, changes map[string]any) {
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// response is what API Gateway or Lambda reads of the function's answer.
type response struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	Cookies           []string            `json:"cookies"`
}

// client sends requests through the Lambda handler, as the Lambda runtime
// would: the payload in, the JSON of the answer out.
type client struct {
	t       *testing.T
	handler eventfactory.HandlerFunc
}

func (c client) do(r request) response {
	c.t.Helper()
	out, err := c.handler(context.Background(), event(c.t, r))
	if err != nil {
		c.t.Fatalf("%s %s %s: %v", r.shape, r.method, r.path, err)
	}
	wantType := map[string]any{shapeV1: events.APIGatewayProxyResponse{}, shapeV2: events.APIGatewayV2HTTPResponse{},
		shapeURL: events.LambdaFunctionURLResponse{}}[r.shape]
	if reflect.TypeOf(out) != reflect.TypeOf(wantType) {
		c.t.Fatalf("%s answered %T", r.shape, out)
	}
	b, err := json.Marshal(out)
	if err != nil {
		c.t.Fatal(err)
	}
	var resp response
	if err := json.Unmarshal(b, &resp); err != nil {
		c.t.Fatal(err)
	}
	if resp.IsBase64Encoded {
		c.t.Fatalf("%s %s: JSON answered base64-encoded", r.method, r.path)
	}
	// Every answer of the API is JSON, whatever the shape says of headers.
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		c.t.Errorf("%s %s %s: Content-Type %q", r.shape, r.method, r.path, ct)
	}
	if r.shape == shapeV1 && !reflect.DeepEqual(resp.MultiValueHeaders["Content-Type"], []string{"application/json"}) {
		c.t.Errorf("%s %s: multiValueHeaders %v", r.method, r.path, resp.MultiValueHeaders)
	}
	return resp
}

// order decodes the body of an order answer.
func (c client) order(resp response, status int) Order {
	c.t.Helper()
	if resp.StatusCode != status {
		c.t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, resp.Body)
	}
	var o Order
	if err := json.Unmarshal([]byte(resp.Body), &o); err != nil {
		c.t.Fatalf("%v: %s", err, resp.Body)
	}
	return o
}

// fails checks an error answer: its status and a word of its message.
func (c client) fails(resp response, status int, word string) {
	c.t.Helper()
	var e struct{ Message string }
	if resp.StatusCode != status || json.Unmarshal([]byte(resp.Body), &e) != nil || !strings.Contains(e.Message, word) {
		c.t.Errorf("answer %d %s, want %d with %q", resp.StatusCode, resp.Body, status, word)
	}
}

// TestHTTPIngress sends API Gateway REST (payload format 1.0), HTTP API
// (2.0) and function URL events through the service's Lambda handler (the
// event factory's dispatcher, as lambda.Start gets it, on the embedded
// runtime) to the orders REST API, and checks the answers: an order created
// through one shape is read, changed and listed through the others.
func TestHTTPIngress(t *testing.T) {
	ctx := context.Background()
	cfg := core.DefaultConfig()
	// Claims choose the tenant; callers without a tenant claim (the
	// IAM-signed function URL caller) name it in x-tenant-code.
	cfg.TenantHeaderMode = core.TenantHeaderFallback
	rt, err := local.New(ctx, local.Options{
		Config:  cfg,
		Modules: []string{orderModule},
		App:     fx.Options(serviceModule, fx.Supply(slog.New(slog.DiscardHandler))),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	c := client{t: t, handler: rt.Handler()}

	// Create through a REST API: the fixture's own body, order o-2001.
	resp := c.do(request{shape: shapeV1, method: "POST", path: "/orders",
		body: `{"code":"o-2001","name":"order o-2001","attributes":{"customer":"Ada","total":42.5,"items":["book","pen"],"status":"new"}}`})
	o := c.order(resp, 201)
	if o.Code != "o-2001" || o.Version != 1 || o.Attributes["customer"] != "Ada" || o.CreatedBy != subAda {
		t.Errorf("created %+v", o)
	}
	if resp.Headers["Location"] != "/orders/o-2001" || resp.Headers["Etag"] != `"1"` {
		t.Errorf("created headers %v", resp.Headers)
	}

	// Read it back through an HTTP API: the fixture's own GET.
	resp = c.do(request{shape: shapeV2, method: "GET", path: "/orders/o-2001"})
	o = c.order(resp, 200)
	if o.Version != 1 || o.Name != "order o-2001" || o.Attributes["total"] != 42.5 || resp.Headers["Etag"] != `"1"` || o.UpdatedBy != subAda {
		t.Errorf("read %+v %v", o, resp.Headers)
	}

	// Change it through a function URL: the fixture's own PATCH (version
	// 1, status paid), merged into the stored attributes.
	o = c.order(c.do(request{shape: shapeURL, method: "PATCH", path: "/orders/o-2001",
		body: `{"version":1,"attributes":{"status":"paid"}}`, header: map[string]string{"x-tenant-code": "acme"}}), 200)
	if o.Version != 2 || o.Attributes["status"] != "paid" || o.Attributes["customer"] != "Ada" {
		t.Errorf("patched %+v", o)
	}
	o = c.order(c.do(request{shape: shapeV1, method: "GET", path: "/orders/o-2001"}), 200)
	if o.Version != 2 || o.Attributes["status"] != "paid" || o.CreatedBy != subAda || o.UpdatedBy != "" {
		t.Errorf("read after patch %+v", o) // the IAM caller has no user id
	}

	// Replace at the latest version; then a stale version conflicts.
	o = c.order(c.do(request{shape: shapeV2, method: "PUT", path: "/orders/o-2001",
		body: `{"version":2,"name":"order o-2001 (gift)","attributes":{"customer":"Ada","total":45,"status":"paid"}}`}), 200)
	if o.Version != 3 || o.Name != "order o-2001 (gift)" || o.Attributes["items"] != nil || o.UpdatedBy != subGrace {
		t.Errorf("replaced %+v", o)
	}
	c.fails(c.do(request{shape: shapeV2, method: "PUT", path: "/orders/o-2001", body: `{"version":2,"name":"late"}`}), 409, "version")
	c.fails(c.do(request{shape: shapeURL, method: "PATCH", path: "/orders/o-2001", body: `{"version":1,"name":"late"}`,
		header: map[string]string{"x-tenant-code": "acme"}}), 409, "version")
	c.fails(c.do(request{shape: shapeV1, method: "POST", path: "/orders", body: `{"code":"o-2001"}`}), 409, "version")

	// Not found, invalid input.
	c.fails(c.do(request{shape: shapeV1, method: "GET", path: "/orders/o-9999"}), 404, "not found")
	c.fails(c.do(request{shape: shapeURL, method: "PATCH", path: "/orders/o-9999", body: `{"version":1}`,
		header: map[string]string{"x-tenant-code": "acme"}}), 404, "order ORDER#acme#ORDER#o-9999 not found")
	c.fails(c.do(request{shape: shapeV2, method: "PUT", path: "/orders/o-9999", body: `{"version":3}`}), 404, "not found")
	c.fails(c.do(request{shape: shapeV2, method: "POST", path: "/orders", body: `{"code":"o#1"}`}), 400, "separator")
	c.fails(c.do(request{shape: shapeV2, method: "POST", path: "/orders", body: `{"code":"o-1","colour":"red"}`}), 400, "colour")
	c.fails(c.do(request{shape: shapeV2, method: "POST", path: "/orders", body: `{"code":`}), 400, "body")
	c.fails(c.do(request{shape: shapeV1, method: "PUT", path: "/orders/o-2001", body: `{"name":"no version"}`}), 400, "version")

	// Tenants: a caller without a tenant is refused; another tenant's
	// caller does not see acme's orders.
	c.fails(c.do(request{shape: shapeV2, method: "GET", path: "/orders/o-2001", claims: map[string]any{"custom:tenant": nil}}), 403, "no tenant")
	c.fails(c.do(request{shape: shapeURL, method: "GET", path: "/orders", header: map[string]string{"x-tenant-code": ""}}), 403, "no tenant")
	c.fails(c.do(request{shape: shapeV1, method: "GET", path: "/orders/o-2001", claims: map[string]any{"custom:tenant": "globex"}}), 404, "not found")
	// The claim wins over the header.
	o = c.order(c.do(request{shape: shapeV2, method: "GET", path: "/orders/o-2001", header: map[string]string{"x-tenant-code": "globex"}}), 200)
	if o.Code != "o-2001" {
		t.Errorf("read with a foreign header %+v", o)
	}

	// An asynchronous create: 202 now, applied by the command state machine.
	resp = c.do(request{shape: shapeV2, method: "POST", path: "/orders", body: `{"code":"o-2002","name":"later"}`,
		header: map[string]string{"Prefer": "respond-async"}})
	if o = c.order(resp, 202); o.Version != 1 || resp.Headers["Preference-Applied"] != "respond-async" {
		t.Errorf("async create %+v %v", o, resp.Headers)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rt.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	if o = c.order(c.do(request{shape: shapeURL, method: "GET", path: "/orders/o-2002", header: map[string]string{"x-tenant-code": "acme"}}), 200); o.Name != "later" {
		t.Errorf("async order %+v", o)
	}

	// List in pages of 2, each page through another shape, the cursor
	// carried from one to the next.
	for _, code := range []string{"o-3001", "o-3002", "o-3003"} {
		c.order(c.do(request{shape: shapeV2, method: "POST", path: "/orders", body: `{"code":"` + code + `"}`}), 201)
	}
	shapes := []request{{shape: shapeURL, header: map[string]string{"x-tenant-code": "acme"}}, {shape: shapeV1}, {shape: shapeV2}}
	var codes []string
	cursor := ""
	for i := 0; ; i++ {
		r := shapes[i%3]
		r.method, r.path, r.query = "GET", "/orders", "limit=2"
		if cursor != "" {
			r.query += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := c.do(r)
		var page OrderPage
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &page) != nil || len(page.Items) > 2 {
			t.Fatalf("page %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		for _, o := range page.Items {
			codes = append(codes, o.Code)
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
		if i > 5 {
			t.Fatal("paging does not end")
		}
	}
	sort.Strings(codes)
	if want := []string{"o-2001", "o-2002", "o-3001", "o-3002", "o-3003"}; !reflect.DeepEqual(codes, want) {
		t.Errorf("listed %v, want %v", codes, want)
	}
	c.fails(c.do(request{shape: shapeV2, method: "GET", path: "/orders", query: "cursor=bm90LWEta2V5"}), 400, "cursor")
	c.fails(c.do(request{shape: shapeV1, method: "GET", path: "/orders", query: "limit=0"}), 400, "limit")
}
